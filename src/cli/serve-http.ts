/**
 * The request-level rules of `serve` that sit below any endpoint: the refusal error, the exact JSON
 * media type, duplicate-header detection on the raw header list, and which bind addresses count as
 * loopback. Pure functions, so each rule is unit-tested on its own (test/cli/serve-http.test.ts).
 */
import { isIP } from 'node:net'
import { KeycloakPermissionsError } from '../core/errors.js'

/**
 * A request `serve` refuses before (or instead of) answering it: an HTTP status and the stable `code`
 * of the JSON error body (`{ "error": { "code", "message", "requestId" } }`).
 */
export class HttpRequestError extends KeycloakPermissionsError {
  static override code = 'ERR_HTTP_REQUEST'
  override readonly code: string

  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(message)
    this.code = code
  }
}

/**
 * Why a `Content-Type` is not exactly `application/json` (optionally with `charset=utf-8`), or
 * `undefined` when it is. Type and subtype, the parameter name and the charset value compare
 * case-insensitively (RFC 9110 §8.3.1); the value may be quoted; no other parameter is accepted,
 * because a body we would decode as UTF-8 must not be declared as anything else.
 */
export function jsonMediaTypeProblem(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return 'no Content-Type (send application/json)'
  // The spellings clients send, accepted without parsing (each is accepted by the parse below too).
  if (header === 'application/json' || header === 'application/json; charset=utf-8' || header === 'application/json;charset=utf-8') return undefined
  const [essence = '', ...parameters] = header.split(';')
  if (essence.trim().toLowerCase() !== 'application/json') return `media type ${JSON.stringify(essence.trim())} is not application/json`
  let charsetSeen = false
  for (const raw of parameters) {
    const parameter = raw.trim()
    if (parameter === '') continue // RFC 9110 allows empty parameters (`application/json;`)
    const eq = parameter.indexOf('=')
    const name = (eq === -1 ? parameter : parameter.slice(0, eq)).trim().toLowerCase()
    if (name !== 'charset' || eq === -1) return `parameter ${JSON.stringify(parameter)} is not accepted (only charset=utf-8)`
    if (charsetSeen) return 'charset given twice'
    charsetSeen = true
    let value = parameter.slice(eq + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    if (value.toLowerCase() !== 'utf-8') return `charset ${JSON.stringify(value)} is not accepted (only utf-8)`
  }
  return undefined
}

/**
 * A finder for {@link duplicatedHeader} with `names` prepared once: only a raw name whose length is
 * one of theirs is lower-cased and looked up, and nothing is allocated unless one of `names` occurs,
 * so the check costs a length test per header on an ordinary request.
 *
 * @example
 * ```ts
 * const duplicate = duplicateHeaderFinder(new Set(['authorization']))
 * duplicate(['Authorization', 'Bearer a', 'authorization', 'Bearer b']) // 'authorization'
 * ```
 */
export function duplicateHeaderFinder(names: ReadonlySet<string>): (rawHeaders: readonly string[]) => string | undefined {
  const lengths = new Set<number>()
  for (const name of names) lengths.add(name.length)
  return (rawHeaders) => {
    let first: string | undefined
    let more: string[] | undefined
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const raw = rawHeaders[i]!
      if (!lengths.has(raw.length)) continue
      const name = raw.toLowerCase()
      if (!names.has(name)) continue
      if (first === undefined) {
        first = name
        continue
      }
      if (name === first || (more !== undefined && more.includes(name))) return name
      ;(more ??= []).push(name)
    }
    return undefined
  }
}

/**
 * The first header of `names` (lower-case) that occurs more than once in `rawHeaders` (Node's
 * `[name, value, name, value, …]` list), or `undefined`. Node keeps only the first `Authorization`
 * and `Content-Type` in `req.headers` and joins others with `, `, so duplicates are only visible here.
 * (`serve` prepares `names` once with {@link duplicateHeaderFinder}.)
 */
export function duplicatedHeader(rawHeaders: readonly string[], names: ReadonlySet<string>): string | undefined {
  return duplicateHeaderFinder(names)(rawHeaders)
}

/**
 * What `serve` routes on, decided from a request target exactly as the WHATWG URL parser reads it
 * (`new URL(target, 'http://localhost')`): its `pathname` (dot segments, `%2e`, backslashes and
 * `//` resolved as URL resolves them), `listed` (`?listed=true`), and for `/v1/users/{user}/{leaf}`
 * the user segment percent-decoded (`user: undefined` when it is not valid percent-encoded UTF-8).
 */
export interface ServeRoute {
  readonly pathname: string
  readonly listed: boolean
  readonly userPath?: { readonly user: string | undefined; readonly leaf: string }
}

/** {@link ServeRoute} of one target, by the URL parser (no memo). */
export function serveRoute(target: string): ServeRoute {
  const url = new URL(target, 'http://localhost')
  const pathname = url.pathname
  const listed = url.searchParams.get('listed') === 'true'
  const parts = pathname.split('/').slice(1)
  if (parts[0] === 'v1' && parts[1] === 'users' && parts.length === 4 && parts[2]) {
    let user: string | undefined
    try {
      user = decodeURIComponent(parts[2])
    } catch {
      user = undefined
    }
    return Object.freeze({ pathname, listed, userPath: Object.freeze({ user, leaf: parts[3]! }) })
  }
  return Object.freeze({ pathname, listed })
}

/**
 * {@link serveRoute} remembered per exact raw target (the string on the request line, compared
 * byte for byte: no normalising, so two spellings never share an entry): a client repeating a
 * target is routed by a map lookup instead of a URL parse, with the answer the parse gave. Bounded:
 * targets over `maxTargetLength` are parsed every time, and the map is emptied when it holds
 * `maxEntries` (many distinct targets only cost parses, never memory).
 *
 * @example
 * ```ts
 * const route = serveRouter()
 * route('/v1/users/bob/environments?listed=true') // { pathname: '/v1/users/bob/environments', listed: true, userPath: { user: 'bob', leaf: 'environments' } }
 * ```
 */
export function serveRouter(maxEntries = 1_024, maxTargetLength = 1_024): (target: string) => ServeRoute {
  const known = new Map<string, ServeRoute>()
  return (target) => {
    const hit = known.get(target)
    if (hit !== undefined) return hit
    const route = serveRoute(target)
    if (target.length <= maxTargetLength) {
      if (known.size >= maxEntries) known.clear()
      known.set(target, route)
    }
    return route
  }
}

/**
 * The values of one header in `rawHeaders`, in order (all of them, so a caller can refuse repeats).
 */
export function rawHeaderValues(rawHeaders: readonly string[], name: string): string[] {
  const values: string[] = []
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) values.push(rawHeaders[i + 1]!)
  return values
}

/**
 * Whether binding `host` can only be reached from this machine: `localhost`, `127.0.0.0/8`, `::1`
 * and IPv4-mapped `::ffff:127.x.y.z`. Anything else — `0.0.0.0`, `::`, an interface address, a host
 * name — may be reachable from other machines.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  if (h.toLowerCase() === 'localhost') return true
  const family = isIP(h)
  if (family === 4) return h.split('.')[0] === '127'
  if (family === 6) {
    const lower = h.toLowerCase()
    if (lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true
    const mapped = lower.startsWith('::ffff:') ? lower.slice('::ffff:'.length) : undefined
    return mapped !== undefined && isIP(mapped) === 4 && mapped.split('.')[0] === '127'
  }
  return false
}

/** An HTTP method as RFC 9110 defines it: one or more `tchar`. */
export function isHttpToken(value: string): boolean {
  if (value.length === 0 || value.length > 64) return false
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    const ok =
      (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
      '!#$%&\'*+-.^_`|~'.includes(value[i]!)
    if (!ok) return false
  }
  return true
}
