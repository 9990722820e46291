/**
 * Internal helpers shared by the Keycloak sources and the token provider (not exported publicly).
 *
 * @module
 * @internal
 */
import { InvalidOptionsError, SourceUnavailableError } from '../core/errors.js'

const SOURCE = 'admin-api'

/** Waits for `promise`, rejecting early with the signal's reason when the caller aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise
  signal.throwIfAborted()
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}

/** A network failure or timeout as a retryable {@link SourceUnavailableError}. */
export function unreachable(what: string, err: unknown, timeoutMs: number): SourceUnavailableError {
  const name = (err as { name?: unknown } | null)?.name
  if (name === 'TimeoutError') return new SourceUnavailableError(SOURCE, `${what} timed out after ${timeoutMs} ms`, { cause: err })
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause
  const detail =
    typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : err instanceof Error ? err.message : String(err)
  return new SourceUnavailableError(SOURCE, `${what} failed: ${detail}`, { cause: err })
}

export function validateHttpUrl(option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new InvalidOptionsError(option, 'must be a non-empty URL string')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidOptionsError(option, `${JSON.stringify(value)} is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidOptionsError(option, `must be an http(s) URL, got ${url.protocol}`)
  if (url.username !== '' || url.password !== '') throw new InvalidOptionsError(option, 'must not contain credentials')
  return value
}

export function requireString(option: string, value: unknown): string {
  if (typeof value !== 'string') throw new InvalidOptionsError(option, 'must be a string')
  return value
}

export function requireNonEmptyString(option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new InvalidOptionsError(option, 'must be a non-empty string')
  return value
}

export function requireDuration(option: string, value: unknown, zeroAllowed: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !Number.isInteger(value) || value < 0 || (!zeroAllowed && value === 0)) {
    throw new InvalidOptionsError(option, `must be a finite ${zeroAllowed ? 'non-negative' : 'positive'} integer number of milliseconds`)
  }
  return value
}
