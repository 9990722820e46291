import { isDeepStrictEqual } from 'node:util'

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
  if (vector.mode === 'compat') {
    note('compat', compare(await run('compat'), vector.expected))
    const actual = await run('default')
    if (vector.ours !== undefined) note('default', compare(actual, vector.ours))
    else if (options.defaultWithoutOurs) note('default', options.defaultWithoutOurs(actual))
  } else {
    note('default', compare(await run('default'), vector.ours !== undefined ? vector.ours : vector.expected))
    if (options.hasCompat) note('compat', compare(await run('compat'), vector.expected))
  }
  return failures
}
