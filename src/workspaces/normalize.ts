/**
 * Request-target normalisation (docs/semantics/workspaces.md §6): the one place where a raw, still-encoded request
 * target becomes the list of decoded segments every rule matches on.
 *
 * @module
 */

/**
 * Why a request target was refused. `detail` says which §6 step refused it (stable, machine-readable).
 *
 * @example
 * ```ts
 * import type { AmbiguousPath } from 'keycloak-permissions/workspaces'
 * const refused: AmbiguousPath = { ok: false, reason: 'AMBIGUOUS_PATH', detail: 'ENCODED_SEPARATOR', segment: 'ws%2F..' }
 * ```
 */
export interface AmbiguousPath {
  readonly ok: false
  readonly reason: 'AMBIGUOUS_PATH'
  readonly detail: AmbiguousPathDetail
  /** The raw segment that was refused (absent when the whole target was). */
  readonly segment?: string
}

/**
 * The §6 step that refused a path:
 * `NOT_ABSOLUTE` (2), `RAW_SEPARATOR` (4.1), `ENCODED_SEPARATOR` (4.2), `BAD_ESCAPE` (4.3),
 * `INVALID_UTF8` (4.4), `DOUBLE_ENCODING` (4.5), `ENCODED_DOT_SEGMENT` (4.6), and `COMPATIBILITY_SEPARATOR`
 * (our addition: a non-ASCII segment whose NFKC form contains `/`, `\`, NUL or is `.`/`..`, because some
 * backends apply compatibility normalisation after routing) and `DOT_SEGMENT_PARAMETER` (our addition: `..;x` or
 * `.;x`, which servlet containers resolve as a dot segment).
 *
 * Only {@link normalizeRoutingPath} (every HTTP surface: middleware, `serve`'s forward auth) refuses with
 * these, because a router in front of the handler may read such a target differently from the decision
 * (docs/semantics/workspaces.md §6, "where the decision meets a router"):
 * `ABSOLUTE_FORM` (`http://host/…` or any `scheme:` target), `DOT_SEGMENT` (a plain `.` or `..` segment),
 * `EMPTY_SEGMENT` (`//`; a single trailing `/` is fine), `SEGMENT_PARAMETER` (`;` in a segment, raw or
 * `%3B`), `FRAGMENT` (a `#` in the target; clients never send one) and `INVALID_CHARACTER` (a raw byte
 * outside visible ASCII: clients percent-encode them, and WHATWG-URL-based servers re-encode them).
 * `ROUTER_MISMATCH` is set by the HTTP layer when an adapter can read the path its framework routes on
 * (Hono's `c.req.path`) and it names other segments than the raw target, and `CASE_VARIANT` when an
 * allowed target would not be allowed in lower case (a case-insensitive router may route it there).
 *
 * @example
 * ```ts
 * import type { AmbiguousPathDetail } from 'keycloak-permissions/workspaces'
 * const detail: AmbiguousPathDetail = 'DOUBLE_ENCODING'
 * ```
 */
export type AmbiguousPathDetail =
  | 'NOT_ABSOLUTE'
  | 'RAW_SEPARATOR'
  | 'ENCODED_SEPARATOR'
  | 'BAD_ESCAPE'
  | 'INVALID_UTF8'
  | 'DOUBLE_ENCODING'
  | 'ENCODED_DOT_SEGMENT'
  | 'COMPATIBILITY_SEPARATOR'
  | 'DOT_SEGMENT_PARAMETER'
  | 'ABSOLUTE_FORM'
  | 'DOT_SEGMENT'
  | 'EMPTY_SEGMENT'
  | 'SEGMENT_PARAMETER'
  | 'FRAGMENT'
  | 'INVALID_CHARACTER'
  | 'ROUTER_MISMATCH'
  | 'CASE_VARIANT'

/**
 * A normalised path: decoded, dot-resolved, non-empty segments.
 *
 * @example
 * ```ts
 * import type { NormalizedPath } from 'keycloak-permissions/workspaces'
 * const p: NormalizedPath = { ok: true, segments: ['workspaces', 'ws-alice'], path: '/workspaces/ws-alice' }
 * ```
 */
export interface NormalizedPath {
  readonly ok: true
  readonly segments: readonly string[]
  /** The segments as a path (`/` + segments joined by `/`). */
  readonly path: string
}

/**
 * Normalises a request target as docs/semantics/workspaces.md §6 prescribes: query and fragment dropped, each segment
 * percent-decoded exactly once, ambiguous encodings (`%2F`, `%5C`, `%00`, double encoding, encoded dot
 * segments, raw `\`/NUL, bad escapes, invalid UTF-8) refused, empty segments dropped, dot segments
 * resolved (never above the root). No regular expression is involved; the cost is linear in the length.
 *
 * @example
 * ```ts
 * import { normalizeRequestPath } from 'keycloak-permissions/workspaces'
 * normalizeRequestPath('/workspaces//ws-bob/../ws%2Dalice?x=1')
 * // { ok: true, segments: ['workspaces', 'ws-alice'], path: '/workspaces/ws-alice' }
 * normalizeRequestPath('/workspaces/ws-bob%2F..%2Fws-alice')
 * // { ok: false, reason: 'AMBIGUOUS_PATH', detail: 'ENCODED_SEPARATOR', segment: 'ws-bob%2F..%2Fws-alice' }
 * ```
 */
export function normalizeRequestPath(target: string): NormalizedPath | AmbiguousPath {
  const plain = plainSegments(target)
  if (plain !== undefined) return { ok: true, segments: plain, path: target }
  let end = target.length
  const hash = target.indexOf('#')
  if (hash !== -1) end = hash
  const query = target.indexOf('?')
  if (query !== -1 && query < end) end = query
  if (end === 0 || target.charCodeAt(0) !== 0x2f) return refuse('NOT_ABSOLUTE')
  const out: string[] = []
  let start = 1
  while (start <= end) {
    let stop = target.indexOf('/', start)
    if (stop === -1 || stop > end) stop = end
    if (stop > start) {
      const raw = target.slice(start, stop)
      const decoded = decodeSegment(raw)
      if (typeof decoded !== 'string') return decoded
      if (decoded === '..') out.pop()
      else if (decoded !== '.') out.push(decoded)
    }
    start = stop + 1
  }
  return { ok: true, segments: out, path: '/' + out.join('/') }
}

/**
 * The routing-safe normalisation every HTTP surface uses (middleware adapters and `serve`'s forward
 * auth, through `authorizeHttpRequest`): {@link normalizeRequestPath}, and on top of it a refusal of
 * every raw target whose segments a router could read differently from the decision — plain dot
 * segments, empty segments (except one trailing `/`), `;` parameters (raw or `%3B`), a fragment, raw
 * bytes outside visible ASCII, and any target not in origin form (`http://host/…`). What passes has one
 * reading: the router sees the segments the decision saw, only percent-decoded (once, like the params
 * of Express, Fastify and Hono).
 *
 * `normalizeRequestPath` keeps answering the *path question* (library, CLI, `POST /v1/check`, the
 * conformance vectors): `/workspaces/ws-bob/../ws-alice` names `ws-alice` there, while an HTTP request
 * with that target is refused here (docs/semantics/workspaces.md §6).
 *
 * @example
 * ```ts
 * import { normalizeRoutingPath } from 'keycloak-permissions/workspaces'
 * normalizeRoutingPath('/workspaces/ws%2Dalice/files/?x=1')
 * // { ok: true, segments: ['workspaces', 'ws-alice', 'files'], path: '/workspaces/ws-alice/files' }
 * normalizeRoutingPath('/workspaces/ws-bob/../ws-alice')
 * // { ok: false, reason: 'AMBIGUOUS_PATH', detail: 'DOT_SEGMENT', segment: '..' }
 * ```
 */
export function normalizeRoutingPath(target: string): NormalizedPath | AmbiguousPath {
  const plain = plainSegments(target)
  if (plain !== undefined) return { ok: true, segments: plain, path: target }
  if (target.charCodeAt(0) !== 0x2f) return refuse(hasScheme(target) ? 'ABSOLUTE_FORM' : 'NOT_ABSOLUTE')
  let end = target.indexOf('?')
  if (end === -1) end = target.length
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i)
    if (c === 0x23) return refuse('FRAGMENT')
    if (c <= 0x20 || c >= 0x7f) return refuse('INVALID_CHARACTER')
  }
  // The §6 refusals keep their own, more precise detail (e.g. ENCODED_DOT_SEGMENT for `%2e%2e`).
  const normalized = normalizeRequestPath(target)
  if (!normalized.ok) return normalized
  let start = 1
  while (start <= end) {
    let stop = target.indexOf('/', start)
    if (stop === -1 || stop > end) stop = end
    const raw = target.slice(start, stop)
    // Only the last segment may be empty: the root `/`, or one trailing `/`.
    if (raw === '') {
      if (stop !== end) return refuse('EMPTY_SEGMENT', raw)
    } else if (raw === '.' || raw === '..') return refuse('DOT_SEGMENT', raw)
    else if (hasParameter(raw)) return refuse('SEGMENT_PARAMETER', raw)
    start = stop + 1
  }
  return normalized
}

/** `scheme ":"` at the start (RFC 3986 §3.1): the absolute form of a request target. */
function hasScheme(target: string): boolean {
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i) | 0x20
    if (c >= 0x61 && c <= 0x7a) continue
    if (i > 0 && ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e)) continue
    return i > 0 && target.charCodeAt(i) === 0x3a
  }
  return false
}

/** A raw `;` or an encoded one (`%3B`, any case). */
function hasParameter(raw: string): boolean {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if (c === 0x3b) return true
    if (c === 0x25 && raw.charCodeAt(i + 1) === 0x33 && (raw.charCodeAt(i + 2) | 0x20) === 0x62) return true
  }
  return false
}

const PLAIN = 0
const NEEDS_FULL = 1
const SLASH = 2
const DOT = 3

/**
 * Per ASCII code: 0 = plain, 1 = needs the full algorithm (controls, space, `%`, `\\`, `;`, `?`, `#`,
 * DEL), 2 = `/`, 3 = `.`. Built once from constants, never from input.
 */
const CHAR_CLASS = (() => {
  const table = new Uint8Array(128)
  for (let c = 0; c <= 0x20; c++) table[c] = NEEDS_FULL
  for (const c of [0x25, 0x5c, 0x3b, 0x3f, 0x23, 0x7f]) table[c] = NEEDS_FULL
  table[0x2f] = SLASH
  table[0x2e] = DOT
  return table
})()

/**
 * The fast path, in one pass: a target of plain segments only (no query, fragment, escape, `;`,
 * backslash, control character, space, non-ASCII, dot-only or empty segment) is its own normal form; returns its segments, or
 * undefined when the full algorithm must decide.
 */
function plainSegments(target: string): string[] | undefined {
  if (target.charCodeAt(0) !== 0x2f) return undefined
  const segments: string[] = []
  let start = 1
  let dotsOnly = true
  for (let i = 1; i <= target.length; i++) {
    const c = i === target.length ? 0x2f : target.charCodeAt(i)
    if (c > 0x7e || c < 0x21) return undefined
    const k = CHAR_CLASS[c]!
    if (k === PLAIN) dotsOnly = false
    else if (k === SLASH) {
      if (dotsOnly) return undefined
      segments.push(target.slice(start, i))
      start = i + 1
      dotsOnly = true
    } else if (k === NEEDS_FULL) return undefined
  }
  return segments
}

/**
 * The fast path without the segment array: the same acceptance as {@link plainSegments}, but it records
 * where each segment starts in `starts` (segment `i` is `target.slice(starts[i], starts[i + 1] - 1)`)
 * and returns the segment count, or -1 when the full algorithm must decide (or `starts` is too short).
 * The decision hot path slices only the segment it needs. @internal
 */
export function plainSegmentStarts(target: string, starts: Int32Array): number {
  // One pass over the fixed character table: cheaper on this hot path than a regular expression test
  // followed by an `indexOf` walk over the same characters (issue 15, measured in bench/workspaces.ts).
  const length = target.length
  if (length === 0 || target.charCodeAt(0) !== 0x2f) return -1
  const max = starts.length - 1
  let count = 0
  // Whether the segment read so far is empty or dots only (both go the full way).
  let dotsOnly = true
  starts[0] = 1
  for (let i = 1; i < length; i++) {
    const c = target.charCodeAt(i)
    if (c > 0x7e) return -1
    const kind = CHAR_CLASS[c]!
    if (kind === PLAIN) {
      dotsOnly = false
    } else if (kind === SLASH) {
      if (dotsOnly || count === max) return -1
      starts[++count] = i + 1
      dotsOnly = true
    } else if (kind === NEEDS_FULL) {
      return -1
    }
  }
  if (dotsOnly || count === max) return -1
  starts[++count] = length + 1
  return count
}

function refuse(detail: AmbiguousPathDetail, segment?: string): AmbiguousPath {
  return segment === undefined ? { ok: false, reason: 'AMBIGUOUS_PATH', detail } : { ok: false, reason: 'AMBIGUOUS_PATH', detail, segment }
}

function isHex(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66)
}

function hexValue(code: number): number {
  return code <= 0x39 ? code - 0x30 : (code | 0x20) - 0x57
}

/** Returns the decoded segment or the refusal. */
function decodeSegment(raw: string): string | AmbiguousPath {
  let encoded = false
  let nonAscii = false
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if (c === 0x5c || c === 0) return refuse('RAW_SEPARATOR', raw)
    if (c === 0x25) {
      const a = raw.charCodeAt(i + 1)
      const b = raw.charCodeAt(i + 2)
      if (!isHex(a) || !isHex(b)) return refuse('BAD_ESCAPE', raw)
      const byte = hexValue(a) * 16 + hexValue(b)
      if (byte === 0x2f || byte === 0x5c || byte === 0) return refuse('ENCODED_SEPARATOR', raw)
      encoded = true
      i += 2
    } else if (c > 0x7f) {
      nonAscii = true
    }
  }
  let decoded = raw
  if (encoded) {
    try {
      decoded = decodeURIComponent(raw)
    } catch {
      return refuse('INVALID_UTF8', raw)
    }
    for (let i = 0; i + 2 < decoded.length; i++) {
      if (decoded.charCodeAt(i) === 0x25 && isHex(decoded.charCodeAt(i + 1)) && isHex(decoded.charCodeAt(i + 2))) {
        return refuse('DOUBLE_ENCODING', raw)
      }
    }
    if (decoded === '.' || decoded === '..') return refuse('ENCODED_DOT_SEGMENT', raw)
    if (!nonAscii) {
      for (let i = 0; i < decoded.length; i++) {
        if (decoded.charCodeAt(i) > 0x7f) {
          nonAscii = true
          break
        }
      }
    }
  }
  if (nonAscii && compatibilityAmbiguous(decoded)) return refuse('COMPATIBILITY_SEPARATOR', raw)
  if (decoded.charCodeAt(0) === 0x2e) {
    const semi = decoded.indexOf(';')
    if (semi === 1 || (semi === 2 && decoded.charCodeAt(1) === 0x2e)) return refuse('DOT_SEGMENT_PARAMETER', raw)
  }
  return decoded
}

function compatibilityAmbiguous(segment: string): boolean {
  const folded = segment.normalize('NFKC')
  if (folded === segment) return false
  if (folded === '.' || folded === '..') return true
  return folded.includes('/') || folded.includes('\\') || folded.includes('\0')
}
