/**
 * The role-catalogue cache behind `TokenSource`: role maps per container (a client, or the realm),
 * bounded by an estimate of the bytes they hold, with single-flight loads that are never evicted, a
 * limit on concurrent loads, and bounded serve-stale while the catalogue is unavailable.
 *
 * @module
 * @internal
 */
import type { Clock } from '../core/clock.js'
import { SourceUnavailableError } from '../core/errors.js'
import type { RoleAttributes } from '../core/principal.js'

/** A container's roles: name → attributes, or `undefined` when the catalogue does not know the container. */
export type CatalogueRoles = ReadonlyMap<string, RoleAttributes> | undefined

/** Options of {@link CatalogueCache}, already validated by the owner. @internal */
export interface CatalogueCacheSettings {
  /** Upper bound of the estimated bytes of all stored role maps (see {@link estimateCatalogueBytes}). */
  readonly maxBytes: number
  /** A stored map is fresh for this long after it was loaded. */
  readonly ttlMs: number
  /** Past its TTL, a map is still served (marked stale) this long while loads fail with `SourceUnavailableError`. */
  readonly serveStaleMs: number
  /** After a failed load, serve the stale map without trying again for this long (so an outage costs no wait per request). */
  readonly retryMs: number
  /** At most this many loads run at once; the others queue (a token naming thousands of clients must not open thousands of requests). */
  readonly concurrency: number
  readonly clock: Clock
}

/** What {@link CatalogueCache.get} answered. @internal */
export interface CatalogueAnswer {
  readonly roles: CatalogueRoles
  /** True when served past its TTL because the catalogue was unavailable. */
  readonly stale: boolean
  /** When the roles were loaded (epoch ms, the injected clock). */
  readonly loadedAt: number
}

interface Entry {
  readonly roles: CatalogueRoles
  readonly loadedAt: number
  readonly bytes: number
  /** When the last load attempt after expiry failed (serve-stale back-off), else undefined. */
  failedAt: number | undefined
}

/** Per-entry overheads of the estimate: a Map entry, a string header, an attributes object, an array. */
const ENTRY_OVERHEAD = 64
const STRING_OVERHEAD = 16
const OBJECT_OVERHEAD = 32

/**
 * Estimated bytes a role map keeps alive: strings as UTF-16 plus fixed per-entry, per-string and
 * per-object overheads. An estimate (V8 shares strings, and attribute objects may be shared with the
 * catalogue), deliberately on the high side so the bound holds.
 *
 * @internal
 */
export function estimateCatalogueBytes(roles: CatalogueRoles): number {
  let bytes = ENTRY_OVERHEAD
  if (roles === undefined) return bytes
  for (const [name, attributes] of roles) {
    bytes += ENTRY_OVERHEAD + STRING_OVERHEAD + 2 * name.length + OBJECT_OVERHEAD
    for (const key of Object.keys(attributes)) {
      bytes += STRING_OVERHEAD + 2 * key.length + OBJECT_OVERHEAD
      for (const value of attributes[key]!) bytes += STRING_OVERHEAD + 2 * value.length
    }
  }
  return bytes
}

/**
 * Role maps per container key. Loads are coalesced per key and kept in their own table until they
 * settle, so a lookup in progress can never be evicted (the byte bound applies to settled maps only).
 * A map larger than the whole bound is returned to its callers but not stored.
 *
 * @internal
 */
export class CatalogueCache {
  readonly #settings: CatalogueCacheSettings
  /** Settled maps; Map order is recency (oldest first). */
  readonly #entries = new Map<string, Entry>()
  readonly #flights = new Map<string, Promise<Entry>>()
  readonly #queue: Array<() => void> = []
  #running = 0
  #bytes = 0
  /** Loads started (for tests and benchmarks: count operations, not time). */
  loads = 0

  constructor(settings: CatalogueCacheSettings) {
    this.#settings = settings
  }

  /** Estimated bytes of the stored maps (≤ `maxBytes`). */
  get bytes(): number {
    return this.#bytes
  }

  /** Number of stored maps. */
  get size(): number {
    return this.#entries.size
  }

  /** Number of loads in progress or queued. */
  get inFlight(): number {
    return this.#flights.size
  }

  /**
   * The stored roles of `key` when fresh (touching them), else `null` — synchronous, so a token naming
   * thousands of cached clients costs no promise per client.
   */
  peekFresh(key: string): { readonly roles: CatalogueRoles } | null {
    const entry = this.#entries.get(key)
    if (entry === undefined || this.#settings.clock.now() - entry.loadedAt >= this.#settings.ttlMs) return null
    this.#touch(key, entry)
    return entry
  }

  /**
   * The roles of `key`: fresh from the store, else from `load` (coalesced with concurrent callers),
   * else — when `load` fails with `SourceUnavailableError` — the stored map within
   * `ttlMs + serveStaleMs`, marked stale. Any other failure propagates.
   */
  async get(key: string, load: () => Promise<CatalogueRoles>): Promise<CatalogueAnswer> {
    const now = this.#settings.clock.now()
    const entry = this.#entries.get(key)
    if (entry !== undefined) {
      const age = now - entry.loadedAt
      if (age < this.#settings.ttlMs) {
        this.#touch(key, entry)
        return { roles: entry.roles, stale: false, loadedAt: entry.loadedAt }
      }
      if (entry.failedAt !== undefined && now - entry.failedAt < this.#settings.retryMs && this.#servable(entry, now)) {
        this.#touch(key, entry)
        return { roles: entry.roles, stale: true, loadedAt: entry.loadedAt }
      }
    }
    let flight = this.#flights.get(key)
    if (flight === undefined) {
      flight = this.#start(key, load)
      this.#flights.set(key, flight)
    }
    try {
      const loaded = await flight
      return { roles: loaded.roles, stale: false, loadedAt: loaded.loadedAt }
    } catch (err) {
      const after = this.#settings.clock.now()
      const stale = this.#entries.get(key)
      if (err instanceof SourceUnavailableError && stale !== undefined && this.#servable(stale, after)) {
        stale.failedAt = after
        return { roles: stale.roles, stale: true, loadedAt: stale.loadedAt }
      }
      throw err
    }
  }

  /** Forgets every stored map (loads in progress still complete and are stored). */
  clear(): void {
    this.#entries.clear()
    this.#bytes = 0
  }

  #servable(entry: Entry, now: number): boolean {
    return now - entry.loadedAt < this.#settings.ttlMs + this.#settings.serveStaleMs
  }

  #touch(key: string, entry: Entry): void {
    this.#entries.delete(key)
    this.#entries.set(key, entry)
  }

  async #start(key: string, load: () => Promise<CatalogueRoles>): Promise<Entry> {
    try {
      await this.#acquire()
      try {
        this.loads++
        const roles = await load()
        const entry: Entry = { roles, loadedAt: this.#settings.clock.now(), bytes: estimateCatalogueBytes(roles), failedAt: undefined }
        this.#store(key, entry)
        return entry
      } finally {
        this.#release()
      }
    } finally {
      this.#flights.delete(key)
    }
  }

  #store(key: string, entry: Entry): void {
    const previous = this.#entries.get(key)
    if (previous !== undefined) {
      this.#entries.delete(key)
      this.#bytes -= previous.bytes
    }
    if (entry.bytes > this.#settings.maxBytes) return
    this.#entries.set(key, entry)
    this.#bytes += entry.bytes
    for (const [oldest, value] of this.#entries) {
      if (this.#bytes <= this.#settings.maxBytes) break
      this.#entries.delete(oldest)
      this.#bytes -= value.bytes
    }
  }

  async #acquire(): Promise<void> {
    if (this.#running < this.#settings.concurrency) {
      this.#running++
      return
    }
    await new Promise<void>((resolve) => this.#queue.push(resolve))
  }

  #release(): void {
    const next = this.#queue.shift()
    // The slot passes straight to the next queued load, so #running stays the same.
    if (next !== undefined) next()
    else this.#running--
  }
}
