/**
 * A local conda-store stand-in on 127.0.0.1 for the client tests: it answers with exactly the upstream
 * response shapes of docs/semantics/conda-store.md §11 (v1 offset pagination with a clamped `size`, v2 cursor
 * pagination as conda-store's `_internal/server/pagination.py` at 9177dc66, error objects).
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
    if (url.pathname === '/conda-store/api/v2/environment/' && req.method === 'GET') {
      // conda-store's cursor pagination (_internal/server/pagination.py): order by the requested
      // columns then id; the cursor holds the last row's id and sort values; an empty page answers
      // the end cursor; no cursor (or the end cursor) starts at the first row.
      const visible = authorized ? all : all.filter((e) => e.namespace.name === 'default')
      const raw = url.searchParams.getAll('sort_by')
      const sortBy = raw.length === 1 ? raw[0]!.split(',') : raw
      const invalid = sortBy.filter((k) => k !== 'namespace' && k !== 'name')
      if (invalid.length > 0) {
        return json(400, { status: 'error', message: `Cannot sort results by [${invalid.map((k) => `'${k}'`).join(', ')}]. Valid sort_by values are ['namespace', 'name']` })
      }
      const order = url.searchParams.get('order') ?? 'asc'
      if (order !== 'asc' && order !== 'desc') {
        return json(422, { detail: [{ type: 'enum', loc: ['query', 'order'], msg: "Input should be 'asc' or 'desc'", input: order }] })
      }
      const limit = Number(url.searchParams.get('limit') ?? maxPageSize)
      const keyOf = (e: (typeof all)[number]): (string | number)[] => [...sortBy.map((k) => (k === 'namespace' ? e.namespace.name : e.name)), e.id]
      const compare = (a: (string | number)[], b: (string | number)[]) => {
        for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1
        return 0
      }
      const sign = order === 'asc' ? 1 : -1
      let rows = [...visible].sort((a, b) => sign * compare(keyOf(a), keyOf(b)))
      const cursorText = url.searchParams.get('cursor')
      const cursor = cursorText === null ? { last_id: null, last_value: null } : (JSON.parse(Buffer.from(cursorText, 'base64').toString('utf8')) as { last_id: number | null; last_value: Record<string, string> | null })
      if (cursor.last_id !== null) {
        const last = [...sortBy.map((k) => cursor.last_value![k]!), cursor.last_id]
        rows = rows.filter((e) => sign * compare(keyOf(e), last) > 0)
      }
      const data = rows.slice(0, Math.max(0, limit))
      const lastRow = data[data.length - 1]
      const next = lastRow
        ? { last_id: lastRow.id, last_value: Object.fromEntries(sortBy.map((k) => [k, k === 'namespace' ? lastRow.namespace.name : lastRow.name])) }
        : { last_id: null, last_value: null }
      return json(200, { data, status: 'ok', message: null, cursor: Buffer.from(JSON.stringify(next)).toString('base64'), count: visible.length })
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
