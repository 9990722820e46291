/**
 * `RedisPrincipalCache`: a shared principal cache tier for many replicas (node-redis, loaded on first
 * use), in front of each replica's own in-process layer.
 *
 * @module
 */
import { createHash, randomUUID } from 'node:crypto'
import { systemClock, type Clock } from '../core/clock.js'
import { InvalidOptionsError, SourceUnavailableError } from '../core/errors.js'
import { groupWithAncestors } from '../core/groups.js'
import type { Principal } from '../core/principal.js'
import type { AdminEventPoll } from '../keycloak/admin-events.js'
import { MemoryPrincipalCache, invalidationMatches, type CacheAnswer, type CacheLookupOptions, type Invalidation, type PrincipalCache } from '../keycloak/cache.js'

/**
 * Options of {@link RedisPrincipalCache}.
 *
 * @example
 * ```ts
 * import type { RedisPrincipalCacheOptions } from 'keycloak-permissions/redis'
 * const options: RedisPrincipalCacheOptions = { url: 'redis://127.0.0.1:6379', local: { max: 1_000 } }
 * ```
 */
export interface RedisPrincipalCacheOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`. */
  readonly url: string
  /** The replica-local layer in front of Redis. */
  readonly local: { readonly max: number }
  /** Namespace of every key and channel (default `kp`; give each realm / deployment its own). */
  readonly prefix?: string
  /** A Redis command slower than this counts as Redis being down (default 500 ms). */
  readonly commandTimeoutMs?: number
  /** Expiry of the per-user fetch lock: how long other replicas wait for one fetch (default 10 000 ms). */
  readonly fetchLockMs?: number
  /** Expiry of the watcher lease; renewed every third of it (default 6 000 ms). */
  readonly leaseMs?: number
  /** Where state changes are reported (default `console.warn`); each outage is reported once. */
  readonly log?: (message: string) => void
  /** Clock for freshness (default: the system clock). */
  readonly clock?: Clock
}

/**
 * Something {@link RedisPrincipalCache.superviseWatcher} can start and stop: an `AdminEventWatcher`.
 *
 * @example
 * ```ts
 * import type { SupervisedWatcher } from 'keycloak-permissions/redis'
 * const w: SupervisedWatcher = new AdminEventWatcher({ …, from: resume.from, onPoll: resume.onPoll })
 * ```
 */
export interface SupervisedWatcher {
  /** Begins polling. */
  start(): void
  /** Stops polling (awaited before another watcher is started here). */
  stop(): Promise<void>
}

/**
 * Where a new watcher should start and how it reports progress, given to the factory of
 * {@link RedisPrincipalCache.superviseWatcher}.
 *
 * @example
 * ```ts
 * cache.superviseWatcher(({ from, onPoll }) => new AdminEventWatcher({ ...options, ...(from !== undefined && { from }), onPoll }))
 * ```
 */
export interface WatcherResume {
  /** The previous leader's cursor, when known. */
  readonly from?: number
  /** Pass to the watcher's `onPoll`: the lease holder records the cursor for its successor. */
  readonly onPoll: (poll: AdminEventPoll) => void
}

/**
 * The tier's state, for health endpoints and tests.
 *
 * @example
 * ```ts
 * cache.status() // { redis: 'up', leader: true, watcher: 'leader', local: 42, instance: '…' }
 * ```
 */
export interface RedisPrincipalCacheStatus {
  readonly redis: 'connecting' | 'up' | 'down'
  /** This replica holds the watcher lease. */
  readonly leader: boolean
  /** Why the supervised watcher runs here: as lease holder, as a fallback while Redis is down, or not at all. */
  readonly watcher: 'leader' | 'fallback' | 'stopped'
  /** Principals in the local layer. */
  readonly local: number
  readonly instance: string
}

type RedisClient = {
  isReady: boolean
  connect(): Promise<unknown>
  sendCommand(args: readonly string[]): Promise<unknown>
  subscribe(channel: string, listener: (message: string) => void): Promise<void>
  on(event: string, listener: (...args: unknown[]) => void): unknown
  duplicate(): RedisClient
  destroy(): void
  close?(): Promise<void>
  quit?(): Promise<unknown>
}

class RedisDown extends Error {}

const STORE = `
local cur = redis.call('GET', KEYS[2]) or '0'
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
for i = 3, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[4], KEYS[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[5])
  if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
end
return 1`
const INVALIDATE = `
local seq = redis.call('INCR', KEYS[1])
redis.call('RPUSH', KEYS[3], seq .. ' ' .. ARGV[1])
redis.call('LTRIM', KEYS[3], -${256}, -1)
redis.call('PEXPIRE', KEYS[3], 3600000)
local members = redis.call('ZRANGE', KEYS[2], 0, -1)
for _, m in ipairs(members) do redis.call('DEL', m) end
redis.call('DEL', KEYS[2])
return #members`
const RECENT = `return { redis.call('GET', KEYS[1]) or '0', redis.call('LRANGE', KEYS[2], 0, -1) }`
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`

/**
 * A {@link PrincipalCache} shared by every replica through Redis, in front of each replica's own
 * {@link MemoryPrincipalCache}:
 *
 * - principals are stored as JSON with their TTL (`SET … PX ttl + serveStale`), indexed by user id,
 *   group path (and its ancestors, so a group invalidation reaches subgroup members) and role, so an
 *   invalidation deletes exactly the affected entries (one Lua script);
 * - **fleet-wide coalescing:** a miss takes a short per-key lock (`SET NX PX`); the holder asks
 *   Keycloak, the other replicas wait for the value, so a burst for one user costs one Admin API
 *   lookup set in the whole fleet;
 * - a lookup that overlapped an invalidation is not stored (a sequence number checked in Lua);
 * - invalidations are applied locally, in Redis, and published (pub/sub); every replica applies them
 *   to its local layer;
 * - {@link RedisPrincipalCache.superviseWatcher}: one replica at a time holds a lease (`SET NX PX` + renewal) and runs
 *   the admin-event watcher, resuming from the previous leader's cursor;
 * - **Redis down** (unreachable or slower than `commandTimeoutMs`): each replica serves its local
 *   layer and makes its own Keycloak lookups, runs its own watcher, logs the outage once; when Redis
 *   returns it clears its local layer (invalidations may have been missed) and resumes sharing. A
 *   principal is never invented: a value that cannot be read is a miss.
 *
 * @example
 * ```ts
 * import { AdminApiSource, AdminEventWatcher } from 'keycloak-permissions/keycloak'
 * import { RedisPrincipalCache } from 'keycloak-permissions/redis'
 * const principalCache = new RedisPrincipalCache({ url: 'redis://127.0.0.1:6379', local: { max: 1_000 } })
 * const source = new AdminApiSource({ ...adminOptions, principalCache })
 * principalCache.superviseWatcher(({ from, onPoll }) =>
 *   new AdminEventWatcher({ baseUrl, realm, credentials, target: source, onPoll, ...(from !== undefined && { from }) }))
 * // … on shutdown:
 * await principalCache.close()
 * ```
 */
export class RedisPrincipalCache implements PrincipalCache {
  readonly #url: string
  readonly #local: MemoryPrincipalCache
  readonly #p: string
  readonly #timeoutMs: number
  readonly #lockMs: number
  readonly #leaseMs: number
  readonly #log: (message: string) => void
  readonly #clock: Clock
  readonly #instance = randomUUID()
  readonly #flights = new Map<string, Promise<CacheAnswer>>()
  readonly #remoteListeners: ((invalidation: Invalidation) => void)[] = []
  #client: RedisClient | undefined
  #subscriber: RedisClient | undefined
  #connecting: Promise<void>
  #state: 'connecting' | 'up' | 'down' = 'connecting'
  #everUp = false
  #closed = false
  #leader = false
  #watcherMode: 'leader' | 'fallback' | 'stopped' = 'stopped'
  #watcher: SupervisedWatcher | undefined
  #factory: ((resume: WatcherResume) => SupervisedWatcher) | undefined
  #ticker: ReturnType<typeof setInterval> | undefined
  #probe: ReturnType<typeof setInterval> | undefined
  #ticking = false

  /**
   * Validates the options and starts connecting in the background (lookups made before the
   * connection is up use the local layer and Keycloak).
   *
   * @throws `InvalidOptionsError` naming the offending option
   */
  constructor(options: RedisPrincipalCacheOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('options', 'must be an object')
    const allowed = new Set(['url', 'local', 'prefix', 'commandTimeoutMs', 'fetchLockMs', 'leaseMs', 'log', 'clock'])
    for (const key of Object.keys(options)) if (!allowed.has(key)) throw new InvalidOptionsError(key, 'is not an option of RedisPrincipalCache')
    if (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url)) throw new InvalidOptionsError('url', 'must be a redis:// or rediss:// URL')
    this.#url = options.url
    if (typeof options.local !== 'object' || options.local === null) throw new InvalidOptionsError('local', 'must be { max }')
    this.#clock = options.clock ?? systemClock
    try {
      this.#local = new MemoryPrincipalCache({ max: options.local.max, clock: this.#clock })
    } catch (err) {
      throw new InvalidOptionsError('local.max', 'must be a positive integer', { cause: err })
    }
    const prefix = options.prefix ?? 'kp'
    if (typeof prefix !== 'string' || prefix === '' || /[{}]/.test(prefix)) throw new InvalidOptionsError('prefix', 'must be a non-empty string without braces')
    // One hash tag: every key of a namespace lives in one slot, so the Lua scripts also run on a cluster.
    this.#p = `{${prefix}}:`
    this.#timeoutMs = positive('commandTimeoutMs', options.commandTimeoutMs, 500)
    this.#lockMs = positive('fetchLockMs', options.fetchLockMs, 10_000)
    this.#leaseMs = positive('leaseMs', options.leaseMs, 6_000)
    if (options.log !== undefined && typeof options.log !== 'function') throw new InvalidOptionsError('log', 'must be a function')
    this.#log = options.log ?? ((message) => console.warn(message))
    this.#connecting = this.#connect().catch(() => undefined)
  }

  /**
   * Resolves once Redis answered for the first time (or at once when it is already up); rejects
   * after `timeoutMs`.
   *
   * @throws `SourceUnavailableError` when Redis is not reachable in time
   * @example
   * ```ts
   * await cache.ready(5_000)
   * ```
   */
  async ready(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    // The first connection and subscription, but no longer than the deadline: while Redis is unreachable
    // node-redis keeps retrying and that promise stays pending.
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.#connecting, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))])
    clearTimeout(timer)
    while (this.#state !== 'up') {
      if (this.#closed) throw new SourceUnavailableError('redis', 'the cache was closed')
      if (Date.now() > deadline) throw new SourceUnavailableError('redis', `not reachable at ${redact(this.#url)} within ${timeoutMs} ms`)
      await sleep(20)
    }
  }

  /**
   * State of Redis, of the watcher lease and of the local layer.
   *
   * @example
   * ```ts
   * if (cache.status().redis === 'down') metrics.increment('redis_down')
   * ```
   */
  status(): RedisPrincipalCacheStatus {
    return { redis: this.#state, leader: this.#leader, watcher: this.#watcherMode, local: this.#local.size, instance: this.#instance }
  }

  async lookup(key: string, load: () => Promise<Principal>, options: CacheLookupOptions): Promise<CacheAnswer> {
    const fresh = this.#local.peek(key, options.ttlMs)
    if (fresh) return { principal: fresh, tier: 'memory', stale: false }
    if (this.#state !== 'up') return this.#local.lookup(key, load, options)
    let flight = this.#flights.get(key)
    if (!flight) {
      flight = this.#sharedLookup(key, load, options).finally(() => this.#flights.delete(key))
      this.#flights.set(key, flight)
    }
    return flight
  }

  async invalidate(invalidation: Invalidation): Promise<void> {
    this.#local.invalidateSync(invalidation)
    if (this.#state !== 'up') return
    try {
      await this.#eval(INVALIDATE, [`${this.#p}seq`, this.#indexKeyOf(invalidation), `${this.#p}log`], [JSON.stringify(invalidation)])
      await this.#command(['PUBLISH', `${this.#p}inv`, JSON.stringify({ from: this.#instance, invalidation })])
    } catch (err) {
      this.#down(err)
    }
  }

  async clear(): Promise<void> {
    await this.invalidate({ kind: 'all', cause: 'clear()' })
  }

  /**
   * Runs the admin-event watcher on exactly one replica: the holder of a Redis lease
   * (`SET NX PX leaseMs`, renewed every `leaseMs / 3`). Another replica takes over within `leaseMs`
   * when the holder stops, resuming from its cursor. While Redis is down every replica runs its own
   * watcher (applying invalidations locally), and gives it up when Redis is back and another replica
   * holds the lease. Call once.
   *
   * @throws `InvalidOptionsError` when called twice or without a factory
   * @example
   * ```ts
   * cache.superviseWatcher(({ from, onPoll }) =>
   *   new AdminEventWatcher({ baseUrl, realm, credentials, target: source, onPoll, ...(from !== undefined && { from }) }))
   * ```
   */
  superviseWatcher(create: (resume: WatcherResume) => SupervisedWatcher): void {
    if (typeof create !== 'function') throw new InvalidOptionsError('create', 'must be a function returning a watcher')
    if (this.#factory) throw new InvalidOptionsError('create', 'superviseWatcher() was already called')
    this.#factory = create
    this.#ticker = setInterval(() => void this.#tick(), Math.max(50, Math.floor(this.#leaseMs / 3)))
    this.#ticker.unref?.()
    void this.#tick()
  }

  /**
   * Stops the supervised watcher, gives up the lease and disconnects.
   *
   * @example
   * ```ts
   * await cache.close()
   * ```
   */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#ticker) clearInterval(this.#ticker)
    if (this.#probe) clearInterval(this.#probe)
    await this.#stopWatcher()
    if (this.#leader && this.#state === 'up') await this.#eval(RELEASE, [`${this.#p}leader`], [this.#instance]).catch(() => undefined)
    this.#leader = false
    for (const c of [this.#subscriber, this.#client]) {
      try {
        if (c?.close) await c.close()
        else c?.destroy()
      } catch {
        c?.destroy()
      }
    }
  }

  async #sharedLookup(key: string, load: () => Promise<Principal>, options: CacheLookupOptions): Promise<CacheAnswer> {
    const generation = this.#local.generation
    const entryKey = `${this.#p}p:${createHash('sha256').update(key).digest('base64url')}`
    const lockKey = `${entryKey}:lock`
    let shared: Principal | undefined
    try {
      const deadline = this.#clock.now() + this.#lockMs
      for (;;) {
        shared = this.#parse(await this.#command(['GET', entryKey]))
        if (shared && this.#clock.now() - shared.origin.resolvedAt < options.ttlMs) {
          this.#local.store(key, shared, options, generation)
          return { principal: shared, tier: 'shared', stale: false }
        }
        const token = randomUUID()
        if ((await this.#command(['SET', lockKey, token, 'NX', 'PX', String(this.#lockMs)])) === 'OK') {
          // The previous holder may have stored and released between our GET and our SET: look again.
          const stored = this.#parse(await this.#command(['GET', entryKey]))
          if (stored && this.#clock.now() - stored.origin.resolvedAt < options.ttlMs) {
            await this.#eval(RELEASE, [lockKey], [token]).catch(() => undefined)
            this.#local.store(key, stored, options, generation)
            return { principal: stored, tier: 'shared', stale: false }
          }
          return await this.#loadAsHolder(key, entryKey, lockKey, token, load, options, generation, stored ?? shared)
        }
        if (this.#clock.now() > deadline) break // the holder is stuck: ask Keycloak ourselves
        await sleep(15)
      }
    } catch (err) {
      if (!(err instanceof RedisDown)) throw err
      this.#down(err)
    }
    return this.#local.lookup(key, load, options)
  }

  async #loadAsHolder(
    key: string, entryKey: string, lockKey: string, token: string, load: () => Promise<Principal>,
    options: CacheLookupOptions, generation: number, previous: Principal | undefined,
  ): Promise<CacheAnswer> {
    let principal: Principal
    try {
      const seq = String((await this.#command(['GET', `${this.#p}seq`])) ?? '0')
      try {
        principal = await load()
      } catch (err) {
        const local = this.#local.staleFallback(key, err, options)
        if (local) return local
        if (previous && err instanceof SourceUnavailableError && options.serveStaleMs > 0 && this.#clock.now() - previous.origin.resolvedAt < options.ttlMs + options.serveStaleMs) {
          return { principal: previous, tier: 'shared', stale: true }
        }
        throw err
      }
      this.#local.store(key, principal, options, generation)
      const ttl = principal.origin.resolvedAt + options.ttlMs + options.serveStaleMs - this.#clock.now()
      if (ttl > 0) await this.#storeShared(entryKey, principal, ttl, seq)
      return { principal, tier: 'source', stale: false }
    } finally {
      await this.#eval(RELEASE, [lockKey], [token]).catch(() => undefined)
    }
  }

  /**
   * Stores unless an invalidation since `seq` names the principal. Unrelated invalidations (read from
   * the bounded log the invalidation script appends to) do not prevent storing, so admin activity
   * elsewhere costs the fleet no extra lookups; the store itself is conditional on the sequence number
   * it checked, and is retried when another invalidation slipped in between.
   */
  async #storeShared(entryKey: string, principal: Principal, ttl: number, seq: string): Promise<void> {
    let checked = seq
    for (let attempt = 0; attempt < 3; attempt++) {
      const expiresAt = this.#clock.now() + ttl
      const stored = await this.#eval(STORE, [entryKey, `${this.#p}seq`, ...this.#indexKeysFor(principal)], [checked, JSON.stringify(principal), String(ttl), String(expiresAt), String(this.#clock.now())])
      if (stored === 1) return
      const [now, log] = (await this.#eval(RECENT, [`${this.#p}seq`, `${this.#p}log`], [])) as [string, string[]]
      const since = Number(seq)
      const entries = log.map((line) => {
        const at = line.indexOf(' ')
        return { seq: Number(line.slice(0, at)), json: line.slice(at + 1) }
      }).filter((e) => e.seq > since)
      // The log must reach back to the first invalidation after `seq`; every newer one must be unrelated.
      if (entries.length === 0 || entries[0]!.seq !== since + 1 || entries[entries.length - 1]!.seq !== Number(now)) return
      for (const entry of entries) {
        let invalidation: Invalidation
        try {
          invalidation = JSON.parse(entry.json) as Invalidation
        } catch {
          return
        }
        if (invalidationMatches(principal, invalidation)) return
      }
      checked = now
    }
  }

  #indexKeysFor(principal: Principal): string[] {
    const keys = new Set<string>([`${this.#p}i:all`])
    if (principal.userId !== undefined) keys.add(`${this.#p}i:u:${principal.userId}`)
    for (const group of principal.groups) for (const path of groupWithAncestors(group)) keys.add(`${this.#p}i:g:${path}`)
    for (const role of principal.realmRoles) keys.add(`${this.#p}i:r:${JSON.stringify([null, role.name])}`)
    for (const [client, roles] of Object.entries(principal.clientRoles)) for (const role of roles) keys.add(`${this.#p}i:r:${JSON.stringify([client, role.name])}`)
    return [...keys]
  }

  #indexKeyOf(invalidation: Invalidation): string {
    switch (invalidation.kind) {
      case 'all':
        return `${this.#p}i:all`
      case 'user':
        return `${this.#p}i:u:${invalidation.userId}`
      case 'group':
        return `${this.#p}i:g:${invalidation.path}`
      case 'role':
        return `${this.#p}i:r:${JSON.stringify([invalidation.role.client ?? null, invalidation.role.name])}`
    }
  }

  #parse(value: unknown): Principal | undefined {
    if (typeof value !== 'string') return undefined
    try {
      const p = JSON.parse(value) as Principal
      const ok = typeof p === 'object' && p !== null && typeof p.username === 'string' && typeof p.realm === 'string' &&
        typeof p.origin?.resolvedAt === 'number' && Array.isArray(p.groups) && Array.isArray(p.realmRoles) && typeof p.clientRoles === 'object'
      return ok ? p : undefined
    } catch {
      return undefined
    }
  }

  async #tick(): Promise<void> {
    if (this.#ticking || this.#closed || !this.#factory) return
    this.#ticking = true
    try {
      if (this.#state !== 'up') {
        this.#leader = false
        if (this.#watcherMode === 'stopped') await this.#startWatcher('fallback', undefined)
        else this.#watcherMode = 'fallback'
        return
      }
      const leaderKey = `${this.#p}leader`
      if (this.#leader) {
        this.#leader = (await this.#eval(RENEW, [leaderKey], [this.#instance, String(this.#leaseMs)])) === 1
      } else {
        this.#leader = (await this.#command(['SET', leaderKey, this.#instance, 'NX', 'PX', String(this.#leaseMs)])) === 'OK'
      }
      if (this.#leader && this.#watcherMode !== 'leader') {
        const cursor = Number(await this.#command(['GET', `${this.#p}cursor`]))
        await this.#stopWatcher()
        await this.#startWatcher('leader', Number.isSafeInteger(cursor) && cursor > 0 ? cursor : undefined)
      } else if (!this.#leader && this.#watcherMode !== 'stopped') {
        await this.#stopWatcher()
      }
    } catch (err) {
      if (err instanceof RedisDown) this.#down(err)
      else this.#log(`keycloak-permissions/redis: watcher supervision failed: ${String(err)}`)
    } finally {
      this.#ticking = false
    }
  }

  async #startWatcher(mode: 'leader' | 'fallback', from: number | undefined): Promise<void> {
    const onPoll = (poll: AdminEventPoll) => {
      if (this.#leader && this.#state === 'up') this.#command(['SET', `${this.#p}cursor`, String(poll.cursor), 'PX', '3600000']).catch(() => undefined)
    }
    this.#watcher = this.#factory!(from === undefined ? { onPoll } : { from, onPoll })
    this.#watcherMode = mode
    this.#watcher.start()
  }

  async #stopWatcher(): Promise<void> {
    const watcher = this.#watcher
    this.#watcher = undefined
    this.#watcherMode = 'stopped'
    await watcher?.stop()
  }

  async #connect(): Promise<void> {
    let module: { createClient(options: object): RedisClient }
    try {
      module = (await import('redis')) as unknown as { createClient(options: object): RedisClient }
    } catch (err) {
      this.#state = 'down'
      this.#log(`keycloak-permissions/redis: the "redis" package is not installed (npm install redis); using the local layer only: ${String(err)}`)
      throw err
    }
    // close() may have run while the package was loading: a client created now would never be closed,
    // and its reconnecting would keep the process alive for ever.
    if (this.#closed) return
    const client = module.createClient({
      url: this.#url,
      disableOfflineQueue: true,
      socket: { connectTimeout: Math.max(this.#timeoutMs, 1_000), reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 4), 1_000) },
    })
    const subscriber = client.duplicate()
    this.#client = client
    this.#subscriber = subscriber
    for (const c of [client, subscriber]) {
      c.on('error', (err: unknown) => this.#down(err))
      c.on('end', () => this.#down(new Error('connection closed')))
      c.on('ready', () => this.#maybeUp())
    }
    await Promise.all([client.connect(), subscriber.connect()]).catch((err: unknown) => this.#down(err))
    await subscriber.subscribe(`${this.#p}inv`, (message) => this.#onMessage(message)).catch((err: unknown) => this.#down(err))
    this.#maybeUp()
  }

  #onMessage(message: string): void {
    try {
      const { from, invalidation } = JSON.parse(message) as { from?: unknown; invalidation?: Invalidation }
      if (from === this.#instance || typeof invalidation !== 'object' || invalidation === null) return
      this.#local.invalidateSync(invalidation)
      this.#notifyRemote(invalidation)
    } catch {
      // Not ours: an invalidation we cannot read must still not leave stale entries behind.
      const all: Invalidation = { kind: 'all', cause: 'unreadable invalidation message' }
      this.#local.invalidateSync(all)
      this.#notifyRemote(all)
    }
  }

  /**
   * Registers a listener for invalidations published by other replicas (and for the "start afresh"
   * after a Redis outage); `AdminApiSource` drops its catalogue on role and group changes with it.
   *
   * @example
   * ```ts
   * principalCache.onRemoteInvalidation((inv) => console.log('from another replica:', inv.kind))
   * ```
   */
  onRemoteInvalidation(listener: (invalidation: Invalidation) => void): void {
    this.#remoteListeners.push(listener)
  }

  #notifyRemote(invalidation: Invalidation): void {
    for (const listener of this.#remoteListeners) {
      try {
        listener(invalidation)
      } catch {
        // A listener's failure must not stop the others nor the subscription.
      }
    }
  }

  #maybeUp(): void {
    if (this.#closed || !this.#client?.isReady || !this.#subscriber?.isReady) return
    if (this.#state === 'up') return
    const wasDown = this.#state === 'down' && this.#everUp
    if (this.#probe) clearInterval(this.#probe)
    this.#probe = undefined
    this.#state = 'up'
    this.#everUp = true
    if (wasDown) {
      // Invalidations published while we were away are lost: start the local layer afresh.
      this.#local.invalidateSync({ kind: 'all', cause: 'redis reconnected' })
      this.#notifyRemote({ kind: 'all', cause: 'redis reconnected' })
      this.#log(`keycloak-permissions/redis: Redis at ${redact(this.#url)} is back; shared cache and invalidations resumed (local layer cleared)`)
    }
    void this.#tick()
  }

  #down(err: unknown): void {
    if (this.#closed) return
    if (this.#state === 'down') return
    const was = this.#state
    this.#state = 'down'
    this.#leader = false
    if (was === 'up' || !this.#everUp) {
      this.#log(`keycloak-permissions/redis: Redis at ${redact(this.#url)} unavailable (${err instanceof Error ? err.message : String(err)}); each replica now uses its local cache and its own Keycloak lookups`)
    }
    // A timeout marks Redis down without the connection dropping, so no 'ready' event will follow:
    // probe with PING until it answers in time again.
    this.#probe ??= setInterval(() => {
      const client = this.#client
      if (!client?.isReady || !this.#subscriber?.isReady) return
      withTimeout(client.sendCommand(['PING']), this.#timeoutMs).then(() => this.#maybeUp(), () => undefined)
    }, 1_000)
    this.#probe.unref?.()
    void this.#tick()
  }

  async #command(args: readonly string[]): Promise<unknown> {
    const client = this.#client
    if (!client || this.#state !== 'up') throw new RedisDown('redis is down')
    return withTimeout(client.sendCommand(args), this.#timeoutMs)
  }

  #eval(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return this.#command(['EVAL', script, String(keys.length), ...keys, ...args])
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RedisDown(`redis command timed out after ${ms} ms`)), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (err: unknown) => {
        clearTimeout(timer)
        reject(err instanceof RedisDown ? err : new RedisDown(err instanceof Error ? err.message : String(err)))
      },
    )
  })
}

function positive(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new InvalidOptionsError(option, 'must be a positive integer number of milliseconds')
  return value
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
