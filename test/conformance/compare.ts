import { isDeepStrictEqual } from 'node:util'
import { asUpstreamError, compareUpstreamError } from './adapters/upstream-errors.js'

/** Deep equality where object key order does not matter (arrays keep their order). */
export function same(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(normalize(a), normalize(b))
}

/** Arrays compared as sorted lists (for lists upstream built from sets). */
export function sameSorted(a: readonly unknown[], b: readonly unknown[]): boolean {
  return same(sortList(a), sortList(b))
}

export function sortList<T>(list: readonly T[]): T[] {
  return [...list].sort((x, y) => {
    const sx = JSON.stringify(normalize(x))
    const sy = JSON.stringify(normalize(y))
    return sx < sy ? -1 : sx > sy ? 1 : 0
  })
}

function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key]
      if (v !== undefined) out[key] = normalize(v)
    }
    return out
  }
  return value
}

/** A short description of a mismatch, for one failure line. */
export function mismatch(label: string, actual: unknown, expected: unknown): string {
  return `${label}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`
}

/**
 * The README's "How to run a vector" rules 1–2 for kinds whose adapter can run both modes:
 * - no `mode`: default vs `ours ?? expected`; compat (when the kind has one) vs `expected`;
 * - `mode: "compat"`: compat vs `expected`; default vs `ours` when present, else `defaultWithoutOurs`.
 */
export async function checkModes<T>(
  vector: { mode?: 'compat'; ours?: unknown; expected: unknown },
  run: (mode: 'default' | 'compat') => T | Promise<T>,
  compare: (actual: T, expected: unknown) => string | undefined,
  options: { hasCompat: boolean; defaultWithoutOurs?: (actual: T) => string | undefined },
): Promise<string[]> {
  const failures: string[] = []
  const note = (label: string, msg: string | undefined) => {
    if (msg !== undefined) failures.push(`${label}: ${msg}`)
  }
  // A typed error thrown by the run is compared with the expected upstream exception by kind (rule 4).
  const attempt = async (mode: 'default' | 'compat', expected: unknown, label: string, onValue: (actual: T) => string | undefined) => {
    let actual: T
    try {
      actual = await run(mode)
    } catch (err) {
      const upstream = asUpstreamError(err)
      if (!upstream) throw err
      note(label, compareUpstreamError(upstream, expected))
      return
    }
    note(label, onValue(actual))
  }
  if (vector.mode === 'compat') {
    await attempt('compat', vector.expected, 'compat', (a) => compare(a, vector.expected))
    const ours = vector.ours
    if (ours !== undefined) await attempt('default', ours, 'default', (a) => compare(a, ours))
    else if (options.defaultWithoutOurs) await attempt('default', undefined, 'default', options.defaultWithoutOurs)
  } else {
    const wanted = vector.ours !== undefined ? vector.ours : vector.expected
    await attempt('default', wanted, 'default', (a) => compare(a, wanted))
    if (options.hasCompat) await attempt('compat', vector.expected, 'compat', (a) => compare(a, vector.expected))
  }
  return failures
}
