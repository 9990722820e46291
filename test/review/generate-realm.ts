/**
 * A deterministic generated realm export for review tests and the scale benchmark: nested groups with
 * conda-store scope roles, Nebari roles, workspace clients, JupyterHub scope roles, shared directories,
 * profiles, a composite realm role, and a few deliberately broken attributes.
 */

export interface GeneratedRealmOptions {
  users: number
  groups: number
  namespaces: number
  workspaces: number
  seed?: number
}

/** mulberry32: a small seeded PRNG, so every run builds the same realm. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Group {
  name: string
  path: string
  clientRoles: Record<string, string[]>
  realmRoles?: string[]
  subGroups: Group[]
}

/** Builds the realm export JSON (a plain object; JSON.stringify it to write a file). */
export function generateRealm(options: GeneratedRealmOptions): any {
  const random = prng(options.seed ?? 42)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
  const ns = Array.from({ length: options.namespaces }, (_, i) => `ns-${i}`)
  const ws = Array.from({ length: options.workspaces }, (_, i) => `ws-${i}`)
  const condaRoles = [
    { name: 'conda_store_superadmin', attributes: {} },
    { name: 'conda_store_admin', attributes: {} },
    { name: 'conda_store_developer', attributes: {} },
    { name: 'conda_store_viewer', attributes: {} },
    ...ns.map((n, i) => ({
      name: `${n}-scopes`,
      attributes: { component: ['conda-store'], scopes: [`${pick(['admin', 'developer', 'viewer'])}!namespace=${n},viewer!namespace=${ns[(i + 1) % ns.length]}`] },
    })),
    { name: 'broken-scopes', attributes: { component: ['conda-store'], scopes: ['developer!namespace=ns-0, viewer!namespace=ns-1'] } },
  ]
  const hubRoles = [
    { name: 'jupyterhub_admin', attributes: {}, composite: true, composites: { client: { jupyterhub: ['jupyterhub_developer'] } } },
    { name: 'jupyterhub_developer', attributes: {} },
    { name: 'allow-app-sharing-role', attributes: { component: ['jupyterhub'], scopes: ['shares!user,read:users:name,read:groups:name'] } },
    { name: 'allow-read-access-to-services-role', attributes: { component: ['jupyterhub'], scopes: ['read:services'] } },
    { name: 'share-everything', attributes: { component: ['jupyterhub'], scopes: ['shares'] } },
    { name: 'allow-group-directory-creation-role', attributes: { component: ['shared-directory'], scopes: ['write:shared-mount'] } },
    { name: 'jupyterlab-profiles', attributes: { component: ['jupyterhub-profiles'], profiles: ['small', 'gpu'] } },
  ]
  const topCount = Math.max(1, Math.round(options.groups / 5))
  const groups: Group[] = []
  const allGroups: Group[] = []
  let made = 0
  for (let t = 0; t < topCount && made < options.groups; t++) {
    const top: Group = {
      name: `dept-${t}`,
      path: `/dept-${t}`,
      clientRoles: { conda_store: ['conda_store_developer'], jupyterhub: ['jupyterhub_developer', 'allow-group-directory-creation-role'] },
      subGroups: [],
    }
    groups.push(top)
    allGroups.push(top)
    made++
    for (let s = 0; made < options.groups && s < 4; s++, made++) {
      const sub: Group = {
        name: `team-${t}-${s}`,
        path: `/dept-${t}/team-${t}-${s}`,
        clientRoles: {
          conda_store: [pick(ns), pick(ns), pick(ns), pick(ns)].map((n) => `${n}-scopes`).filter((v, i, a) => a.indexOf(v) === i),
          jupyterhub: random() < 0.5 ? ['allow-group-directory-creation-role', 'allow-read-access-to-services-role'] : ['allow-group-directory-creation-role'],
        },
        subGroups: [],
      }
      for (const w of [pick(ws), pick(ws)]) sub.clientRoles[w] = [...new Set([...(sub.clientRoles[w] ?? []), 'ws_access'])]
      if (random() < 0.2) sub.clientRoles['jupyterhub']!.push('jupyterlab-profiles')
      top.subGroups.push(sub)
      allGroups.push(sub)
    }
  }
  groups.push({ name: 'admin', path: '/admin', clientRoles: { conda_store: ['conda_store_admin'], jupyterhub: ['jupyterhub_admin'] }, subGroups: [] })
  const users = Array.from({ length: options.users }, (_, i) => {
    const member = [pick(allGroups).path]
    if (random() < 0.5) member.push(pick(allGroups).path)
    if (i % 97 === 0) member.push('/admin')
    const clientRoles: Record<string, string[]> = {}
    if (random() < 0.3) clientRoles[pick(ws)] = [pick(['ws_access', 'ws_admin'])]
    if (random() < 0.2) clientRoles['jupyterhub'] = ['allow-app-sharing-role']
    if (i % 250 === 7) clientRoles['conda_store'] = ['conda_store_superadmin']
    return {
      username: `user-${String(i).padStart(4, '0')}`,
      enabled: true,
      realmRoles: i % 100 === 3 ? ['default-roles-generated', 'platform-admin'] : ['default-roles-generated'],
      clientRoles,
      groups: [...new Set(member)],
    }
  })
  return {
    realm: 'generated',
    enabled: true,
    roles: {
      realm: [
        { name: 'platform-admin', composite: true, composites: { client: { conda_store: ['conda_store_admin'], jupyterhub: ['jupyterhub_admin'], 'workspace-api': ['admin'] } }, attributes: {} },
      ],
      client: {
        conda_store: condaRoles,
        jupyterhub: hubRoles,
        'workspace-api': [{ name: 'admin', attributes: {} }],
        ...Object.fromEntries(ws.map((w) => [w, [{ name: 'ws_access', attributes: {} }, { name: 'ws_admin', attributes: {} }]])),
      },
    },
    clients: [{ clientId: 'conda_store' }, { clientId: 'jupyterhub' }, { clientId: 'workspace-api' }, ...ws.map((w) => ({ clientId: w }))],
    groups,
    users,
  }
}

/** A conda-store `GET /api/v1/environment/` page with `perNamespace` environments in each namespace (and the Nebari defaults). */
export function generateEnvironments(namespaces: number, perNamespace: number): any {
  const names = ['default', 'filesystem', 'global', 'nebari-git', ...Array.from({ length: namespaces }, (_, i) => `ns-${i}`)]
  let id = 0
  const data = names.flatMap((n, ni) => Array.from({ length: perNamespace }, (_, e) => ({ id: ++id, namespace: { id: ni + 1, name: n }, name: `env-${e}` })))
  return { status: 'ok', data, page: 1, size: data.length, count: data.length }
}
