import { isDeepStrictEqual } from 'node:util'

/** Failure text helpers for the ported cases: each returns undefined when the expectation holds. */
export function eq(label: string, actual: unknown, expected: unknown): string | undefined {
  return isDeepStrictEqual(actual, expected) ? undefined : `${label}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`
}

/** Set equality of string lists (upstream compares Python sets). */
export function sameSet(label: string, actual: Iterable<string>, expected: Iterable<string>): string | undefined {
  const a = [...new Set(actual)].sort()
  const e = [...new Set(expected)].sort()
  return eq(label, a, e)
}

/** The first failure of several checks. */
export function all(...results: (string | undefined)[]): string | undefined {
  return results.find((r) => r !== undefined)
}

/** Runs `fn` expecting a throw; returns the error or a failure text. */
export function thrown(fn: () => unknown): { error: unknown } | { failure: string } {
  try {
    const value = fn()
    return { failure: `expected an error, got ${JSON.stringify(value)}` }
  } catch (error) {
    return { error }
  }
}
