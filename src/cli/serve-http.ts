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
 * The first header of `names` (lower-case) that occurs more than once in `rawHeaders` (Node's
 * `[name, value, name, value, …]` list), or `undefined`. Node keeps only the first `Authorization`
 * and `Content-Type` in `req.headers` and joins others with `, `, so duplicates are only visible here.
 */
export function duplicatedHeader(rawHeaders: readonly string[], names: ReadonlySet<string>): string | undefined {
  const seen = new Set<string>()
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase()
    if (!names.has(name)) continue
    if (seen.has(name)) return name
    seen.add(name)
  }
  return undefined
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
