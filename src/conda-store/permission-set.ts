/**
 * The typed permission set of one conda-store entity: effective permissions (union over matching
 * bindings), single checks, environment filtering through the same code path, `explain`, the
 * `/api/v1/permission/` response and the token-minting subset rule.
 *
 * @module
 */
import type { Clock } from '../core/clock.js'
import { systemClock } from '../core/clock.js'
import type { Decision, TraceStep } from '../core/decision.js'
import { allow, deny } from '../core/decision.js'
import type { Diagnostic } from '../core/diagnostics.js'
import { diagnostic } from '../core/diagnostics.js'
import { InvalidOptionsError, KeycloakPermissionsError, UnknownNameError } from '../core/errors.js'
import { formatRole } from '../core/principal.js'
import type { RoleVia } from '../core/principal.js'
import type { Automaton, CompiledArn, LikeDialect } from './arn.js'
import { allAllowed, authorizeAutomaton, compileArn, isArnSubset, matchPart, matchPieces, runAutomaton, sqlLike, upstreamArnRegex, upstreamArnSqlLike } from './arn.js'
import type { BindingOptions, BindingOrigin, CondaStoreDatabase, CondaStoreEntity, MergedBinding, RoleBindings, ResolvedBindingOptions } from './bindings.js'
import { bindingsRecord, mergeResolved, resolveBindingOptions } from './bindings.js'
import type { CondaStorePermission, CompiledRoleMappings, RoleMappings } from './permissions.js'
import { CONDA_STORE_PERMISSIONS, compileRoleMappings, maskToPermissions, permissionBit, rolesToMask } from './permissions.js'

/**
 * Options of a permission set. Everything is validated when the set is created
 * ({@link InvalidOptionsError}).
 *
 * @example
 * ```ts
 * import type { CondaStoreOptions } from 'keycloak-permissions/conda-store'
 * const parity: CondaStoreOptions = { compat: 'conda-store', likeDialect: 'postgresql', roleMappingsVersion: 2 }
 * ```
 */
export interface CondaStoreOptions extends BindingOptions {
  /** Reproduce upstream's regex matcher and SQL `LIKE` listing bit-for-bit (parity checks, migrations). */
  readonly compat?: 'conda-store'
  /** Compat listing only: whose `LIKE` semantics (default `'postgresql'`, as Nebari runs). */
  readonly likeDialect?: LikeDialect
  /** (`role_mappings`) role → permissions; default {@link DEFAULT_ROLE_MAPPINGS}. */
  readonly roleMappings?: RoleMappings
  /** (`CondaStore.default_namespace`) reported as an anonymous caller's primary namespace; default `'default'`. */
  readonly defaultNamespace?: string
  /** Used for an anonymous caller's token expiry (now + 1 day) when minting. */
  readonly clock?: Clock
}

/**
 * What a check is about: `"ns/name"` (an environment or its builds), a bare `"ns"` (namespace-level),
 * `""` (global settings), or an environment object as conda-store lists it.
 *
 * @example
 * ```ts
 * import type { CondaStoreResource } from 'keycloak-permissions/conda-store'
 * const a: CondaStoreResource = 'analyst/pandas'
 * const b: CondaStoreResource = { namespace: { name: 'analyst' }, name: 'pandas' }
 * ```
 */
export type CondaStoreResource = string | EnvironmentLike

/**
 * An environment: `namespace` as a name or as conda-store's namespace object.
 *
 * @example
 * ```ts
 * import type { EnvironmentLike } from 'keycloak-permissions/conda-store'
 * const env: EnvironmentLike = { namespace: 'ml', name: 'torch' }
 * ```
 */
export interface EnvironmentLike {
  readonly namespace: string | { readonly name: string }
  readonly name: string
}

/**
 * Stable decision reasons of conda-store checks.
 *
 * @example
 * ```ts
 * import type { CondaStoreReason } from 'keycloak-permissions/conda-store'
 * const r: CondaStoreReason = 'NO_MATCHING_BINDING'
 * ```
 */
export type CondaStoreReason =
  | 'BINDING_GRANTS'
  | 'BINDING_LISTS'
  | 'PERMISSION_NOT_GRANTED'
  | 'NO_MATCHING_BINDING'
  | 'INVALID_BINDINGS'
  | 'TOKEN_SUBSET'
  | 'NOT_A_SUBSET'
  | 'EXPIRATION_EXCEEDED'

/**
 * A merged binding with the permissions its roles give (empty when a role cannot be converted; the
 * set's {@link CondaStorePermissions.bindingError} then says why).
 *
 * @example
 * ```ts
 * import type { EffectiveBinding } from 'keycloak-permissions/conda-store'
 * const readable = (b: EffectiveBinding) => b.permissions.includes('environment::read')
 * ```
 */
export interface EffectiveBinding extends MergedBinding {
  readonly permissions: readonly CondaStorePermission[]
}

/**
 * A conda-store check's decision; `grant` lists the bindings that supplied the permissions.
 *
 * @example
 * ```ts
 * import type { CondaStoreDecision } from 'keycloak-permissions/conda-store'
 * const show = (d: CondaStoreDecision) => d.grant?.map((b) => b.arn).join(', ')
 * ```
 */
export type CondaStoreDecision = Decision<CondaStoreReason, readonly MergedBinding[]>

/**
 * `visibility: 'readable'` (default) keeps environments with `environment::read` — the answer to
 * "which environments can this user use"; `'listed'` reproduces conda-store's listing (any matching
 * binding, roles ignored).
 *
 * @example
 * ```ts
 * import type { FilterOptions } from 'keycloak-permissions/conda-store'
 * const listing: FilterOptions = { visibility: 'listed' }
 * ```
 */
export interface FilterOptions {
  readonly visibility?: 'readable' | 'listed'
}

/**
 * One environment that passed a filter, with the bindings that let it through and the decision.
 *
 * @example
 * ```ts
 * import type { EnvironmentAccess } from 'keycloak-permissions/conda-store'
 * const line = (a: EnvironmentAccess<string>) => `${a.namespace}/${a.name}: ${a.bindings.map((b) => b.arn).join(', ')}`
 * ```
 */
export interface EnvironmentAccess<T> {
  readonly environment: T
  readonly namespace: string
  readonly name: string
  readonly bindings: readonly MergedBinding[]
  readonly decision: CondaStoreDecision
}

/**
 * conda-store's `GET /api/v1/permission/` `data` object.
 *
 * @example
 * ```ts
 * import type { PermissionResponse } from 'keycloak-permissions/conda-store'
 * const anon: PermissionResponse = { authenticated: false, primary_namespace: 'default',
 *   entity_permissions: { 'default/*': ['environment::read', 'namespace-role-mapping::read', 'namespace::read'] },
 *   entity_roles: { 'default/*': ['viewer'] }, expiration: null }
 * ```
 */
export interface PermissionResponse {
  authenticated: boolean
  primary_namespace: string
  /** Empty when the bindings are unusable (`error` set): nothing is granted. */
  entity_permissions: Record<string, CondaStorePermission[]>
  entity_roles: Record<string, string[]>
  expiration: string | null
  /**
   * Set when a binding's role does not convert (`CONDA_ROLE_EDITOR_IN_BINDING`, `CONDA_ROLE_UNKNOWN`)
   * or an ARN is invalid (`CONDA_ARN_INVALID`): upstream's endpoint fails with HTTP 500 there.
   */
  error?: { code: string; message: string; upstreamStatus: 500; arn?: string; role?: string }
}

/**
 * A token request (`POST /api/v1/token/` body, camel-cased); missing fields default to the caller's.
 *
 * @example
 * ```ts
 * import type { TokenRequest } from 'keycloak-permissions/conda-store'
 * const req: TokenRequest = { roleBindings: { 'alice/*': ['viewer'] } }
 * ```
 */
export interface TokenRequest {
  readonly primaryNamespace?: string
  readonly roleBindings?: RoleBindings
  readonly expiresAt?: number | Date
}

const NONE: readonly never[] = []

interface Compiled {
  readonly binding: MergedBinding
  readonly index: number
  readonly arn: CompiledArn
  readonly mask: number
  automaton?: Automaton
  like?: [string, string]
}

interface NamespaceMatch {
  /** Every simple binding matching the namespace, whatever its name part. */
  readonly all: readonly Compiled[]
  /** Bindings matching the namespace whose name part is all `*` (they match every valid name). */
  readonly anyName: readonly Compiled[]
  readonly anyNameMask: number
  /** Bindings matching the namespace with a specific name part. */
  readonly specific: readonly Compiled[]
  /** `specific` with a literal name part, by name. */
  readonly specificByName: ReadonlyMap<string, readonly Compiled[]>
  /**
   * The keys of `specificByName`, summarised as three bit sets ({@link nameHint}): a name missing from any
   * of them is no key, so most names are turned away without hashing them (a name sliced from an environment
   * string has no hash yet; computing it was most of `explainEnvironments`' extra cost over filtering).
   */
  readonly byNameLengths: number
  readonly byNameFirsts: number
  readonly byNameLasts: number
  /** `specific` with a wildcard name part. */
  readonly specificWild: readonly Compiled[]
  /** Default mode: metacharacter bindings whose namespace part matches literally (checked against upstream too). */
  readonly complex: readonly Compiled[]
}

interface Evaluation {
  readonly mask: number
  readonly matched: readonly Compiled[]
}

const EMPTY_MATCH: NamespaceMatch = { all: [], anyName: [], anyNameMask: 0, specific: [], specificByName: new Map(), byNameLengths: 0, byNameFirsts: 0, byNameLasts: 0, specificWild: [], complex: [] }
const NO_MATCH: Evaluation = { mask: 0, matched: [] }

function namespaceMatch(found: readonly Compiled[], complex: readonly Compiled[]): NamespaceMatch {
  const anyName: Compiled[] = []
  const specific: Compiled[] = []
  const specificWild: Compiled[] = []
  const specificByName = new Map<string, Compiled[]>()
  let anyNameMask = 0
  let byNameLengths = 0
  let byNameFirsts = 0
  let byNameLasts = 0
  for (const c of found) {
    if (c.arn.nm.allStar) {
      anyName.push(c)
      anyNameMask |= c.mask
      continue
    }
    specific.push(c)
    if (c.arn.nm.pieces.length > 1) specificWild.push(c)
    else {
      const name = c.arn.name
      const list = specificByName.get(name)
      if (list) list.push(c)
      else specificByName.set(name, [c])
      byNameLengths |= nameHint(name, 0, HINT_LENGTH)
      byNameFirsts |= nameHint(name, 0, HINT_FIRST)
      byNameLasts |= nameHint(name, 0, HINT_LAST)
    }
  }
  return { all: found, anyName, anyNameMask, specific, specificByName, byNameLengths, byNameFirsts, byNameLasts, specificWild, complex }
}

const HINT_LENGTH = 0
const HINT_FIRST = 1
const HINT_LAST = 2

/**
 * One bit of the name `text.slice(from)` (of 32), read in place: for its length, its first or its last
 * UTF-16 unit, each modulo 32. Equal names have equal bits, so a name whose bit is absent from a set built
 * over some keys is none of them.
 */
function nameHint(text: string, from: number, which: number): number {
  const n = text.length - from
  const v = which === HINT_LENGTH ? n : n === 0 ? 0 : text.charCodeAt(which === HINT_FIRST ? from : text.length - 1)
  return 1 << (v & 31)
}

/** Whether the name `text.slice(from)` may be a key of `m.specificByName` (false: it is not; true: look it up). */
function mayBeSpecificName(m: NamespaceMatch, text: string, from: number): boolean {
  return (m.byNameLengths & nameHint(text, from, HINT_LENGTH)) !== 0 && (m.byNameFirsts & nameHint(text, from, HINT_FIRST)) !== 0 && (m.byNameLasts & nameHint(text, from, HINT_LAST)) !== 0
}
const READ_BIT = permissionBit('environment::read')!
const DAY_MS = 86_400_000

/** `environment::read` on `<namespace>/<any valid name>` (default mode): never, always, or it depends on the name. */
const READ_NEVER = 0
const READ_ALWAYS = 1
const READ_BY_NAME = 2
/** Distinct namespaces whose matches a permission set keeps (then it starts over): bounds the memory a listing can grow. */
const NAMESPACE_CACHE_MAX = 20_000
/** Name-dependent grants kept per namespace entry (see `NamespaceEntry.byNameRead`). */
const BY_NAME_READ_MAX = 256
/** The `data` of the resource step of an explained read (shared: trace steps are read-only). */
const READ_DATA = Object.freeze({ permissions: Object.freeze(['environment::read']) })

/** What a permission set knows about one namespace, computed once (the set is immutable). */
interface NamespaceEntry {
  /**
   * The namespace, the string the cache is keyed by: `explainEnvironments` gives its entries this one, so
   * the namespace sliced from each environment string dies young instead of being kept per entry.
   */
  readonly namespace: string
  /** The bindings matching the namespace; undefined when it has a character no ARN can match. */
  readonly match: NamespaceMatch | undefined
  /** READ_NEVER, READ_ALWAYS or READ_BY_NAME. */
  readonly read: number
  /**
   * For `explainEnvironments`: when no binding of the namespace depends on the environment's name, the
   * granting bindings and their chain (the same for every environment of the namespace); null otherwise.
   */
  explained: ExplainedRead | null | undefined
  /** For `explainEnvironments`: the bindings with an all-'*' name part that give `environment::read` here (frozen, shared). */
  anyNameRead: readonly MergedBinding[] | undefined
  /**
   * For `explainEnvironments`: per name-dependent binding that alone (with the all-'*' part) gives
   * `environment::read` to an environment here, that grant (frozen, shared by the environments it matches;
   * at most BY_NAME_READ_MAX bindings per namespace).
   */
  byNameRead: Map<Compiled, readonly MergedBinding[]> | undefined
}

/**
 * The decision of an environment `explainEnvironments` kept on its namespace's verdict alone: the same value
 * `explain('environment::read', resource)` gives (fields, order, trace), but the trace is built when first
 * read, from the namespace's shared chain plus the resource step. `serve` and the CLI read only the granting
 * bindings, so a listing allocates no trace; `trace` returns the same array on every read, and JSON
 * (`toJSON`) has the fields of an eager decision in the same order: `allowed, reason, trace, rule, grant`.
 */
class NamespaceReadDecision implements CondaStoreDecision {
  readonly allowed = true
  readonly reason = 'BINDING_GRANTS'
  readonly rule = 'default'
  readonly grant: readonly MergedBinding[]
  readonly #chain: readonly TraceStep[]
  readonly #resource: string
  #trace: TraceStep[] | undefined

  constructor(explained: ExplainedRead, resource: string) {
    this.grant = explained.bindings
    this.#chain = explained.steps
    this.#resource = resource
  }

  get trace(): readonly TraceStep[] {
    // One array of the final length (a copy then a push reallocates it: 1.7× the cost when every trace is read).
    if (this.#trace === undefined) this.#trace = [...this.#chain, { kind: 'resource', label: this.#resource, data: READ_DATA }]
    return this.#trace
  }

  toJSON(): CondaStoreDecision {
    return { allowed: this.allowed, reason: this.reason, trace: this.trace, rule: this.rule, grant: this.grant }
  }
}

/** A namespace's granting bindings and the chain before the resource step (see `NamespaceEntry.explained`). */
interface ExplainedRead {
  readonly bindings: readonly MergedBinding[]
  readonly steps: readonly TraceStep[]
}

/**
 * An environment `explainEnvironments` kept, whose `decision` is made when first read and then kept:
 * `serve` and the CLI read only the names and the granting bindings, so a listing allocates one object
 * per kept environment (and its name). JSON (`toJSON`) has the fields of an eager access in the same
 * order: `environment, namespace, name, bindings, decision`. Each subclass keeps one private slot, what the
 * decision is made from until it is read and then the decision: at 100,000 environments the entries of a
 * listing outlive a scavenge, so every field is copied (and promoted) once per kept environment.
 */
abstract class LazyReadAccess<T> implements EnvironmentAccess<T> {
  readonly environment: T
  readonly namespace: string
  readonly name: string
  readonly bindings: readonly MergedBinding[]

  constructor(environment: T, namespace: string, name: string, bindings: readonly MergedBinding[]) {
    this.environment = environment
    this.namespace = namespace
    this.name = name
    this.bindings = bindings
  }

  abstract get decision(): CondaStoreDecision

  toJSON(): EnvironmentAccess<T> {
    return { environment: this.environment, namespace: this.namespace, name: this.name, bindings: this.bindings, decision: this.decision }
  }
}

/** Kept on its namespace's verdict alone (a string `ns/name`): the decision from the namespace's shared chain ({@link NamespaceReadDecision}). */
class NamespaceReadAccess<T> extends LazyReadAccess<T> {
  /** The namespace's shared chain until the decision is read, then the decision. */
  #lazy: ExplainedRead | NamespaceReadDecision

  constructor(environment: T, namespace: string, name: string, explained: ExplainedRead) {
    super(environment, namespace, name, explained.bindings)
    this.#lazy = explained
  }

  get decision(): CondaStoreDecision {
    const lazy = this.#lazy
    if (lazy instanceof NamespaceReadDecision) return lazy
    return (this.#lazy = new NamespaceReadDecision(lazy, this.environment as string))
  }
}

/**
 * Kept on a read that depends on its name (or not an `ns/name` string): `bindings` are the ones
 * `explain('environment::read', …)` grants with, and the decision is that call (the set is immutable,
 * so it is the same decision).
 */
class ExplainedReadAccess<T> extends LazyReadAccess<T> {
  /** The permission set until the decision is read, then the decision. */
  #lazy: CondaStorePermissions | CondaStoreDecision

  constructor(environment: T, namespace: string, name: string, bindings: readonly MergedBinding[], permissions: CondaStorePermissions) {
    super(environment, namespace, name, bindings)
    this.#lazy = permissions
  }

  get decision(): CondaStoreDecision {
    const lazy = this.#lazy
    if (!(lazy instanceof CondaStorePermissions)) return lazy
    return (this.#lazy = lazy.explain('environment::read', `${this.namespace}/${this.name}`))
  }
}

/** The bindings among `matched` that give part of `required`, in merge order: a decision's `grant`. */
function grantingBindings(matched: readonly Compiled[], required: number): MergedBinding[] {
  return matched
    .filter((c) => (c.mask & required) !== 0)
    .sort((a, b) => a.index - b.index)
    .map((c) => c.binding)
}

function splitEnvironment(resource: EnvironmentLike): [string, string] {
  const ns = typeof resource.namespace === 'string' ? resource.namespace : resource.namespace.name
  return [ns, resource.name]
}

function resourceString(resource: CondaStoreResource): string {
  if (typeof resource === 'string') return resource
  const [ns, name] = splitEnvironment(resource)
  return `${ns}/${name}`
}

function toMs(t: number | Date | undefined): number | undefined {
  return t === undefined ? undefined : t instanceof Date ? t.getTime() : t
}

/** Python's `datetime.isoformat()` of a naive UTC datetime. */
function pythonIsoformat(ms: number): string {
  const iso = new Date(ms).toISOString() // 2026-01-02T00:00:00.000Z
  const base = iso.slice(0, 19)
  const millis = iso.slice(20, 23)
  return millis === '000' ? base : `${base}.${millis}000`
}

/**
 * The effective conda-store permissions of one entity (a token, or anonymous), built from its merged
 * bindings (docs/semantics/conda-store.md §5–§9). Create with {@link CondaStorePermissions.create}, or from a Keycloak
 * principal with {@link condaStorePermissionsFor}.
 *
 * @example
 * ```ts
 * import { CondaStorePermissions } from 'keycloak-permissions/conda-store'
 * const perms = CondaStorePermissions.create({ primaryNamespace: 'alice', roleBindings: { 'analyst/*': ['developer'] } })
 * perms.can('environment::update', 'analyst/pandas') // true
 * perms.filterEnvironments(['analyst/pandas', 'bob/secret']) // ['analyst/pandas']
 * ```
 */
export class CondaStorePermissions {
  /** The merged bindings, in merge order, with their permissions. */
  readonly bindings: readonly EffectiveBinding[]
  /** The entity, or `null` for an anonymous caller. */
  readonly entity: CondaStoreEntity | null
  /** The database grants the set was built with. */
  readonly database: CondaStoreDatabase | undefined
  /** Diagnostics found while building the set (e.g. by a preset). */
  readonly diagnostics: readonly Diagnostic[]
  /** The username behind the entity, when known (for `explain`). */
  readonly username: string | undefined
  readonly #compat: boolean
  readonly #likeDialect: LikeDialect
  readonly #mappings: CompiledRoleMappings
  readonly #bindingOptions: ResolvedBindingOptions
  readonly #options: CondaStoreOptions
  readonly #defaultNamespace: string
  readonly #clock: Clock
  /** Every binding with its compiled ARN (empty when an ARN is invalid); roles may have failed to convert. */
  readonly #compiled: readonly Compiled[]
  /** Why checks deny (a role that does not convert, or an invalid ARN). */
  readonly #invalid: KeycloakPermissionsError | undefined
  /** Why listing fails: an invalid ARN only (upstream's listing never converts roles). */
  readonly #arnInvalid: KeycloakPermissionsError | undefined
  readonly #exactNamespace = new Map<string, Compiled[]>()
  /** Per distinct namespace seen by checks and filters: its matches and read verdict (bounded). */
  readonly #namespaces = new Map<string, NamespaceEntry>()
  /** Wildcard namespace parts, bucketed so a namespace only meets the bindings that can match it. */
  readonly #anyNamespace: Compiled[] = []
  #everyNamespace: NamespaceMatch = EMPTY_MATCH
  readonly #byPrefix = new Map<string, Compiled[]>()
  readonly #bySuffix = new Map<string, Compiled[]>()
  readonly #wildNamespace: Compiled[] = []
  readonly #complex: Compiled[] = []
  readonly #unsupported: Compiled[] = []

  private constructor(
    entity: CondaStoreEntity | null,
    database: CondaStoreDatabase | undefined,
    options: CondaStoreOptions,
    extra: { diagnostics?: readonly Diagnostic[]; username?: string },
  ) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('options', 'must be an object')
    if (options.compat !== undefined && options.compat !== 'conda-store') throw new InvalidOptionsError('compat', "must be 'conda-store' when set")
    if (options.likeDialect !== undefined && options.likeDialect !== 'postgresql' && options.likeDialect !== 'sqlite') {
      throw new InvalidOptionsError('likeDialect', "must be 'postgresql' or 'sqlite'")
    }
    if (options.defaultNamespace !== undefined && typeof options.defaultNamespace !== 'string') throw new InvalidOptionsError('defaultNamespace', 'must be a string')
    if (options.clock !== undefined && typeof options.clock?.now !== 'function') throw new InvalidOptionsError('clock', 'must have a now() method')
    if (entity !== null) {
      if (typeof entity !== 'object' || typeof entity.primaryNamespace !== 'string') throw new InvalidOptionsError('entity.primaryNamespace', 'must be a string')
      if (typeof entity.roleBindings !== 'object' || entity.roleBindings === null) throw new InvalidOptionsError('entity.roleBindings', 'must be an object')
    }
    this.#options = options
    this.#compat = options.compat === 'conda-store'
    this.#likeDialect = options.likeDialect ?? 'postgresql'
    this.#mappings = compileRoleMappings(options.roleMappings)
    this.#bindingOptions = resolveBindingOptions(options)
    this.#defaultNamespace = options.defaultNamespace ?? 'default'
    this.#clock = options.clock ?? systemClock
    this.entity = entity
    this.database = database
    this.diagnostics = extra.diagnostics ?? []
    this.username = extra.username
    // Upstream converts every binding's roles before matching: one bad role fails every check (D1: deny,
    // never partial). Its listing (SQL LIKE) reads only the ARNs, so a bad role does not stop listing;
    // an invalid ARN stops both (docs/semantics/upstream-parity.md, "editor in a jwt listing").
    const compiled: Compiled[] = []
    const bindings: EffectiveBinding[] = []
    let roleInvalid: KeycloakPermissionsError | undefined
    let arnInvalid: KeycloakPermissionsError | undefined
    mergeResolved(entity, database, this.#bindingOptions).forEach((merged, index) => {
      let mask = 0
      try {
        mask = rolesToMask(merged.roles, this.#mappings, merged.arn)
      } catch (err) {
        if (!(err instanceof KeycloakPermissionsError)) throw err
        roleInvalid ??= err
      }
      const binding: EffectiveBinding = { ...merged, permissions: maskToPermissions(mask) }
      bindings.push(binding)
      try {
        compiled.push({ binding, index, arn: compileArn(merged.arn, this.#compat ? { compat: 'conda-store' } : {}), mask })
      } catch (err) {
        if (!(err instanceof KeycloakPermissionsError)) throw err
        arnInvalid ??= err
      }
    })
    this.bindings = bindings
    this.#invalid = roleInvalid ?? arnInvalid
    this.#arnInvalid = arnInvalid
    this.#compiled = arnInvalid ? [] : compiled
    for (const c of this.#compiled) {
      if (c.arn.unsupported && (this.#compat || c.arn.hasMetacharacter)) this.#unsupported.push(c)
      else if (this.#compat ? c.arn.complexInCompat : c.arn.hasMetacharacter) this.#complex.push(c)
      else if (c.arn.ns.pieces.length === 1) {
        const list = this.#exactNamespace.get(c.arn.namespace)
        if (list) list.push(c)
        else this.#exactNamespace.set(c.arn.namespace, [c])
      } else {
        const pieces = c.arn.ns.pieces
        const prefix = pieces[0]!
        const suffix = pieces[pieces.length - 1]!
        const bucket = (map: Map<string, Compiled[]>, key: string) => {
          const list = map.get(key)
          if (list) list.push(c)
          else map.set(key, [c])
        }
        if (c.arn.ns.allStar) this.#anyNamespace.push(c)
        else if (prefix !== '') bucket(this.#byPrefix, prefix)
        else if (suffix !== '') bucket(this.#bySuffix, suffix)
        else this.#wildNamespace.push(c)
      }
    }
    this.#everyNamespace = namespaceMatch(this.#anyNamespace, NONE)
  }

  /**
   * Builds the permission set of `entity` (`null` = anonymous) with optional database grants.
   * Options are validated eagerly; unconvertible bindings do not throw here — every check then
   * denies with `INVALID_BINDINGS` and {@link permissionsOn} throws the typed error.
   *
   * @example
   * ```ts
   * import { CondaStorePermissions } from 'keycloak-permissions/conda-store'
   * const anon = CondaStorePermissions.create(null)
   * anon.can('environment::read', 'default/env1') // true
   * ```
   */
  static create(
    entity: CondaStoreEntity | null,
    options: CondaStoreOptions & { database?: CondaStoreDatabase; diagnostics?: readonly Diagnostic[]; username?: string } = {},
  ): CondaStorePermissions {
    const { database, diagnostics, username, ...rest } = options
    const extra: { diagnostics?: readonly Diagnostic[]; username?: string } = {}
    if (diagnostics !== undefined) extra.diagnostics = diagnostics
    if (username !== undefined) extra.username = username
    return new CondaStorePermissions(entity, database, rest, extra)
  }

  /** True unless the caller is anonymous. */
  get authenticated(): boolean {
    return this.entity !== null
  }

  /** The entity's primary namespace; an anonymous caller's is the `defaultNamespace` option. */
  get primaryNamespace(): string {
    return this.entity?.primaryNamespace ?? this.#defaultNamespace
  }

  /** The error that makes the bindings unusable, if any (`CONDA_ROLE_*`, `CONDA_ARN_INVALID`). */
  get bindingError(): KeycloakPermissionsError | undefined {
    return this.#invalid
  }

  // ---------------------------------------------------------------- matching core (one code path)

  /**
   * The bindings whose namespace part matches `ns`, except those whose namespace part is all `*`
   * (they match every namespace and live in {@link #everyNamespace}, computed once). `ns` must
   * consist of ALLOWED characters.
   */
  #matchNamespace(ns: string): NamespaceMatch {
    const found: Compiled[] = []
    for (const c of this.#exactNamespace.get(ns) ?? NONE) found.push(c)
    // Each prefix (suffix) of the namespace is looked up once: cost grows with the name, not the bindings.
    if (this.#byPrefix.size > 0) {
      for (let k = 1; k <= ns.length; k++) for (const c of this.#byPrefix.get(ns.slice(0, k)) ?? NONE) if (matchPieces(c.arn.ns, ns)) found.push(c)
    }
    if (this.#bySuffix.size > 0) {
      for (let k = 0; k < ns.length; k++) for (const c of this.#bySuffix.get(ns.slice(k)) ?? NONE) if (matchPieces(c.arn.ns, ns)) found.push(c)
    }
    for (const c of this.#wildNamespace) if (matchPieces(c.arn.ns, ns)) found.push(c)
    const complex = this.#compat ? NONE : this.#complex.filter((c) => matchPieces(c.arn.ns, ns))
    if (found.length === 0 && complex.length === 0) return EMPTY_MATCH
    return namespaceMatch(found, complex)
  }

  #upstream(c: Compiled, resource: string): boolean {
    if (c.arn.unsupported) return false
    c.automaton ??= authorizeAutomaton(c.arn)
    return runAutomaton(c.automaton, resource, false)
  }

  /** The bindings matching `ns` (which consists of ALLOWED characters), from the namespace cache. */
  #lookup(ns: string): NamespaceMatch {
    return this.#entry(ns).match!
  }

  /**
   * The namespace cache: matches are computed once per distinct namespace for the life of the set (an
   * immutable value), so a listing costs one Map lookup per environment, like an index of exact
   * namespaces; wildcard bindings are matched when a namespace is first seen. Bounded by
   * NAMESPACE_CACHE_MAX (cleared when full).
   */
  #entry(ns: string): NamespaceEntry {
    let entry = this.#namespaces.get(ns)
    if (entry === undefined) {
      const match = allAllowed(ns) ? this.#matchNamespace(ns) : undefined
      // Every field from the start: one object shape for every entry (fields added later made `entry.read` polymorphic).
      entry = { namespace: ns, match, read: this.#readVerdict(match), explained: undefined, anyNameRead: undefined, byNameRead: undefined }
      if (this.#namespaces.size >= NAMESPACE_CACHE_MAX) this.#namespaces.clear()
      this.#namespaces.set(ns, entry)
    }
    return entry
  }

  /** Whether `environment::read` on `ns/<valid name>` holds never, always or by name (default mode; compat: by name). */
  #readVerdict(m: NamespaceMatch | undefined): number {
    if (this.#compat) return READ_BY_NAME
    if (m === undefined) return READ_NEVER
    const every = this.#everyNamespace
    if (((every.anyNameMask | m.anyNameMask) & READ_BIT) !== 0) return READ_ALWAYS
    for (const layer of [every, m]) {
      for (const list of layer.specificByName.values()) for (const c of list) if ((c.mask & READ_BIT) !== 0) return READ_BY_NAME
      for (const c of layer.specificWild) if ((c.mask & READ_BIT) !== 0) return READ_BY_NAME
      for (const c of layer.complex) if ((c.mask & READ_BIT) !== 0) return READ_BY_NAME
    }
    return READ_NEVER
  }

  /** The chain `explain('environment::read', ns/name)` gives for any name of a READ_ALWAYS namespace, or null when it depends on the name. */
  #explainedRead(entry: NamespaceEntry): NamespaceEntry['explained'] {
    if (entry.explained !== undefined) return entry.explained
    const m = entry.match!
    const every = this.#everyNamespace
    const nameFree =
      this.#invalid === undefined &&
      this.#complex.length === 0 &&
      this.#unsupported.length === 0 &&
      [every, m].every((layer) => layer.specificByName.size === 0 && layer.specificWild.length === 0 && layer.complex.length === 0)
    if (!nameFree) return (entry.explained = null)
    const granting = [...every.anyName, ...m.anyName].filter((c) => (c.mask & READ_BIT) !== 0).sort((a, b) => a.index - b.index)
    const steps = this.#userSteps()
    for (const c of granting) steps.push(...this.#chainOf(c.binding))
    // Shared by every environment of the namespace (as `bindings` and `grant`): frozen, so no caller can change another's.
    return (entry.explained = { bindings: Object.freeze(granting.map((c) => c.binding)), steps: Object.freeze(steps) })
  }

  /**
   * The one matcher behind `can`, `check`, `explain` and every filter. `wantMatched: false` (readable
   * filtering) skips collecting the matching bindings; the mask is the same either way.
   */
  #evaluate(resource: string, wantMatched = true): Evaluation {
    const every = this.#everyNamespace
    if (this.#compat) {
      // Bindings without metacharacters cannot consume '/' or '\n', so `$` before a final '\n' is the only quirk.
      const text = resource.endsWith('\n') ? resource.slice(0, -1) : resource
      const slash = text.indexOf('/')
      const ns = slash < 0 ? text : text.slice(0, slash)
      let mask = 0
      const matched: Compiled[] = []
      if (allAllowed(ns)) {
        const m = this.#lookup(ns)
        if (slash < 0) {
          // Upstream's optional name group: a bare namespace matches whatever the name part.
          for (const layer of [every, m]) for (const c of layer.all) (mask |= c.mask), matched.push(c)
        } else {
          const name = text.slice(slash + 1)
          if (allAllowed(name)) {
            for (const layer of [every, m]) {
              for (const c of layer.anyName) (mask |= c.mask), matched.push(c)
              for (const c of layer.specificByName.get(name) ?? NONE) (mask |= c.mask), matched.push(c)
              for (const c of layer.specificWild) if (matchPieces(c.arn.nm, name)) (mask |= c.mask), matched.push(c)
            }
          }
        }
      }
      for (const c of this.#complex) if (this.#upstream(c, resource)) (mask |= c.mask), matched.push(c)
      return { mask, matched }
    }
    const slash = resource.indexOf('/')
    return this.#evaluateIn(this.#entry(slash < 0 ? resource : resource.slice(0, slash)).match, resource, slash, wantMatched)
  }

  /**
   * {@link #evaluate} in default mode once the namespace's cached match `m` is known (`slash`: the index
   * of the first '/' in `resource`, -1 for none): the filter loop has looked the namespace up already.
   */
  #evaluateIn(m: NamespaceMatch | undefined, resource: string, slash: number, wantMatched: boolean): Evaluation {
    // The namespace's all-'*' name parts first, then the bindings that depend on the name (`#readGrant` relies on this order).
    const matched = wantMatched && m !== undefined ? [...this.#everyNamespace.anyName, ...m.anyName] : undefined
    const mask = this.#maskIn(m, resource, slash, matched)
    return mask < 0 ? NO_MATCH : { mask, matched: matched ?? NONE }
  }

  /**
   * The mask of {@link #evaluateIn}, each matching binding appended to `out` when given; -1 when no binding
   * can match (a namespace or name with a character no ARN matches). The filter loop calls it directly: a
   * mask allocates nothing.
   */
  #maskIn(m: NamespaceMatch | undefined, resource: string, slash: number, out: Compiled[] | undefined): number {
    if (m === undefined) return -1
    const every = this.#everyNamespace
    let mask = every.anyNameMask | m.anyNameMask
    if (slash < 0) {
      // D3: namespace-level (and global '') checks honour only bindings whose name part is all '*'.
      for (const c of m.complex) if (c.arn.nm.allStar && this.#upstream(c, resource)) (mask |= c.mask), out?.push(c)
      return mask
    }
    if (!allAllowed(resource, false, slash + 1)) return -1
    return mask | this.#byName(m, resource, slash + 1, undefined, out)
  }

  /**
   * The part of {@link #evaluateIn} that depends on the name (default mode): the mask of the bindings of
   * `m` and of every namespace whose name part is not all '*' and matches the name `resource.slice(from)`
   * (of ALLOWED characters), each also appended to `out` when given. `name` is that slice when the caller
   * has it; otherwise it is sliced only to look it up in a map its hint lets it into: a filter that meets
   * no literal name grant allocates nothing per environment.
   */
  #byName(m: NamespaceMatch, resource: string, from: number, name: string | undefined, out: Compiled[] | undefined): number {
    const every = this.#everyNamespace
    let mask = 0
    // An empty map is not asked, nor one the name's hint rules out: hashing a name that was just sliced is most of a lookup's cost.
    if (every.specificByName.size > 0 && mayBeSpecificName(every, resource, from)) {
      for (const c of every.specificByName.get((name ??= resource.slice(from))) ?? NONE) (mask |= c.mask), out?.push(c)
    }
    if (m.specificByName.size > 0 && mayBeSpecificName(m, resource, from)) for (const c of m.specificByName.get((name ??= resource.slice(from))) ?? NONE) (mask |= c.mask), out?.push(c)
    for (const c of every.specificWild) if (matchPieces(c.arn.nm, resource, from)) (mask |= c.mask), out?.push(c)
    for (const c of m.specificWild) if (matchPieces(c.arn.nm, resource, from)) (mask |= c.mask), out?.push(c)
    for (const c of m.complex) if (matchPieces(c.arn.nm, resource, from) && this.#upstream(c, resource)) (mask |= c.mask), out?.push(c)
    return mask
  }

  /**
   * The grant of `explain('environment::read', resource)` for an environment the filter kept through the
   * namespace cache (`resource` = `ns/name`, `entry` the namespace's): the bindings of
   * {@link #evaluateIn}'s `matched` that give `environment::read`, in merge order. When no name-dependent
   * binding gives it, that is the namespace's all-'*' part, computed once per namespace and shared.
   */
  #readGrant(entry: NamespaceEntry, resource: string, name: string, scratch: Compiled[]): readonly MergedBinding[] {
    if (scratch.length !== 0) scratch.length = 0
    this.#byName(entry.match!, resource, resource.length - name.length, name, scratch)
    return this.#readGrantOf(entry, scratch)
  }

  /**
   * {@link #readGrant} once the name-dependent bindings matching the environment (`byName`, in
   * {@link #byName}'s order) are known. The grant depends only on which of them give `environment::read`:
   * none — the namespace's all-'*' part; one — kept per binding on the entry and shared by every environment
   * it matches (a name-only or `ns/name` binding); more — built for this environment.
   */
  #readGrantOf(entry: NamespaceEntry, byName: readonly Compiled[]): readonly MergedBinding[] {
    const m = entry.match!
    const every = this.#everyNamespace
    let reading: Compiled | undefined
    let readers = 0
    for (const c of byName) if ((c.mask & READ_BIT) !== 0) (reading = c), readers++
    if (readers === 0) return (entry.anyNameRead ??= Object.freeze(grantingBindings([...every.anyName, ...m.anyName], READ_BIT)))
    if (readers > 1) return grantingBindings([...every.anyName, ...m.anyName, ...byName], READ_BIT)
    let kept = entry.byNameRead?.get(reading!)
    if (kept === undefined) {
      kept = Object.freeze(grantingBindings([...every.anyName, ...m.anyName, reading!], READ_BIT))
      entry.byNameRead ??= new Map()
      if (entry.byNameRead.size < BY_NAME_READ_MAX) entry.byNameRead.set(reading!, kept)
    }
    return kept
  }

  /** Whether `environment::read` holds on `resource` (`ns/name`, `slash` its first '/') in a READ_BY_NAME namespace. */
  #readsByName(entry: NamespaceEntry, resource: string, slash: number): boolean {
    const mask = this.#maskIn(entry.match, resource, slash, undefined)
    return mask > 0 && (mask & READ_BIT) !== 0
  }

  /** Listing (roles ignored): default = the same matcher; compat = upstream's SQL LIKE. */
  #listed(ns: string, name: string, memo?: Map<string, readonly Compiled[]>): readonly Compiled[] {
    if (!this.#compat) return this.#evaluate(`${ns}/${name}`).matched
    let candidates = memo?.get(ns)
    if (candidates === undefined) {
      candidates = this.#compiled.filter((c) => {
        c.like ??= upstreamArnSqlLike(c.binding.arn)
        return sqlLike(c.like[0], ns, this.#likeDialect)
      })
      memo?.set(ns, candidates)
    }
    return candidates.filter((c) => sqlLike(c.like![1], name, this.#likeDialect))
  }

  // ---------------------------------------------------------------- public checks

  /**
   * The effective permissions on a resource (union over all matching bindings), sorted. Throws the
   * typed binding error when the bindings are unusable (upstream answers HTTP 500).
   *
   * @example
   * ```ts
   * perms.permissionsOn('analyst/pandas') // ['build::cancel', 'environment::read', …]
   * ```
   */
  permissionsOn(resource: CondaStoreResource): CondaStorePermission[] {
    if (this.#invalid) throw this.#invalid
    return maskToPermissions(this.#evaluate(resourceString(resource)).mask)
  }

  /**
   * Whether every given permission is granted on the resource (upstream `authorize`). Throws
   * `UnknownNameError` for a permission conda-store does not define (a typo is not a denial).
   *
   * @example
   * ```ts
   * perms.can('environment::read', 'analyst/pandas')
   * perms.can(['namespace::read', 'namespace-role-mapping::read'], 'analyst')
   * ```
   */
  can(permission: CondaStorePermission | readonly CondaStorePermission[], resource: CondaStoreResource): boolean {
    const required = requiredMask(permission)
    if (this.#invalid) return false
    return (this.#evaluate(resourceString(resource)).mask & required) === required
  }

  /**
   * The decision for one check, with the granting bindings and any divergence diagnostics. Throws
   * `UnknownNameError` (code `ERR_UNKNOWN_NAME`, with the valid names) for an unknown permission.
   *
   * @example
   * ```ts
   * const d = perms.check('environment::delete', 'analyst/pandas')
   * d.allowed // false
   * d.reason  // 'PERMISSION_NOT_GRANTED'
   * ```
   */
  check(permission: CondaStorePermission | readonly CondaStorePermission[], resource: CondaStoreResource): CondaStoreDecision {
    return this.#decide(permission, resourceString(resource), false)
  }

  /**
   * Like {@link check}, with the full chain in `trace`: user → group → (composite) role → attribute
   * item → binding → resource, for each binding that granted.
   *
   * @example
   * ```ts
   * perms.explain('environment::read', 'ml/torch').trace.map((s) => s.label)
   * // ['bob', '/projects/ml', 'conda_store/ml-team-scopes', 'admin!namespace=ml', 'ml/*: admin', 'ml/torch']
   * ```
   */
  explain(permission: CondaStorePermission | readonly CondaStorePermission[], resource: CondaStoreResource): CondaStoreDecision {
    return this.#decide(permission, resourceString(resource), true)
  }

  #decide(permission: CondaStorePermission | readonly CondaStorePermission[], resource: string, chain: boolean): CondaStoreDecision {
    const wanted = typeof permission === 'string' ? [permission] : [...permission]
    // An unknown permission is the caller's typo, not a denial: it throws before anything is decided.
    const required = requiredMask(wanted)
    const resourceStep: TraceStep = { kind: 'resource', label: resource }
    if (this.#invalid) {
      const err = this.#invalid
      return deny('INVALID_BINDINGS', [{ kind: 'error', label: err.message, data: { code: err.code, ...bindingOfError(err) } }, resourceStep], {
        diagnostics: [diagnostic('error', err.code, err.message, {}, { details: { ...bindingOfError(err) } })],
      })
    }
    const { mask, matched } = this.#evaluate(resource)
    const diagnostics = this.#decisionDiagnostics(resource)
    const bindings = grantingBindings(matched, required)
    const steps: TraceStep[] = chain ? this.#userSteps() : []
    for (const b of bindings) steps.push(...(chain ? this.#chainOf(b) : [bindingStep(b)]))
    steps.push({ kind: 'resource', label: resource, data: { permissions: wanted } })
    if ((mask & required) === required) return allow('BINDING_GRANTS', steps, { grant: bindings, diagnostics, rule: this.#compat ? 'compat' : 'default' })
    const missing = maskToPermissions(required & ~mask)
    steps.push({ kind: 'missing', label: missing.join(', ') })
    return deny(matched.length > 0 ? 'PERMISSION_NOT_GRANTED' : 'NO_MATCHING_BINDING', steps, { diagnostics })
  }

  #decisionDiagnostics(resource: string): Diagnostic[] {
    const out: Diagnostic[] = []
    if (this.#compat) {
      for (const c of this.#unsupported) {
        out.push(diagnostic('error', 'CONDA_ARN_UNSUPPORTED_PATTERN', `binding ${c.binding.arn} is not reproducible as upstream's regex; it matches nothing`, {}, { details: { arn: c.binding.arn } }))
      }
      return out
    }
    for (const c of [...this.#complex, ...this.#unsupported]) {
      const upstream = this.#upstream(c, resource)
      const ours = this.#evaluateOne(c, resource)
      if (upstream !== ours) {
        out.push(
          diagnostic('warning', 'CONDA_ARN_UPSTREAM_DIVERGENCE', `binding ${c.binding.arn} ${upstream ? 'matches' : 'does not match'} ${JSON.stringify(resource)} upstream (regex ${upstreamArnRegex(c.binding.arn)}); the literal rule ${ours ? 'matches' : 'does not'}`, {}, {
            details: { arn: c.binding.arn, resource, upstream, ours },
          }),
        )
      }
    }
    const slash = resource.indexOf('/')
    if (slash < 0 && allAllowed(resource)) {
      const m = this.#matchNamespace(resource)
      for (const c of [...this.#everyNamespace.specific, ...m.specific, ...m.complex.filter((x) => !x.arn.nm.allStar && this.#upstream(x, resource))]) {
        out.push(
          diagnostic('info', 'CONDA_NAMESPACE_GRANT_IGNORED', `binding ${c.binding.arn} does not grant namespace-level permissions on ${JSON.stringify(resource)} (its name part is not '*'); upstream would use it`, {}, {
            details: { arn: c.binding.arn, resource, roles: c.binding.roles },
          }),
        )
      }
    }
    return out
  }

  #evaluateOne(c: Compiled, resource: string): boolean {
    const slash = resource.indexOf('/')
    const ns = slash < 0 ? resource : resource.slice(0, slash)
    if (!matchPart(c.arn.ns, ns)) return false
    if (slash < 0) return c.arn.nm.allStar && this.#upstream(c, resource)
    return matchPart(c.arn.nm, resource.slice(slash + 1)) && this.#upstream(c, resource)
  }

  /** The user step that starts every explained chain. */
  #userSteps(): TraceStep[] {
    const user = this.username ?? this.entity?.primaryNamespace
    return user === undefined ? [] : [{ kind: 'user', label: user }]
  }

  /** One binding's provenance: group → (composite) role → attribute item or login rule → binding. */
  #chainOf(binding: MergedBinding): TraceStep[] {
    const steps: TraceStep[] = []
    const push = (step: TraceStep) => {
      const last = steps[steps.length - 1]
      if (!(last && last.kind === step.kind && last.label === step.label)) steps.push(step)
    }
    if (binding.origins.length === 0) {
      push({ kind: 'source', label: binding.source === 'default' ? 'conda-store default bindings' : binding.source === 'token' ? 'token bindings' : 'database grants' })
    }
    for (const origin of binding.origins) {
      if (origin.kind === 'keycloak-scope') {
        for (const s of viaSteps(origin.via)) push(s)
        push({ kind: 'role', label: formatRole(origin.role) })
        push({ kind: 'item', label: origin.item, data: { attribute: 'scopes' } })
      } else if (origin.kind === 'nebari-login') {
        if (origin.group !== undefined) push({ kind: 'group', label: origin.group, data: { namespaceFrom: 'basename' } })
        for (const r of origin.roles) {
          for (const s of viaSteps(r.via)) push(s)
          push({ kind: 'role', label: formatRole(r.role) })
        }
        push({ kind: 'rule', label: `nebari login: ${origin.rule}` })
      } else push({ kind: 'source', label: origin.label })
    }
    push(bindingStep(binding))
    return steps
  }

  // ---------------------------------------------------------------- listing

  /**
   * Filters environments to those this entity may use (`visibility: 'readable'`, default:
   * `environment::read`) or that conda-store would list (`'listed'`: any matching binding, roles
   * ignored). Same code path as {@link can}; linear in environments + bindings (namespace matches
   * are computed once per distinct namespace). Returns the input elements, in input order.
   *
   * @example
   * ```ts
   * perms.filterEnvironments(['alice/e1', 'bob/e2']) // ['alice/e1']
   * perms.filterEnvironments(envsFromCondaStore, { visibility: 'listed' })
   * ```
   */
  filterEnvironments<T extends CondaStoreResource>(environments: Iterable<T>, options: FilterOptions = {}): T[] {
    const out: T[] = []
    this.#filter(environments, options, undefined, (env) => out.push(env))
    return out
  }

  /**
   * {@link filterEnvironments} with, for each environment kept, the bindings that let it through and
   * the decision (`explain` chain). Each entry's `decision` (and its `trace`) is made when first read
   * and then kept: reading it and `JSON.stringify` give what `explain` gives, while a listing that reads
   * only the bindings (as `serve` and the CLI do) builds no decision; an object spread or
   * `structuredClone` of an entry does not carry `decision`. Bindings lists may be shared between
   * entries of one namespace (frozen).
   *
   * @example
   * ```ts
   * for (const a of perms.explainEnvironments(['ml/torch'])) console.log(a.namespace, a.name, a.bindings[0]?.arn)
   * ```
   */
  explainEnvironments<T extends CondaStoreResource>(environments: Iterable<T>, options: FilterOptions = {}): EnvironmentAccess<T>[] {
    const out: EnvironmentAccess<T>[] = []
    const scratch: Compiled[] = []
    this.#filter(environments, options, scratch, (environment, ns, rest, matched, entry) => {
      // The same decision `explain` gives, from the namespace's cached chain when no binding depends on the name.
      const explained = entry === undefined || entry.read !== READ_ALWAYS ? null : this.#explainedRead(entry)
      if (explained) {
        // `rest` is undefined only for a string environment `ns/name`: the resource is the string itself.
        out.push(new NamespaceReadAccess(environment, ns, (environment as string).slice(ns.length + 1), explained))
        return
      }
      const name = rest ?? (environment as string).slice(ns.length + 1)
      if ((options.visibility ?? 'readable') === 'readable') {
        // The bindings `explain` grants with (the filter's evaluation collects none); the decision itself when read.
        // A name-dependent read was decided with its matching bindings collected (`matched` is `scratch`): no second match.
        const bindings =
          entry === undefined
            ? grantingBindings(this.#evaluate(`${ns}/${name}`).matched, READ_BIT)
            : matched === scratch
              ? this.#readGrantOf(entry, scratch)
              : this.#readGrant(entry, environment as string, name, scratch)
        out.push(new ExplainedReadAccess(environment, ns, name, bindings, this))
        return
      }
      const resource = `${ns}/${name}`
      const decision = allow<CondaStoreReason, readonly MergedBinding[]>('BINDING_LISTS', [...this.#userSteps(), ...matched.flatMap((c) => this.#chainOf(c.binding)), { kind: 'resource', label: resource }], {
        grant: matched.map((c) => c.binding),
      })
      out.push({ environment, namespace: ns, name, bindings: decision.grant ?? [], decision })
    })
    return out
  }

  /**
   * The one filter loop. `keep` gets the namespace cache entry when the environment is a string `ns/name`
   * decided through it (default mode, readable: kept on the namespace's verdict alone when READ_ALWAYS, by
   * name when READ_BY_NAME); its name is then left for `keep` to slice (undefined), as filtering does not
   * need it. Readable filtering collects only the mask: `matched` is complete for `'listed'` only.
   */
  #filter<T extends CondaStoreResource>(
    environments: Iterable<T>,
    options: FilterOptions,
    collect: Compiled[] | undefined,
    keep: (env: T, ns: string, name: string | undefined, matched: readonly Compiled[], entry?: NamespaceEntry) => void,
  ): void {
    const visibility = options.visibility ?? 'readable'
    if (visibility !== 'readable' && visibility !== 'listed') throw new InvalidOptionsError('visibility', "must be 'readable' or 'listed'")
    if (visibility === 'readable' ? this.#invalid : this.#arnInvalid) return
    // Default-mode reads of `ns/name` strings: one namespace lookup decides, unless a binding depends on the name.
    const byNamespace = visibility === 'readable' && !this.#compat
    const memo = new Map<string, never>()
    for (const env of environments) {
      let ns: string
      let name: string
      if (typeof env === 'string') {
        const slash = env.indexOf('/')
        if (byNamespace && slash >= 0) {
          ns = env.slice(0, slash)
          const entry = this.#entry(ns)
          if (entry.read === READ_NEVER) continue
          if (entry.read === READ_ALWAYS) {
            if (allAllowed(env, false, slash + 1)) keep(env, entry.namespace, undefined, NONE, entry)
            continue
          }
          // READ_BY_NAME: the same evaluation `can` makes (its mask), from the entry just looked up; with
          // `collect`, the name-dependent bindings that match are collected into it and handed to `keep`.
          if (collect !== undefined) {
            if (collect.length !== 0) collect.length = 0 // (setting an array's length is a runtime call even when it is 0)
            const mask = this.#maskIn(entry.match, env, slash, collect)
            if (mask > 0 && (mask & READ_BIT) !== 0) keep(env, entry.namespace, undefined, collect, entry)
          } else if (this.#readsByName(entry, env, slash)) keep(env, entry.namespace, undefined, NONE, entry)
          continue
        }
        ns = slash < 0 ? env : env.slice(0, slash)
        name = slash < 0 ? '' : env.slice(slash + 1)
        if (slash < 0) {
          // A bare namespace is not an environment: it is kept exactly when `can` would allow it.
          if (visibility === 'readable') {
            const e = this.#evaluate(env, false)
            if ((e.mask & READ_BIT) !== 0) keep(env, ns, name, e.matched)
          }
          continue
        }
      } else [ns, name] = splitEnvironment(env)
      if (visibility === 'readable') {
        const e = this.#evaluate(typeof env === 'string' ? env : `${ns}/${name}`, false)
        if ((e.mask & READ_BIT) !== 0) keep(env, ns, name, e.matched)
      } else {
        const matched = this.#listed(ns, name, memo)
        if (matched.length > 0) keep(env, ns, name, matched)
      }
    }
  }

  /**
   * Whether a namespace is visible (some binding's namespace part matches it, whatever its roles and
   * name part), as conda-store's namespace listing filters.
   *
   * @example
   * ```ts
   * perms.isNamespaceVisible('analyst') // true
   * ```
   */
  isNamespaceVisible(namespace: string): boolean {
    if (this.#arnInvalid) return false
    if (this.#compat) {
      return this.#compiled.some((c) => sqlLike((c.like ??= upstreamArnSqlLike(c.binding.arn))[0], namespace, this.#likeDialect))
    }
    if (!allAllowed(namespace)) return false
    const m = this.#matchNamespace(namespace)
    return this.#everyNamespace.all.length > 0 || m.all.length > 0 || m.complex.length > 0
  }

  /**
   * conda-store's `jwt=` listing (docs/semantics/conda-store.md §10): the environments this caller lists that the
   * `target` entity lists too. Listing ignores roles on both sides, as upstream's does: a binding
   * role that does not convert (e.g. `editor`) still lists, in both modes, with a warning carrying
   * the role error's code (every permission check of that side denies). When the target's merged
   * bindings are empty, upstream (compat) skips the filter and returns the caller's whole listing;
   * the default returns nothing and reports `CONDA_JWT_FILTER_SKIPPED` with the upstream answer.
   *
   * @example
   * ```ts
   * const { environments } = service.filterEnvironmentsFor(userPerms, allEnvs)
   * ```
   */
  filterEnvironmentsFor<T extends CondaStoreResource>(target: CondaStorePermissions, environments: Iterable<T>): { environments: T[]; diagnostics: Diagnostic[] } {
    const mine = this.filterEnvironments(environments, { visibility: 'listed' })
    // Listing never converts roles (upstream's SQL LIKE), so a bad role on either side still lists; say so.
    const roleNotes: Diagnostic[] = []
    for (const [who, set] of [['caller', this], ['target', target]] as const) {
      const err = set.bindingError
      if (err && !set.#arnInvalid) {
        roleNotes.push(
          diagnostic('warning', err.code, `the ${who}'s bindings do not convert (${err.message}): the listing ignores roles, as upstream's does, but every permission check for the ${who} denies (upstream: HTTP 500)`, {}, {
            details: { who, ...bindingOfError(err) },
          }),
        )
      }
    }
    if (target.bindings.length === 0) {
      if (this.#compat) return { environments: mine, diagnostics: roleNotes }
      return {
        environments: [],
        diagnostics: [
          ...roleNotes,
          diagnostic('warning', 'CONDA_JWT_FILTER_SKIPPED', `the target token has no bindings; upstream would skip the jwt filter and return all ${mine.length} environment(s) the caller lists`, {}, {
            details: { upstream: mine.map(resourceString) },
          }),
        ],
      }
    }
    return { environments: target.filterEnvironments(mine, { visibility: 'listed' }), diagnostics: roleNotes }
  }

  // ---------------------------------------------------------------- API shapes

  /**
   * The `data` object of conda-store's `GET /api/v1/permission/` for this entity: every merged binding
   * with its roles and permissions (sorted). Never throws: for unusable bindings (upstream: HTTP 500)
   * `entity_permissions` is empty and `error` carries the typed error's code and message.
   *
   * @example
   * ```ts
   * CondaStorePermissions.create(null).toPermissionResponse().entity_roles // { 'default/*': ['viewer'] }
   * ```
   */
  toPermissionResponse(): PermissionResponse {
    const entityPermissions: Record<string, CondaStorePermission[]> = {}
    if (!this.#invalid) for (const c of this.#compiled) entityPermissions[c.binding.arn] = maskToPermissions(c.mask)
    const exp = toMs(this.entity?.expiresAt)
    const response: PermissionResponse = {
      authenticated: this.authenticated,
      primary_namespace: this.primaryNamespace,
      entity_permissions: entityPermissions,
      entity_roles: bindingsRecord(this.bindings),
      expiration: this.entity === null || exp === undefined ? null : pythonIsoformat(exp),
    }
    if (!this.#invalid) return response
    // Upstream answers HTTP 500 here; a value keeps resolve/serve working: nothing is granted, the typed error says why.
    return { ...response, error: { code: this.#invalid.code, message: this.#invalid.message, upstreamStatus: 500, ...bindingOfError(this.#invalid) } }
  }

  /**
   * Whether conda-store would mint the requested token (`POST /api/v1/token/`, docs/semantics/conda-store.md §9):
   * every requested binding's permissions (after the authenticated defaults and the database grants
   * of its primary namespace) must be covered by this caller's bindings that contain it
   * ({@link isArnSubset}), and the expiry may not exceed the caller's.
   *
   * @example
   * ```ts
   * service.canMintToken({ roleBindings: { 'alice/*': ['viewer'] } }).allowed // true for a service token with viewer on every namespace
   * ```
   */
  canMintToken(request: TokenRequest = {}): CondaStoreDecision {
    const now = this.#clock.now()
    const caller: CondaStoreEntity = this.entity ?? { primaryNamespace: this.#defaultNamespace, roleBindings: {}, expiresAt: now + DAY_MS }
    const requested: CondaStoreEntity = {
      primaryNamespace: request.primaryNamespace || caller.primaryNamespace,
      roleBindings:
        request.roleBindings !== undefined && Object.keys(request.roleBindings).length > 0
          ? request.roleBindings
          : bindingsRecord(mergeResolved(caller, this.database, this.#bindingOptions)),
      ...(request.expiresAt !== undefined || caller.expiresAt !== undefined ? { expiresAt: (request.expiresAt ?? caller.expiresAt)! } : {}),
    }
    const compat = this.#compat ? ({ compat: 'conda-store' } as const) : {}
    let have: { arn: string; mask: number }[]
    let want: { arn: string; mask: number }[]
    try {
      have = mergeResolved(caller, this.database, this.#bindingOptions).map((b) => ({ arn: b.arn, mask: rolesToMask(b.roles, this.#mappings, b.arn) }))
      want = mergeResolved(requested, this.database, this.#bindingOptions).map((b) => ({ arn: b.arn, mask: rolesToMask(b.roles, this.#mappings, b.arn) }))
      for (const h of have) compileArn(h.arn, compat)
      for (const w of want) compileArn(w.arn, compat)
    } catch (err) {
      if (!(err instanceof KeycloakPermissionsError)) throw err
      return deny('INVALID_BINDINGS', [{ kind: 'error', label: err.message, data: { code: err.code, ...bindingOfError(err) } }], {
        diagnostics: [diagnostic('error', err.code, err.message, {}, { details: { ...bindingOfError(err) } })],
      })
    }
    for (const w of want) {
      let covered = 0
      for (const h of have) if (isArnSubset(w.arn, h.arn, compat)) covered |= h.mask
      if ((w.mask & covered) !== w.mask) {
        return deny('NOT_A_SUBSET', [
          { kind: 'binding', label: `${w.arn}: ${maskToPermissions(w.mask & ~covered).join(', ')}` },
          { kind: 'message', label: 'Requested role_bindings are not a subset of current permissions' },
        ])
      }
    }
    const reqExp = toMs(requested.expiresAt)
    const callerExp = toMs(caller.expiresAt)
    if (reqExp !== undefined && callerExp !== undefined && reqExp > callerExp) {
      return deny('EXPIRATION_EXCEEDED', [{ kind: 'message', label: 'Requested expiration of token is greater than current permissions' }])
    }
    return allow('TOKEN_SUBSET', want.map((w) => ({ kind: 'binding', label: w.arn })))
  }

  /** The options this set was created with (e.g. to build a sibling set for a minted token). */
  get options(): CondaStoreOptions {
    return this.#options
  }
}

function requiredMask(permission: string | readonly string[]): number {
  const list = typeof permission === 'string' ? [permission] : permission
  let mask = 0
  for (const p of list) {
    const bit = permissionBit(p)
    if (bit === undefined) throw new UnknownNameError('conda-store permission', String(p), CONDA_STORE_PERMISSIONS)
    mask |= bit
  }
  return mask
}

function bindingOfError(err: KeycloakPermissionsError): { arn?: string; role?: string } {
  const e = err as unknown as { arn?: string; role?: string }
  const out: { arn?: string; role?: string } = {}
  if (e.arn !== undefined) out['arn'] = e.arn
  if (e.role !== undefined) out['role'] = e.role
  return out
}

function bindingStep(b: MergedBinding): TraceStep {
  return { kind: 'binding', label: `${b.arn}: ${b.roles.join(', ') || '(no roles)'}`, data: { source: b.source, arn: b.arn, roles: b.roles } }
}

function viaSteps(via: readonly RoleVia[]): TraceStep[] {
  const first = via[0]
  if (first === undefined) return []
  if (first.kind === 'group') {
    const steps: TraceStep[] = [{ kind: 'group', label: first.member }]
    if (first.group !== first.member) steps.push({ kind: 'group', label: first.group, data: { inherited: true } })
    return steps
  }
  if (first.kind === 'composite') return [{ kind: 'role', label: formatRole(first.parent), data: { composite: true } }]
  return []
}

/** @internal For property tests and the bench: every permission, as a mask. */
export const ALL_PERMISSIONS: readonly CondaStorePermission[] = CONDA_STORE_PERMISSIONS
