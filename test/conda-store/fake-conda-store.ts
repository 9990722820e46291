/**
 * A local conda-store stand-in on 127.0.0.1 for the client tests: it answers with exactly the upstream
 * response shapes of conda-store.md §11 (offset pagination, clamped `size`, error objects).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeCondaStore {
  /** Base URL of the conda-store mount (`http://127.0.0.1:PORT/conda-store`). */
  readonly url: string
  /** Base URL of a path that answers with an HTML login page. */
  readonly htmlUrl: string
  /** Base URL of a path that never answers. */
  readonly slowUrl: string
  /** Base URL of a path that answers `{"status": "ok"}` objects of the wrong shape. */
  readonly badShapeUrl: string
  /** Every request line received (`GET /conda-store/api/v1/environment/?page=1&size=100`). */
  readonly requests: string[]
  close(): Promise<void>
}

export async function startFakeCondaStore(options: { environments: readonly string[]; serviceToken: string; maxPageSize?: number }): Promise<FakeCondaStore> {
  const maxPageSize = options.maxPageSize ?? 100
  const namespaceIds = new Map<string, number>()
  const all = [...options.environments]
    .map((e) => {
      const slash = e.indexOf('/')
      return { ns: e.slice(0, slash), name: e.slice(slash + 1) }
    })
    .sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((e, i) => {
      if (!namespaceIds.has(e.ns)) namespaceIds.set(e.ns, namespaceIds.size + 1)
      return {
        id: i + 1,
        namespace: { id: namespaceIds.get(e.ns)!, name: e.ns, metadata_: {}, role_mappings: [] },
        name: e.name,
        current_build_id: i + 1,
        description: null,
      }
    })
  const requests: string[] = []
  const pending = new Set<import('node:http').ServerResponse>()
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers })
      res.end(JSON.stringify(body))
    }
    const authorized = req.headers.authorization === `Bearer ${options.serviceToken}`
    if (url.pathname.startsWith('/slow/')) {
      pending.add(res)
      return
    }
    if (url.pathname.startsWith('/html/')) {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end('<!doctype html><html><body>Sign in</body></html>')
      return
    }
    if (url.pathname.startsWith('/bad-shape/')) return json(200, { status: 'ok', data: [{ id: 1, name: 'x' }], page: 1, size: 100, count: 1 })
    if (url.pathname === '/conda-store/api/v1/environment/' && req.method === 'GET') {
      const visible = authorized ? all : all.filter((e) => e.namespace.name === 'default')
      const size = Math.min(Number(url.searchParams.get('size') ?? maxPageSize) || maxPageSize, maxPageSize)
      const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1)
      return json(
        200,
        { status: 'ok', data: visible.slice((page - 1) * size, page * size), message: null, page, size, count: visible.length },
        { deprecation: 'True', sunset: 'Mon, 17 Mar 2025 00:00:00 UTC' },
      )
    }
    if (url.pathname === '/conda-store/api/v1/permission/' && req.method === 'GET') {
      const viewer = ['environment::read', 'namespace-role-mapping::read', 'namespace::read']
      return json(200, {
        status: 'ok',
        message: null,
        data: authorized
          ? { authenticated: true, primary_namespace: '', entity_permissions: { 'default/*': viewer, 'filesystem/*': viewer, '*/*': viewer }, entity_roles: { 'default/*': ['viewer'], 'filesystem/*': ['viewer'], '*/*': ['viewer'] }, expiration: '2026-01-02T00:00:00' }
          : { authenticated: false, primary_namespace: 'default', entity_permissions: { 'default/*': viewer }, entity_roles: { 'default/*': ['viewer'] }, expiration: null },
      })
    }
    if (url.pathname === '/conda-store/api/v1/token/' && req.method === 'POST') {
      if (!authorized) return json(403, { status: 'error', message: 'request not authorized' })
      return json(200, { status: 'ok', data: { token: 'minted-token' } })
    }
    json(404, { status: 'error', message: 'Not Found' })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const base = `http://127.0.0.1:${port}`
  return {
    url: `${base}/conda-store`,
    htmlUrl: `${base}/html`,
    slowUrl: `${base}/slow`,
    badShapeUrl: `${base}/bad-shape`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of pending) res.destroy()
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
