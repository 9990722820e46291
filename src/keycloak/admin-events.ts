/**
 * The admin-event watcher (docs/semantics/keycloak.md §9): polls a realm's admin events with the service account
 * and turns each change into the narrowest safe {@link Invalidation} of cached principals, so a role
 * granted or revoked in Keycloak reaches decisions within about one poll interval — without a re-login.
 *
 * @module
 */
import { decodeJwt } from 'jose'
import { LRUCache } from 'lru-cache'
import { systemClock, type Clock } from '../core/clock.js'
import { diagnostic, type Diagnostic } from '../core/diagnostics.js'
import { InsufficientPermissionsError, InvalidOptionsError, KeycloakPermissionsError, SourceUnavailableError } from '../core/errors.js'
import type { RoleRef } from '../core/principal.js'
import { requireDuration, requireNonEmptyString, requireString, unreachable, validateHttpUrl } from './admin-util.js'
import type { Invalidation } from './cache.js'
import { ClientCredentialsTokenProvider, type AccessTokenProvider } from './token-provider.js'

/**
 * One admin event as `GET /admin/realms/{realm}/admin-events` returns it (the fields the watcher reads).
 *
 * @example
 * ```ts
 * import type { AdminEvent } from 'keycloak-permissions/keycloak'
 * const event: AdminEvent = {
 *   id: '3ce8…', time: 1767225540000, operationType: 'CREATE', resourceType: 'CLIENT_ROLE_MAPPING',
 *   resourcePath: 'users/6d25…/role-mappings/clients/1ab0…',
 * }
 * ```
 */
export interface AdminEvent {
  readonly id: string
  /** Epoch ms (Keycloak's clock). */
  readonly time: number
  readonly operationType: string
  readonly resourceType: string
  readonly resourcePath: string
  readonly representation?: string
}

/**
 * What an admin event affects, before ids are turned into names (see {@link classifyAdminEvent}):
 * a user by id, a group by id (`renamedOrRemoved` when its path itself changed, so only a path known
 * from before the event can be used), a client role by client UUID and name, a realm role by name, a
 * role by id, everything, or nothing a principal carries.
 *
 * @example
 * ```ts
 * import type { AdminEventTarget } from 'keycloak-permissions/keycloak'
 * const target: AdminEventTarget = { kind: 'client-role', clientUuid: '1ab0…', name: 'ml-team-scopes' }
 * ```
 */
export type AdminEventTarget =
  | { readonly kind: 'user'; readonly userId: string }
  | { readonly kind: 'group'; readonly groupId: string; readonly renamedOrRemoved: boolean }
  | { readonly kind: 'client-role'; readonly clientUuid: string; readonly name: string }
  | { readonly kind: 'realm-role'; readonly name: string }
  | { readonly kind: 'role-id'; readonly roleId: string }
  | { readonly kind: 'all'; readonly why: string }
  | { readonly kind: 'none'; readonly why: string; readonly catalogue?: true }

/** Resource types that change nothing a principal carries (sessions, flows, token-only scope settings, …). */
const IRRELEVANT_TYPES: ReadonlySet<string> = new Set([
  'USER_SESSION', 'USER_LOGIN_FAILURE', 'AUTH_FLOW', 'AUTH_EXECUTION', 'AUTH_EXECUTION_FLOW', 'AUTHENTICATOR_CONFIG',
  'REQUIRED_ACTION', 'CLIENT_SCOPE', 'CLIENT_SCOPE_MAPPING', 'REALM_SCOPE_MAPPING', 'CLIENT_SCOPE_CLIENT_MAPPING',
  'PROTOCOL_MAPPER', 'CLIENT_INITIAL_ACCESS_MODEL', 'IDENTITY_PROVIDER', 'IDENTITY_PROVIDER_MAPPER', 'CLUSTER_NODE', 'USER_PROFILE',
])

/** Client sub-resources that only shape tokens or credentials, never Admin API effective roles. */
const IRRELEVANT_CLIENT_PARTS: ReadonlySet<string> = new Set([
  'scope-mappings', 'protocol-mappers', 'default-client-scopes', 'optional-client-scopes', 'client-secret',
  'registration-access-token', 'nodes', 'push-revocation', 'certificates', 'authz', 'management',
])

function segment(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined
  try {
    return decodeURIComponent(value)
  } catch {
    return undefined
  }
}

/**
 * Classifies one admin event (pure; no request):
 * - `users/{id}…` (role mappings, group membership, updates, deletes, credentials) → that user;
 * - `groups/{id}/role-mappings/…` → the group (its members and its subgroups' members);
 *   `groups/{id}` update/delete → the group, by the path known before the event;
 *   `groups` / `groups/{id}/children` (a new group, or a move) → everything;
 * - `clients/{uuid}/roles/{name}[/composites]` → that client role; `roles/{name}[/composites]` → that
 *   realm role (this also covers the default role `default-roles-{realm}`); `roles-by-id/{id}…` → the role
 *   with that id; creating a role → nothing (nobody holds it yet; `catalogue: true` tells role catalogues);
 * - `clients/{uuid}` update/delete → everything (its clientId may have changed; creation → nothing); token-only client
 *   settings (scope mappings, protocol mappers, secrets, …) and session, flow, client-scope, protocol-mapper, identity-provider and user-profile events → nothing;
 * - `REALM` updates, organizations, partial imports and **anything else** → everything.
 *
 * @example
 * ```ts
 * import { classifyAdminEvent } from 'keycloak-permissions/keycloak'
 * classifyAdminEvent({ id: '1', time: 0, operationType: 'CREATE', resourceType: 'GROUP_MEMBERSHIP', resourcePath: 'users/u1/groups/g1' })
 * // { kind: 'user', userId: 'u1' }
 * ```
 */
export function classifyAdminEvent(event: AdminEvent): AdminEventTarget {
  const type = event.resourceType
  const what = `${event.operationType} ${type} ${event.resourcePath}`
  if (IRRELEVANT_TYPES.has(type)) return { kind: 'none', why: `${type} does not affect principals` }
  const parts = event.resourcePath.split('/')
  const [head, id, sub, name] = [parts[0], segment(parts[1]), parts[2], segment(parts[3])]
  switch (head) {
    case 'users':
      if (id !== undefined) return { kind: 'user', userId: id }
      return event.operationType === 'CREATE' ? { kind: 'none', why: 'a new user is not cached yet' } : { kind: 'all', why: what }
    case 'groups':
      if (id === undefined) return { kind: 'all', why: `${what} (a new top-level group or a move)` }
      if (sub === 'role-mappings') return { kind: 'group', groupId: id, renamedOrRemoved: false }
      if (sub === undefined) {
        if (event.operationType === 'CREATE') return { kind: 'all', why: what }
        return { kind: 'group', groupId: id, renamedOrRemoved: true }
      }
      if (sub === 'management') return { kind: 'none', why: 'group permissions do not change memberships' }
      return { kind: 'all', why: `${what} (a new subgroup or a move)` }
    case 'clients':
      if (id === undefined) return event.operationType === 'CREATE' ? { kind: 'none', why: 'a new client has no holders', catalogue: true } : { kind: 'all', why: what }
      if (sub === 'roles') {
        if (name === undefined) return event.operationType === 'CREATE' ? { kind: 'none', why: 'a new role has no holders', catalogue: true } : { kind: 'all', why: what }
        return { kind: 'client-role', clientUuid: id, name }
      }
      if (sub === undefined && event.operationType === 'CREATE') return { kind: 'none', why: 'a new client has no holders', catalogue: true }
      if (sub !== undefined && IRRELEVANT_CLIENT_PARTS.has(sub)) return { kind: 'none', why: `client ${sub} shape tokens only` }
      return { kind: 'all', why: what }
    case 'roles':
      if (id === undefined) return event.operationType === 'CREATE' ? { kind: 'none', why: 'a new role has no holders', catalogue: true } : { kind: 'all', why: what }
      return { kind: 'realm-role', name: id }
    case 'roles-by-id':
      if (id === undefined) return { kind: 'all', why: what }
      return { kind: 'role-id', roleId: id }
    case 'default-groups':
      return { kind: 'none', why: 'default groups apply to new users only' }
    case 'attack-detection':
      return { kind: 'none', why: 'brute-force state does not affect principals' }
    default:
      return { kind: 'all', why: what }
  }
}

/**
 * Where the watcher delivers invalidations (e.g. an `AdminApiSource`).
 *
 * @example
 * ```ts
 * import type { InvalidationTarget } from 'keycloak-permissions/keycloak'
 * const log: InvalidationTarget = { invalidate: (inv) => console.log(inv) }
 * ```
 */
export interface InvalidationTarget {
  /** Applies one invalidation; the watcher awaits it before marking the event as seen. */
  invalidate(invalidation: Invalidation): Promise<void> | void
  /**
   * Optional: something was created that nobody holds yet (a client, a role): no principal changes,
   * but a catalogue of roles and clients (`AdminApiSource`'s) is out of date. Called once per poll.
   */
  catalogueChanged?(): void
}

/**
 * Options of {@link AdminEventWatcher}. Give either `credentials` or a `tokenProvider` (the service
 * account needs realm-management `view-events`, plus `view-users`/`view-clients` for id lookups).
 *
 * @example
 * ```ts
 * import type { AdminEventWatcherOptions } from 'keycloak-permissions/keycloak'
 * const options: AdminEventWatcherOptions = {
 *   baseUrl: 'http://127.0.0.1:8180',
 *   realm: 'example',
 *   credentials: { clientId: 'permission-resolver', clientSecret: 'permission-resolver-secret' },
 *   target: source,
 * }
 * ```
 */
export interface AdminEventWatcherOptions {
  readonly baseUrl: string
  readonly realm: string
  readonly credentials?: { readonly clientId: string; readonly clientSecret: string; readonly realm?: string }
  readonly tokenProvider?: AccessTokenProvider
  /** Receives every invalidation. */
  readonly target: InvalidationTarget
  /** Time between polls (default 1 000 ms). */
  readonly intervalMs?: number
  /** Each poll asks for events from `max(newest event seen, poll start) − overlapMs` (default 5 000; must exceed the clock skew to Keycloak). */
  readonly overlapMs?: number
  /** Events per page (default 100). */
  readonly pageSize?: number
  /** Pages per poll; more events than `pageSize × maxPages` invalidate everything (default 10). */
  readonly maxPages?: number
  /** Upper bound of the exponential back-off while events cannot be read (default 30 000 ms). */
  readonly maxBackoffMs?: number
  /** How many event ids are remembered for de-duplication (default 10 000). */
  readonly dedupeMax?: number
  /** Timeout of each request (default 10 000 ms). */
  readonly timeoutMs?: number
  /** Where the first poll starts (epoch ms; default: now − overlapMs). A new leader passes the old one's cursor. */
  readonly from?: number
  /** Called once per outage with the first error (not again until a poll has succeeded). */
  readonly onError?: (error: KeycloakPermissionsError) => void
  /** Called after each successful poll with the cursor (for a successor to resume from). */
  readonly onPoll?: (result: AdminEventPoll) => void
  /** Clock for the cursor and back-off (default: the system clock). */
  readonly clock?: Clock
}

/**
 * The outcome of one poll.
 *
 * @example
 * ```ts
 * const { events, invalidations, cursor } = await watcher.pollOnce()
 * ```
 */
export interface AdminEventPoll {
  /** New (not yet seen) events processed. */
  readonly events: number
  readonly invalidations: readonly Invalidation[]
  /** The `dateFrom` of the next poll. */
  readonly cursor: number
  /** Admin API requests made (event pages and id lookups). */
  readonly requests: number
}

/**
 * Health of the watcher.
 *
 * @example
 * ```ts
 * const s = watcher.status()
 * if (s.consecutiveFailures > 0) console.warn('admin events unreadable since', s.failingSince)
 * ```
 */
export interface AdminEventWatcherStatus {
  readonly running: boolean
  readonly cursor: number
  readonly lastSuccessAt: number | undefined
  readonly consecutiveFailures: number
  readonly failingSince: number | undefined
  readonly lastError: KeycloakPermissionsError | undefined
  readonly eventsSeen: number
  readonly requests: number
}

/**
 * What {@link AdminEventWatcher.selfCheck} found; `ok` when events are recorded and readable.
 *
 * @example
 * ```ts
 * const report = await watcher.selfCheck()
 * for (const d of report.diagnostics) console.warn(d.message, '—', d.fix)
 * ```
 */
export interface AdminEventsSelfCheck {
  readonly ok: boolean
  /** The realm's `adminEventsEnabled`; undefined when the realm settings could not be read (needs view-realm). */
  readonly adminEventsEnabled: boolean | undefined
  readonly adminEventsDetailsEnabled: boolean | undefined
  /** The service-account token holds realm-management `view-events` (undefined for an opaque token). */
  readonly viewEvents: boolean | undefined
  /** `GET …/admin-events?max=1` answered 200. */
  readonly canReadEvents: boolean
  readonly diagnostics: readonly Diagnostic[]
}

const SOURCE = 'admin-events'
const OPTION_KEYS = new Set([
  'baseUrl', 'realm', 'credentials', 'tokenProvider', 'target', 'intervalMs', 'overlapMs', 'pageSize', 'maxPages',
  'maxBackoffMs', 'dedupeMax', 'timeoutMs', 'from', 'onError', 'onPoll', 'clock',
])

/**
 * Polls `GET /admin/realms/{realm}/admin-events?dateFrom=…&first=…&max=…` (newest first) every
 * `intervalMs`, pages by `dateFrom` with an overlap, de-duplicates by event `id` (a bounded LRU), and
 * delivers for each new event, oldest first, the narrowest safe {@link Invalidation}
 * ({@link classifyAdminEvent}). Ids become names with cached lookups: a group id → its path
 * (`GET /groups/{id}`), a client UUID → its clientId (`GET /clients/{uuid}`), a role id → the role
 * (`GET /roles-by-id/{id}`); a lookup that fails (e.g. the group is gone) invalidates everything.
 *
 * When events cannot be read it backs off exponentially (up to `maxBackoffMs`), reports the outage
 * once (`onError`), and on recovery catches up from where it stopped; the principal cache's TTL is the
 * bound meanwhile (the watcher never extends an entry's life). Changes made outside the Admin API
 * (LDAP, identity-provider mappers at login) produce no admin event: the TTL is the bound for those too.
 *
 * Idle cost: one request per `intervalMs` (60 per minute at the default), plus one token request per
 * service-account token lifetime.
 *
 * @example
 * ```ts
 * import { AdminApiSource, AdminEventWatcher } from 'keycloak-permissions/keycloak'
 * const source = new AdminApiSource({ baseUrl, realm: 'example', clients: ['conda_store'], credentials, cache: { max: 1_000, ttlMs: 60_000 } })
 * const watcher = new AdminEventWatcher({ baseUrl, realm: 'example', credentials, target: source })
 * const check = await watcher.selfCheck()
 * if (!check.ok) for (const d of check.diagnostics) console.warn(d.message, d.fix)
 * watcher.start()
 * // … on shutdown:
 * await watcher.stop()
 * ```
 */
export class AdminEventWatcher {
  /** The realm watched. */
  readonly realm: string
  readonly #base: string
  readonly #tokens: AccessTokenProvider
  readonly #target: InvalidationTarget
  readonly #intervalMs: number
  readonly #overlapMs: number
  readonly #pageSize: number
  readonly #maxPages: number
  readonly #maxBackoffMs: number
  readonly #timeoutMs: number
  readonly #clock: Clock
  readonly #onError: ((error: KeycloakPermissionsError) => void) | undefined
  readonly #onPoll: ((result: AdminEventPoll) => void) | undefined
  readonly #seen: LRUCache<string, true>
  readonly #groupPaths = new LRUCache<string, string>({ max: 1_000, ttl: 600_000 })
  readonly #clientIds = new LRUCache<string, string>({ max: 256, ttl: 600_000 })
  readonly #rolesById = new LRUCache<string, { role: RoleRef }>({ max: 1_000, ttl: 600_000 })
  #cursor: number
  #timer: ReturnType<typeof setTimeout> | undefined
  #running = false
  #polling: Promise<unknown> | undefined
  #lastSuccessAt: number | undefined
  #failures = 0
  #failingSince: number | undefined
  #lastError: KeycloakPermissionsError | undefined
  #eventsSeen = 0
  #requests = 0

  /**
   * Validates the options eagerly; makes no request.
   *
   * @throws `InvalidOptionsError` naming the offending option
   */
  constructor(options: AdminEventWatcherOptions) {
    const o = options as unknown as Record<string, unknown> | undefined
    if (typeof o !== 'object' || o === null) throw new InvalidOptionsError('options', 'must be an object')
    for (const key of Object.keys(o)) if (!OPTION_KEYS.has(key)) throw new InvalidOptionsError(key, 'is not an option of AdminEventWatcher')
    const baseUrl = validateHttpUrl('baseUrl', o.baseUrl).replace(/\/+$/, '')
    this.realm = requireNonEmptyString('realm', o.realm)
    this.#base = `${baseUrl}/admin/realms/${encodeURIComponent(this.realm)}`
    const target = o.target as InvalidationTarget | undefined
    if (typeof target !== 'object' || target === null || typeof target.invalidate !== 'function') {
      throw new InvalidOptionsError('target', 'must have an invalidate(invalidation) method (e.g. an AdminApiSource)')
    }
    this.#target = target
    this.#intervalMs = o.intervalMs === undefined ? 1_000 : requireDuration('intervalMs', o.intervalMs, false)
    this.#overlapMs = o.overlapMs === undefined ? 5_000 : requireDuration('overlapMs', o.overlapMs, true)
    this.#pageSize = o.pageSize === undefined ? 100 : requireInteger('pageSize', o.pageSize, 1, 1_000)
    this.#maxPages = o.maxPages === undefined ? 10 : requireInteger('maxPages', o.maxPages, 1, 1_000)
    this.#maxBackoffMs = o.maxBackoffMs === undefined ? 30_000 : requireDuration('maxBackoffMs', o.maxBackoffMs, false)
    if (this.#maxBackoffMs < this.#intervalMs) throw new InvalidOptionsError('maxBackoffMs', 'must be at least intervalMs')
    this.#timeoutMs = o.timeoutMs === undefined ? 10_000 : requireDuration('timeoutMs', o.timeoutMs, false)
    const dedupeMax = o.dedupeMax === undefined ? 10_000 : requireInteger('dedupeMax', o.dedupeMax, 1, 10_000_000)
    if (dedupeMax < this.#pageSize * this.#maxPages) throw new InvalidOptionsError('dedupeMax', 'must be at least pageSize × maxPages')
    this.#seen = new LRUCache({ max: dedupeMax })
    if (o.clock !== undefined && (typeof o.clock !== 'object' || o.clock === null || typeof (o.clock as Clock).now !== 'function')) {
      throw new InvalidOptionsError('clock', 'must have a now() method')
    }
    this.#clock = (o.clock as Clock | undefined) ?? systemClock
    for (const hook of ['onError', 'onPoll'] as const) {
      if (o[hook] !== undefined && typeof o[hook] !== 'function') throw new InvalidOptionsError(hook, 'must be a function')
    }
    this.#onError = o.onError as ((error: KeycloakPermissionsError) => void) | undefined
    this.#onPoll = o.onPoll as ((result: AdminEventPoll) => void) | undefined
    if (o.from !== undefined && (typeof o.from !== 'number' || !Number.isSafeInteger(o.from) || o.from < 0)) {
      throw new InvalidOptionsError('from', 'must be an epoch-ms integer')
    }
    this.#cursor = (o.from as number | undefined) ?? this.#clock.now() - this.#overlapMs
    this.#tokens = validateTokens(o.credentials, o.tokenProvider, baseUrl, this.realm, this.#timeoutMs, this.#clock)
  }

  /**
   * Starts polling (the first poll runs at once). Idempotent.
   *
   * @example
   * ```ts
   * watcher.start()
   * ```
   */
  start(): void {
    if (this.#running) return
    this.#running = true
    this.#schedule(0)
  }

  /**
   * Stops polling and waits for a poll in progress to finish.
   *
   * @example
   * ```ts
   * await watcher.stop()
   * ```
   */
  async stop(): Promise<void> {
    this.#running = false
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#polling?.catch(() => undefined)
  }

  /**
   * The watcher's health and progress.
   *
   * @example
   * ```ts
   * watcher.status().lastSuccessAt
   * ```
   */
  status(): AdminEventWatcherStatus {
    return {
      running: this.#running,
      cursor: this.#cursor,
      lastSuccessAt: this.#lastSuccessAt,
      consecutiveFailures: this.#failures,
      failingSince: this.#failingSince,
      lastError: this.#lastError,
      eventsSeen: this.#eventsSeen,
      requests: this.#requests,
    }
  }

  /**
   * Reads the events since the cursor once and delivers their invalidations (what each scheduled
   * poll does). Concurrent calls share one poll.
   *
   * @throws `InsufficientPermissionsError` (`view-events`) on 403, `SourceUnavailableError` when
   * Keycloak cannot be reached
   * @example
   * ```ts
   * const poll = await watcher.pollOnce()
   * console.log(poll.events, 'events,', poll.invalidations.length, 'invalidations')
   * ```
   */
  pollOnce(): Promise<AdminEventPoll> {
    if (this.#polling) return this.#polling as Promise<AdminEventPoll>
    const poll = this.#poll().finally(() => {
      this.#polling = undefined
    })
    this.#polling = poll
    return poll
  }

  /**
   * Checks that the watcher can work: the realm records admin events (`adminEventsEnabled`; with
   * `adminEventsDetailsEnabled` the events carry representations), and the service account may read
   * them (realm-management `view-events`). Never throws for a finding; each comes with its fix.
   *
   * @throws `SourceUnavailableError` when Keycloak cannot be reached at all
   * @example
   * ```ts
   * const { ok, diagnostics } = await watcher.selfCheck()
   * ```
   */
  async selfCheck(): Promise<AdminEventsSelfCheck> {
    const diagnostics: Diagnostic[] = []
    const token = await this.#tokens.getAccessToken()
    const viewEvents = tokenHasRight(token, 'view-events')
    const realm = await this.#get(this.#base, 'realm settings').then(
      (body) => body as { adminEventsEnabled?: unknown; adminEventsDetailsEnabled?: unknown },
      (err: unknown) => {
        if (err instanceof InsufficientPermissionsError) return undefined
        throw err
      },
    )
    const enabled = typeof realm?.adminEventsEnabled === 'boolean' ? realm.adminEventsEnabled : realm ? false : undefined
    const details = typeof realm?.adminEventsDetailsEnabled === 'boolean' ? realm.adminEventsDetailsEnabled : realm ? false : undefined
    let canReadEvents = true
    try {
      await this.#get(`${this.#base}/admin-events?first=0&max=1`, 'admin events')
    } catch (err) {
      if (!(err instanceof InsufficientPermissionsError)) throw err
      canReadEvents = false
    }
    const subject = { realm: this.realm } as Parameters<typeof diagnostic>[3]
    if (enabled === false) {
      diagnostics.push(
        diagnostic('error', 'KEYCLOAK_ADMIN_EVENTS_DISABLED', `Realm ${JSON.stringify(this.realm)} does not record admin events (adminEventsEnabled: false): the watcher would never see a change`, subject, {
          fix: `Admin console → Realm settings → Events → Admin events settings → Save events: on (or PUT /admin/realms/${this.realm} {"adminEventsEnabled": true, "adminEventsDetailsEnabled": true})`,
        }),
      )
    } else if (enabled === undefined) {
      diagnostics.push(
        diagnostic('warning', 'KEYCLOAK_ADMIN_EVENTS_UNKNOWN', `Cannot read the settings of realm ${JSON.stringify(this.realm)} to check adminEventsEnabled`, subject, {
          fix: 'Grant the service account realm-management view-realm, or check Realm settings → Events by hand',
        }),
      )
    }
    if (!canReadEvents || viewEvents === false) {
      diagnostics.push(
        diagnostic('error', 'KEYCLOAK_MISSING_VIEW_EVENTS', `The service account may not read admin events of realm ${JSON.stringify(this.realm)} (realm-management view-events is missing)`, subject, {
          fix: 'Admin console → Clients → <the service-account client> → Service accounts roles → Assign role → realm-management view-events',
        }),
      )
    }
    return {
      ok: enabled === true && canReadEvents && viewEvents !== false,
      adminEventsEnabled: enabled,
      adminEventsDetailsEnabled: details,
      viewEvents,
      canReadEvents,
      diagnostics,
    }
  }

  #schedule(delayMs: number): void {
    if (!this.#running) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.pollOnce().then(
        () => this.#schedule(this.#intervalMs),
        () => this.#schedule(Math.min(this.#maxBackoffMs, this.#intervalMs * 2 ** Math.min(this.#failures, 20))),
      )
    }, delayMs)
    this.#timer.unref?.()
  }

  async #poll(): Promise<AdminEventPoll> {
    const startedAt = this.#clock.now()
    const requestsBefore = this.#requests
    try {
      const fresh: AdminEvent[] = []
      let newest: number | undefined
      let overflow = false
      for (let page = 0; ; page++) {
        if (page === this.#maxPages) {
          overflow = true
          break
        }
        const url = `${this.#base}/admin-events?dateFrom=${this.#cursor}&first=${page * this.#pageSize}&max=${this.#pageSize}`
        const events = readEvents(await this.#get(url, 'admin events'))
        for (const event of events) {
          newest = newest === undefined ? event.time : Math.max(newest, event.time)
          if (!this.#seen.has(event.id)) fresh.push(event)
        }
        if (events.length < this.#pageSize) break
      }
      const invalidations: Invalidation[] = []
      let catalogueChanged = false
      if (overflow) invalidations.push({ kind: 'all', cause: `more than ${this.#pageSize * this.#maxPages} admin events in one poll` })
      else {
        // Oldest first, so a later event's invalidation is delivered after an earlier one's.
        const unique = [...new Map(fresh.map((e) => [e.id, e])).values()].sort((a, b) => a.time - b.time)
        for (const event of unique) {
          const target = classifyAdminEvent(event)
          if (target.kind === 'none' && target.catalogue) catalogueChanged = true
          const invalidation = await this.#invalidationFor(event)
          if (invalidation !== undefined) invalidations.push(invalidation)
        }
      }
      const delivered = collapse(invalidations)
      for (const invalidation of delivered) await this.#target.invalidate(invalidation)
      if (catalogueChanged && !delivered.some((i) => i.kind !== 'user')) this.#target.catalogueChanged?.()
      for (const event of fresh) this.#seen.set(event.id, true)
      this.#eventsSeen += fresh.length
      this.#cursor = Math.max(this.#cursor, Math.max(newest ?? 0, startedAt) - this.#overlapMs)
      this.#lastSuccessAt = this.#clock.now()
      this.#failures = 0
      this.#failingSince = undefined
      const result: AdminEventPoll = { events: fresh.length, invalidations: delivered, cursor: this.#cursor, requests: this.#requests - requestsBefore }
      this.#onPoll?.(result)
      return result
    } catch (err) {
      const error = err instanceof KeycloakPermissionsError ? err : new SourceUnavailableError(SOURCE, String(err), { cause: err })
      if (this.#failures === 0) {
        this.#failingSince = startedAt
        this.#onError?.(error)
      }
      this.#failures++
      this.#lastError = error
      throw error
    }
  }

  async #invalidationFor(event: AdminEvent): Promise<Invalidation | undefined> {
    const cause = `${event.operationType} ${event.resourceType} ${event.resourcePath}`
    const target = classifyAdminEvent(event)
    const all = (why: string): Invalidation => ({ kind: 'all', cause: `${cause}: ${why}` })
    switch (target.kind) {
      case 'none':
        return undefined
      case 'all':
        return all(target.why)
      case 'user':
        return { kind: 'user', userId: target.userId, cause }
      case 'realm-role':
        return { kind: 'role', role: { name: target.name }, cause }
      case 'client-role': {
        const clientId = await this.#lookup(this.#clientIds, target.clientUuid, `${this.#base}/clients/${encodeURIComponent(target.clientUuid)}`, (body) =>
          stringField(body, 'clientId'))
        return clientId === undefined ? all(`client ${target.clientUuid} is unknown`) : { kind: 'role', role: { client: clientId, name: target.name }, cause }
      }
      case 'group': {
        const path = target.renamedOrRemoved
          ? this.#groupPaths.get(target.groupId)
          : await this.#lookup(this.#groupPaths, target.groupId, `${this.#base}/groups/${encodeURIComponent(target.groupId)}`, (body) => stringField(body, 'path'))
        if (target.renamedOrRemoved) this.#groupPaths.delete(target.groupId)
        return path === undefined ? all(`the path of group ${target.groupId} before the change is unknown`) : { kind: 'group', path, cause }
      }
      case 'role-id': {
        const hit = this.#rolesById.get(target.roleId)
        let role = hit?.role
        if (role === undefined) {
          const body = await this.#getOrUndefined(`${this.#base}/roles-by-id/${encodeURIComponent(target.roleId)}`, 'role by id')
          const name = stringField(body, 'name')
          const containerId = stringField(body, 'containerId')
          const clientRole = (body as { clientRole?: unknown } | undefined)?.clientRole === true
          if (name !== undefined && !clientRole) role = { name }
          else if (name !== undefined && containerId !== undefined) {
            const clientId = await this.#lookup(this.#clientIds, containerId, `${this.#base}/clients/${encodeURIComponent(containerId)}`, (b) => stringField(b, 'clientId'))
            if (clientId !== undefined) role = { client: clientId, name }
          }
          if (role !== undefined) this.#rolesById.set(target.roleId, { role })
        }
        return role === undefined ? all(`role ${target.roleId} is unknown`) : { kind: 'role', role, cause }
      }
    }
  }

  async #lookup(cache: LRUCache<string, string>, id: string, url: string, read: (body: unknown) => string | undefined): Promise<string | undefined> {
    const hit = cache.get(id)
    if (hit !== undefined) return hit
    const value = read(await this.#getOrUndefined(url, 'lookup'))
    if (value !== undefined) cache.set(id, value)
    return value
  }

  /** GET that turns 404 and 403 into undefined (the caller then invalidates broadly). */
  async #getOrUndefined(url: string, what: string): Promise<unknown> {
    try {
      return await this.#get(url, what)
    } catch (err) {
      if (err instanceof InsufficientPermissionsError || (err instanceof SourceUnavailableError && err.status === 404)) return undefined
      throw err
    }
  }

  async #get(url: string, what: string): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.#tokens.getAccessToken()
      this.#requests++
      let response: Response
      try {
        response = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal: AbortSignal.timeout(this.#timeoutMs) })
      } catch (err) {
        throw rename(unreachable(`${what} (${url})`, err, this.#timeoutMs))
      }
      if (response.status === 401 && attempt === 0 && this.#tokens.invalidate) {
        await response.body?.cancel()
        this.#tokens.invalidate()
        continue
      }
      if (response.status === 403) {
        await response.body?.cancel()
        throw new InsufficientPermissionsError(['view-events'], `Keycloak answered 403 to ${what}: the service account needs realm-management view-events (and view-users, view-clients for id lookups)`)
      }
      if (!response.ok) {
        await response.body?.cancel()
        throw new SourceUnavailableError(SOURCE, `${what} answered HTTP ${response.status}`, { status: response.status, retryable: response.status >= 500 || response.status === 429 })
      }
      try {
        return await response.json()
      } catch (err) {
        throw new SourceUnavailableError(SOURCE, `${what} answered with a body that is not JSON`, { cause: err, status: response.status, retryable: false })
      }
    }
  }
}

/** Drops repeated invalidations; an `all` makes every other one moot. */
function collapse(list: readonly Invalidation[]): Invalidation[] {
  const out: Invalidation[] = []
  const keys = new Set<string>()
  for (const inv of list) {
    if (inv.kind === 'all') return [inv]
    const key = JSON.stringify(inv.kind === 'user' ? [inv.kind, inv.userId] : inv.kind === 'group' ? [inv.kind, inv.path] : [inv.kind, inv.role.client ?? null, inv.role.name])
    if (keys.has(key)) continue
    keys.add(key)
    out.push(inv)
  }
  return out
}

function readEvents(body: unknown): AdminEvent[] {
  if (!Array.isArray(body)) throw new SourceUnavailableError(SOURCE, 'admin events answered unexpectedly: expected an array', { retryable: false })
  const events: AdminEvent[] = []
  for (const item of body as Record<string, unknown>[]) {
    const { id, time, operationType, resourceType, resourcePath, representation } = item ?? {}
    if (typeof id !== 'string' || typeof time !== 'number') {
      throw new SourceUnavailableError(SOURCE, 'admin events answered unexpectedly: an event without id or time', { retryable: false })
    }
    events.push({
      id,
      time,
      operationType: typeof operationType === 'string' ? operationType : '',
      resourceType: typeof resourceType === 'string' ? resourceType : '',
      resourcePath: typeof resourcePath === 'string' ? resourcePath : '',
      ...(typeof representation === 'string' && { representation }),
    })
  }
  return events
}

function stringField(body: unknown, field: string): string | undefined {
  const value = (body as Record<string, unknown> | null | undefined)?.[field]
  return typeof value === 'string' ? value : undefined
}

function rename(err: SourceUnavailableError): SourceUnavailableError {
  return new SourceUnavailableError(SOURCE, err.message.replace(/^admin-api unavailable: /, ''), { cause: err.cause, retryable: err.retryable })
}

function tokenHasRight(token: string, right: string): boolean | undefined {
  try {
    const roles = (decodeJwt(token).resource_access as Record<string, { roles?: unknown }> | undefined)?.['realm-management']?.roles
    return Array.isArray(roles) && roles.includes(right)
  } catch {
    return undefined
  }
}

function requireInteger(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new InvalidOptionsError(option, `must be an integer from ${min} to ${max}`)
  return value
}

function validateTokens(credentials: unknown, provider: unknown, baseUrl: string, realm: string, timeoutMs: number, clock: Clock): AccessTokenProvider {
  if ((credentials === undefined) === (provider === undefined)) throw new InvalidOptionsError('credentials', 'give exactly one of credentials and tokenProvider')
  if (provider !== undefined) {
    if (typeof provider !== 'object' || provider === null || typeof (provider as AccessTokenProvider).getAccessToken !== 'function') {
      throw new InvalidOptionsError('tokenProvider', 'must have a getAccessToken() method')
    }
    return provider as AccessTokenProvider
  }
  if (typeof credentials !== 'object' || credentials === null) throw new InvalidOptionsError('credentials', 'must be an object')
  const c = credentials as Record<string, unknown>
  for (const key of Object.keys(c)) if (key !== 'clientId' && key !== 'clientSecret' && key !== 'realm') throw new InvalidOptionsError(`credentials.${key}`, 'is not a credentials option')
  return new ClientCredentialsTokenProvider({
    tokenUrl: ClientCredentialsTokenProvider.tokenEndpoint(baseUrl, c.realm === undefined ? realm : requireNonEmptyString('credentials.realm', c.realm)),
    clientId: requireNonEmptyString('credentials.clientId', c.clientId),
    clientSecret: requireString('credentials.clientSecret', c.clientSecret),
    timeoutMs,
    clock,
  })
}
