/**
 * Raw request targets that try to make a router hand a handler a workspace other than the one the
 * authorisation decided (issue 13, "one authorised path"), and a raw-socket sender that puts a target
 * on the wire byte for byte (no HTTP client that cleans paths).
 *
 * Shared by test/integration/attack-adapters.test.ts (Express, Fastify, Hono node-server, node:http)
 * and the forward-auth (nginx `auth_request`) test of `serve`.
 *
 * Every target is built from two workspace names: `held` (the token holds a workspace role on it) and
 * `other` (it does not). With the example realm and user `bob`: `held = 'ws-alpha'`, `other = 'ws-beta'`.
 *
 * `expected` is the answer of a routing-safe adapter (docs/semantics/workspaces.md §6, "where the
 * decision meets a router"):
 * - `refused`: 400 `AMBIGUOUS_PATH` before any rule — the raw target has a dot segment (plain or
 *   encoded), an empty segment, a `;` parameter, a backslash, an encoded separator, or is not in
 *   origin form;
 * - `allowed`: 200, and the handler sees `held`;
 * - `denied`: 403 (the target names `other`, or no workspace at all).
 *
 * The invariant an attack test asserts for every target, whatever `expected` says: no handler ever
 * runs for a workspace the token does not hold.
 */
import { connect } from 'node:net'

/** What the target tries, for grouping in reports. */
export type AttackFamily =
  | 'control'
  | 'dot-segment'
  | 'encoded-dot-segment'
  | 'parameter'
  | 'empty-segment'
  | 'backslash'
  | 'encoded-separator'
  | 'absolute-form'
  | 'mixed'

/** One crafted request target. */
export interface AttackTarget {
  /** Stable id (`family-NN`), for test names and reports. */
  readonly id: string
  readonly family: AttackFamily
  /** The request target exactly as it goes on the request line. */
  readonly target: string
  /** The answer of a routing-safe adapter (see the module comment). */
  readonly expected: 'refused' | 'allowed' | 'denied'
  /** Why the target is interesting. */
  readonly note: string
}

/** HTTP status a routing-safe adapter answers for each expectation. */
export const EXPECTED_STATUS = { refused: 400, allowed: 200, denied: 403 } as const

/** The encodings of `..` and `.` a decoder may or may not resolve: every case combination. */
const ENCODED_DOT_DOT = ['%2e%2e', '%2E%2E', '%2e%2E', '%2E%2e', '.%2e', '.%2E', '%2e.', '%2E.'] as const
const ENCODED_DOT = ['%2e', '%2E'] as const

/**
 * The attack list for a token holding a workspace role on `held` and none on `other`
 * (default: the example realm's `bob`, `ws-alpha` / `ws-beta`). At least 40 targets besides the controls.
 *
 * @example
 * ```ts
 * for (const t of attackTargets('ws-alpha', 'ws-beta')) await rawRequest(port, 'GET', t.target, { authorization })
 * ```
 */
export function attackTargets(held = 'ws-alpha', other = 'ws-beta'): AttackTarget[] {
  const H = held
  const O = other
  const out: AttackTarget[] = []
  const counters = new Map<AttackFamily, number>()
  const add = (family: AttackFamily, target: string, expected: AttackTarget['expected'], note: string) => {
    const n = (counters.get(family) ?? 0) + 1
    counters.set(family, n)
    out.push({ id: `${family}-${String(n).padStart(2, '0')}`, family, target, expected, note })
  }

  // Controls: clean targets; every adapter must answer them exactly as the rule decides.
  add('control', `/workspaces/${H}/files`, 'allowed', 'the held workspace')
  add('control', `/workspaces/${H}`, 'allowed', 'the held workspace, no rest')
  add('control', `/workspaces/${H}/files/`, 'allowed', 'a single trailing slash is not significant')
  add('control', `/workspaces/${H}/files?next=/workspaces/${O}/../../${O}`, 'allowed', 'the query is not part of the path')
  add('control', `/workspaces/${H}/fi%6Ces`, 'allowed', 'an encoded unreserved character decodes the same everywhere')
  add('control', `/workspaces/${percentEncodeDash(H)}/files`, 'allowed', 'ws%2D…: routers decode params once, as §6 does')
  add('control', `/workspaces/${O}/files`, 'denied', 'the other workspace')
  add('control', `/workspaces/${O.toUpperCase()}/files`, 'denied', 'client ids are case-sensitive')
  add('control', `/WORKSPACES/${O}/files`, 'denied', 'Express routes case-insensitively; the rule does not match it at all')

  // Plain dot segments: Express 5 and Fastify 5 route the raw path, the decision resolves dots.
  add('dot-segment', `/workspaces/${O}/../${H}/files`, 'refused', 'issue 13: Express and Fastify handed the handler ws = other')
  add('dot-segment', `/workspaces/${O}/x/../../${H}/files`, 'refused', 'issue 13: two levels')
  add('dot-segment', `/workspaces/${O}/./../${H}/files`, 'refused', 'single dot then double dot')
  add('dot-segment', `/workspaces/./${O}/../${H}/files`, 'refused', 'single dot before the workspace')
  add('dot-segment', `/workspaces/${O}/../${H}`, 'refused', 'no rest after the held workspace')
  add('dot-segment', `/workspaces/${O}/files/../../${H}/files`, 'refused', 'climbs out of the rest')
  add('dot-segment', `/workspaces/${H}/../${O}/files`, 'refused', 'the reverse: the decision names other, the router held')
  add('dot-segment', `/workspaces/${O}/..`, 'refused', 'resolves to /workspaces; Express binds ws = other, rest = ..')
  add('dot-segment', `/x/../workspaces/${O}/../${H}/files`, 'refused', 'dots before the route prefix')
  add('dot-segment', `/WORKSPACES/${O}/../${H}/files`, 'refused', 'dots plus case-insensitive routing')

  // Encoded dot segments, every case combination: WHATWG URL (Hono node-server) resolves them, Express does not.
  for (const dd of ENCODED_DOT_DOT) add('encoded-dot-segment', `/workspaces/${O}/${dd}/${H}/files`, 'refused', `encoded ".." as ${dd}`)
  for (const d of ENCODED_DOT) add('encoded-dot-segment', `/workspaces/${O}/${d}/../${H}/files`, 'refused', `encoded "." as ${d}`)
  add('encoded-dot-segment', `/workspaces/${H}/%2e%2e/${O}/files`, 'refused', 'WHATWG URL resolves %2e%2e: Hono would route other')
  add('encoded-dot-segment', `/workspaces/${O}/%252e%252e/${H}/files`, 'refused', 'double-encoded ..')

  // `;` parameters: servlet-style path parameters; Express and Fastify keep `;` in the segment.
  add('parameter', `/workspaces/${O};/../${H}/files`, 'refused', 'issue 13: ws = "other;"')
  add('parameter', `/workspaces/${O};x=1/../${H}/files`, 'refused', 'a parameter with a value')
  add('parameter', `/workspaces/${O}/..;/${H}/files`, 'refused', 'a dot segment with a parameter (Tomcat resolves it)')
  add('parameter', `/workspaces/${O}/.;/../${H}/files`, 'refused', 'a single dot with a parameter')
  add('parameter', `/workspaces/${H};/files`, 'refused', 'a router splitting on ; would route held, the rule sees "held;"')
  add('parameter', `/workspaces/${O}%3B/../${H}/files`, 'refused', 'an encoded ;')
  add('parameter', `/workspaces/${H};${O}/files`, 'refused', 'two names in one segment')

  // Empty segments: some routers merge them, WHATWG URL keeps them (and `..` then eats the empty one).
  add('empty-segment', `//workspaces/${O}/../${H}/files`, 'refused', 'leading empty segment')
  add('empty-segment', `/workspaces//${O}/../${H}/files`, 'refused', 'empty segment before the workspace')
  add('empty-segment', `/workspaces/${O}//../${H}/files`, 'refused', 'the decision resolves to held; WHATWG URL keeps "" and .. removes it: other')
  add('empty-segment', `/workspaces/${H}//files`, 'refused', 'an empty segment inside the rest')
  add('empty-segment', `/workspaces///${O}/..//${H}/files`, 'refused', 'several empty segments')

  // Backslashes: WHATWG URL turns `\` into `/` for http URLs, so a Node server that parses req.url does too.
  add('backslash', `/workspaces/${O}\\..\\${H}/files`, 'refused', 'backslash traversal')
  add('backslash', `/workspaces/${O}/..\\${H}/files`, 'refused', 'mixed separators')
  add('backslash', `/workspaces\\${O}\\..\\${H}\\files`, 'refused', 'backslashes only')
  add('backslash', `/workspaces/${H}\\..\\${O}/files`, 'refused', 'the reverse: WHATWG URL routes other')
  add('backslash', `/workspaces/${O}/%5C../${H}/files`, 'refused', 'an encoded backslash before the dots')

  // Encoded separators: a decoder that runs before the router turns them into real separators.
  add('encoded-separator', `/workspaces/${O}%2F..%2F${H}/files`, 'refused', 'encoded / traversal')
  add('encoded-separator', `/workspaces/${O}%2f..%2f${H}/files`, 'refused', 'lower-case encoded /')
  add('encoded-separator', `/workspaces/${O}/..%2F${H}/files`, 'refused', 'encoded / after the dots')
  add('encoded-separator', `/workspaces/${O}%5C..%5C${H}/files`, 'refused', 'encoded \\ traversal')
  add('encoded-separator', `/workspaces/${O}%5c..%5c${H}/files`, 'refused', 'lower-case encoded \\')
  add('encoded-separator', `/workspaces/${O}%2F%2E%2E%2F${H}/files`, 'refused', 'everything encoded')
  add('encoded-separator', `/workspaces/${H}%2F..%2F${O}/files`, 'refused', 'the reverse')
  add('encoded-separator', `/workspaces%2F${O}/../${H}/files`, 'refused', 'encoded / in the route prefix')
  add('encoded-separator', `/workspaces/${O}/%00/../${H}/files`, 'refused', 'an encoded NUL')
  add('encoded-separator', `/workspaces/${O}%252F..%252F${H}/files`, 'refused', 'double-encoded /')

  // Absolute form (RFC 9112 §3.2.2): Express takes the path out of the URL, others do not route it.
  add('absolute-form', `http://127.0.0.1/workspaces/${O}/../${H}/files`, 'refused', 'absolute form with dots')
  add('absolute-form', `http://127.0.0.1/workspaces/${H}/files`, 'refused', 'a clean absolute form is refused too: its path is what the router reads, not the decision')
  add('absolute-form', `http://127.0.0.1/workspaces/${O}/files`, 'refused', 'absolute form naming other')
  add('absolute-form', `HTTP://127.0.0.1/workspaces/${O}/%2e%2e/${H}/files`, 'refused', 'upper-case scheme, encoded dots')
  add('absolute-form', `http://127.0.0.1:1/workspaces/${O}/files?x=/workspaces/${H}`, 'refused', 'another port, held in the query')
  add('absolute-form', `http:/workspaces/${O}/files`, 'refused', 'scheme without authority')

  // Mixed.
  add('mixed', `/workspaces/${O}/.%2e/./${H}//files`, 'refused', 'encoded dots, single dot, empty segment')
  add('mixed', `/workspaces/${O};/..%2F${H}/files`, 'refused', 'parameter plus encoded separator')
  add('mixed', `/workspaces/${O}/x/..;/../${H}/files`, 'refused', 'plain dots plus a dot parameter')
  add('mixed', `/workspaces/${O}/../${H}/files#/../../${O}`, 'refused', 'a fragment in the request target')
  add('mixed', `/workspaces/${O}/%2e%2e%2F${H}/files`, 'refused', 'encoded dots and separator in one segment')
  add('mixed', `/workspaces/${O}\\/../${H}/files`, 'refused', 'backslash before a real separator')
  add('mixed', `/workspaces/${H}/files#x`, 'refused', 'a fragment alone: never sent by a client, refused rather than guessed at')
  return out
}

function percentEncodeDash(name: string): string {
  return name.split('-').join('%2D')
}

/** A response read off a raw socket. */
export interface RawResponse {
  readonly status: number
  /** Header names lower-cased; repeated headers joined with `, `. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  json(): any
}

/**
 * Sends one HTTP/1.1 request over a plain `node:net` socket with `target` written verbatim on the
 * request line (`Connection: close`), and parses the answer (content-length, chunked, or until close).
 *
 * @example
 * ```ts
 * const res = await rawRequest(port, 'GET', '/workspaces/ws-beta/../ws-alpha/files', { authorization: `Bearer ${token}` })
 * ```
 */
export function rawRequest(port: number, method: string, target: string, headers: Record<string, string> = {}, host = '127.0.0.1'): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port })
    const chunks: Buffer[] = []
    socket.setTimeout(15_000, () => socket.destroy(new Error(`no answer for ${method} ${target}`)))
    socket.on('connect', () => {
      let head = `${method} ${target} HTTP/1.1\r\nhost: ${host}:${port}\r\nconnection: close\r\n`
      for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`
      socket.write(head + '\r\n', 'latin1')
    })
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', reject)
    socket.on('close', () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks)))
      } catch (err) {
        reject(err instanceof Error ? new Error(`${method} ${target}: ${err.message}`) : err)
      }
    })
  })
}

function parseResponse(raw: Buffer): RawResponse {
  const end = raw.indexOf('\r\n\r\n')
  if (end === -1) throw new Error(`incomplete response: ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`)
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n')
  const statusLine = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')
  if (!statusLine) throw new Error(`bad status line ${JSON.stringify(lines[0])}`)
  const headers: Record<string, string> = {}
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon === -1) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
  }
  let body = raw.subarray(end + 4)
  if ((headers['transfer-encoding'] ?? '').toLowerCase().includes('chunked')) body = dechunk(body)
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']))
  const text = body.toString('utf8')
  return { status: Number(statusLine[1]), headers, body: text, json: () => JSON.parse(text) }
}

function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at)
    if (lineEnd === -1) break
    const size = parseInt(body.subarray(at, lineEnd).toString('latin1'), 16)
    if (!Number.isFinite(size) || size === 0) break
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
  return Buffer.concat(parts)
}
