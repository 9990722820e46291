/**
 * Principals share what users have in common (role objects, provenance, role and group lists,
 * `clientRoles` records): the sharing must not change a single principal. Every user of a generated
 * realm and of the bundled realm is compared with a straightforward resolution that shares nothing
 * (docs/semantics/keycloak.md §5.2, written out below over the export and the source's role
 * catalogue), deep and in key order; everything shared must be frozen, and is actually shared.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/core/clock.js'
import { groupWithAncestors } from '../../src/core/groups.js'
import type { EffectiveRole, Principal, RoleRef, RoleVia } from '../../src/core/principal.js'
import { RealmExportSource, type RoleDefinition } from '../../src/keycloak/index.js'
import { generateRealm } from '../review/generate-realm.js'

const exampleJson = JSON.parse(readFileSync(new URL('../../examples/realm/example-realm.json', import.meta.url), 'utf8'))

const refKey = (ref: RoleRef) => (ref.client === undefined ? `realm/${ref.name}` : `client/${ref.client}/${ref.name}`)
const compareRefs = (a: RoleRef, b: RoleRef) => {
  const ca = a.client ?? ''
  const cb = b.client ?? ''
  if (ca !== cb) return ca < cb ? -1 : 1
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
}
const sameVia = (a: RoleVia, b: RoleVia) => JSON.stringify(a) === JSON.stringify(b)

/** Resolves principals afresh, with no object shared between two principals. */
function unsharedResolver(realmExport: any, source: RealmExportSource): (username: string, resolvedAt: number) => Principal {
  const catalogue = new Map(source.roles().map((r) => [refKey(r), r]))
  const users = new Map<string, any>(realmExport.users.map((u: any) => [u.username.toLowerCase(), u]))
  const groupsByPath = new Map<string, any>()
  const walk = (groups: any[], parent: string) => {
    for (const g of groups ?? []) {
      const path = `${parent}/${g.name}`
      groupsByPath.set(path, g)
      walk(g.subGroups, path)
    }
  }
  walk(realmExport.groups, '')
  return (username, resolvedAt) => unsharedPrincipal(realmExport, catalogue, groupsByPath, users.get(username), username, resolvedAt)
}

function unsharedPrincipal(
  realmExport: any,
  catalogue: Map<string, RoleDefinition>,
  groupsByPath: Map<string, any>,
  user: any,
  username: string,
  resolvedAt: number,
): Principal {
  const defaultRole = realmExport.defaultRole?.name ?? `default-roles-${realmExport.realm}`
  const mapped = (m: any): RoleRef[] => [
    ...(m.realmRoles ?? []).map((name: string) => ({ name })),
    ...Object.entries<string[]>(m.clientRoles ?? {}).flatMap(([client, names]) => names.map((name) => ({ client, name }))),
  ]
  const effective = new Map<string, { ref: RoleRef; via: RoleVia[] }>()
  const queue: RoleRef[] = []
  const add = (ref: RoleRef, via: RoleVia) => {
    const entry = effective.get(refKey(ref))
    if (entry) {
      if (!entry.via.some((v) => sameVia(v, via))) entry.via.push(via)
      return
    }
    effective.set(refKey(ref), { ref, via: [via] })
    queue.push(ref)
  }
  for (const ref of mapped(user)) add(ref, ref.client === undefined && ref.name === defaultRole ? { kind: 'default' } : { kind: 'direct' })
  const members: string[] = [...new Set<string>(user.groups ?? [])]
  for (const member of members) {
    for (const path of groupWithAncestors(member)) for (const ref of mapped(groupsByPath.get(path))) add(ref, { kind: 'group', group: path, member })
  }
  for (let i = 0; i < queue.length; i++) {
    const parent = queue[i]!
    const parentRef = parent.client === undefined ? { name: parent.name } : { client: parent.client, name: parent.name }
    for (const child of catalogue.get(refKey(parent))!.composites) add(child, { kind: 'composite', parent: parentRef })
  }
  const realmRoles: EffectiveRole[] = []
  const clientRoles: Record<string, EffectiveRole[]> = {}
  for (const { ref, via } of effective.values()) {
    const attributes = structuredClone(catalogue.get(refKey(ref))!.attributes) as EffectiveRole['attributes']
    if (ref.client === undefined) realmRoles.push({ name: ref.name, attributes, via })
    else (clientRoles[ref.client] ??= []).push({ client: ref.client, name: ref.name, attributes, via })
  }
  const sortedClients: Record<string, EffectiveRole[]> = {}
  for (const client of Object.keys(clientRoles).sort()) sortedClients[client] = clientRoles[client]!.sort(compareRefs)
  return {
    realm: realmExport.realm,
    userId: user.id,
    username,
    ...(user.enabled === false && { enabled: false }),
    groups: members.sort(),
    realmRoles: realmRoles.sort(compareRefs),
    clientRoles: sortedClients,
    complete: { groups: true, realmRoles: true, attributes: true, provenance: true },
    origin: { kind: 'realm-export', resolvedAt, cached: false, stale: false },
    diagnostics: [],
  }
}

/** Every object a principal shares with other principals of its source (all but the principal and its origin). */
function sharedObjects(p: Principal): object[] {
  const out: object[] = [p.groups, p.realmRoles, p.clientRoles, p.complete, p.diagnostics]
  const role = (r: EffectiveRole) => {
    out.push(r, r.attributes, ...Object.values(r.attributes), r.via, ...r.via)
    for (const v of r.via) if (v.kind === 'composite') out.push(v.parent)
  }
  p.realmRoles.forEach(role)
  for (const list of Object.values(p.clientRoles)) {
    out.push(list)
    list.forEach(role)
  }
  return out
}

const generated = generateRealm({ users: 1_500, groups: 50, namespaces: 200, workspaces: 100 })
const realms = [
  { name: 'the generated realm (1,500 users, 50 groups, 100 workspace clients)', json: generated },
  { name: 'the bundled example realm', json: exampleJson },
]

describe.each(realms)('sharing on $name', ({ json }) => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1))
  const source = new RealmExportSource(structuredClone(json), { clock })
  const usernames = source.usernames()

  it('gives every user the principal an unshared resolution gives (deep, strict, and in key order)', () => {
    const unshared = unsharedResolver(json, source)
    for (const username of usernames) {
      const got = source.resolveSync(username)
      const want = unshared(username, clock.now())
      expect(got, username).toStrictEqual(want)
      expect(JSON.stringify(got), username).toBe(JSON.stringify(want))
      // Asked again: the same shared parts, a new principal.
      const again = source.resolveSync(username)
      expect(again).not.toBe(got)
      expect(again.clientRoles).toBe(got.clientRoles)
    }
  })

  it('freezes everything principals share', () => {
    const notFrozen: string[] = []
    let checked = 0
    for (const username of usernames) {
      for (const value of sharedObjects(source.resolveSync(username))) {
        checked++
        if (!Object.isFrozen(value)) notFrozen.push(`${username}: ${JSON.stringify(value)}`)
      }
    }
    expect(notFrozen.slice(0, 5)).toEqual([])
    expect(checked).toBeGreaterThan(usernames.length * 5)
  })

  it('shares role objects between users instead of copying them', () => {
    const roles = new Set<EffectiveRole>()
    let held = 0
    for (const username of usernames) {
      const p = source.resolveSync(username)
      for (const r of [...p.realmRoles, ...Object.values(p.clientRoles).flat()]) {
        roles.add(r)
        held++
      }
    }
    // Every user holds the default role's composites, with the same provenance: one object each.
    expect(roles.size).toBeLessThan(held)
    const offline = usernames.map((u) => source.resolveSync(u).realmRoles.find((r) => r.name === 'offline_access')).filter((r) => r !== undefined)
    expect(offline.length).toBeGreaterThan(1)
    expect(new Set(offline).size).toBeLessThan(offline.length)
  })
})

describe('sharing between members of one group', () => {
  const source = new RealmExportSource(structuredClone(generated))
  it('gives two members of the same single group the same group-derived role objects and group list', () => {
    const byGroups = new Map<string, string[]>()
    for (const u of generated.users as { username: string; groups: string[] }[]) {
      if (u.groups.length !== 1) continue
      const list = byGroups.get(u.groups[0]!) ?? []
      list.push(u.username)
      byGroups.set(u.groups[0]!, list)
    }
    const [group, members] = [...byGroups].find(([, m]) => m.length >= 2)!
    const [a, b] = members.map((m) => source.resolveSync(m))
    expect(a!.groups).toBe(b!.groups)
    const fromGroup = (p: Principal) =>
      Object.values(p.clientRoles).flat().filter((r) => r.via.length === 1 && r.via[0]!.kind === 'group' && r.via[0]!.member === group)
    expect(fromGroup(a!).length).toBeGreaterThan(0)
    for (const role of fromGroup(a!)) expect(fromGroup(b!)).toContain(role)
  })
})
