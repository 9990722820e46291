/**
 * Segment-wise globs (README "Components (D17)"): pattern and resource are split on `/`, must have
 * the same number of segments, and `*` inside a segment matches any run of characters except `/`.
 * Everything else is literal and case-sensitive. No regular expression is ever built.
 *
 * @module
 */

/**
 * A compiled segment glob: per segment, the literal parts between `*`s.
 *
 * @example
 * ```ts
 * import { compileSegmentGlob } from 'keycloak-permissions/components'
 * compileSegmentGlob('gitlab.example.com/team/*').segments.length // 3
 * ```
 */
export interface SegmentGlob {
  readonly source: string
  /** Per segment: the segment itself when it has no `*` (compared whole), else the literal parts around each `*`. */
  readonly segments: readonly (readonly string[] | string)[]
}

/**
 * Compiles a segment glob once for repeated matching.
 *
 * @example
 * ```ts
 * import { compileSegmentGlob, matchSegmentGlob } from 'keycloak-permissions/components'
 * const glob = compileSegmentGlob('gitlab.example.com/team/*')
 * matchSegmentGlob(glob, 'gitlab.example.com/team/proj') // true
 * ```
 */
export function compileSegmentGlob(pattern: string): SegmentGlob {
  return { source: pattern, segments: pattern.split('/').map((seg) => (seg.includes('*') ? seg.split('*') : seg)) }
}

/**
 * Whether `resource` matches the segment glob `pattern` (a string or a {@link SegmentGlob}). Linear in
 * the resource length per literal part; never backtracks across segments.
 *
 * @example
 * ```ts
 * import { matchSegmentGlob } from 'keycloak-permissions/components'
 * matchSegmentGlob('gitlab.example.com/team/*', 'gitlab.example.com/team/proj')     // true
 * matchSegmentGlob('gitlab.example.com/team/*', 'gitlab.example.com/team/sub/proj') // false
 * matchSegmentGlob('gitlab.example.com/team/*', 'gitlab.example.com/team')          // false
 * matchSegmentGlob('gitlab.example.com/team/proj-*', 'gitlab.example.com/team/proj-') // true
 * ```
 */
export function matchSegmentGlob(pattern: string | SegmentGlob, resource: string): boolean {
  const glob = typeof pattern === 'string' ? compileSegmentGlob(pattern) : pattern
  const parts = resource.split('/')
  if (parts.length !== glob.segments.length) return false
  for (let i = 0; i < parts.length; i++) {
    const spec = glob.segments[i]!
    const value = parts[i]!
    if (typeof spec === 'string') {
      if (spec !== value) return false
    } else if (!matchStars(spec, value)) {
      return false
    }
  }
  return true
}

/** `pieces` are the literal runs around the `*`s of one segment (at least two pieces). */
function matchStars(pieces: readonly string[], value: string): boolean {
  const first = pieces[0]!
  const last = pieces[pieces.length - 1]!
  if (value.length < first.length + last.length) return false
  if (!value.startsWith(first) || !value.endsWith(last)) return false
  let at = first.length
  const limit = value.length - last.length
  // With `*` as the only wildcard, taking each middle piece at its leftmost position is optimal.
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i]!
    const found = value.indexOf(piece, at)
    if (found === -1 || found + piece.length > limit) return false
    at = found + piece.length
  }
  return true
}
