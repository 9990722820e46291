/**
 * Route path templates, matched segment-wise on a normalised path — never on raw strings, never with a
 * regular expression built from input.
 *
 * @module
 */
import { InvalidOptionsError } from '../core/errors.js'
import { normalizeRequestPath } from './normalize.js'

/**
 * One compiled template segment: a literal, a named parameter (`{ws}`, one non-empty segment), a
 * wildcard (`*`, one segment) or the rest (`**`, zero or more segments, last only).
 *
 * @example
 * ```ts
 * import type { PatternSegment } from 'keycloak-permissions/workspaces'
 * const seg: PatternSegment = { kind: 'param', name: 'workspace' }
 * ```
 */
export type PatternSegment =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'any' }
  | { readonly kind: 'rest' }

/**
 * A compiled route template.
 *
 * @example
 * ```ts
 * import { compileRoutePattern } from 'keycloak-permissions/workspaces'
 * const p = compileRoutePattern('/workspaces/{workspace}/**')
 * p.params // ['workspace']
 * ```
 */
export interface RoutePattern {
  /** The template as written. */
  readonly source: string
  readonly segments: readonly PatternSegment[]
  /** Parameter names, in order. */
  readonly params: readonly string[]
}

/**
 * Compiles a template such as `/workspaces/{workspace}/**`. Literal segments are compared exactly
 * (case-sensitive, already decoded); `{name}` binds one segment; `*` matches one segment; `**` (last
 * segment only) matches the rest, including nothing. Throws {@link InvalidOptionsError} naming `option`
 * for anything else (empty or dot segments, `%`, `{`/`}` or `*` inside a literal, duplicate names).
 *
 * @example
 * ```ts
 * import { compileRoutePattern } from 'keycloak-permissions/workspaces'
 * compileRoutePattern('/stac/collections/{collection}').segments.length // 3
 * ```
 */
export function compileRoutePattern(source: string, option = 'path'): RoutePattern {
  if (typeof source !== 'string' || !source.startsWith('/')) {
    throw new InvalidOptionsError(option, `a route template must be a string starting with "/", got ${JSON.stringify(source)}`)
  }
  const parts = source === '/' ? [] : source.slice(1).split('/')
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop()
  const segments: PatternSegment[] = []
  const params: string[] = []
  parts.forEach((part, index) => {
    const where = `${JSON.stringify(source)} segment ${index + 1}`
    if (part === '') throw new InvalidOptionsError(option, `${where} is empty (write each segment once)`)
    if (part === '**') {
      if (index !== parts.length - 1) throw new InvalidOptionsError(option, `${where}: "**" is only allowed as the last segment`)
      segments.push({ kind: 'rest' })
    } else if (part === '*') {
      segments.push({ kind: 'any' })
    } else if (part.startsWith('{') && part.endsWith('}')) {
      const name = part.slice(1, -1)
      if (!isIdentifier(name)) throw new InvalidOptionsError(option, `${where}: parameter name ${JSON.stringify(name)} must match [A-Za-z_][A-Za-z0-9_]*`)
      if (params.includes(name)) throw new InvalidOptionsError(option, `${where}: parameter {${name}} appears twice`)
      params.push(name)
      segments.push({ kind: 'param', name })
    } else {
      if (part === '.' || part === '..') throw new InvalidOptionsError(option, `${where}: dot segments never survive normalisation`)
      for (const ch of ['{', '}', '*', '%', '\\', '\0', '?', '#']) {
        if (part.includes(ch)) throw new InvalidOptionsError(option, `${where}: ${JSON.stringify(ch)} is not allowed in a literal segment`)
      }
      const check = normalizeRequestPath(`/${part}`)
      if (!check.ok || check.segments.length !== 1 || check.segments[0] !== part) {
        throw new InvalidOptionsError(option, `${where}: ${JSON.stringify(part)} is not a normalised path segment`)
      }
      segments.push({ kind: 'literal', value: part })
    }
  })
  return { source, segments, params }
}

function isIdentifier(name: string): boolean {
  if (name.length === 0) return false
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    const alpha = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f
    if (!alpha && !(i > 0 && c >= 0x30 && c <= 0x39)) return false
  }
  return true
}

/**
 * Matches normalised segments against a compiled template; returns the bound parameters or
 * `undefined`. Linear in the number of template segments.
 *
 * @example
 * ```ts
 * import { compileRoutePattern, matchRoutePattern } from 'keycloak-permissions/workspaces'
 * const p = compileRoutePattern('/workspaces/{workspace}/**')
 * matchRoutePattern(p, ['workspaces', 'ws-alice', 'files']) // { workspace: 'ws-alice' }
 * matchRoutePattern(p, ['workspaces']) // undefined
 * ```
 */
export function matchRoutePattern(pattern: RoutePattern, segments: readonly string[]): Record<string, string> | undefined {
  const values = matchPatternValues(pattern, segments)
  if (values === undefined) return undefined
  const params = Object.create(null) as Record<string, string>
  for (let i = 0; i < values.length; i++) params[pattern.params[i]!] = values[i]!
  return params
}

/** The parameter values in template order (no record built: the decision hot path). @internal */
export function matchPatternValues(pattern: RoutePattern, segments: readonly string[]): readonly string[] | undefined {
  const spec = pattern.segments
  let values: string[] | undefined
  for (let i = 0; i < spec.length; i++) {
    const s = spec[i]!
    if (s.kind === 'rest') return values ?? NO_VALUES
    const value = segments[i]
    if (value === undefined) return undefined
    if (s.kind === 'literal') {
      if (value !== s.value) return undefined
    } else if (s.kind === 'param') {
      ;(values ??= []).push(value)
    }
  }
  return segments.length === spec.length ? (values ?? NO_VALUES) : undefined
}

const NO_VALUES: readonly string[] = Object.freeze([])
