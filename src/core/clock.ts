/**
 * An injectable clock: every time-dependent piece (caches, token expiry, staleness) reads time
 * through a {@link Clock}, so tests can move time without sleeping.
 *
 * @module
 */

/**
 * A source of the current time in milliseconds since the epoch.
 *
 * @example
 * ```ts
 * import type { Clock } from 'keycloak-permissions'
 * const clock: Clock = { now: () => Date.now() }
 * ```
 */
export interface Clock {
  /** The current time in milliseconds since the epoch. */
  now(): number
}

/**
 * The system clock (`Date.now()`).
 *
 * @example
 * ```ts
 * import { systemClock } from 'keycloak-permissions'
 * systemClock.now() // e.g. 1764576000000
 * ```
 */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() })

/**
 * A clock that only moves when told to; for tests and simulations.
 *
 * @example
 * ```ts
 * import { ManualClock } from 'keycloak-permissions'
 * const clock = new ManualClock(0)
 * clock.advance(30_000)
 * clock.now() // 30000
 * ```
 */
export class ManualClock implements Clock {
  #now: number

  constructor(start = 0) {
    this.#now = start
  }

  /** The clock's current time in milliseconds. */
  now(): number {
    return this.#now
  }

  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.#now += ms
  }

  /** Sets the clock to `ms`. */
  set(ms: number): void {
    this.#now = ms
  }
}
