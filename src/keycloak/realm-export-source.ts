/**
 * `RealmExportSource`: resolves principals offline from a Keycloak realm export, with Keycloak's
 * semantics (docs/semantics/keycloak.md §5.2): composite roles (realm ↔ client, recursive, cycle-safe), group roles
 * inherited by every subgroup's members, the default role as a stored mapping, and the built-in
 * clients and roles that an import creates when the file lacks them.
 *
 * @module
 */
import { readTextFile } from '../core/read-text-file.js'
import exampleRealm from '../../examples/realm/example-realm.json' with { type: 'json' }
import { InvalidOptionsError, RealmExportInvalidError, UserNotFoundError } from '../core/errors.js'
import { systemClock, type Clock } from '../core/clock.js'
import { groupWithAncestors, joinGroupPath } from '../core/groups.js'
import type { EffectiveRole, Principal, RoleAttributes, RoleRef, RoleVia } from '../core/principal.js'
import { parseRealmExport, type RealmExport, type RealmExportGroup, type RealmExportRole } from './realm-export-schema.js'
import { SharedParts } from './shared-parts.js'
import { normalizeUsername, type ResolveOptions, type RoleCatalogue, type RoleSource, type UserRef } from './source.js'

/**
 * Options of {@link RealmExportSource}.
 *
 * @example
 * ```ts
 * import { RealmExportSource } from 'keycloak-permissions/keycloak'
 * const source = await RealmExportSource.fromFile('realm-export.json', { clients: ['conda_store', 'jupyterhub'] })
 * ```
 */
export interface RealmExportSourceOptions {
  /** Only these clients' roles appear in principals (default: every client). Realm roles are unaffected. */
  readonly clients?: readonly string[]
  /** Clock for `origin.resolvedAt` (default: the system clock). */
  readonly clock?: Clock
}

/**
 * A role defined in the realm, with its attributes and direct composites.
 *
 * @example
 * ```ts
 * const role = RealmExportSource.example().roles().find((r) => r.name === 'ml-team-scopes')
 * role?.attributes.scopes // ['admin!namespace=ml,developer!namespace=nebari-git']
 * ```
 */
export interface RoleDefinition extends RoleRef {
  readonly attributes: RoleAttributes
  readonly description?: string
  /** Direct composites (children), by reference. */
  readonly composites: readonly RoleRef[]
  /** True for roles Keycloak creates itself (built-in clients, default role) that the file did not list. */
  readonly builtIn: boolean
}

interface RoleNode {
  readonly ref: RoleRef
  readonly key: string
  readonly attributes: RoleAttributes
  readonly description: string | undefined
  readonly composites: RoleNode[]
  readonly builtIn: boolean
}

interface GroupNode {
  readonly path: string
  readonly roles: RoleNode[]
}

/** What every principal of one user shares (see `resolveSync`). */
interface ResolvedParts {
  readonly groups: readonly string[]
  readonly realmRoles: readonly EffectiveRole[]
  readonly clientRoles: Readonly<Record<string, readonly EffectiveRole[]>>
}

const COMPLETE = Object.freeze({ groups: true, realmRoles: true, attributes: true, provenance: true })
const NO_DIAGNOSTICS: readonly never[] = Object.freeze([])
const NO_ATTRIBUTES: RoleAttributes = Object.freeze({})
/**
 * Shared principal parts a source keeps at most (see `SharedParts`): far more than a realm's roles,
 * group memberships and distinct role sets; past it, users' parts are still resolved once each but
 * no longer shared with other users.
 */
const SHARED_PARTS_MAX = 1_000_000

interface UserNode {
  readonly id: string | undefined
  readonly username: string
  /** `"enabled": false` in the export. */
  readonly disabled: boolean
  readonly groups: readonly string[]
  readonly roles: readonly RoleNode[]
}

// Roles an import creates when the file does not define them (Keycloak 26; docs/semantics/keycloak.md §5.2 items 3–4).
const BUILT_IN_CLIENT_ROLES: Record<string, Record<string, readonly string[]>> = {
  account: {
    'view-profile': [],
    'manage-account': ['manage-account-links'],
    'manage-account-links': [],
    'view-applications': [],
    'view-consent': [],
    'manage-consent': ['view-consent'],
    'view-groups': [],
    'delete-account': [],
  },
  'realm-management': {
    'view-users': ['query-users', 'query-groups'],
    'view-clients': ['query-clients'],
    'view-realm': [],
    'view-events': [],
    'view-identity-providers': [],
    'view-authorization': [],
    'query-users': [],
    'query-groups': [],
    'query-clients': [],
    'query-realms': [],
    'manage-users': [],
    'manage-clients': [],
    'manage-realm': [],
    'manage-events': [],
    'manage-identity-providers': [],
    'manage-authorization': [],
    'create-client': [],
    impersonation: [],
    'realm-admin': [
      'view-users', 'view-clients', 'view-realm', 'view-events', 'view-identity-providers', 'view-authorization',
      'query-users', 'query-groups', 'query-clients', 'query-realms', 'manage-users', 'manage-clients',
      'manage-realm', 'manage-events', 'manage-identity-providers', 'manage-authorization', 'create-client',
      'impersonation',
    ],
  },
  broker: { 'read-token': [] },
}
const BUILT_IN_REALM_ROLES = ['offline_access', 'uma_authorization'] as const

const roleKey = (ref: RoleRef) => (ref.client === undefined ? `realm\u0000${ref.name}` : `client\u0000${ref.client}\u0000${ref.name}`)

/**
 * Resolves principals offline from a Keycloak realm export (the embedded default source). The
 * export is validated (zod) and every reference (user → role, user → group, composite → role) is
 * checked at construction, so a broken file fails once, with the path of the bad value.
 *
 * @example
 * ```ts
 * import { RealmExportSource } from 'keycloak-permissions/keycloak'
 * const source = RealmExportSource.example()       // the bundled example realm
 * const bob = await source.resolve('bob')
 * bob.clientRoles['ws-alpha']?.[0]?.via            // [{ kind: 'group', group: '/projects', member: '/projects/ml' }]
 * ```
 */
export class RealmExportSource implements RoleSource, RoleCatalogue {
  readonly realm: string
  readonly #clients: ReadonlySet<string> | undefined
  readonly #clock: Clock
  readonly #roles = new Map<string, RoleNode>()
  readonly #clientIds: ReadonlySet<string>
  readonly #groups = new Map<string, GroupNode>()
  readonly #users = new Map<string, UserNode>()
  readonly #usersById = new Map<string, UserNode>()
  /** Per user, the parts every principal of the user shares (the export does not change; bounded by its users). */
  readonly #resolved = new WeakMap<UserNode, ResolvedParts>()
  /** Role objects, provenance, role and group lists shared between users (docs/semantics/keycloak.md §5.2 makes them equal). */
  readonly #shared = new SharedParts(SHARED_PARTS_MAX)
  #byClient: Map<string, Map<string, RoleAttributes>> | undefined
  readonly #defaultRoleKey: string

  /**
   * @param realmExport the parsed JSON of a realm export (`RealmRepresentation`)
   * @throws `RealmExportInvalidError` when the export is malformed or references something it does not define
   */
  constructor(realmExport: unknown, options: RealmExportSourceOptions = {}) {
    validateOptions(options)
    const realm = parseRealmExport(realmExport)
    this.realm = realm.realm
    this.#clock = options.clock ?? systemClock
    this.#clients = options.clients ? new Set(options.clients) : undefined
    const defaultRoleName = realm.defaultRole?.name ?? `default-roles-${realm.realm}`
    this.#defaultRoleKey = roleKey({ name: defaultRoleName })
    this.#clientIds = this.#indexRoles(realm, defaultRoleName)
    this.#indexGroups(realm.groups ?? [], [], 'groups')
    this.#indexUsers(realm)
  }

  /**
   * The bundled example realm (`examples/realm/example-realm.json`), embedded in the package.
   *
   * @example
   * ```ts
   * const alice = await RealmExportSource.example().resolve('alice')
   * ```
   */
  static example(options?: RealmExportSourceOptions): RealmExportSource {
    return new RealmExportSource(structuredClone(exampleRealm), options)
  }

  /**
   * Reads and parses a realm export file.
   *
   * @throws `RealmExportInvalidError` when the file is missing, not JSON, or not a valid export
   * @example
   * ```ts
   * const source = await RealmExportSource.fromFile('./realm-export.json')
   * ```
   */
  static async fromFile(path: string, options?: RealmExportSourceOptions): Promise<RealmExportSource> {
    let text: string
    try {
      text = await readTextFile(path)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      throw new RealmExportInvalidError('', `cannot read ${path}${code ? ` (${code})` : ''}`, { cause: err })
    }
    return RealmExportSource.fromJSON(text, options, path)
  }

  /**
   * Parses a realm export from JSON text.
   *
   * @throws `RealmExportInvalidError` when the text is not JSON or not a valid export
   * @example
   * ```ts
   * const source = RealmExportSource.fromJSON(await (await fetch(url)).text())
   * ```
   */
  static fromJSON(text: string, options?: RealmExportSourceOptions, name = 'input'): RealmExportSource {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (err) {
      throw new RealmExportInvalidError('', `${name} is not valid JSON: ${(err as Error).message}`, { cause: err })
    }
    return new RealmExportSource(json, options)
  }

  /**
   * Every username in the realm, sorted.
   *
   * @example
   * ```ts
   * RealmExportSource.example().usernames() // ['alice', 'bob', 'carol', 'dave', 'erin', 'service-account-permission-resolver']
   * ```
   */
  usernames(): string[] {
    return [...this.#users.keys()].sort()
  }

  /**
   * Every role of the realm (file-defined and built-in), realm roles first, then by client and name.
   *
   * @example
   * ```ts
   * RealmExportSource.example().roles().filter((r) => r.attributes.scopes)
   * ```
   */
  roles(): RoleDefinition[] {
    const out: RoleDefinition[] = []
    for (const node of this.#roles.values()) {
      const def: { -readonly [K in keyof RoleDefinition]: RoleDefinition[K] } = {
        ...node.ref,
        attributes: node.attributes,
        composites: node.composites.map((c) => c.ref),
        builtIn: node.builtIn,
      }
      if (node.description !== undefined) def.description = node.description
      out.push(def)
    }
    return out.sort(compareRoleRefs)
  }

  /**
   * Every group's full path, sorted.
   *
   * @example
   * ```ts
   * RealmExportSource.example().groupPaths() // ['/admin', '/analyst', '/developer', '/projects', '/projects/ml']
   * ```
   */
  groupPaths(): string[] {
    return [...this.#groups.keys()].sort()
  }

  /**
   * Every client id that has roles or is defined in the realm (including built-ins), sorted.
   *
   * @example
   * ```ts
   * RealmExportSource.example().clientIds().includes('conda_store') // true
   * ```
   */
  clientIds(): string[] {
    return [...this.#clientIds].sort()
  }

  /** {@inheritDoc RoleCatalogue.clientRoles} */
  async clientRoles(clientId: string, _options?: ResolveOptions): Promise<ReadonlyMap<string, RoleAttributes> | undefined> {
    if (!this.#clientIds.has(clientId)) return undefined
    return new Map(this.#rolesByClient().get(clientId) ?? [])
  }

  /** Roles grouped by client, built once: a token naming thousands of clients asks for each of them. */
  #rolesByClient(): ReadonlyMap<string, ReadonlyMap<string, RoleAttributes>> {
    if (this.#byClient === undefined) {
      const byClient = new Map<string, Map<string, RoleAttributes>>()
      for (const node of this.#roles.values()) {
        const client = node.ref.client
        if (client === undefined) continue
        let roles = byClient.get(client)
        if (roles === undefined) byClient.set(client, (roles = new Map()))
        roles.set(node.ref.name, node.attributes)
      }
      this.#byClient = byClient
    }
    return this.#byClient
  }

  /** {@inheritDoc RoleCatalogue.realmRoles} */
  async realmRoles(_options?: ResolveOptions): Promise<ReadonlyMap<string, RoleAttributes>> {
    const out = new Map<string, RoleAttributes>()
    for (const node of this.#roles.values()) if (node.ref.client === undefined) out.set(node.ref.name, node.attributes)
    return out
  }

  /**
   * Resolves a user's principal: direct groups, effective realm and client roles with attributes and
   * provenance. A user with `"enabled": false` in the export gets `enabled: false` (its roles are still
   * resolved, so `explain` can show what the account would have; components deny it with
   * `USER_DISABLED`). A user without the `enabled` key is read as enabled: Keycloak's exports always
   * write it, and although an import would create such a user disabled, hand-written fixtures rarely
   * mean that — write `"enabled": false` to model a disabled account.
   *
   * @example
   * ```ts
   * const source = new RealmExportSource({ realm: 'r', users: [{ username: 'gone', enabled: false }] })
   * ;(await source.resolve('gone')).enabled // false
   * ```
   * @throws `UserNotFoundError` when the realm has no such user
   */
  async resolve(user: UserRef, options?: ResolveOptions): Promise<Principal> {
    options?.signal?.throwIfAborted()
    return this.resolveSync(user)
  }

  /**
   * The synchronous form of {@link RealmExportSource.resolve} (the export is in memory).
   *
   * @example
   * ```ts
   * const carol = RealmExportSource.example().resolveSync('carol')
   * ```
   */
  resolveSync(user: UserRef): Principal {
    const node = this.#findUser(user)
    // The export does not change after construction: a user's roles are resolved once and every
    // principal of that user shares them (frozen), as it shares the role attribute maps.
    let parts = this.#resolved.get(node)
    if (parts === undefined) {
      parts = this.#resolveParts(node)
      this.#resolved.set(node, parts)
    }
    const origin = { kind: 'realm-export', resolvedAt: this.#clock.now(), cached: false, stale: false } as const
    // Two literals rather than a spread of `enabled`: a literal keeps every property inside the object
    // (a spread moves the ones after it to a second array), and the key order stays as documented.
    return node.disabled
      ? { realm: this.realm, userId: node.id, username: node.username, enabled: false, groups: parts.groups, realmRoles: parts.realmRoles, clientRoles: parts.clientRoles, complete: COMPLETE, origin, diagnostics: NO_DIAGNOSTICS }
      : { realm: this.realm, userId: node.id, username: node.username, groups: parts.groups, realmRoles: parts.realmRoles, clientRoles: parts.clientRoles, complete: COMPLETE, origin, diagnostics: NO_DIAGNOSTICS }
  }

  /**
   * A user's groups and effective roles with provenance, frozen: shared by every principal of the
   * user, and each part with every other user who has the same (`SharedParts`).
   */
  #resolveParts(node: UserNode): ResolvedParts {
    const shared = this.#shared
    const effective = new Map<string, { node: RoleNode; via: RoleVia[] }>()
    const queue: RoleNode[] = []
    const add = (role: RoleNode, via: RoleVia) => {
      const entry = effective.get(role.key)
      if (entry) {
        if (!entry.via.some((v) => sameVia(v, via))) entry.via.push(via)
        return
      }
      effective.set(role.key, { node: role, via: [via] })
      queue.push(role)
    }
    for (const role of node.roles) add(role, role.key === this.#defaultRoleKey ? { kind: 'default' } : { kind: 'direct' })
    for (const member of node.groups) {
      for (const path of groupWithAncestors(member)) {
        const group = this.#groups.get(path)!
        for (const role of group.roles) add(role, { kind: 'group', group: path, member })
      }
    }
    // Breadth-first closure; the visited map makes composite cycles harmless.
    for (let i = 0; i < queue.length; i++) {
      const parent = queue[i]!
      for (const child of parent.composites) add(child, { kind: 'composite', parent: parent.ref })
    }

    const realmRoles: EffectiveRole[] = []
    const clientRoles = new Map<string, EffectiveRole[]>()
    for (const { node: role, via } of effective.values()) {
      const value = shared.role(role.ref, role.attributes, via)
      if (role.ref.client === undefined) realmRoles.push(value)
      else if (!this.#clients || this.#clients.has(role.ref.client)) {
        const list = clientRoles.get(role.ref.client)
        if (list) list.push(value)
        else clientRoles.set(role.ref.client, [value])
      }
    }
    realmRoles.sort(compareRoleRefs)
    const sortedClients = [...clientRoles.keys()].sort().map((client) => [client, shared.roles(clientRoles.get(client)!.sort(compareRoleRefs))] as const)
    return {
      groups: shared.groups([...node.groups].sort()),
      realmRoles: shared.roles(realmRoles),
      clientRoles: shared.clientRoles(sortedClients),
    }
  }

  #findUser(user: UserRef): UserNode {
    if (typeof user !== 'string' && user.id !== undefined) {
      const byId = this.#usersById.get(user.id)
      if (byId) return byId
      if (user.username === undefined) throw new UserNotFoundError(this.realm, user.id)
    }
    const username = typeof user === 'string' ? user : user.username!
    const found = this.#users.get(normalizeUsername(username))
    if (!found) throw new UserNotFoundError(this.realm, username)
    return found
  }

  #indexRoles(realm: RealmExport, defaultRoleName: string): Set<string> {
    const raw = new Map<string, { ref: RoleRef; def: RealmExportRole | undefined; builtInComposites: RoleRef[]; path: string }>()
    const clientIds = new Set<string>((realm.clients ?? []).map((c) => c.clientId))
    const define = (ref: RoleRef, def: RealmExportRole | undefined, path: string, builtInComposites: RoleRef[] = []) => {
      const key = roleKey(ref)
      if (def && raw.get(key)?.def) throw new RealmExportInvalidError(path, `duplicate role ${describe(ref)}`)
      if (!def && raw.has(key)) return
      // Frozen: the reference is shared with callers (roles(), a composite's `via.parent`).
      raw.set(key, { ref: Object.freeze(ref), def, builtInComposites, path })
    }
    ;(realm.roles?.realm ?? []).forEach((def, i) => define({ name: def.name }, def, `roles.realm.${i}`))
    for (const [client, defs] of Object.entries(realm.roles?.client ?? {})) {
      clientIds.add(client)
      defs.forEach((def, i) => define({ client, name: def.name }, def, `roles.client.${client}.${i}`))
    }
    for (const [client, roles] of Object.entries(BUILT_IN_CLIENT_ROLES)) {
      clientIds.add(client)
      for (const [name, children] of Object.entries(roles)) {
        define({ client, name }, undefined, '', children.map((child) => ({ client, name: child })))
      }
    }
    for (const name of BUILT_IN_REALM_ROLES) define({ name }, undefined, '')
    define({ name: defaultRoleName }, undefined, '', [
      { name: 'offline_access' },
      { name: 'uma_authorization' },
      { client: 'account', name: 'view-profile' },
      { client: 'account', name: 'manage-account' },
    ])

    for (const [key, entry] of raw) {
      this.#roles.set(key, {
        ref: entry.ref,
        key,
        attributes: freezeAttributes(entry.def?.attributes),
        description: entry.def?.description,
        composites: [],
        builtIn: entry.def === undefined,
      })
    }
    for (const [key, entry] of raw) {
      const node = this.#roles.get(key)!
      const children: Array<{ ref: RoleRef; path: string }> = entry.def
        ? [
            ...(entry.def.composites?.realm ?? []).map((name, i) => ({ ref: { name }, path: `${entry.path}.composites.realm.${i}` })),
            ...Object.entries(entry.def.composites?.client ?? {}).flatMap(([client, names]) =>
              names.map((name, i) => ({ ref: { client, name }, path: `${entry.path}.composites.client.${client}.${i}` })),
            ),
          ]
        : entry.builtInComposites.map((ref) => ({ ref, path: '' }))
      for (const child of children) node.composites.push(this.#role(child.ref, child.path))
    }
    return clientIds
  }

  #role(ref: RoleRef, path: string): RoleNode {
    const node = this.#roles.get(roleKey(ref))
    if (!node) throw new RealmExportInvalidError(path, `unknown ${describe(ref)}`)
    return node
  }

  #rolesOf(
    mapping: { realmRoles?: string[] | undefined; clientRoles?: Record<string, string[]> | undefined },
    path: string,
  ): RoleNode[] {
    return [
      ...(mapping.realmRoles ?? []).map((name, i) => this.#role({ name }, `${path}.realmRoles.${i}`)),
      ...Object.entries(mapping.clientRoles ?? {}).flatMap(([client, names]) =>
        names.map((name, i) => this.#role({ client, name }, `${path}.clientRoles.${client}.${i}`)),
      ),
    ]
  }

  #indexGroups(groups: readonly RealmExportGroup[], parentNames: readonly string[], path: string): void {
    groups.forEach((group, i) => {
      const names = [...parentNames, group.name]
      const full = joinGroupPath(names)
      const at = `${path}.${i}`
      if (this.#groups.has(full)) throw new RealmExportInvalidError(at, `duplicate group ${full}`)
      this.#groups.set(full, { path: full, roles: this.#rolesOf(group, at) })
      this.#indexGroups(group.subGroups ?? [], names, `${at}.subGroups`)
    })
  }

  #indexUsers(realm: RealmExport): void {
    ;(realm.users ?? []).forEach((user, i) => {
      const at = `users.${i}`
      const username = normalizeUsername(user.username)
      if (this.#users.has(username)) throw new RealmExportInvalidError(`${at}.username`, `duplicate user ${username}`)
      ;(user.groups ?? []).forEach((g, j) => {
        if (!this.#groups.has(g)) throw new RealmExportInvalidError(`${at}.groups.${j}`, `unknown group ${JSON.stringify(g)} (group paths are full paths such as /projects/ml)`)
      })
      // The group's own path string, not the user's copy from the file: principals share one.
      const groups = [...new Set(user.groups ?? [])].map((g) => this.#groups.get(g)!.path)
      // Only an explicit false disables: Keycloak's own exports always write the key, and a hand-written
      // file without it is read as enabled (an import would create that user disabled — see the TSDoc of resolve).
      const node: UserNode = { id: user.id, username, disabled: user.enabled === false, groups, roles: this.#rolesOf(user, at) }
      this.#users.set(username, node)
      if (user.id !== undefined) this.#usersById.set(user.id, node)
    })
  }
}

function validateOptions(options: RealmExportSourceOptions): void {
  if (options.clients !== undefined) {
    if (!Array.isArray(options.clients)) throw new InvalidOptionsError('clients', 'must be an array of client ids')
    options.clients.forEach((c, i) => {
      if (typeof c !== 'string' || c === '') throw new InvalidOptionsError(`clients.${i}`, 'must be a non-empty client id')
    })
  }
  if (options.clock !== undefined && typeof options.clock?.now !== 'function') {
    throw new InvalidOptionsError('clock', 'must have a now() method')
  }
}

function describe(ref: RoleRef): string {
  return ref.client === undefined ? `realm role ${JSON.stringify(ref.name)}` : `client role ${JSON.stringify(ref.name)} of ${JSON.stringify(ref.client)}`
}

function compareRoleRefs(a: RoleRef, b: RoleRef): number {
  const ca = a.client ?? ''
  const cb = b.client ?? ''
  if (ca !== cb) return ca < cb ? -1 : 1
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
}

function sameVia(a: RoleVia, b: RoleVia): boolean {
  if (a.kind !== b.kind) return false
  if (a.kind === 'group' && b.kind === 'group') return a.group === b.group && a.member === b.member
  if (a.kind === 'composite' && b.kind === 'composite') return roleKey(a.parent) === roleKey(b.parent)
  return true
}

function freezeAttributes(attributes: Record<string, string[]> | undefined): RoleAttributes {
  if (attributes === undefined || Object.keys(attributes).length === 0) return NO_ATTRIBUTES
  const out: Record<string, readonly string[]> = {}
  for (const [key, values] of Object.entries(attributes)) out[key] = Object.freeze([...values])
  return Object.freeze(out)
}
