/**
 * The Nebari layer (docs/semantics/nebari.md §2–§4, §9): the `scopes` attribute grammar of `conda_store` client
 * roles, highest role per namespace, and the login preset that builds a principal's full conda-store
 * bindings from its Keycloak client roles and groups. Every dropped role or item is a diagnostic.
 *
 * @module
 */
import type { Diagnostic } from '../core/diagnostics.js'
import { diagnostic } from '../core/diagnostics.js'
import { InvalidOptionsError } from '../core/errors.js'
import { groupBasename } from '../core/groups.js'
import type { EffectiveRole, Principal, RoleAttributes, RoleRef, RoleVia } from '../core/principal.js'
import { allAllowed, upstreamArnRegex } from './arn.js'
import type { BindingOrigin, CondaStoreDatabase, CondaStoreEntity, RoleBindings } from './bindings.js'
import { validateBindings } from './bindings.js'
import type { CondaStoreOptions } from './permission-set.js'
import { CondaStorePermissions } from './permission-set.js'
import type { CondaStoreRole } from './permissions.js'
import { ROLE_RANK } from './permissions.js'

/**
 * One accepted `scopes` item: `ROLE!namespace=NS`.
 *
 * @example
 * ```ts
 * import type { NebariScopeGrant } from 'keycloak-permissions/conda-store'
 * const g: NebariScopeGrant = { role: 'admin', namespace: 'analyst', item: 'admin!namespace=analyst' }
 * ```
 */
export interface NebariScopeGrant {
  readonly role: CondaStoreRole
  readonly namespace: string
  /** The item as written in the attribute. */
  readonly item: string
}

/**
 * Why an item failed the grammar: `empty` (e.g. a trailing comma), `whitespace` (before the role),
 * `syntax`, `role` (not viewer/developer/admin), `editor`.
 *
 * @example
 * ```ts
 * import type { NebariScopeItemProblem } from 'keycloak-permissions/conda-store'
 * const p: NebariScopeItemProblem = { item: ' viewer!namespace=global', reason: 'whitespace' }
 * ```
 */
export interface NebariScopeItemProblem {
  readonly item: string
  readonly reason: 'empty' | 'whitespace' | 'syntax' | 'role' | 'editor'
}

/**
 * The result of parsing one role's `scopes` value. In the Nebari-exact grammar one bad item rejects
 * the whole role (`grants` is then empty); with `lenient` only the bad items are dropped.
 *
 * @example
 * ```ts
 * import type { ParsedNebariScopes } from 'keycloak-permissions/conda-store'
 * const show = (p: ParsedNebariScopes) => p.rejected.map((r) => `${r.item}: ${r.reason}`)
 * ```
 */
export interface ParsedNebariScopes {
  readonly grants: readonly NebariScopeGrant[]
  readonly rejected: readonly NebariScopeItemProblem[]
}

/** Python's `\w` on ASCII text: letters, digits and `_`, the only ASCII characters of `\p{L}\p{M}\p{N}\p{Pc}`. */
const ASCII_WORD = /^[A-Za-z0-9_]+$/
const NON_ASCII = /[^\x00-\x7f]/
/** Python's `\w` (Unicode word characters); compiled on first use: compiling it is about 4 ms of a CLI start. */
let unicodeWord: RegExp | undefined

/** Whether a role token is Python `\w+` (docs/semantics/nebari.md §2); the ASCII test when the token is ASCII. */
function isWord(token: string): boolean {
  if (!NON_ASCII.test(token)) return ASCII_WORD.test(token)
  unicodeWord ??= new RegExp('^[\\p{L}\\p{M}\\p{N}\\p{Pc}]+$', 'u')
  return unicodeWord.test(token)
}

const ASCII_WS = /^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g
const NAMESPACE_PREFIX = 'namespace='

function parseItem(item: string): { role: string; namespace: string } | NebariScopeItemProblem['reason'] {
  if (item === '') return 'empty'
  if (/^\s/u.test(item)) return 'whitespace'
  const bang = item.indexOf('!')
  if (bang <= 0) return 'syntax'
  const role = item.slice(0, bang)
  if (!isWord(role)) return 'syntax'
  const rest = item.slice(bang + 1)
  if (!rest.startsWith(NAMESPACE_PREFIX)) return 'syntax'
  const namespace = rest.slice(NAMESPACE_PREFIX.length)
  if (namespace === '' || namespace.includes('!')) return 'syntax'
  return { role, namespace }
}

/**
 * Parses one `scopes` attribute value (docs/semantics/nebari.md §2). Default grammar `'nebari'` is Nebari-exact:
 * split on `,` without trimming, every item `^(\w+)!namespace=([^!]+)$` with role viewer, developer
 * or admin, and one bad item rejects the whole role. `'lenient'` trims ASCII whitespace around items
 * and namespaces, skips empty items, reads `editor` as `developer` and drops only the bad items.
 *
 * @example
 * ```ts
 * import { parseNebariScopes } from 'keycloak-permissions/conda-store'
 * parseNebariScopes('admin!namespace=analyst,developer!namespace=nebari-git').grants.length // 2
 * parseNebariScopes('admin!namespace=analyst, developer!namespace=nebari-git').grants.length // 0
 * ```
 */
export function parseNebariScopes(value: string, options: { grammar?: 'nebari' | 'lenient' } = {}): ParsedNebariScopes {
  const grammar = options.grammar ?? 'nebari'
  if (grammar !== 'nebari' && grammar !== 'lenient') throw new InvalidOptionsError('grammar', "must be 'nebari' or 'lenient'")
  if (value === '') return { grants: [], rejected: [] }
  const lenient = grammar === 'lenient'
  const grants: NebariScopeGrant[] = []
  const rejected: NebariScopeItemProblem[] = []
  for (const raw of value.split(',')) {
    const item = lenient ? raw.replace(ASCII_WS, '') : raw
    if (lenient && item === '') continue
    const parsed = parseItem(item)
    if (typeof parsed === 'string') {
      rejected.push({ item: raw, reason: parsed })
      continue
    }
    let role = parsed.role
    const namespace = lenient ? parsed.namespace.replace(ASCII_WS, '') : parsed.namespace
    if (lenient && role === 'editor') role = 'developer'
    if (role === 'editor') rejected.push({ item: raw, reason: 'editor' })
    else if (role !== 'viewer' && role !== 'developer' && role !== 'admin') rejected.push({ item: raw, reason: 'role' })
    else if (namespace === '') rejected.push({ item: raw, reason: 'syntax' })
    else grants.push({ role, namespace, item: raw })
  }
  if (!lenient && rejected.length > 0) return { grants: [], rejected }
  return { grants, rejected }
}

/**
 * Reduces grants to one per namespace: the highest of viewer < developer < admin, independent of
 * order (D7), in order of each namespace's first appearance. `duplicates` lists the namespaces that
 * had several grants.
 *
 * @example
 * ```ts
 * import { highestRolePerNamespace } from 'keycloak-permissions/conda-store'
 * highestRolePerNamespace([{ role: 'developer', namespace: 'a' }, { role: 'admin', namespace: 'a' }]).grants
 * // [{ role: 'admin', namespace: 'a' }]
 * ```
 */
export function highestRolePerNamespace<G extends { readonly role: CondaStoreRole; readonly namespace: string }>(
  grants: readonly G[],
): { grants: G[]; duplicates: { namespace: string; kept: CondaStoreRole; items: G[] }[] } {
  const best = new Map<string, G>()
  const all = new Map<string, G[]>()
  for (const g of grants) {
    const list = all.get(g.namespace)
    if (list) list.push(g)
    else all.set(g.namespace, [g])
    const cur = best.get(g.namespace)
    if (cur === undefined || ROLE_RANK[g.role] > ROLE_RANK[cur.role]) best.set(g.namespace, g)
  }
  const duplicates = [...all].filter(([, items]) => items.length > 1).map(([namespace, items]) => ({ namespace, kept: best.get(namespace)!.role, items }))
  return { grants: [...best.values()], duplicates }
}

/**
 * Options of the Nebari login preset (docs/semantics/nebari.md §4), validated eagerly.
 *
 * @example
 * ```ts
 * import type { NebariOptions } from 'keycloak-permissions/conda-store'
 * const o: NebariOptions = { defaultNamespace: 'nebari-git', existingNamespaces: ['analyst', 'global'] }
 * ```
 */
export interface NebariOptions {
  /** (`CondaStore.default_namespace` in Nebari's login) default `'nebari-git'`. */
  readonly defaultNamespace?: string
  /** default `'global'`. */
  readonly globalNamespace?: string
  /** conda-store's `authenticated_role_bindings`; default conda-store's. */
  readonly authenticatedRoleBindings?: RoleBindings
  /** The client whose roles carry `scopes`; default `'conda_store'`. */
  readonly condaStoreClientId?: string
  /** `'nebari'` (default, Nebari-exact) or `'lenient'`. */
  readonly grammar?: 'nebari' | 'lenient'
  /** conda-store's namespaces, when known: grants on other namespaces are dropped. */
  readonly existingNamespaces?: Iterable<string>
  /** Reproduce Nebari (and conda-store) bit-for-bit, crashes included (parity checks). */
  readonly compat?: 'nebari'
}

/**
 * What a Nebari login gives a principal: the token's bindings, the Keycloak-scope grants (v2 rows)
 * and the effective bindings' inputs, with every diagnostic.
 *
 * @example
 * ```ts
 * import { nebariLogin } from 'keycloak-permissions/conda-store'
 * const login = nebariLogin(principal)
 * login.loginBindings['global/*'] // ['developer']
 * login.grants // [['analyst', 'nebari', 'admin']]
 * ```
 */
export interface NebariLogin {
  readonly username: string
  readonly primaryNamespace: string
  /** The token's role bindings (roles sorted), as Nebari's `authenticate` builds them. */
  readonly loginBindings: Record<string, string[]>
  /** Keycloak-scope grants as v2 rows `[namespace, username, role]`. */
  readonly grants: [namespace: string, user: string, role: CondaStoreRole][]
  /** The entity (token) with provenance, for {@link CondaStorePermissions.create}. */
  readonly entity: CondaStoreEntity
  /** The grants as a v2 database, with provenance. */
  readonly database: CondaStoreDatabase
  readonly diagnostics: readonly Diagnostic[]
  /** Compat only: upstream's login would fail (`NEBARI_LOGIN_FAILED`). */
  readonly loginFailed: boolean
}

const LOGIN_ROLES: Readonly<Record<string, CondaStoreRole>> = {
  conda_store_admin: 'admin',
  conda_store_developer: 'developer',
  conda_store_viewer: 'viewer',
}
const SUPERADMIN = 'conda_store_superadmin'

interface ResolvedNebariOptions {
  defaultNamespace: string
  globalNamespace: string
  authenticatedRoleBindings: RoleBindings | undefined
  condaStoreClientId: string
  grammar: 'nebari' | 'lenient'
  existingNamespaces: ReadonlySet<string> | undefined
  compat: boolean
}

function resolveNebariOptions(options: NebariOptions): ResolvedNebariOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('options', 'must be an object')
  const str = (key: 'defaultNamespace' | 'globalNamespace' | 'condaStoreClientId', fallback: string) => {
    const v = options[key]
    if (v === undefined) return fallback
    if (typeof v !== 'string' || v === '') throw new InvalidOptionsError(key, 'must be a non-empty string')
    return v
  }
  if (options.grammar !== undefined && options.grammar !== 'nebari' && options.grammar !== 'lenient') {
    throw new InvalidOptionsError('grammar', "must be 'nebari' or 'lenient'")
  }
  if (options.compat !== undefined && options.compat !== 'nebari') throw new InvalidOptionsError('compat', "must be 'nebari' when set")
  let existing: Set<string> | undefined
  if (options.existingNamespaces !== undefined) {
    if (typeof (options.existingNamespaces as Iterable<string>)[Symbol.iterator] !== 'function' || typeof options.existingNamespaces === 'string') {
      throw new InvalidOptionsError('existingNamespaces', 'must be an iterable of namespace names')
    }
    existing = new Set(options.existingNamespaces)
  }
  return {
    defaultNamespace: str('defaultNamespace', 'nebari-git'),
    globalNamespace: str('globalNamespace', 'global'),
    authenticatedRoleBindings: options.authenticatedRoleBindings === undefined ? undefined : validateBindings(options.authenticatedRoleBindings, 'authenticatedRoleBindings'),
    condaStoreClientId: str('condaStoreClientId', 'conda_store'),
    grammar: options.grammar ?? 'nebari',
    existingNamespaces: existing,
    compat: options.compat === 'nebari',
  }
}

/** Python's `Path(group).name` (compat): the text after the last `/`, trailing slashes ignored. */
function pythonPathName(path: string): string {
  const trimmed = path.replace(/\/+$/, '')
  return trimmed.slice(trimmed.lastIndexOf('/') + 1)
}

const isNamespaceName = (ns: string) => ns !== '' && allAllowed(ns)

/** One role's `scopes` attribute → grants, with every diagnostic about the attribute itself. */
function readScopesAttribute(
  ref: RoleRef,
  attributes: RoleAttributes,
  grammar: 'nebari' | 'lenient',
  compat: boolean,
  user: { user?: string },
): { grants: readonly NebariScopeGrant[]; diagnostics: Diagnostic[]; abortsSync: boolean } {
  const diagnostics: Diagnostic[] = []
  const subject = { ...user, role: ref, attribute: 'scopes' }
  const label = `${ref.client ?? '(realm)'}/${ref.name}`
  const scopes = Object.hasOwn(attributes, 'scopes') ? attributes['scopes']! : undefined
  if (scopes === undefined) return { grants: [], diagnostics, abortsSync: false }
  if (scopes.length === 0) {
    diagnostics.push(diagnostic('error', 'NEBARI_SCOPES_EMPTY', `role ${label} has an empty scopes attribute; it grants nothing${compat ? ' (upstream: IndexError aborts the whole role sync)' : ''}`, subject, { fix: 'give scopes one value, e.g. viewer!namespace=NS, or remove the attribute' }))
    return { grants: [], diagnostics, abortsSync: compat }
  }
  if (scopes.length > 1) {
    diagnostics.push(diagnostic('warning', 'NEBARI_SCOPE_EXTRA_VALUES_IGNORED', `role ${label} has ${scopes.length} scopes values; only the first is read`, subject, { details: { ignored: scopes.slice(1) }, fix: 'join the items into the first value, comma-separated' }))
  }
  const value = scopes[0]!
  const component = Object.hasOwn(attributes, 'component') ? attributes['component'] : undefined
  if (value !== '' && component !== undefined && !(component.length === 1 && component[0] === 'conda-store')) {
    diagnostics.push(diagnostic('warning', 'NEBARI_COMPONENT_MISMATCH', `role ${label} has scopes but component ${JSON.stringify(component)}; conda-store applies it anyway`, subject, { fix: 'set component = conda-store' }))
  }
  const parsed = parseNebariScopes(value, { grammar })
  if (parsed.rejected.length > 0) {
    if (grammar === 'nebari') {
      diagnostics.push(
        diagnostic('error', 'NEBARI_SCOPE_ROLE_REJECTED', `role ${label} grants nothing: ${parsed.rejected.map((p) => `${JSON.stringify(p.item)} (${p.reason})`).join(', ')}`, { ...subject, item: parsed.rejected[0]!.item }, {
          details: { rejectedItems: parsed.rejected },
          fix: 'write every item as ROLE!namespace=NS (ROLE viewer, developer or admin), comma-separated without spaces',
        }),
      )
    } else {
      for (const p of parsed.rejected) {
        diagnostics.push(diagnostic('warning', 'NEBARI_SCOPE_ITEM_DROPPED', `role ${label}: item ${JSON.stringify(p.item)} dropped (${p.reason})`, { ...subject, item: p.item }, { details: { reason: p.reason } }))
      }
    }
  }
  return { grants: parsed.grants, diagnostics, abortsSync: false }
}

/**
 * Lint for conda-store role attributes (docs/semantics/nebari.md §2, §11; docs/semantics/conda-store.md §4): every `scopes`
 * finding of the `conda_store` client's roles — rejected roles (errors), ignored values, component
 * mismatches, grants on names that cannot be conda-store namespaces, and namespaces that upstream's
 * regex reads as metacharacters (`CONDA_ARN_METACHARACTER`). Roles of other clients are ignored.
 *
 * @example
 * ```ts
 * import { lintCondaStoreRoles } from 'keycloak-permissions/conda-store'
 * lintCondaStoreRoles([{ client: 'conda_store', name: 'broken', attributes: { scopes: ['admin!namespace=a, viewer!namespace=b'] } }])
 * // [{ severity: 'error', code: 'NEBARI_SCOPE_ROLE_REJECTED', … }]
 * ```
 */
export function lintCondaStoreRoles(
  roles: Iterable<RoleRef & { readonly attributes: RoleAttributes }>,
  options: Pick<NebariOptions, 'condaStoreClientId' | 'grammar'> = {},
): Diagnostic[] {
  const o = resolveNebariOptions(options)
  const out: Diagnostic[] = []
  for (const role of roles) {
    if (role.client !== o.condaStoreClientId) continue
    const read = readScopesAttribute(role, role.attributes, o.grammar, false, {})
    out.push(...read.diagnostics)
    for (const g of read.grants) {
      const subject = { role: { client: role.client, name: role.name }, attribute: 'scopes', item: g.item }
      if (!isNamespaceName(g.namespace)) {
        out.push(diagnostic('warning', 'NEBARI_NAMESPACE_INVALID', `grant ${JSON.stringify(g.item)} names ${JSON.stringify(g.namespace)}, which is not a valid conda-store namespace; it grants nothing`, subject, { details: { namespace: g.namespace } }))
      } else if ([...'.+?^$'].some((ch) => g.namespace.includes(ch))) {
        out.push(diagnostic('warning', 'CONDA_ARN_METACHARACTER', `grant ${JSON.stringify(g.item)} becomes the binding ${g.namespace}/*, which upstream conda-store reads as a regular expression`, subject, { details: { arn: `${g.namespace}/*`, regex: upstreamArnRegex(`${g.namespace}/*`) } }))
      }
    }
  }
  return out
}

/**
 * The Nebari login preset (docs/semantics/nebari.md §4): from a principal's client roles (all clients' role names for
 * `conda_store_admin|developer|viewer|superadmin`), its direct groups (basenames) and the `scopes` of
 * its `conda_store` client roles, the bindings a Nebari login gives it. Default: highest role per
 * namespace (D7), grants apply from the first login (D8), invalid namespaces dropped; every dropped
 * role, item or binding is a diagnostic.
 *
 * @example
 * ```ts
 * import { nebariLogin } from 'keycloak-permissions/conda-store'
 * const { loginBindings, grants, diagnostics } = nebariLogin(principal, { existingNamespaces: ['analyst'] })
 * ```
 */
export function nebariLogin(principal: Principal, options: NebariOptions = {}): NebariLogin {
  const o = resolveNebariOptions(options)
  const username = principal.username
  const diagnostics: Diagnostic[] = []
  const user = { user: username }

  // ------------------------------------------------------------------ login bindings (§4.1)
  const roleSources: { role: RoleRef; via: readonly RoleVia[] }[] = []
  let superadmin: EffectiveRole | undefined
  const roleSet = new Set<CondaStoreRole>()
  for (const client of Object.keys(principal.clientRoles)) {
    for (const r of principal.clientRoles[client]!) {
      if (r.name === SUPERADMIN) superadmin ??= r
      if (Object.hasOwn(LOGIN_ROLES, r.name)) {
        roleSet.add(LOGIN_ROLES[r.name]!)
        roleSources.push({ role: { client: r.client ?? client, name: r.name }, via: r.via })
      }
    }
  }
  const R = [...roleSet].sort()
  const bindings = new Map<string, { roles: string[]; origin: BindingOrigin & { kind: 'nebari-login' } }>()
  let loginFailed = false
  if (superadmin) {
    bindings.set('*/*', { roles: ['admin'], origin: { kind: 'nebari-login', rule: 'superadmin', roles: [{ role: { client: superadmin.client ?? o.condaStoreClientId, name: SUPERADMIN }, via: superadmin.via }] } })
  } else {
    bindings.set(`${username}/*`, { roles: ['admin'], origin: { kind: 'nebari-login', rule: 'user-namespace', roles: [] } })
    bindings.set(`${o.defaultNamespace}/*`, { roles: ['viewer'], origin: { kind: 'nebari-login', rule: 'default-namespace', roles: [] } })
    bindings.set(`${o.globalNamespace}/*`, { roles: R, origin: { kind: 'nebari-login', rule: 'global-namespace', roles: roleSources } })
    for (const group of principal.groups) {
      const ns = o.compat ? pythonPathName(group) : groupBasename(group)
      if (!isNamespaceName(ns)) {
        if (o.compat) {
          loginFailed = true
          diagnostics.push(diagnostic('info', 'NEBARI_LOGIN_FAILED', `group ${group} gives the namespace ${JSON.stringify(ns)}, which fails conda-store's token validation: upstream's login fails`, { ...user, group }, { details: { namespace: ns } }))
        } else {
          diagnostics.push(
            diagnostic('warning', 'NEBARI_NAMESPACE_INVALID', `group ${group} has the basename ${JSON.stringify(ns)}, which is not a valid conda-store namespace; its binding is dropped`, { ...user, group }, {
              details: { namespace: ns },
              fix: 'rename the group so that its name uses only A-Za-z0-9-+_@$&?^~.=',
            }),
          )
        }
        continue
      }
      const key = `${ns}/*`
      const prev = bindings.get(key)
      if (prev) {
        if (prev.origin.rule === 'group') {
          if (prev.origin.group !== group) {
            diagnostics.push(diagnostic('warning', 'NEBARI_GROUP_BASENAME_COLLISION', `groups ${prev.origin.group} and ${group} share the namespace ${ns}`, { ...user, group }, { details: { namespace: ns, groups: [prev.origin.group, group] } }))
          }
        } else {
          diagnostics.push(
            diagnostic('warning', 'NEBARI_BINDING_OVERWRITTEN', `group ${group} replaces the ${prev.origin.rule} binding ${key}: [${prev.roles.join(', ')}] with [${R.join(', ')}]`, { ...user, group }, {
              details: { arn: key, before: prev.roles, after: R, rule: prev.origin.rule },
            }),
          )
        }
      }
      bindings.set(key, { roles: R, origin: { kind: 'nebari-login', rule: 'group', group, roles: roleSources } })
    }
  }

  // ------------------------------------------------------------------ Keycloak-scope grants (§4.2)
  type Candidate = NebariScopeGrant & { role: CondaStoreRole; source: EffectiveRole; ref: RoleRef }
  const candidates: Candidate[] = []
  let syncAborted = false
  const scopeRoles = Object.hasOwn(principal.clientRoles, o.condaStoreClientId) ? principal.clientRoles[o.condaStoreClientId]! : []
  for (const r of scopeRoles) {
    const ref: RoleRef = { client: r.client ?? o.condaStoreClientId, name: r.name }
    const read = readScopesAttribute(ref, r.attributes, o.grammar, o.compat, user)
    diagnostics.push(...read.diagnostics)
    if (read.abortsSync) syncAborted = true
    for (const g of read.grants) candidates.push({ ...g, source: r, ref })
  }

  let reduced: Candidate[]
  if (o.compat) {
    // Upstream keeps the first grant per namespace; a later higher one stores a bare string and the sync crashes.
    const first = new Map<string, Candidate>()
    for (const c of candidates) {
      const f = first.get(c.namespace)
      if (!f) first.set(c.namespace, c)
      else if (ROLE_RANK[c.role] > ROLE_RANK[f.role]) syncAborted = true
    }
    for (const d of highestRolePerNamespace(candidates).duplicates) {
      diagnostics.push(diagnostic('warning', 'NEBARI_DUPLICATE_NAMESPACE', `several grants for ${d.namespace}`, { ...user, item: d.items.map((i) => i.item).join(',') }, { details: { namespace: d.namespace, kept: syncAborted ? null : first.get(d.namespace)!.role, upstream: syncAborted ? 'role sync aborted (AttributeError)' : 'first kept' } }))
    }
    reduced = [...first.values()]
  } else {
    const { grants, duplicates } = highestRolePerNamespace(candidates)
    for (const d of duplicates) {
      diagnostics.push(diagnostic('warning', 'NEBARI_DUPLICATE_NAMESPACE', `several grants for ${d.namespace}; ${d.kept} kept`, { ...user, item: d.items.map((i) => i.item).join(',') }, { details: { namespace: d.namespace, kept: d.kept } }))
    }
    reduced = grants
  }

  // Upstream's order (Nebari conda_store_config.py `_apply_roles_from_keycloak`, then conda-store api.py):
  // `_remove_current_bindings` looks up the user's current bindings (v2 lookup of the user's namespace;
  // a missing namespace is swallowed, leaving conda-store's authenticated defaults) and calls
  // `delete_namespace_role(ns, user)` for every key but `default/*` and `filesystem/*`, uncaught; then
  // per grant `delete_namespace_role(ns, user)` + `create_namespace_role`, each ValueError caught and
  // logged. Both calls look up `ns` first, then the user's namespace. Login creates the user's
  // namespace only after all this (and never for a superadmin). docs/semantics/upstream-parity.md.
  const existing = o.existingNamespaces
  const userNamespaceMissing = existing !== undefined && !existing.has(username)
  const isOwn = (ns: string) => ns.toLowerCase() === username.toLowerCase()
  // Upstream removes the current bindings before parsing any scopes, so this failure comes first.
  if (o.compat && existing !== undefined) {
    const defaults = o.authenticatedRoleBindings ?? { 'default/*': ['viewer'], 'filesystem/*': ['viewer'] }
    for (const key of Object.keys(defaults)) {
      if (key === 'default/*' || key === 'filesystem/*') continue
      const ns = key.split('/')[0]!
      const missing = !existing.has(ns) ? ns : userNamespaceMissing ? username : undefined
      if (missing === undefined) continue
      syncAborted = true
      diagnostics.push(
        diagnostic('warning', 'NEBARI_ROLE_SYNC_FAILED', `the authenticated binding ${key} makes Nebari delete the user's grants on ${JSON.stringify(ns)}, which fails (Namespace='${missing}' not found): upstream applies no Keycloak grant on this login`, user, {
          details: { arn: key, namespace: missing, upstream: 'Adding roles from keycloak failed' },
        }),
      )
      break
    }
  }
  // The gap: a grant upstream would apply but for the user's missing namespace.
  const gapped = userNamespaceMissing
    ? reduced.filter((g) => !isOwn(g.namespace) && isNamespaceName(g.namespace) && existing!.has(g.namespace))
    : []
  if (!syncAborted && gapped.length > 0) {
    diagnostics.push(
      diagnostic('info', 'NEBARI_FIRST_LOGIN_GAP', `conda-store has no namespace ${username} yet (first login, or any login of a superadmin): upstream fails ${gapped.length} Keycloak grant(s) on this login with Namespace='${username}' not found${o.compat ? '' : '; they apply here from the first resolution'}`, user, {
        details: { namespaces: gapped.map((g) => g.namespace) },
      }),
    )
  }
  const rows: [string, string, CondaStoreRole][] = []
  const v2: { namespace: string; otherNamespace: string; role: string; origin: BindingOrigin }[] = []
  if (!syncAborted) {
    for (const g of reduced) {
      const subject = { ...user, role: g.ref, attribute: 'scopes', item: g.item }
      if (isOwn(g.namespace)) {
        diagnostics.push(diagnostic('info', 'NEBARI_OWN_NAMESPACE_SKIPPED', `grant ${JSON.stringify(g.item)} is on the user's own namespace; ignored`, subject))
        continue
      }
      if (!isNamespaceName(g.namespace)) {
        diagnostics.push(diagnostic('warning', 'NEBARI_NAMESPACE_INVALID', `grant ${JSON.stringify(g.item)} names ${JSON.stringify(g.namespace)}, which is not a valid conda-store namespace; dropped`, subject, { details: { namespace: g.namespace } }))
        continue
      }
      if (existing !== undefined && !existing.has(g.namespace)) {
        diagnostics.push(diagnostic('warning', 'NEBARI_NAMESPACE_NOT_FOUND', `grant ${JSON.stringify(g.item)}: conda-store has no namespace ${g.namespace}; dropped`, subject, { details: { namespace: g.namespace } }))
        continue
      }
      if (o.compat && userNamespaceMissing) continue
      rows.push([g.namespace, username, g.role])
      v2.push({ namespace: g.namespace, otherNamespace: username, role: g.role, origin: { kind: 'keycloak-scope', role: g.ref, item: g.item, via: g.source.via } })
    }
  }

  const loginBindings: Record<string, string[]> = {}
  const origins: Record<string, BindingOrigin[]> = {}
  if (!loginFailed) {
    for (const [arn, b] of bindings) {
      loginBindings[arn] = [...b.roles]
      origins[arn] = [b.origin]
    }
  }
  return {
    username,
    primaryNamespace: username,
    loginBindings,
    grants: loginFailed ? [] : rows,
    entity: { primaryNamespace: username, roleBindings: loginBindings, origins },
    database: { v2: loginFailed ? [] : v2 },
    diagnostics,
    loginFailed,
  }
}

/**
 * The conda-store permission set of a Keycloak principal under Nebari's login (docs/semantics/nebari.md §4.3):
 * conda-store defaults ⊕ login bindings ⊕ Keycloak-scope grants, `roleMappingsVersion` 2. With
 * `compat: 'nebari'` the bindings and the matcher reproduce upstream (`compat: 'conda-store'`).
 *
 * @example
 * ```ts
 * import { condaStorePermissionsFor } from 'keycloak-permissions/conda-store'
 * const perms = condaStorePermissionsFor(await source.resolve('bob'))
 * perms.filterEnvironments(['ml/torch', 'global/base']) // ['ml/torch'] (bob holds no conda_store_* role)
 * ```
 */
export function condaStorePermissionsFor(
  principal: Principal,
  options: NebariOptions & Pick<CondaStoreOptions, 'likeDialect' | 'roleMappings' | 'clock'> = {},
): CondaStorePermissions {
  const login = nebariLogin(principal, options)
  const { likeDialect, roleMappings, clock, authenticatedRoleBindings, defaultNamespace } = options
  const base: CondaStoreOptions = {
    roleMappingsVersion: 2,
    ...(options.compat === 'nebari' ? { compat: 'conda-store' as const } : {}),
    ...(likeDialect !== undefined ? { likeDialect } : {}),
    ...(roleMappings !== undefined ? { roleMappings } : {}),
    ...(clock !== undefined ? { clock } : {}),
    ...(authenticatedRoleBindings !== undefined ? { authenticatedRoleBindings } : {}),
    defaultNamespace: defaultNamespace ?? 'nebari-git',
  }
  return CondaStorePermissions.create(login.loginFailed ? null : login.entity, {
    ...base,
    database: login.database,
    diagnostics: login.diagnostics,
    username: principal.username,
  })
}

/**
 * The viewer bindings jhub-apps requests for a user's scoped token (docs/semantics/nebari.md §9). Default: group
 * namespaces are basenames (`/projects/ml` → `ml`) and the default namespace is configurable;
 * `compat: 'nebari'` reproduces jhub-apps (`group.replace('/', '')`, `nebari-git` hard-coded).
 *
 * @example
 * ```ts
 * import { nebariJhubAppsRoleBindings } from 'keycloak-permissions/conda-store'
 * nebariJhubAppsRoleBindings({ name: 'alice', groups: ['/projects/ml'], admin: false })['ml/*'] // ['viewer']
 * ```
 */
export function nebariJhubAppsRoleBindings(
  user: { readonly name: string; readonly groups?: readonly string[]; readonly admin?: boolean },
  options: Pick<NebariOptions, 'defaultNamespace' | 'globalNamespace' | 'compat'> = {},
): Record<string, string[]> {
  const o = resolveNebariOptions(options)
  const viewer = () => ['viewer']
  const out: Record<string, string[]> = {
    [`${user.name}/*`]: viewer(),
    'default/*': viewer(),
    'filesystem/*': viewer(),
    [`${o.compat ? 'nebari-git' : o.defaultNamespace}/*`]: viewer(),
    [`${o.compat ? 'global' : o.globalNamespace}/*`]: viewer(),
  }
  for (const group of user.groups ?? []) out[`${o.compat ? group.replaceAll('/', '') : groupBasename(group)}/*`] = viewer()
  if (user.admin) out['*/*'] = viewer()
  return out
}
