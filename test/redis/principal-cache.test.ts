/**
 * RedisPrincipalCache against a real redis-server (scripts/redis.sh on port REDIS_TEST_PORT, default
 * 6393), with several cache instances standing in for replicas. Skipped with a notice when
 * redis-server is not installed.
 */
import { execFile, execFileSync } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../../src/core/errors.js'
import type { Principal } from '../../src/core/principal.js'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { RedisPrincipalCache, type SupervisedWatcher } from '../../src/redis/index.js'

const run = promisify(execFile)
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const PORT = process.env.REDIS_TEST_PORT ?? '6393'
const URL = `redis://127.0.0.1:${PORT}`
const redisSh = (cmd: string) => run(resolve(repo, 'scripts/redis.sh'), [cmd], { cwd: repo, env: { ...process.env, REDIS_PORT: PORT }, timeout: 30_000 })
const installed = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()
const suite = installed ? describe : (t: string, b: () => void) => describe.skipIf(true)(`SKIPPED: redis-server is not installed (${t})`, b)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const options = { ttlMs: 60_000, serveStaleMs: 0 }
const offline = RealmExportSource.example()
let n = 0

suite('RedisPrincipalCache (real redis-server)', () => {
  const open: RedisPrincipalCache[] = []
  const logs: string[] = []
  const make = async (prefix: string, extra: Record<string, unknown> = {}) => {
    const cache = new RedisPrincipalCache({ url: URL, local: { max: 100 }, prefix, log: (m) => logs.push(`${prefix}: ${m}`), ...extra })
    open.push(cache)
    await cache.ready()
    return cache
  }
  const fresh = async (name: string): Promise<Principal> => {
    const p = await offline.resolve(name)
    return { ...p, userId: `id-${name}`, origin: { ...p.origin, resolvedAt: Date.now() } }
  }

  beforeAll(async () => {
    await redisSh('start')
  }, 30_000)
  afterAll(async () => {
    for (const c of open) await c.close().catch(() => undefined)
    await redisSh('stop')
  }, 30_000)

  it('coalesces one key across replicas: one load in the fleet, the others answered from Redis', async () => {
    const prefix = `t${process.pid}-${n++}`
    const [a, b, c] = [await make(prefix), await make(prefix), await make(prefix)]
    let loads = 0
    const load = async () => {
      loads++
      await sleep(50)
      return fresh('alice')
    }
    const answers = await Promise.all([a, b, c, a, b, c].map((cache) => cache.lookup('alice', load, options)))
    expect(loads).toBe(1)
    expect(answers.filter((x) => x.tier === 'shared').length).toBe(4) // b, c and their coalesced twins
    expect(answers.every((x) => x.principal.username === 'alice')).toBe(true)
    expect((await b.lookup('alice', load, options)).tier).toBe('memory')
  })

  it('an invalidation deletes exactly the affected entries in Redis and reaches every local layer', async () => {
    const prefix = `t${process.pid}-${n++}`
    const [a, b] = [await make(prefix), await make(prefix)]
    for (const name of ['alice', 'bob', 'dave']) await a.lookup(name, () => fresh(name), options)
    for (const name of ['alice', 'bob', 'dave']) expect((await b.lookup(name, () => fresh(name), options)).tier).toBe('shared')
    await a.invalidate({ kind: 'group', path: '/projects' }) // bob and dave are in /projects/ml
    await sleep(100)
    const c = await make(prefix) // an empty local layer: it sees only Redis
    const loaded: string[] = []
    const counted = (name: string) => async () => {
      loaded.push(name)
      return fresh(name)
    }
    expect((await c.lookup('alice', counted('alice'), options)).tier).toBe('shared')
    expect((await c.lookup('bob', counted('bob'), options)).tier).toBe('source')
    expect((await c.lookup('dave', counted('dave'), options)).tier).toBe('source')
    expect(loaded).toEqual(['bob', 'dave'])
    // b's local layer lost bob (pub/sub) but kept alice.
    expect((await b.lookup('alice', counted('alice'), options)).tier).toBe('memory')
    expect((await b.lookup('bob', counted('bob'), options)).tier).toBe('shared')
    expect(loaded).toEqual(['bob', 'dave'])
  })

  it("other replicas' invalidations reach onRemoteInvalidation listeners (AdminApiSource drops its catalogue with it); its own do not", async () => {
    const prefix = `t${process.pid}-${n++}`
    const [a, b] = [await make(prefix), await make(prefix)]
    const heard: string[] = []
    b.onRemoteInvalidation((inv) => heard.push(inv.kind === 'role' ? `role ${inv.role.client}/${inv.role.name}` : inv.kind))
    a.onRemoteInvalidation(() => heard.push('a heard its own'))
    await a.invalidate({ kind: 'role', role: { client: 'conda_store', name: 'viewer' } })
    await a.invalidate({ kind: 'user', userId: 'u1' })
    for (let i = 0; i < 50 && heard.length < 2; i++) await sleep(20)
    expect(heard).toEqual(['role conda_store/viewer', 'user'])
  })

  it('a lookup that overlapped an invalidation naming it is not stored in Redis; an unrelated one does not matter', async () => {
    const prefix = `t${process.pid}-${n++}`
    const [a, b] = [await make(prefix), await make(prefix)]
    const overlapped = async (key: string, userId: string) => {
      let release!: () => void
      const gate = new Promise<void>((r) => (release = r))
      const pending = a.lookup(key, async () => {
        await gate
        return fresh('carol')
      }, options)
      await sleep(20)
      await b.invalidate({ kind: 'user', userId })
      release()
      expect((await pending).tier).toBe('source')
    }
    await overlapped('k1', 'id-carol')
    await overlapped('k2', 'id-someone-else')
    const c = await make(prefix)
    const loaded: string[] = []
    for (const key of ['k1', 'k2']) await c.lookup(key, async () => {
      loaded.push(key)
      return fresh('carol')
    }, options)
    expect(loaded).toEqual(['k1'])
  })

  it('Redis down: falls back to the local layer and its own loads, logs once, recovers and clears the local layer', async () => {
    const prefix = `t${process.pid}-${n++}`
    const a = await make(prefix)
    await a.lookup('erin', () => fresh('erin'), options)
    logs.length = 0
    await redisSh('kill')
    await sleep(100)
    expect(a.status().redis).toBe('down')
    expect((await a.lookup('erin', () => fresh('erin'), options)).tier).toBe('memory')
    let loads = 0
    const answer = await a.lookup('bob', async () => {
      loads++
      return fresh('bob')
    }, options)
    expect(answer).toMatchObject({ tier: 'source', stale: false })
    expect(answer.principal.username).toBe('bob')
    await a.invalidate({ kind: 'user', userId: 'id-erin' }) // applied locally, no throw
    expect((await a.lookup('erin', () => fresh('erin'), options)).tier).toBe('source')
    expect(logs.filter((l) => l.startsWith(`${prefix}:`) && l.includes('unavailable'))).toHaveLength(1)
    await redisSh('start')
    await a.ready(10_000)
    expect(logs.some((l) => l.includes('is back'))).toBe(true)
    expect(a.status().local).toBe(0)
    expect(loads).toBe(1)
  }, 30_000)

  it('a Redis that answers too slowly counts as down (the load still answers) and is probed back up', async () => {
    const prefix = `t${process.pid}-${n++}`
    const a = await make(prefix, { commandTimeoutMs: 200 })
    await run('redis-cli', ['-p', PORT, 'CLIENT', 'PAUSE', '3000', 'ALL'])
    // A PING sent now is held until the pause ends: the lookup must answer first (an ordering, not a
    // wall-clock limit, so a loaded machine cannot make it flaky).
    const order: string[] = []
    const pauseOver = run('redis-cli', ['-p', PORT, 'PING']).then(() => order.push('pause over'))
    const answer = await a.lookup('slow', () => fresh('alice'), options)
    order.push('answered')
    expect(answer).toMatchObject({ tier: 'source', stale: false })
    await pauseOver
    expect(order).toEqual(['answered', 'pause over']) // did not wait for the paused server
    expect(a.status().redis).toBe('down')
    await a.ready(5_000)
    expect(a.status().redis).toBe('up')
  }, 15_000)

  it('supervises one watcher in the fleet and hands over with the cursor when the leader leaves', async () => {
    const prefix = `t${process.pid}-${n++}`
    const started: { who: string; from: number | undefined }[] = []
    const watcherFor = (who: string) => (resume: { from?: number; onPoll: (p: never) => void }): SupervisedWatcher => ({
      start: () => {
        started.push({ who, from: resume.from })
        resume.onPoll({ cursor: 123_456, events: 0, invalidations: [], requests: 1 } as never)
      },
      stop: async () => undefined,
    })
    // A lease long enough that a loaded machine's pauses do not hand it over between renewals (every
    // leaseMs / 3); the waits are for states, bounded only as a safety net.
    const a = await make(prefix, { leaseMs: 2_000 })
    const b = await make(prefix, { leaseMs: 2_000 })
    a.superviseWatcher(watcherFor('a'))
    b.superviseWatcher(watcherFor('b'))
    await until(() => started.length > 0 && [a.status().leader, b.status().leader].filter(Boolean).length === 1)
    expect(started).toHaveLength(1)
    const [leader, follower] = a.status().leader ? [a, b] : [b, a]
    await leader.close()
    await until(() => follower.status().leader)
    expect(follower.status()).toMatchObject({ leader: true, watcher: 'leader' })
    expect(started).toHaveLength(2)
    expect(started[1]!.from).toBe(123_456)
    expect(() => follower.superviseWatcher(watcherFor('again'))).toThrow(InvalidOptionsError)
  })

  it('validates its options', () => {
    expect(() => new RedisPrincipalCache({ url: 'http://x', local: { max: 1 } })).toThrow(InvalidOptionsError)
    expect(() => new RedisPrincipalCache({ url: URL, local: { max: 0 } })).toThrow(InvalidOptionsError)
    expect(() => new RedisPrincipalCache({ url: URL, local: { max: 1 }, prefix: 'a{b}' })).toThrow(InvalidOptionsError)
    expect(() => new RedisPrincipalCache({ url: URL, local: { max: 1 }, leaseMs: 0 })).toThrow(InvalidOptionsError)
  })
})

/** Resolves once `condition` holds; fails the test if it does not within 15 s (a safety net, not a timing). */
async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 25) {
    if (waited > 15_000) throw new Error('condition not reached within 15 s')
    await sleep(25)
  }
}
