/**
 * The realm catalogue behind `AdminApiSource` (docs/semantics/keycloak.md §6, "every client"): every
 * role of the realm and of every client with its attributes and composites, and the group tree with
 * each group's role mappings — fetched once, cached by the source, and joined per user with the
 * user's direct role mappings and direct groups. The effective roles are then the closure of
 * docs/semantics/keycloak.md §5.2 computed locally, as `RealmExportSource` computes it, so the two
 * sources agree by construction and the per-user cost does not depend on the number of clients.
 *
 * @module
 */
import { diagnostic, type Diagnostic } from '../core/diagnostics.js'
import { SourceUnavailableError } from '../core/errors.js'
import { groupWithAncestors } from '../core/groups.js'
import type { EffectiveRole, RoleAttributes, RoleRef, RoleVia } from '../core/principal.js'
import { SharedParts } from './shared-parts.js'

const SOURCE = 'admin-api'
/**
 * Principal parts a catalogue shares between the users it joins (see `SharedParts`); the table
 * starts over past this, so a catalogue kept for long while many users come and go stays bounded.
 */
const SHARED_PARTS_MAX = 50_000

/** One role of the catalogue. */
export interface CatalogueRole {
  readonly id: string
  readonly ref: RoleRef
  readonly key: string
  readonly attributes: RoleAttributes
  /** Ids of the direct composites (children). */
  readonly children: readonly string[]
  /** Attributes that were not lists of strings (dropped), reported on principals holding the role. */
  readonly diagnostics: readonly Diagnostic[]
}

/** Role mappings by name, as group representations carry them. */
export interface NamedMappings {
  readonly realmRoles: readonly string[]
  readonly clientRoles: Readonly<Record<string, readonly string[]>>
}

/**
 * The reads the catalogue needs; `AdminApiSource` implements them over the Admin API (each call is
 * one request, errors already translated).
 */
export interface CatalogueReader {
  /** `GET /admin/realms/{realm}` (for `defaultRole`); undefined when not allowed (needs view-realm). */
  realm(): Promise<unknown>
  /** `GET /clients?first&max`. */
  clients(first: number, max: number): Promise<unknown>
  /** `GET /clients/{uuid}/roles?briefRepresentation=false`. */
  clientRoles(uuid: string, clientId: string): Promise<unknown>
  /** `GET /roles?briefRepresentation=false`. */
  realmRoles(): Promise<unknown>
  /** `GET /roles-by-id/{id}/composites`. */
  composites(roleId: string, label: string): Promise<unknown>
  /** `GET /groups?briefRepresentation=false&first&max` (top-level groups, with `subGroupCount`). */
  topGroups(first: number, max: number): Promise<unknown>
  /** `GET /groups/{id}/children?briefRepresentation=false&first&max`. */
  children(groupId: string, path: string, first: number, max: number): Promise<unknown>
}

/**
 * What fetching an `AdminApiSource` realm catalogue cost and holds (`selfCheck().catalogue`), for
 * measurements and logs.
 *
 * @example
 * ```ts
 * import type { CatalogueStats } from 'keycloak-permissions/keycloak'
 * const stats: CatalogueStats = { requests: 26, clients: 12, roles: 54, groups: 5 }
 * ```
 */
export interface CatalogueStats {
  /** Admin API requests the fetch made. */
  readonly requests: number
  /** Clients of the realm (built-in ones included). */
  readonly clients: number
  /** Realm and client roles. */
  readonly roles: number
  /** Groups, subgroups included. */
  readonly groups: number
}

/**
 * An immutable snapshot of a realm's roles and groups, indexed for the per-user join.
 */
export class RealmCatalogue {
  readonly fetchedAt: number
  readonly stats: CatalogueStats
  readonly defaultRoleName: string
  readonly #byId: ReadonlyMap<string, CatalogueRole>
  readonly #byKey: ReadonlyMap<string, CatalogueRole>
  readonly #groups: ReadonlyMap<string, NamedMappings>
  /** clientId → internal client UUID, every client of the realm. */
  readonly clients: ReadonlyMap<string, string>
  /**
   * What principals joined with this catalogue share (frozen): role objects with their provenance,
   * role lists, group lists, `clientRoles` records.
   */
  readonly shared = new SharedParts(SHARED_PARTS_MAX, 'restart')

  constructor(data: {
    roles: readonly CatalogueRole[]
    groups: ReadonlyMap<string, NamedMappings>
    clients: ReadonlyMap<string, string>
    defaultRoleName: string
    fetchedAt: number
    stats: CatalogueStats
  }) {
    this.#byId = new Map(data.roles.map((r) => [r.id, r]))
    this.#byKey = new Map(data.roles.map((r) => [r.key, r]))
    this.#groups = data.groups
    this.clients = data.clients
    this.defaultRoleName = data.defaultRoleName
    this.fetchedAt = data.fetchedAt
    this.stats = data.stats
  }

  hasClient(clientId: string): boolean {
    return this.clients.has(clientId)
  }

  hasGroup(path: string): boolean {
    return this.#groups.has(path)
  }

  /** Every group's full path, sorted. */
  groupPaths(): string[] {
    return [...this.#groups.keys()].sort(compareText)
  }

  /** Every role of the client, name → attributes; undefined for an unknown client. */
  clientRoles(clientId: string): ReadonlyMap<string, RoleAttributes> | undefined {
    if (!this.clients.has(clientId)) return undefined
    const out = new Map<string, RoleAttributes>()
    for (const role of this.#byKey.values()) if (role.ref.client === clientId) out.set(role.ref.name, role.attributes)
    return new Map([...out].sort(([a], [b]) => compareText(a, b)))
  }

  /** Every realm role, name → attributes. */
  realmRoles(): ReadonlyMap<string, RoleAttributes> {
    const out: [string, RoleAttributes][] = []
    for (const role of this.#byKey.values()) if (role.ref.client === undefined) out.push([role.ref.name, role.attributes])
    return new Map(out.sort(([a], [b]) => compareText(a, b)))
  }

  /**
   * The effective roles of a user from their direct mappings (role ids) and direct groups (full path
   * with the group's own mappings, as the user's groups listing returned them): direct, default,
   * group and ancestor-group roles, closed over composites (docs/semantics/keycloak.md §5.2), each
   * with every path (`via`) that grants it. `missing` lists references the catalogue cannot resolve
   * (something created after it was fetched): the caller refetches the catalogue and joins again.
   */
  effectiveRoles(direct: readonly { id: string; name: string; client?: string }[], groups: readonly { path: string; own: NamedMappings }[]): EffectiveRoles {
    const missing: string[] = []
    const effective = new Map<string, { role: CatalogueRole; via: RoleVia[] }>()
    const queue: CatalogueRole[] = []
    const add = (role: CatalogueRole, via: RoleVia) => {
      const entry = effective.get(role.id)
      if (entry) {
        if (!entry.via.some((v) => sameVia(v, via))) entry.via.push(via)
        return
      }
      effective.set(role.id, { role, via: [via] })
      queue.push(role)
    }
    for (const mapping of direct) {
      const role = this.#byId.get(mapping.id)
      if (!role) {
        missing.push(`role ${describe(mapping.client === undefined ? { name: mapping.name } : { client: mapping.client, name: mapping.name })}`)
        continue
      }
      add(role, role.ref.client === undefined && role.ref.name === this.defaultRoleName ? { kind: 'default' } : { kind: 'direct' })
    }
    for (const member of groups) {
      for (const path of groupWithAncestors(member.path)) {
        const mappings = path === member.path ? member.own : this.#groups.get(path)
        if (!mappings) {
          missing.push(`group ${path}`)
          continue
        }
        for (const ref of namedRefs(mappings)) {
          const role = this.#byKey.get(roleKey(ref))
          if (role) add(role, { kind: 'group', group: path, member: member.path })
          else missing.push(`${describe(ref)} mapped to group ${path}`)
        }
      }
    }
    // Breadth-first closure; the visited map makes composite cycles harmless.
    for (let i = 0; i < queue.length; i++) {
      const parent = queue[i]!
      for (const childId of parent.children) {
        const child = this.#byId.get(childId)
        if (child) add(child, { kind: 'composite', parent: parent.ref })
        else missing.push(`a composite of ${describe(parent.ref)}`)
      }
    }
    const realmRoles: EffectiveRole[] = []
    const clientRoles = new Map<string, EffectiveRole[]>()
    const diagnostics: Diagnostic[] = []
    for (const { role, via } of effective.values()) {
      diagnostics.push(...role.diagnostics)
      const value = this.shared.role(role.ref, role.attributes, via)
      if (role.ref.client === undefined) realmRoles.push(value)
      else {
        const list = clientRoles.get(role.ref.client)
        if (list) list.push(value)
        else clientRoles.set(role.ref.client, [value])
      }
    }
    const sharedLists = new Map<string, readonly EffectiveRole[]>()
    for (const [client, list] of clientRoles) sharedLists.set(client, this.shared.roles(list.sort(compareRoleRefs)))
    return { realmRoles: this.shared.roles(realmRoles.sort(compareRoleRefs)), clientRoles: sharedLists, diagnostics, missing }
  }
}

/** The result of {@link RealmCatalogue.effectiveRoles}: shared, frozen role lists. */
export interface EffectiveRoles {
  readonly realmRoles: readonly EffectiveRole[]
  readonly clientRoles: Map<string, readonly EffectiveRole[]>
  readonly diagnostics: Diagnostic[]
  readonly missing: string[]
}

/**
 * Fetches the catalogue: the realm's default role, every client, every client's and the realm's
 * roles (with attributes), each composite role's children, and the group tree with role mappings.
 * Cost: 4 + C + K + P requests, C = clients, K = composite roles, P = groups that have subgroups
 * (+1 per further page of clients, top-level groups or children).
 *
 * @throws `SourceUnavailableError` when an answer is malformed or the catalogue exceeds `maxEntries`
 */
export async function fetchRealmCatalogue(
  reader: CatalogueReader,
  options: { realm: string; pageSize: number; maxEntries: number; concurrency: number; now: () => number },
): Promise<RealmCatalogue> {
  let requests = 0
  const counted = <T>(p: Promise<T>): Promise<T> => {
    requests++
    return p
  }
  const fetchedAt = options.now()
  const realmRep = counted(reader.realm())
  // Awaited last; until then a failure elsewhere must not leave this rejection unhandled.
  realmRep.catch(() => undefined)
  const clients: { uuid: string; clientId: string }[] = []
  for (let first = 0; ; first += options.pageSize) {
    const page = await counted(reader.clients(first, options.pageSize))
    if (!Array.isArray(page)) throw unexpected('clients listing', 'expected an array')
    for (const c of page as { id?: unknown; clientId?: unknown }[]) {
      if (typeof c?.id !== 'string' || typeof c.clientId !== 'string') throw unexpected('clients listing', 'a client without id or clientId')
      clients.push({ uuid: c.id, clientId: c.clientId })
    }
    if (page.length < options.pageSize) break
  }
  const bounded = (n: number) => {
    if (n > options.maxEntries) {
      throw new SourceUnavailableError(SOURCE, `the realm catalogue of ${JSON.stringify(options.realm)} exceeds ${options.maxEntries} roles and groups (catalogueCache.max)`, { retryable: false })
    }
  }
  const raw: { id: string; ref: RoleRef; attributes: RoleAttributes; composite: boolean; diagnostics: Diagnostic[] }[] = []
  const readInto = (data: unknown, what: string, client?: string) => {
    if (!Array.isArray(data)) throw unexpected(what, 'expected an array of roles')
    for (const item of data as { id?: unknown; name?: unknown; composite?: unknown; attributes?: unknown }[]) {
      if (typeof item?.name !== 'string' || typeof item.id !== 'string') throw unexpected(what, 'a role without id or name')
      // Frozen: a composite's `via.parent` and the catalogue's role listings hand it out.
      const ref: RoleRef = Object.freeze(client === undefined ? { name: item.name } : { client, name: item.name })
      const { attributes, diagnostics } = readAttributes(item.attributes, ref, what)
      raw.push({ id: item.id, ref, attributes, composite: item.composite === true, diagnostics })
    }
    bounded(raw.length)
  }
  readInto(await counted(reader.realmRoles()), 'realm roles')
  await mapLimit(clients, options.concurrency, async (c) => readInto(await counted(reader.clientRoles(c.uuid, c.clientId)), `roles of client ${c.clientId}`, c.clientId))
  const children = new Map<string, string[]>()
  await mapLimit(raw.filter((r) => r.composite), options.concurrency, async (r) => {
    const data = await counted(reader.composites(r.id, describe(r.ref)))
    if (!Array.isArray(data)) throw unexpected(`composites of ${describe(r.ref)}`, 'expected an array of roles')
    children.set(r.id, (data as { id?: unknown }[]).map((c) => {
      if (typeof c?.id !== 'string') throw unexpected(`composites of ${describe(r.ref)}`, 'a role without an id')
      return c.id
    }))
  })
  // Breadth-first over the tree: top-level groups page by page, then the children of every group
  // whose subGroupCount says it has some (a search with populateHierarchy pages by match, not by
  // group, so its pages cannot tell when the tree is complete).
  const groups = new Map<string, NamedMappings>()
  const parents: { id: string; path: string }[] = []
  const take = (list: unknown, what: string): number => {
    if (!Array.isArray(list)) throw unexpected(what, 'expected an array of groups')
    for (const g of list as { id?: unknown; path?: unknown; subGroupCount?: unknown }[]) {
      if (typeof g?.id !== 'string' || typeof g.path !== 'string') throw unexpected(what, 'a group without id or path')
      groups.set(g.path, readMappings(g, `group ${g.path}`))
      // An answer without subGroupCount cannot rule children out: ask.
      if (typeof g.subGroupCount !== 'number' || g.subGroupCount > 0) parents.push({ id: g.id, path: g.path })
    }
    bounded(raw.length + groups.size)
    return list.length
  }
  for (let first = 0; ; first += options.pageSize) {
    if (take(await counted(reader.topGroups(first, options.pageSize)), 'groups listing') < options.pageSize) break
  }
  while (parents.length > 0) {
    const level = parents.splice(0)
    await mapLimit(level, options.concurrency, async (parent) => {
      for (let first = 0; ; first += options.pageSize) {
        const page = await counted(reader.children(parent.id, parent.path, first, options.pageSize))
        if (take(page, `subgroups of ${parent.path}`) < options.pageSize) break
      }
    })
  }
  const realm = (await realmRep) as { defaultRole?: { name?: unknown } } | undefined
  const defaultRoleName = typeof realm?.defaultRole?.name === 'string' ? realm.defaultRole.name : `default-roles-${options.realm}`
  const roles: CatalogueRole[] = raw.map((r) => ({
    id: r.id,
    ref: r.ref,
    key: roleKey(r.ref),
    attributes: r.attributes,
    children: children.get(r.id) ?? [],
    diagnostics: r.diagnostics,
  }))
  return new RealmCatalogue({
    roles,
    groups,
    clients: new Map(clients.map((c) => [c.clientId, c.uuid])),
    defaultRoleName,
    fetchedAt,
    stats: { requests, clients: clients.length, roles: roles.length, groups: groups.size },
  })
}

/**
 * Reads a user's direct groups as `GET /users/{id}/groups?briefRepresentation=false` answers them:
 * full path and the group's own role mappings.
 */
export function readUserGroups(data: unknown, what: string): { path: string; own: NamedMappings }[] {
  if (!Array.isArray(data)) throw unexpected(what, 'expected an array')
  return (data as { path?: unknown }[]).map((g) => {
    if (typeof g?.path !== 'string') throw unexpected(what, 'group without a path')
    return { path: g.path, own: readMappings(g, `${what}: ${g.path}`) }
  })
}

/**
 * Reads `GET /users/{id}/role-mappings`: the direct realm mappings and every client's direct mappings.
 */
export function readRoleMappings(data: unknown, what: string): { id: string; name: string; client?: string }[] {
  if (typeof data !== 'object' || data === null) throw unexpected(what, 'expected an object')
  const { realmMappings, clientMappings } = data as { realmMappings?: unknown; clientMappings?: unknown }
  const out: { id: string; name: string; client?: string }[] = []
  const read = (list: unknown, client?: string) => {
    if (list === undefined || list === null) return
    if (!Array.isArray(list)) throw unexpected(what, 'mappings are not an array')
    for (const r of list as { id?: unknown; name?: unknown }[]) {
      if (typeof r?.id !== 'string' || typeof r.name !== 'string') throw unexpected(what, 'a role without id or name')
      out.push(client === undefined ? { id: r.id, name: r.name } : { id: r.id, name: r.name, client })
    }
  }
  read(realmMappings)
  if (clientMappings !== undefined && clientMappings !== null) {
    if (typeof clientMappings !== 'object') throw unexpected(what, 'clientMappings is not an object')
    for (const [clientId, entry] of Object.entries(clientMappings as Record<string, { mappings?: unknown; client?: unknown }>)) {
      read(entry?.mappings, typeof entry?.client === 'string' ? entry.client : clientId)
    }
  }
  return out
}

function readMappings(group: object, what: string): NamedMappings {
  const g = group as { realmRoles?: unknown; clientRoles?: unknown }
  const realmRoles = g.realmRoles ?? []
  const clientRoles = g.clientRoles ?? {}
  if (!Array.isArray(realmRoles) || !realmRoles.every((n) => typeof n === 'string')) throw unexpected(what, 'realmRoles is not a list of names')
  if (typeof clientRoles !== 'object' || clientRoles === null || Array.isArray(clientRoles)) throw unexpected(what, 'clientRoles is not an object')
  for (const names of Object.values(clientRoles)) {
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw unexpected(what, 'clientRoles holds something other than lists of names')
  }
  return { realmRoles: realmRoles as string[], clientRoles: clientRoles as Record<string, string[]> }
}

function namedRefs(mappings: NamedMappings): RoleRef[] {
  return [
    ...mappings.realmRoles.map((name) => ({ name })),
    ...Object.entries(mappings.clientRoles).flatMap(([client, names]) => names.map((name) => ({ client, name }))),
  ]
}

/** A malformed attribute is dropped with a diagnostic, never fatal. */
function readAttributes(value: unknown, ref: RoleRef, what: string): { attributes: RoleAttributes; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = []
  const attributes: Record<string, readonly string[]> = {}
  if (value !== undefined && value !== null) {
    if (typeof value !== 'object' || Array.isArray(value)) throw unexpected(what, `attributes of ${ref.name} are not an object`)
    for (const [key, values] of Object.entries(value as Record<string, unknown>)) {
      if (Array.isArray(values) && values.every((v) => typeof v === 'string')) attributes[key] = Object.freeze([...(values as string[])])
      else {
        diagnostics.push(
          diagnostic('warning', 'KEYCLOAK_ATTRIBUTE_MALFORMED', `Attribute ${key} of role ${ref.name} is not a list of strings; ignored`, { role: ref, attribute: key }),
        )
      }
    }
  }
  return { attributes: Object.freeze(attributes), diagnostics }
}

async function mapLimit<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await run(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

export function roleKey(ref: RoleRef): string {
  return ref.client === undefined ? `realm\u0000${ref.name}` : `client\u0000${ref.client}\u0000${ref.name}`
}

function describe(ref: RoleRef): string {
  return ref.client === undefined ? `realm role ${JSON.stringify(ref.name)}` : `client role ${JSON.stringify(ref.name)} of ${JSON.stringify(ref.client)}`
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function compareRoleRefs(a: RoleRef, b: RoleRef): number {
  const ca = a.client ?? ''
  const cb = b.client ?? ''
  if (ca !== cb) return compareText(ca, cb)
  return compareText(a.name, b.name)
}

function sameVia(a: RoleVia, b: RoleVia): boolean {
  if (a.kind !== b.kind) return false
  if (a.kind === 'group' && b.kind === 'group') return a.group === b.group && a.member === b.member
  if (a.kind === 'composite' && b.kind === 'composite') return roleKey(a.parent) === roleKey(b.parent)
  return true
}

function unexpected(what: string, problem: string): SourceUnavailableError {
  return new SourceUnavailableError(SOURCE, `${what} answered unexpectedly: ${problem}`, { retryable: false })
}
