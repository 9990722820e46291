/**
 * The Admin API's catalogue join and the realm export resolve the same roles, with the same
 * provenance, for every user of a generated realm and of the bundled realm (one answer), and the
 * catalogue shares them between users as the export does: frozen, one object per equal part.
 *
 * The catalogue is read through a `CatalogueReader` that answers as Keycloak's Admin API would for
 * the same realm (roles by id, composites, the group tree with each group's mappings); the realm's
 * built-in roles come from the export source's role listing, as an import creates them.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { EffectiveRole, RoleRef } from '../../src/core/principal.js'
import { fetchRealmCatalogue, type CatalogueReader, type NamedMappings } from '../../src/keycloak/admin-catalogue.js'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { generateRealm } from '../review/generate-realm.js'

const exampleJson = JSON.parse(readFileSync(new URL('../../examples/realm/example-realm.json', import.meta.url), 'utf8'))
const roleId = (ref: RoleRef) => (ref.client === undefined ? `realm:${ref.name}` : `client:${ref.client}:${ref.name}`)

function readerFor(realmExport: any, source: RealmExportSource): CatalogueReader {
  const roles = source.roles()
  const clientIds = source.clientIds()
  const groups: { id: string; path: string; parent: string | undefined; json: any }[] = []
  const walk = (list: any[], parent: string | undefined, prefix: string) => {
    for (const g of list ?? []) {
      const path = `${prefix}/${g.name}`
      groups.push({ id: `g:${path}`, path, parent, json: g })
      walk(g.subGroups, `g:${path}`, path)
    }
  }
  walk(realmExport.groups, undefined, '')
  const groupRep = (g: (typeof groups)[number]) => ({
    id: g.id,
    path: g.path,
    subGroupCount: groups.filter((c) => c.parent === g.id).length,
    realmRoles: g.json.realmRoles ?? [],
    clientRoles: g.json.clientRoles ?? {},
  })
  const roleRep = (r: (typeof roles)[number]) => ({ id: roleId(r), name: r.name, composite: r.composites.length > 0, attributes: r.attributes })
  const page = <T>(list: T[], first: number, max: number) => list.slice(first, first + max)
  return {
    realm: async () => undefined,
    clients: async (first, max) => page(clientIds.map((clientId) => ({ id: `uuid:${clientId}`, clientId })), first, max),
    clientRoles: async (_uuid, clientId) => roles.filter((r) => r.client === clientId).map(roleRep),
    realmRoles: async () => roles.filter((r) => r.client === undefined).map(roleRep),
    composites: async (id) => roles.find((r) => roleId(r) === id)!.composites.map((c) => ({ id: roleId(c) })),
    topGroups: async (first, max) => page(groups.filter((g) => g.parent === undefined).map(groupRep), first, max),
    children: async (groupId, _path, first, max) => page(groups.filter((g) => g.parent === groupId).map(groupRep), first, max),
  }
}

const realms = [
  { name: 'the generated realm (600 users)', json: generateRealm({ users: 600, groups: 50, namespaces: 200, workspaces: 100 }) },
  { name: 'the bundled example realm', json: exampleJson },
]

describe.each(realms)('Admin API catalogue join on $name', ({ json }) => {
  it('resolves every user as the realm export does, sharing frozen parts between users', async () => {
    const source = new RealmExportSource(structuredClone(json))
    const catalogue = await fetchRealmCatalogue(readerFor(json, source), { realm: json.realm, pageSize: 100, maxEntries: 100_000, concurrency: 4, now: () => 0 })
    const groupMappings = new Map<string, NamedMappings>()
    const walk = (list: any[], prefix: string) => {
      for (const g of list ?? []) {
        groupMappings.set(`${prefix}/${g.name}`, { realmRoles: g.realmRoles ?? [], clientRoles: g.clientRoles ?? {} })
        walk(g.subGroups, `${prefix}/${g.name}`)
      }
    }
    walk(json.groups, '')
    const roles = new Set<EffectiveRole>()
    let held = 0
    for (const user of json.users as any[]) {
      const direct = [
        ...(user.realmRoles ?? []).map((name: string) => ({ id: roleId({ name }), name })),
        ...Object.entries<string[]>(user.clientRoles ?? {}).flatMap(([client, names]) => names.map((name) => ({ id: roleId({ client, name }), name, client }))),
      ]
      const groups = [...new Set<string>(user.groups ?? [])].map((path) => ({ path, own: groupMappings.get(path)! }))
      const joined = catalogue.effectiveRoles(direct, groups)
      const want = source.resolveSync(user.username)
      expect(joined.missing, user.username).toEqual([])
      expect(joined.realmRoles, user.username).toStrictEqual(want.realmRoles)
      expect(Object.fromEntries([...joined.clientRoles].sort(([a], [b]) => (a < b ? -1 : 1))), user.username).toStrictEqual({ ...want.clientRoles })
      const lists = [joined.realmRoles, ...joined.clientRoles.values()]
      for (const list of lists) {
        expect(Object.isFrozen(list)).toBe(true)
        for (const role of list) {
          expect(Object.isFrozen(role) && Object.isFrozen(role.via) && role.via.every(Object.isFrozen)).toBe(true)
          roles.add(role)
          held++
        }
      }
      // Asked again, the same lists.
      const again = catalogue.effectiveRoles(direct, groups)
      expect(again.realmRoles).toBe(joined.realmRoles)
      for (const [client, list] of again.clientRoles) expect(list).toBe(joined.clientRoles.get(client))
    }
    expect(roles.size).toBeLessThan(held)
  })
})
