/**
 * The engine behind the CLI and `serve`: one source and one component registry. It turns flags and
 * request bodies into registry calls and registry answers into the CLI's JSON; every decision is the
 * registry's (`keycloak-permissions/components`).
 */
import { LRUCache } from 'lru-cache'
import { readTextFile } from '../core/read-text-file.js'
import * as z from 'zod'
import type { Decision } from '../core/decision.js'
import { deny } from '../core/decision.js'
import { diagnostic, type Diagnostic } from '../core/diagnostics.js'
import { InvalidInputError, TokenRejectedError } from '../core/errors.js'
import { principalValueParts, samePrincipalValue, type EffectiveRole, type Principal, type PrincipalValueParts, type RoleRef } from '../core/principal.js'
import type { CondaStorePermissions, EnvironmentLike } from '../conda-store/permission-set.js'
import type { MergedBinding } from '../conda-store/bindings.js'
import { parseEnvironmentPage } from '../conda-store/listing.js'
import { createRegistry, type ComponentRegistry, type RegistryCheck, type RegistrySettings } from '../components/index.js'
import { roleChains, type Chain, type ChainStep } from '../core/chain.js'
import { chainContext, condaStoreBindingChains, decisionChains, type ChainContext } from '../review/chains.js'
import { chainLine, chainsJson } from '../review/chain-render.js'
import type { CliSource } from './sources.js'
import { UsageError } from './errors.js'

const ENVIRONMENT_LIST_TTL_MS = 60_000
/** Where `envs` reads conda-store environments from. */
export type EnvironmentSourceSpec = { readonly file: string } | { readonly url: string; readonly token?: string }

/** A role as lint sees it: its reference and attributes. */
export interface RoleWithAttributes extends RoleRef {
  readonly attributes: Readonly<Record<string, readonly string[]>>
}

/** The check kinds of `check` / `explain` / `POST /v1/check`. */
export type CheckRequest =
  | { readonly user: string; readonly route: { readonly method: string; readonly path: string; readonly policy?: 'workspaces' | 'stac' } }
  | { readonly user: string; readonly condaStore: { readonly permission: string; readonly resource: string } }
  | { readonly user: string; readonly jupyterhub: { readonly scope: string; readonly resource?: { readonly kind: string; readonly value: string } } }
  | { readonly user: string; readonly component: { readonly name: string; readonly action: string; readonly resource: string } }
  | { readonly user: string; readonly collaboration: { readonly server: string; readonly action: string; readonly resource: string } }

// Built on first use (`POST /v1/check`): a CLI command that never reads a check body does not build it.
let checkSchemaBuilt: ReturnType<typeof buildCheckSchema> | undefined
const checkSchema = () => (checkSchemaBuilt ??= buildCheckSchema())

function buildCheckSchema() {
  const subjectSchema = { user: z.string().min(1).optional(), token: z.string().min(1).optional() }
  return z.union([
    z.strictObject({
      ...subjectSchema,
      route: z.strictObject({ method: z.string().min(1), path: z.string().min(1), policy: z.enum(['workspaces', 'stac']).optional() }),
    }),
    z.strictObject({ ...subjectSchema, condaStore: z.strictObject({ permission: z.string().min(1), resource: z.string().min(1) }) }),
    z.strictObject({
      ...subjectSchema,
      jupyterhub: z.strictObject({
        scope: z.string().min(1),
        resource: z.strictObject({ kind: z.string().min(1), value: z.string().min(1) }).optional(),
      }),
    }),
    z.strictObject({ ...subjectSchema, component: z.strictObject({ name: z.string().min(1), action: z.string().min(1), resource: z.string().min(1) }) }),
    z.strictObject({ ...subjectSchema, collaboration: z.strictObject({ server: z.string().min(1), action: z.string().min(1), resource: z.string().min(1) }) }),
  ])
}

async function readJson(file: string, what: string): Promise<unknown> {
  try {
    return JSON.parse(await readTextFile(file))
  } catch (err) {
    throw new InvalidInputError(what, '', `cannot read ${file}: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * The registry for a source: the settings, and the source as the lookup of another user's groups
 * (JupyterHub `!group=` filters) — a user the source does not know has none.
 */
export function registryFor(source: CliSource, settings: RegistrySettings = {}): ComponentRegistry {
  return createRegistry(settings, { groupsOf: async (user) => (await source.source.resolve(user)).groups })
}

/** The outcome of a check: the decision, its trace on one line, and (allowed) each path that grants it. */
export interface CheckOutcome {
  readonly decision: Decision
  readonly chain: string
  readonly chains: readonly Chain[]
}

/** The engine's configuration. */
export interface EngineOptions {
  readonly source: CliSource
  /** The registry settings (JupyterHub version, custom scopes, custom components, …). */
  readonly settings?: RegistrySettings
  readonly environments?: EnvironmentSourceSpec
  /**
   * Keep the bytes of {@link Engine.environmentsBody} and {@link Engine.checkBody} per question and
   * principal value (`serve` turns it on; a one-shot command asks each question once).
   */
  readonly keepAnswers?: boolean
}

/** The JSON bytes of an answer, as `serve` sends it. */
export function jsonBytes(answer: unknown): Buffer {
  return Buffer.from(JSON.stringify(answer))
}

/** A body kept for one question and the principal value it was computed for (see `Engine.#keptBody`). */
interface KeptBody {
  readonly parts: PrincipalValueParts
  readonly list: readonly EnvironmentLike[] | undefined
  readonly body: Buffer
}
/** Bodies kept by an engine with `keepAnswers`: at most this many questions … */
const KEPT_BODIES_MAX = 4_096
/** … and this many bytes (bodies and keys). */
const KEPT_BODY_BYTES_MAX = 32 * 1024 * 1024
/** Longer questions (a check body's canonical form) are answered but not kept. */
const KEPT_QUESTION_MAX = 2_048

/** The registry request of a CLI / HTTP check (a collaboration check is the registry's own call, not a component check). */
export function registryCheck(request: Exclude<CheckRequest, { collaboration: unknown }>): RegistryCheck {
  if ('route' in request) {
    return { component: 'workspaces', action: request.route.method, resource: request.route.path, ...(request.route.policy ? { policy: request.route.policy } : {}) }
  }
  if ('condaStore' in request) return { component: 'conda-store', action: request.condaStore.permission, resource: request.condaStore.resource }
  if ('jupyterhub' in request) {
    const r = request.jupyterhub.resource
    return { component: 'jupyterhub', action: request.jupyterhub.scope, ...(r ? { resource: `${r.kind}=${r.value}` } : {}) }
  }
  return { component: request.component.name, action: request.component.action, resource: request.component.resource }
}

/** Answers every CLI and HTTP question from one source, through the component registry. */
export class Engine {
  readonly #source: CliSource
  readonly #environments: EnvironmentSourceSpec | undefined
  readonly registry: ComponentRegistry
  #environmentList: Promise<EnvironmentLike[]> | undefined
  #environmentListAt = 0
  readonly #keptBodies: LRUCache<string, KeptBody> | undefined

  constructor(options: EngineOptions) {
    this.#source = options.source
    this.#environments = options.environments
    this.registry = registryFor(options.source, options.settings ?? {})
    this.#keptBodies =
      options.keepAnswers === true
        ? new LRUCache<string, KeptBody>({ max: KEPT_BODIES_MAX, maxSize: KEPT_BODY_BYTES_MAX, sizeCalculation: (kept, key) => kept.body.length + key.length * 2 })
        : undefined
  }

  /** The source the engine answers from. */
  get source(): CliSource {
    return this.#source
  }

  /**
   * Whether every answer depends on the question alone for the engine's life: a realm export (read
   * once, never reloaded) and no environment list or one from a file (read once). A live Keycloak, a
   * token source or a conda-store URL (refreshed) make answers change; `serve` keeps answers only here.
   */
  get staticAnswers(): boolean {
    return this.#source.realmExport !== undefined && this.#source.source === this.#source.realmExport && this.#source.tokens === undefined && (this.#environments === undefined || 'file' in this.#environments)
  }

  /** The source's description, e.g. `bundled example realm`. */
  get description(): string {
    return this.#source.description
  }

  /** Every user of a realm export (a live source cannot list users cheaply: usage error). */
  usernames(): string[] {
    const exported = this.#source.realmExport
    if (!exported) throw new UsageError('--all-users needs a realm export (--realm FILE or the bundled realm)')
    return exported.usernames()
  }

  /** Stops the source's background work (admin-event watcher, Redis connection). */
  async close(): Promise<void> {
    await this.#source.close?.()
  }

  /** Resolves a user through the shared (cached) source. */
  principal(user: string): Promise<Principal> {
    return this.#source.source.resolve(user)
  }

  /** `resolve --json` / `GET /v1/users/{user}/principal`. */
  async resolveJson(user: string) {
    const principal = await this.principal(user)
    const { components, diagnostics } = this.registry.resolve(principal)
    return principalJson(principal, components, diagnostics)
  }

  /** `envs --json` / `GET /v1/users/{user}/environments`: readable (default) or listed environments, each with its reason. */
  async environmentsJson(user: string, options: { listed?: boolean } = {}) {
    const principal = await this.principal(user)
    const visibility = options.listed ? 'listed' : 'readable'
    const list = this.#environments === undefined ? undefined : await this.#loadEnvironments()
    return this.#environmentsAnswer(principal, list, visibility)
  }

  /**
   * The bytes `serve` sends for `GET /v1/users/{user}/environments`: {@link Engine.environmentsJson}'s
   * answer as JSON. With `keepAnswers`, kept for the principal value and environment list it was
   * computed from: an unchanged user (the very same frozen parts from the source) asking again gets
   * the same bytes without deciding again; a changed user or a refreshed list gets a new answer.
   */
  async environmentsBody(user: string, options: { listed?: boolean } = {}): Promise<Buffer> {
    const principal = await this.principal(user)
    const visibility = options.listed ? 'listed' : 'readable'
    const list = this.#environments === undefined ? undefined : await this.#loadEnvironments()
    return this.#keptBody(`envs\u0000${visibility}`, principal, list, async () => this.#environmentsAnswer(principal, list, visibility))
  }

  #environmentsAnswer(principal: Principal, list: EnvironmentLike[] | undefined, visibility: 'readable' | 'listed') {
    const answer = this.registry.environments(principal, list, { visibility })
    const disabled = answer.disabled ? { disabled: true } : {}
    const diagnostics = diagnosticsOf(this.registry, principal, answer.permissions.diagnostics)
    const chains = bindingChainsFor(answer.permissions, principal)
    if (answer.environments === undefined) {
      const patterns = answer.bindings.map((b) => {
        const explained = chains.ofBinding(b)
        return { pattern: b.arn, roles: [...b.roles], reason: explained.reason, chains: chainsJson(explained.chains) }
      })
      return { user: principal.username, ...disabled, visibility, environments: null, namespacePatterns: patterns, diagnostics }
    }
    return {
      user: principal.username,
      ...disabled,
      visibility,
      environments: answer.environments.map((e) => {
        const explained = chains.ofBindings(e.bindings)
        // The resource step ends every path; the steps before it are the bindings' (shared, frozen).
        const resource: ChainStep = { kind: 'resource', label: `${e.namespace}/${e.name}` }
        return { namespace: e.namespace, name: e.name, reason: explained.reason, chains: explained.chains.map((c) => [...c, resource]), bindings: explained.arns }
      }),
      diagnostics,
    }
  }

  /** Runs one check. Throws only for usage errors (unknown component, action, permission, scope or method; bad input). */
  async check(request: CheckRequest, resolved?: Principal): Promise<CheckOutcome> {
    const principal = resolved ?? (await this.principal(request.user))
    if ('collaboration' in request) {
      const { decision, chain, groupsOf } = await this.registry.collaboration(principal, request.collaboration)
      // The paths that grant the scope that allowed it: access:servers on the server (owner, `access: 'full'`) or the mapped scope.
      const grant = typeof decision.grant === 'string' && decision.grant !== 'owner' ? decision.grant : 'access:servers'
      const scope = `${grant}!server=${request.collaboration.server}`
      const jupyterhub = { ...this.registry.jupyterhub, ...(groupsOf ? { groupsOf } : {}) }
      return { decision, chain, chains: decisionChains(principal, decision, { component: 'jupyterhub', resource: scope, jupyterhub }) }
    }
    const { component, request: checked, decision, chain, groupsOf } = await this.registry.check(principal, registryCheck(request))
    // The chain model draws every path of an allowed decision (the route's resource is `METHOD path`).
    const resource = component === 'workspaces' ? `${checked.action} ${checked.resource}` : component === 'jupyterhub' ? checked.action : checked.resource ?? ''
    const jupyterhub = component === 'jupyterhub' ? { jupyterhub: { ...this.registry.jupyterhub, ...(groupsOf ? { groupsOf } : {}) } } : {}
    return { decision, chain, chains: decisionChains(principal, decision, { component, resource, ...jupyterhub }) }
  }

  /** `POST /v1/check`: validates the body, then {@link Engine.check}. */
  async checkJson(body: unknown) {
    const request = checkRequestOf(body)
    if ('token' in request) return this.#tokenCheckJson(request.token, request.kind)
    const { decision, chain, chains } = await this.check(request)
    return decisionJson(decision, chain, chains)
  }

  /**
   * Validates a check body once, with the errors of {@link Engine.checkJson}, into a question that
   * {@link Engine.checkBody} answers without validating again. The question is immutable and a
   * function of the body alone, so `serve` reuses it for the same body text on a source that is not
   * static (the answer may change between requests; the question does not).
   */
  checkQuestion(body: unknown): CheckQuestion {
    return new CheckQuestion(checkRequestOf(body))
  }

  /**
   * The bytes `serve` sends for `POST /v1/check`: {@link Engine.checkJson}'s answer as JSON, for a
   * body or a {@link CheckQuestion} made from one. With `keepAnswers`, a route or conda-store check
   * by username is kept for the request and the principal value it was decided for (those decisions
   * read the principal alone). Token checks verify the token every time; JupyterHub, collaboration
   * and custom-component checks may read more than the principal (other users' groups, code) and
   * are decided every time.
   */
  async checkBody(body: unknown): Promise<Buffer> {
    const question = body instanceof CheckQuestion ? body : this.checkQuestion(body)
    const request = question.request
    if ('token' in request) return jsonBytes(await this.#tokenCheckJson(request.token, request.kind))
    const keptAs = question.keptAs
    if (keptAs === undefined) {
      const { decision, chain, chains } = await this.check(request)
      return jsonBytes(decisionJson(decision, chain, chains))
    }
    const principal = await this.principal(request.user)
    return this.#keptBody(keptAs, principal, undefined, async () => {
      const { decision, chain, chains } = await this.check(request, principal)
      return decisionJson(decision, chain, chains)
    })
  }

  /**
   * The body of `answer()` for one question about `principal`: kept (with `keepAnswers`) while the
   * principal's value — every part but its origin, each frozen and compared by identity — and the
   * environment list stay the same objects. Sources share a user's frozen parts between resolutions
   * until the user changes, so a kept body is exactly the bytes a new decision would give. A principal
   * with a part that is not frozen is decided every time.
   */
  async #keptBody(question: string, principal: Principal, list: readonly EnvironmentLike[] | undefined, answer: () => Promise<unknown>): Promise<Buffer> {
    const kept = this.#keptBodies
    const parts = kept === undefined ? undefined : principalValueParts(principal)
    const key = parts === undefined || question.length > KEPT_QUESTION_MAX ? undefined : `${question}\u0000${parts.realm}\u0000${parts.username}`
    if (key === undefined) return jsonBytes(await answer())
    const found = kept!.get(key)
    if (found !== undefined && found.list === list && samePrincipalValue(found.parts, parts!)) return found.body
    const body = jsonBytes(await answer())
    kept!.set(key, { parts: parts!, list, body })
    return body
  }

  /** A check by bearer token: verified every time; a rejected token is a denial with its reason. */
  async #tokenCheckJson(token: string, kind: object) {
    const tokens = this.#source.tokens
    if (!tokens) throw new InvalidInputError('check request', 'token', 'token checks need a live Keycloak and the audience to require (serve --keycloak URL … --token-audience CLIENT)')
    let principal: Principal
    try {
      principal = await tokens.resolve(token)
    } catch (err) {
      // A rejected token is a denial with its reason, like the middleware's 401.
      if (err instanceof TokenRejectedError) return decisionJson(deny(err.reason, [{ kind: 'token', label: err.detail }]), `token rejected (${err.reason})`)
      throw err
    }
    const { decision, chain, chains } = await this.check({ ...kind, user: principal.username } as CheckRequest, principal)
    return decisionJson(decision, chain, chains)
  }

  /** Every diagnostic for every role attribute the source can see. */
  async lint(): Promise<Diagnostic[]> {
    return this.registry.lint(await this.#roles())
  }

  async #roles(): Promise<RoleWithAttributes[]> {
    const exported = this.#source.realmExport
    if (exported) return exported.roles()
    const catalogue = this.#source.catalogue
    if (!catalogue) throw new UsageError('lint needs a realm export or a live Keycloak with a role catalogue')
    const out: RoleWithAttributes[] = []
    for (const client of this.#source.clients ?? []) {
      const roles = await catalogue.clientRoles(client)
      for (const [name, attributes] of roles ?? []) out.push({ client, name, attributes })
    }
    return out
  }

  #loadEnvironments(): Promise<EnvironmentLike[]> {
    // A file is read once; a conda-store list is refreshed after a minute. A failed load is not kept,
    // so one outage does not fail every later request.
    const now = Date.now()
    if (this.#environmentList !== undefined && 'url' in this.#environments! && now - this.#environmentListAt > ENVIRONMENT_LIST_TTL_MS) {
      this.#environmentList = undefined
    }
    if (this.#environmentList === undefined) this.#environmentListAt = now
    this.#environmentList ??= (async (): Promise<EnvironmentLike[]> => {
      const spec = this.#environments!
      if ('file' in spec) return loadEnvironmentFile(spec.file)
      // The REST client (and its response schemas) is loaded only for a conda-store URL.
      const { CondaStoreClient } = await import('../conda-store/client.js')
      const client = new CondaStoreClient({ baseUrl: spec.url, token: spec.token })
      return client.listEnvironments()
    })()
    const pending = this.#environmentList
    pending.catch(() => {
      if (this.#environmentList === pending) this.#environmentList = undefined
    })
    return pending
  }
}

/** A validated check body: by username, or by bearer token with the check kind. */
type ValidCheck = CheckRequest | { readonly token: string; readonly kind: object }

/**
 * A check body validated by {@link Engine.checkQuestion}: the request, frozen all the way down (a
 * reused question cannot be changed by whoever made it), and the question it is kept under when its
 * answer reads the principal alone (a route or conda-store check by username).
 */
export class CheckQuestion {
  readonly request: ValidCheck
  readonly keptAs: string | undefined

  constructor(request: ValidCheck) {
    this.request = freezeJson(request)
    this.keptAs = 'route' in request || 'condaStore' in request ? `check\u0000${JSON.stringify(request)}` : undefined
    Object.freeze(this)
  }

  /** A check by bearer token (its token is verified on every answer). */
  get byToken(): boolean {
    return 'token' in this.request
  }
}

/** Freezes a validated request (plain objects of strings, from zod) and every object in it. */
function freezeJson<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) freezeJson(v)
    Object.freeze(value)
  }
  return value
}

/** A validated check body (see {@link ValidCheck}); the errors are `POST /v1/check`'s 400s. */
function checkRequestOf(body: unknown): ValidCheck {
  const parsed = checkSchema().safeParse(body)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new InvalidInputError('check request', issue.path.join('.'), `${issue.message} (expected { user, route | condaStore | jupyterhub | component | collaboration })`)
  }
  const { user, token, ...kind } = parsed.data as { user?: string; token?: string }
  if ((user === undefined) === (token === undefined)) {
    throw new InvalidInputError('check request', '', 'give exactly one of user (a username) or token (a bearer access token)')
  }
  return token !== undefined ? { token, kind } : (parsed.data as CheckRequest)
}

/** Reads a saved conda-store `GET /api/v1/environment/` page (`--environments FILE`). */
export async function loadEnvironmentFile(file: string): Promise<EnvironmentLike[]> {
  return parseEnvironmentPage(await readJson(file, 'environment list'))
}

/** The paths of a list of conda-store bindings, each ending with its grant; `reason` and `arns` as `envs` prints them. */
interface ExplainedBindings {
  /** Each binding's paths in list order (not deduplicated across bindings), as frozen JSON steps. */
  readonly chains: readonly Chain[]
  readonly reason: string
  readonly arns: readonly string[]
}

/** The chains of a permission set's bindings for the principal it was derived from (see {@link bindingChainsFor}). */
interface BindingChains {
  ofBinding(binding: MergedBinding): ExplainedBindings
  ofBindings(bindings: readonly MergedBinding[]): ExplainedBindings
}

/** A permission set's binding chains, kept with the set for the one principal identity they were built for. */
interface KeptBindingChains extends BindingChains {
  readonly user: string
  readonly realmRoles: Principal['realmRoles']
  readonly clientRoles: Principal['clientRoles']
}

// Chains kept per permission set: the set is a derived result the registry shares only between principal
// objects of one user with the very same frozen parts, and the entry also checks that identity itself (the
// username and the role parts the chains read), so it answers only for the principal it was built from.
const keptBindingChains = new WeakMap<CondaStorePermissions, KeptBindingChains>()
/** Bindings whose chains are kept per permission set (then it starts over): bounds what one set can hold. */
const KEPT_BINDINGS_MAX = 4_096

/**
 * The binding chains of `permissions` for `principal`: built once per permission set and principal
 * identity (username and frozen role parts — all the chain builders read) and kept with the set, so that
 * a listing builds each binding's paths once instead of once per environment and request. A principal
 * whose parts are not frozen gets chains built for this call only.
 */
function bindingChainsFor(permissions: CondaStorePermissions, principal: Principal): BindingChains {
  const kept = keptBindingChains.get(permissions)
  if (kept !== undefined && kept.user === principal.username && kept.realmRoles === principal.realmRoles && kept.clientRoles === principal.clientRoles) return kept
  const chains = buildBindingChains(principal)
  if (principalValueParts(principal) === undefined) return chains
  const entry: KeptBindingChains = { user: principal.username, realmRoles: principal.realmRoles, clientRoles: principal.clientRoles, ofBinding: chains.ofBinding, ofBindings: chains.ofBindings }
  keptBindingChains.set(permissions, entry)
  return entry
}

function buildBindingChains(principal: Principal): BindingChains {
  let ctx: ChainContext | undefined
  const single = new Map<MergedBinding, ExplainedBindings>()
  const ofBinding = (binding: MergedBinding): ExplainedBindings => {
    let found = single.get(binding)
    if (found === undefined) {
      ctx ??= chainContext(principal)
      const chains = Object.freeze(condaStoreBindingChains(ctx, binding).map((c) => Object.freeze(c.map((s) => Object.freeze({ kind: s.kind, label: s.label })))))
      found = Object.freeze({ chains, reason: reasonOf(chains), arns: Object.freeze([binding.arn]) })
      if (single.size >= KEPT_BINDINGS_MAX) single.clear()
      single.set(binding, found)
    }
    return found
  }
  return {
    ofBinding,
    ofBindings(bindings) {
      if (bindings.length === 1) return ofBinding(bindings[0]!)
      // Each binding's paths in list order (explainEnvironments makes a new list per environment).
      const chains = bindings.flatMap((b) => ofBinding(b).chains)
      return { chains, reason: reasonOf(chains), arns: bindings.map((b) => b.arn) }
    },
  }
}

/** The principal's own diagnostics, the component's, and the disabled-account note when the registry denies it. */
function diagnosticsOf(registry: ComponentRegistry, principal: Principal, found: readonly Diagnostic[]): Diagnostic[] {
  if (!registry.isDenied(principal)) return [...found]
  return registry.resolve(principal).diagnostics
}

/** Why a binding applies, each path without the user and the resource, `; `-separated: `/analyst → conda_store/conda_store_developer → … → analyst/*: developer`. */
function reasonOf(chains: readonly Chain[]): string {
  return chains.map((c) => chainLine(c.filter((s) => s.kind !== 'user' && s.kind !== 'resource'))).join('; ')
}

/** The chain of a decision's trace on one line: `alice → /analyst → … → resource (allowed: REASON)`. */
export function chainOf(decision: Decision): string {
  const steps = decision.trace.map((s) => s.label)
  return `${steps.join(' → ')} (${decision.allowed ? 'allowed' : 'denied'}: ${decision.reason})`
}

/** The JSON of a decision (`check --json`, `POST /v1/check`): `{ allowed, reason, trace, chains, … }`. */
export function decisionJson(decision: Decision, chain: string, chains: readonly Chain[] = []) {
  return {
    allowed: decision.allowed,
    reason: decision.reason,
    ...(decision.rule !== undefined ? { rule: decision.rule } : {}),
    ...(decision.grant !== undefined ? { grant: decision.grant } : {}),
    trace: decision.trace,
    chain,
    // Each separate path that grants it (empty for a denial): the chain model `explain` draws.
    chains: chainsJson(chains),
    ...(decision.diagnostics ? { diagnostics: decision.diagnostics } : {}),
  }
}

/** The JSON shape of `resolve --json` (CLI contract): `{ user, groups, clients, components, diagnostics }`. */
export function principalJson(principal: Principal, components: Record<string, unknown>, diagnostics: readonly Diagnostic[]) {
  const roleJson = (r: EffectiveRole, client?: string) => ({
    name: r.name,
    attributes: { ...r.attributes },
    via: r.via,
    chains: chainsJson(roleChains(principal, client === undefined ? { name: r.name } : { client, name: r.name })),
  })
  const clients: Record<string, ReturnType<typeof roleJson>[]> = {}
  for (const [client, roles] of Object.entries(principal.clientRoles)) clients[client] = roles.map((r) => roleJson(r, client))
  return {
    user: principal.username,
    userId: principal.userId ?? null,
    // false when the source knows the account is disabled (every check then denies it, USER_DISABLED).
    enabled: principal.enabled !== false,
    realm: principal.realm,
    groups: principal.groups,
    realmRoles: principal.realmRoles.map((r) => roleJson(r)),
    clients,
    components,
    diagnostics,
    // How old the answer is and where it came from (the tier: memory, shared or source).
    origin: { ...principal.origin, ageMs: Math.max(0, Date.now() - principal.origin.resolvedAt) },
  }
}

export { diagnostic }
