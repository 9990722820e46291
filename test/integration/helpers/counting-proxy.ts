/**
 * A loopback HTTP proxy that forwards every request to Keycloak and counts requests by
 * `METHOD /path` (query string and trailing slashes stripped), for the request-budget tests. Point a source's `baseUrl`
 * at `proxy.url`; token requests then go through it too.
 *
 * ```ts
 * const proxy = await startCountingProxy(live!.url)
 * try { …; expect(proxy.total()).toBeLessThanOrEqual(3) } finally { await proxy.close() }
 * ```
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One forwarded request. */
export interface ProxiedRequest {
  readonly method: string
  /** Path without the query string and without trailing slashes (the admin client adds one to listings). */
  readonly path: string
  /** Path with the query string. */
  readonly url: string
  /** Upstream status; 502 when Keycloak could not be reached. */
  status?: number
}

export interface CountingProxy {
  /** `http://127.0.0.1:{port}` — use as the source's baseUrl. */
  readonly url: string
  /** Every request since the last {@link reset}, in arrival order. */
  readonly requests: readonly ProxiedRequest[]
  /** Count per `METHOD /path`. */
  counts(): Record<string, number>
  /** Number of requests since the last reset, optionally only those matching `filter`. */
  total(filter?: (r: ProxiedRequest) => boolean): number
  /** Requests to the Admin REST API (`/admin/realms/…`) since the last reset. */
  adminRequests(): readonly ProxiedRequest[]
  /** Token-endpoint requests since the last reset. */
  tokenRequests(): readonly ProxiedRequest[]
  reset(): void
  close(): Promise<void>
}

/**
 * Starts the proxy on 127.0.0.1 in front of `target` (e.g. `http://127.0.0.1:8180`), on a random port
 * or on `options.port` (to bring a closed proxy back on the address its clients know).
 */
export async function startCountingProxy(target: string, options: { port?: number } = {}): Promise<CountingProxy> {
  const upstream = new URL(target)
  const prefix = upstream.pathname.replace(/\/+$/, '')
  let requests: ProxiedRequest[] = []

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/'
    const entry: ProxiedRequest = { method: req.method ?? 'GET', path: url.split('?')[0]!.replace(/(.)\/+$/, '$1'), url }
    requests.push(entry)
    const headers = { ...req.headers, host: upstream.host }
    const forward = httpRequest(
      { protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, method: req.method, path: prefix + url, headers },
      (upstreamRes) => {
        entry.status = upstreamRes.statusCode ?? 502
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers)
        upstreamRes.pipe(res)
      },
    )
    forward.on('error', (err) => {
      entry.status = 502
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'proxy: upstream unreachable', detail: String(err) }))
    })
    req.pipe(forward)
  })
  server.keepAliveTimeout = 1_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo

  const isAdmin = (r: ProxiedRequest) => r.path.startsWith('/admin/realms/')
  const isToken = (r: ProxiedRequest) => r.path.endsWith('/protocol/openid-connect/token')
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests
    },
    counts() {
      const out: Record<string, number> = {}
      for (const r of requests) out[`${r.method} ${r.path}`] = (out[`${r.method} ${r.path}`] ?? 0) + 1
      return out
    },
    total(filter) {
      return filter ? requests.filter(filter).length : requests.length
    },
    adminRequests() {
      return requests.filter(isAdmin)
    },
    tokenRequests() {
      return requests.filter(isToken)
    },
    reset() {
      requests = []
    },
    close() {
      server.closeAllConnections()
      return new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())))
    },
  }
}
