/**
 * What a realm change grants or revokes: the realm changes between two snapshots (memberships, role
 * mappings of users and groups, composites, attributes, users and roles added or removed), every
 * permission gained, lost or changed per user with the realm changes that caused it, and the lint
 * diagnostics introduced or fixed.
 *
 * @module
 */
import type { Diagnostic } from '../core/diagnostics.js'
import { InvalidOptionsError } from '../core/errors.js'
import { groupWithAncestors } from '../core/groups.js'
import type { Chain } from '../core/chain.js'
import { formatRole, type Principal, type RoleAttributes } from '../core/principal.js'
import { KEYCLOAK_BUILTIN_CLIENTS } from '../workspaces/internal.js'
import { accessMatrix, type AccessGrant, type AccessMatrix, type AccessMatrixOptions, type ReviewInput } from './matrix.js'

/**
 * One change to the realm, with a sentence describing it. Roles are written `client/name` (realm roles
 * by name), groups as full paths.
 *
 * @example
 * ```ts
 * import type { RealmChange } from 'keycloak-permissions/review'
 * const c: RealmChange = { kind: 'group-role', change: 'added', group: '/projects/ml', role: 'ws-beta/ws_access',
 *   description: 'role ws-beta/ws_access added to group /projects/ml' }
 * ```
 */
export type RealmChange = { readonly description: string } & (
  | { readonly kind: 'user'; readonly change: 'added' | 'removed'; readonly user: string }
  | { readonly kind: 'membership'; readonly change: 'added' | 'removed'; readonly user: string; readonly group: string }
  | { readonly kind: 'user-role'; readonly change: 'added' | 'removed'; readonly user: string; readonly role: string }
  | { readonly kind: 'group-role'; readonly change: 'added' | 'removed'; readonly group: string; readonly role: string }
  | { readonly kind: 'composite'; readonly change: 'added' | 'removed'; readonly role: string; readonly child: string }
  | { readonly kind: 'attribute'; readonly change: 'edited'; readonly role: string; readonly attribute: string; readonly before: readonly string[] | null; readonly after: readonly string[] | null }
  | { readonly kind: 'role'; readonly change: 'added' | 'removed'; readonly role: string }
)

/**
 * A grant as seen on one side of a diff: its level and the chains that grant it (as data and one line each).
 *
 * @example
 * ```ts
 * import type { GrantState } from 'keycloak-permissions/review'
 * const s: GrantState = {
 *   level: 'viewer',
 *   chains: [[{ kind: 'user', label: 'alice' }, { kind: 'role', label: 'conda_store/analyst-global-viewer' }, { kind: 'item', label: 'viewer!namespace=global' }, { kind: 'grant', label: 'global/*: viewer' }]],
 *   via: ['alice → conda_store/analyst-global-viewer → viewer!namespace=global → global/*: viewer'],
 * }
 * ```
 */
export interface GrantState {
  readonly level: string
  readonly chains: readonly Chain[]
  readonly via: readonly string[]
}

/**
 * Options of {@link diffAccess}: those of the access matrix, precomputed matrices, and whether what
 * Keycloak creates or fills in by itself is compared.
 *
 * @example
 * ```ts
 * import type { DiffOptions } from 'keycloak-permissions/review'
 * const o: DiffOptions = { keycloakBuiltIns: 'compare' }
 * ```
 */
export interface DiffOptions extends AccessMatrixOptions {
  /** The two access matrices, when already computed (they are not recomputed). */
  readonly matrices?: { readonly before: AccessMatrix; readonly after: AccessMatrix }
  /**
   * `ignore` (default): leave out of the realm changes what Keycloak creates or fills in at import
   * ({@link isKeycloakBuiltInRole}: built-in clients' roles and `offline_access` / `uma_authorization`
   * created, deleted, their composites and attributes; the default role's existence and its built-in
   * composites; built-in roles that only became effective). `compare`: report them too.
   */
  readonly keycloakBuiltIns?: 'ignore' | 'compare'
}

const BUILT_IN_CLIENTS = new Set(KEYCLOAK_BUILTIN_CLIENTS)
const BUILT_IN_REALM_ROLES = new Set(['offline_access', 'uma_authorization'])

/**
 * Whether a role (written `client/name`, a realm role by name) is one Keycloak creates itself in every
 * realm: a role of a built-in client (`account`, `account-console`, `admin-cli`, `broker`,
 * `realm-management`, `security-admin-console`) or the realm roles `offline_access` and
 * `uma_authorization` (docs/semantics/keycloak.md §5.2 items 3–4). The default role
 * `default-roles-{realm}` is handled apart: its existence is Keycloak's, its composites may be yours.
 *
 * @example
 * ```ts
 * import { isKeycloakBuiltInRole } from 'keycloak-permissions/review'
 * isKeycloakBuiltInRole('account/manage-account')   // true
 * isKeycloakBuiltInRole('offline_access')           // true
 * isKeycloakBuiltInRole('conda_store/conda_store_admin') // false
 * ```
 */
export function isKeycloakBuiltInRole(role: string): boolean {
  const slash = role.indexOf('/')
  return slash < 0 ? BUILT_IN_REALM_ROLES.has(role) : BUILT_IN_CLIENTS.has(role.slice(0, slash))
}

/**
 * One permission gained, lost or changed (same resource, another level) for one user, with the
 * realm changes that caused it (empty only when none of the compared facts explains it).
 *
 * @example
 * ```ts
 * import type { AccessChange } from 'keycloak-permissions/review'
 * const show = (c: AccessChange) => `${c.user} ${c.change} ${c.component} ${c.resource}: ${c.causes.map((x) => x.description).join('; ')}`
 * ```
 */
export interface AccessChange {
  readonly user: string
  readonly change: 'gained' | 'lost' | 'changed'
  readonly component: string
  readonly resource: string
  readonly before?: GrantState
  readonly after?: GrantState
  readonly causes: readonly RealmChange[]
}

/**
 * The result of {@link diffAccess}.
 *
 * @example
 * ```ts
 * import { diffAccess } from 'keycloak-permissions/review'
 * const { changes, lint } = diffAccess(before, after)
 * process.exitCode = changes.length > 0 ? 1 : 0
 * ```
 */
export interface AccessDiff {
  readonly changes: readonly AccessChange[]
  readonly lint: { readonly introduced: readonly Diagnostic[]; readonly fixed: readonly Diagnostic[] }
  /** Every realm change found, whether or not it changed a permission. */
  readonly realmChanges: readonly RealmChange[]
}

interface UserFacts {
  readonly groups: ReadonlySet<string>
  /** The user's groups and their ancestors. */
  readonly groupsWithAncestors: ReadonlySet<string>
  readonly directRoles: ReadonlySet<string>
  readonly effective: ReadonlySet<string>
  readonly provenance: boolean
}

interface RealmFacts {
  readonly users: Map<string, UserFacts>
  /** Group → its directly mapped roles, for groups some reviewed user is in (or below). */
  readonly groupRoles: Map<string, Set<string>>
  /** Role → its direct composites, for roles whose children are known. */
  readonly composites: Map<string, Set<string>>
  readonly attributes: Map<string, RoleAttributes>
  /** Roles known to exist (the catalogue when given; else the roles someone holds). */
  readonly roles: Set<string>
  readonly catalogue: boolean
  /** The realm's default role(s): `default-roles-{realm}` and any role a principal holds as `default`. */
  readonly defaultRoles: Set<string>
}

function factsOf(input: ReviewInput): RealmFacts {
  const users = new Map<string, UserFacts>()
  const groupRoles = new Map<string, Set<string>>()
  const composites = new Map<string, Set<string>>()
  const attributes = new Map<string, RoleAttributes>()
  const roles = new Set<string>()
  const defaultRoles = new Set<string>()
  const catalogue = input.roles !== undefined
  for (const p of input.principals) {
    defaultRoles.add(`default-roles-${p.realm}`)
    for (const r of p.realmRoles) if (r.via.some((v) => v.kind === 'default')) defaultRoles.add(r.name)
  }
  for (const role of input.roles ?? []) {
    const key = formatRole(role)
    roles.add(key)
    attributes.set(key, role.attributes)
    if (role.composites) composites.set(key, new Set(role.composites.map(formatRole)))
  }
  for (const p of input.principals) users.set(p.username, userFacts(p, { groupRoles, composites, attributes, roles, catalogue }))
  return { users, groupRoles, composites, attributes, roles, catalogue, defaultRoles }
}

function userFacts(p: Principal, facts: Omit<RealmFacts, 'users' | 'defaultRoles'>): UserFacts {
  const provenance = p.complete.provenance
  const directRoles = new Set<string>()
  const effective = new Set<string>()
  const groupsWithAncestors = new Set<string>()
  for (const g of p.groups) for (const a of groupWithAncestors(g)) groupsWithAncestors.add(a)
  if (provenance) for (const g of groupsWithAncestors) if (!facts.groupRoles.has(g)) facts.groupRoles.set(g, new Set())
  const all = [...p.realmRoles.map((r) => ({ key: formatRole({ name: r.name }), r })), ...Object.entries(p.clientRoles).flatMap(([client, list]) => list.map((r) => ({ key: formatRole({ client, name: r.name }), r })))]
  for (const { key, r } of all) {
    effective.add(key)
    if (!facts.catalogue) {
      facts.roles.add(key)
      facts.attributes.set(key, r.attributes)
      if (provenance && !facts.composites.has(key)) facts.composites.set(key, new Set())
    }
    if (!provenance) continue
    for (const via of r.via) {
      if (via.kind === 'direct' || via.kind === 'default') directRoles.add(key)
      else if (via.kind === 'group') facts.groupRoles.get(via.group)?.add(key)
      else if (!facts.catalogue) {
        const parent = formatRole(via.parent)
        const children = facts.composites.get(parent)
        if (children) children.add(key)
        else facts.composites.set(parent, new Set([key]))
      }
    }
  }
  return { groups: new Set(p.groups), groupsWithAncestors, directRoles, effective, provenance }
}

const sorted = (set: Iterable<string>) => [...set].sort()

/**
 * The realm changes between two snapshots. With role catalogues (`roles`) composites and attributes
 * are compared for every role; without, for the roles the reviewed users hold. Group role mappings are
 * compared for the groups some reviewed user is in (or below) on both sides; a principal without
 * provenance contributes memberships and effective roles only.
 *
 * @example
 * ```ts
 * import { realmChanges } from 'keycloak-permissions/review'
 * realmChanges(before, after).map((c) => c.description)
 * // ['user bob added to group /developer', 'attribute scopes of conda_store/ml-team-scopes edited']
 * ```
 */
export function realmChanges(before: ReviewInput, after: ReviewInput, options: Pick<DiffOptions, 'keycloakBuiltIns'> = {}): RealmChange[] {
  checkInput('before', before)
  checkInput('after', after)
  const a = factsOf(before)
  const b = factsOf(after)
  const all = changesBetween(a, b)
  return builtInsMode(options) === 'compare' ? all : all.filter((c) => !createdByKeycloak(c, a, b))
}

function builtInsMode(options: Pick<DiffOptions, 'keycloakBuiltIns'>): 'ignore' | 'compare' {
  const mode = options.keycloakBuiltIns ?? 'ignore'
  if (mode !== 'ignore' && mode !== 'compare') throw new InvalidOptionsError('keycloakBuiltIns', `must be 'ignore' or 'compare', got ${JSON.stringify(mode)}`)
  return mode
}

/**
 * Whether a realm change is one Keycloak makes by itself (an import or a user created through the
 * Admin API fills these in), so that a live realm and the file it imported compare equal
 * (docs/semantics/keycloak.md §5.2): built-in roles appearing, disappearing or changing, the default
 * role's existence and its built-in composites, and built-in roles that merely became effective (seen
 * without provenance). Mappings you make (a built-in role mapped to a user or a group, your own role
 * added to the default role) stay.
 */
function createdByKeycloak(c: RealmChange, a: RealmFacts, b: RealmFacts): boolean {
  const isDefault = (role: string) => a.defaultRoles.has(role) || b.defaultRoles.has(role)
  switch (c.kind) {
    case 'role':
      return isKeycloakBuiltInRole(c.role) || isDefault(c.role)
    case 'composite':
      return isKeycloakBuiltInRole(c.role) || (isDefault(c.role) && isKeycloakBuiltInRole(c.child))
    case 'attribute':
      return isKeycloakBuiltInRole(c.role)
    case 'user-role': {
      // Without provenance the change is "now effective": built-ins reach users through the default role.
      const provenance = a.users.get(c.user)?.provenance === true && b.users.get(c.user)?.provenance === true
      return !provenance && (isKeycloakBuiltInRole(c.role) || isDefault(c.role))
    }
    default:
      return false
  }
}

/** Attribute values as compared: an empty list is the same as no attribute (Keycloak stores neither). */
function attributeValue(attributes: RoleAttributes, key: string): readonly string[] | null {
  const value = Object.hasOwn(attributes, key) ? attributes[key]! : null
  return value === null || value.length === 0 ? null : value
}

function changesBetween(a: RealmFacts, b: RealmFacts): RealmChange[] {
  const out: RealmChange[] = []
  for (const user of sorted(new Set([...a.users.keys(), ...b.users.keys()]))) {
    const x = a.users.get(user)
    const y = b.users.get(user)
    if (!x || !y) {
      const change = x ? 'removed' : 'added'
      out.push({ kind: 'user', change, user, description: `user ${user} ${change}` })
      continue
    }
    for (const g of sorted(y.groups)) if (!x.groups.has(g)) out.push({ kind: 'membership', change: 'added', user, group: g, description: `user ${user} added to group ${g}` })
    for (const g of sorted(x.groups)) if (!y.groups.has(g)) out.push({ kind: 'membership', change: 'removed', user, group: g, description: `user ${user} removed from group ${g}` })
    if (x.provenance && y.provenance) {
      for (const r of sorted(y.directRoles)) if (!x.directRoles.has(r)) out.push({ kind: 'user-role', change: 'added', user, role: r, description: `role ${r} mapped to user ${user}` })
      for (const r of sorted(x.directRoles)) if (!y.directRoles.has(r)) out.push({ kind: 'user-role', change: 'removed', user, role: r, description: `role ${r} unmapped from user ${user}` })
    } else {
      // Without provenance only the effective roles can be compared.
      for (const r of sorted(y.effective)) if (!x.effective.has(r)) out.push({ kind: 'user-role', change: 'added', user, role: r, description: `role ${r} now effective for user ${user}` })
      for (const r of sorted(x.effective)) if (!y.effective.has(r)) out.push({ kind: 'user-role', change: 'removed', user, role: r, description: `role ${r} no longer effective for user ${user}` })
    }
  }
  for (const group of sorted(a.groupRoles.keys())) {
    const x = a.groupRoles.get(group)!
    const y = b.groupRoles.get(group)
    if (!y) continue
    for (const r of sorted(y)) if (!x.has(r)) out.push({ kind: 'group-role', change: 'added', group, role: r, description: `role ${r} added to group ${group}` })
    for (const r of sorted(x)) if (!y.has(r)) out.push({ kind: 'group-role', change: 'removed', group, role: r, description: `role ${r} removed from group ${group}` })
  }
  const bothCatalogues = a.catalogue && b.catalogue
  if (bothCatalogues) {
    for (const r of sorted(b.roles)) if (!a.roles.has(r)) out.push({ kind: 'role', change: 'added', role: r, description: `role ${r} created` })
    for (const r of sorted(a.roles)) if (!b.roles.has(r)) out.push({ kind: 'role', change: 'removed', role: r, description: `role ${r} deleted` })
  }
  for (const role of sorted(a.composites.keys())) {
    const x = a.composites.get(role)!
    const y = b.composites.get(role)
    if (!y) continue
    for (const c of sorted(y)) if (!x.has(c)) out.push({ kind: 'composite', change: 'added', role, child: c, description: `${c} added to composite role ${role}` })
    for (const c of sorted(x)) if (!y.has(c)) out.push({ kind: 'composite', change: 'removed', role, child: c, description: `${c} removed from composite role ${role}` })
  }
  for (const role of sorted(a.attributes.keys())) {
    const x = a.attributes.get(role)!
    const y = b.attributes.get(role)
    if (!y) continue
    for (const key of sorted(new Set([...Object.keys(x), ...Object.keys(y)]))) {
      const before = attributeValue(x, key)
      const after = attributeValue(y, key)
      if (JSON.stringify(before) === JSON.stringify(after)) continue
      out.push({ kind: 'attribute', change: 'edited', role, attribute: key, before, after, description: `attribute ${key} of ${role} edited: ${JSON.stringify(before)} → ${JSON.stringify(after)}` })
    }
  }
  return out
}

/** The realm changes that can have changed this grant of this user (see {@link diffAccess}). */
function causesOf(user: string, grants: readonly (AccessGrant | undefined)[], changes: readonly RealmChange[], a: RealmFacts, b: RealmFacts): RealmChange[] {
  const roles = new Set<string>()
  const groups = new Set<string>()
  for (const g of grants) {
    for (const r of g?.roles ?? []) roles.add(r)
    for (const x of g?.groups ?? []) groups.add(x)
  }
  const ua = a.users.get(user)
  const ub = b.users.get(user)
  const inGroup = (g: string) => ua?.groupsWithAncestors.has(g) === true || ub?.groupsWithAncestors.has(g) === true
  const holds = (r: string) => ua?.effective.has(r) === true || ub?.effective.has(r) === true
  const touches = (c: RealmChange, strict: boolean): boolean => {
    switch (c.kind) {
      case 'user':
        return c.user === user
      case 'membership':
        return c.user === user && (!strict || groups.has(c.group))
      case 'user-role':
        return c.user === user && (!strict || roles.has(c.role))
      case 'group-role':
        return inGroup(c.group) && (!strict || roles.has(c.role))
      case 'composite':
        return holds(c.role) && (!strict || roles.has(c.child) || roles.has(c.role))
      case 'attribute':
      case 'role':
        return strict ? roles.has(c.role) : holds(c.role)
    }
  }
  const strict = changes.filter((c) => touches(c, true))
  return strict.length > 0 ? strict : changes.filter((c) => touches(c, false))
}

/** Whether two rows hold the same grants at the same levels, in the same order (what the matrix produces for an unchanged user). */
function sameGrants(a: readonly AccessGrant[], b: readonly AccessGrant[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    const y = b[i]!
    if (x.component !== y.component || x.resource !== y.resource || x.level !== y.level) return false
  }
  return true
}

const grantKey = (g: { component: string; resource: string }) => `${g.component}\u0000${g.resource}`
const diagnosticKey = (d: Diagnostic) => JSON.stringify([d.severity, d.code, d.message, d.subject.role ? formatRole(d.subject.role) : '', d.subject.attribute ?? '', d.subject.item ?? ''])

function checkInput(name: string, input: ReviewInput): void {
  if (input === null || typeof input !== 'object' || !Array.isArray(input.principals)) throw new InvalidOptionsError(`${name}.principals`, 'must be an array of principals')
}

/**
 * Compares two realm snapshots (e.g. two realm exports, or a live Keycloak and a proposed export):
 * every permission gained, lost or changed per user — the grants of {@link accessMatrix} compared by
 * component and resource, `changed` when the level differs — each with the realm changes that caused
 * it (those whose role or group lies on the grant's chains before or after, falling back to every change
 * touching the user), and the lint diagnostics introduced or fixed. Pass precomputed matrices in
 * `matrices` to avoid computing them twice.
 *
 * @example
 * ```ts
 * import { RealmExportSource } from 'keycloak-permissions/keycloak'
 * import { diffAccess } from 'keycloak-permissions/review'
 * const snapshot = (s: RealmExportSource) => ({ principals: s.usernames().map((u) => s.resolveSync(u)), roles: s.roles() })
 * const diff = diffAccess(snapshot(await RealmExportSource.fromFile('old.json')), snapshot(await RealmExportSource.fromFile('new.json')))
 * for (const c of diff.changes) console.log(c.user, c.change, c.component, c.resource, c.causes.map((x) => x.description))
 * ```
 */
export function diffAccess(before: ReviewInput, after: ReviewInput, options: DiffOptions = {}): AccessDiff {
  checkInput('before', before)
  checkInput('after', after)
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', 'must be an object')
  const { matrices, keycloakBuiltIns, ...matrixOptions } = options
  const mode = builtInsMode({ ...(keycloakBuiltIns !== undefined ? { keycloakBuiltIns } : {}) })
  const mb = matrices?.before ?? accessMatrix(before, matrixOptions)
  const ma = matrices?.after ?? accessMatrix(after, matrixOptions)
  const fa = factsOf(before)
  const fb = factsOf(after)
  const found = changesBetween(fa, fb)
  const realm = mode === 'compare' ? found : found.filter((c) => !createdByKeycloak(c, fa, fb))
  const rowsBefore = new Map(mb.users.map((u) => [u.user, u]))
  const rowsAfter = new Map(ma.users.map((u) => [u.user, u]))
  // Changes of one user (added or removed, memberships, direct roles) are indexed by user, so a diff
  // where every user changed stays linear: each user looks at its own changes and the realm-wide ones.
  const shared: RealmChange[] = []
  const byUser = new Map<string, RealmChange[]>()
  for (const c of realm) {
    if (c.kind === 'user' || c.kind === 'membership' || c.kind === 'user-role') {
      const list = byUser.get(c.user)
      if (list) list.push(c)
      else byUser.set(c.user, [c])
    } else shared.push(c)
  }
  const changes: AccessChange[] = []
  for (const user of sorted(new Set([...rowsBefore.keys(), ...rowsAfter.keys()]))) {
    const beforeRow = rowsBefore.get(user)
    const afterRow = rowsAfter.get(user)
    // The same grants at the same levels on both sides (the common case): nothing to compare further.
    if (beforeRow && afterRow && sameGrants(beforeRow.grants, afterRow.grants)) continue
    const old = new Map((beforeRow?.grants ?? []).map((g) => [grantKey(g), g]))
    const now = new Map((afterRow?.grants ?? []).map((g) => [grantKey(g), g]))
    // A user's relevant changes in the order found (changesBetween lists every per-user change before
    // the realm-wide ones): its own, then the realm-wide ones.
    const own = byUser.get(user)
    const mine = own === undefined ? shared : [...own, ...shared]
    const push = (change: AccessChange['change'], x: AccessGrant | undefined, y: AccessGrant | undefined) => {
      const g = (x ?? y)!
      changes.push({
        user,
        change,
        component: g.component,
        resource: g.resource,
        ...(x ? { before: { level: x.level, chains: x.chains, via: x.via } } : {}),
        ...(y ? { after: { level: y.level, chains: y.chains, via: y.via } } : {}),
        causes: causesOf(user, [x, y], mine, fa, fb),
      })
    }
    for (const [key, x] of old) {
      const y = now.get(key)
      if (!y) push('lost', x, undefined)
      else if (y.level !== x.level) push('changed', x, y)
    }
    for (const [key, y] of now) if (!old.has(key)) push('gained', undefined, y)
  }
  const lintBefore = new Map(mb.diagnostics.map((d) => [diagnosticKey(d), d]))
  const lintAfter = new Map(ma.diagnostics.map((d) => [diagnosticKey(d), d]))
  return {
    changes,
    lint: {
      introduced: [...lintAfter].filter(([k]) => !lintBefore.has(k)).map(([, d]) => d),
      fixed: [...lintBefore].filter(([k]) => !lintAfter.has(k)).map(([, d]) => d),
    },
    realmChanges: realm,
  }
}
