import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/core/clock.js'
import { InvalidInputError, InvalidOptionsError, SourceUnavailableError } from '../../src/core/errors.js'
import type { Principal } from '../../src/core/principal.js'
import { AdminApiSource, MemoryPrincipalCache, RealmExportSource, invalidationMatches, type Invalidation } from '../../src/keycloak/index.js'

const offline = RealmExportSource.example()
const at = (p: Principal, resolvedAt: number): Principal => ({ ...p, origin: { ...p.origin, resolvedAt } })

describe('invalidationMatches', () => {
  it('matches by user id, by group or any subgroup (path segments), by effective role, or always', async () => {
    const bob = await offline.resolve('bob') // /projects/ml; conda_store/ml-team-scopes via the group
    const alice = await offline.resolve('alice') // /analyst
    const userId = bob.userId ?? 'bob-id'
    const withId = { ...bob, userId }
    expect(invalidationMatches(withId, { kind: 'user', userId })).toBe(true)
    expect(invalidationMatches(alice, { kind: 'user', userId })).toBe(false)
    expect(invalidationMatches(bob, { kind: 'group', path: '/projects' })).toBe(true)
    expect(invalidationMatches(bob, { kind: 'group', path: '/projects/ml' })).toBe(true)
    expect(invalidationMatches(bob, { kind: 'group', path: '/proj' })).toBe(false)
    expect(invalidationMatches(alice, { kind: 'group', path: '/projects' })).toBe(false)
    // `~/` belongs to a name: /a~/b is the top-level group "a/b", not a subgroup of /a.
    const escaped = { ...alice, groups: ['/a~/b'] }
    expect(invalidationMatches(escaped, { kind: 'group', path: '/a' })).toBe(false)
    expect(invalidationMatches(escaped, { kind: 'group', path: '/a~/b' })).toBe(true)
    expect(invalidationMatches(bob, { kind: 'role', role: { client: 'conda_store', name: 'ml-team-scopes' } })).toBe(true)
    expect(invalidationMatches(alice, { kind: 'role', role: { client: 'conda_store', name: 'ml-team-scopes' } })).toBe(false)
    expect(invalidationMatches(alice, { kind: 'all' })).toBe(true)
    expect(invalidationMatches(alice, { kind: 'group', path: 'not-a-path' })).toBe(true) // broad, never wrong
  })
})

describe('MemoryPrincipalCache', () => {
  const options = { ttlMs: 1_000, serveStaleMs: 0 }

  it('serves fresh entries by resolvedAt on the injected clock, one load per key at a time', async () => {
    const clock = new ManualClock(10_000)
    const cache = new MemoryPrincipalCache({ max: 10, clock })
    const alice = at(await offline.resolve('alice'), 10_000)
    let loads = 0
    const load = async () => {
      loads++
      await new Promise((r) => setTimeout(r, 5))
      return at(alice, clock.now())
    }
    const answers = await Promise.all([cache.lookup('k', load, options), cache.lookup('k', load, options), cache.lookup('k', load, options)])
    expect(loads).toBe(1)
    expect(answers.map((a) => a.tier)).toEqual(['source', 'source', 'source'])
    expect((await cache.lookup('k', load, options)).tier).toBe('memory')
    clock.advance(999)
    expect((await cache.lookup('k', load, options)).tier).toBe('memory')
    clock.advance(1)
    expect((await cache.lookup('k', load, options)).tier).toBe('source')
    expect(loads).toBe(2)
  })

  it('does not store a load that overlapped an invalidation naming it; unrelated ones do not matter', async () => {
    const cache = new MemoryPrincipalCache({ max: 10 })
    const bob = { ...at(await offline.resolve('bob'), Date.now()), userId: 'id-bob' }
    const overlapped = async (invalidation: Invalidation) => {
      let release!: () => void
      const gate = new Promise<void>((r) => (release = r))
      const pending = cache.lookup('k', async () => {
        await gate
        return bob
      }, options)
      await cache.invalidate(invalidation)
      release()
      expect((await pending).tier).toBe('source')
    }
    await overlapped({ kind: 'group', path: '/projects' })
    expect(cache.size).toBe(0)
    await overlapped({ kind: 'user', userId: 'id-bob' })
    expect(cache.size).toBe(0)
    await overlapped({ kind: 'user', userId: 'someone-else' })
    expect(cache.size).toBe(1)
    expect((await cache.lookup('k', async () => bob, options)).tier).toBe('memory')
  })

  it('drops exactly the entries an invalidation names', async () => {
    const cache = new MemoryPrincipalCache({ max: 10 })
    const now = Date.now()
    for (const name of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      const p = at(await offline.resolve(name), now)
      await cache.lookup(name, async () => ({ ...p, userId: `id-${name}` }), options)
    }
    expect(cache.invalidateSync({ kind: 'group', path: '/projects' })).toBe(2) // bob, dave (/projects/ml)
    expect(cache.peek('bob', 1_000)).toBeUndefined()
    expect(cache.peek('alice', 1_000)).toBeDefined()
    expect(cache.invalidateSync({ kind: 'user', userId: 'id-alice' })).toBe(1)
    expect(cache.invalidateSync({ kind: 'role', role: { client: 'conda_store', name: 'conda_store_superadmin' } })).toBe(1) // erin
    expect(cache.invalidateSync({ kind: 'all' })).toBe(1) // carol
    expect(cache.size).toBe(0)
  })

  it('serves a stale entry only for SourceUnavailableError and only within ttl + serveStaleMs', async () => {
    const clock = new ManualClock(0)
    const cache = new MemoryPrincipalCache({ max: 10, clock })
    const stale = { ttlMs: 100, serveStaleMs: 200 }
    const carol = at(await offline.resolve('carol'), 0)
    await cache.lookup('k', async () => carol, stale)
    clock.advance(150)
    const down = async (): Promise<Principal> => {
      throw new SourceUnavailableError('admin-api', 'down')
    }
    expect(await cache.lookup('k', down, stale)).toMatchObject({ tier: 'memory', stale: true })
    await expect(cache.lookup('k', async () => {
      throw new InvalidInputError('x', '', 'y')
    }, stale)).rejects.toBeInstanceOf(InvalidInputError)
    clock.advance(150)
    await expect(cache.lookup('k', down, stale)).rejects.toBeInstanceOf(SourceUnavailableError)
  })

  it('refuses an unbounded cache', () => {
    expect(() => new MemoryPrincipalCache({ max: 0 })).toThrow(InvalidOptionsError)
    expect(() => new MemoryPrincipalCache({} as never)).toThrow(InvalidOptionsError)
  })
})

describe('AdminApiSource.invalidate*', () => {
  class Recording extends MemoryPrincipalCache {
    readonly seen: Invalidation[] = []
    override async invalidate(invalidation: Invalidation): Promise<void> {
      this.seen.push(invalidation)
      await super.invalidate(invalidation)
    }
  }
  const make = (extra: Record<string, unknown> = {}) => {
    const principalCache = new Recording({ max: 10 })
    const source = new AdminApiSource({
      baseUrl: 'http://127.0.0.1:1', realm: 'example', clients: ['conda_store'], credentials: { clientId: 'c', clientSecret: 's' },
      cache: { max: 10, ttlMs: 1_000 }, principalCache, ...extra,
    })
    return { source, seen: principalCache.seen }
  }

  it('passes narrow invalidations through and widens those the principals cannot answer', async () => {
    const { source, seen } = make({ realmRoles: false }) // realm roles are on by default
    await source.invalidateUser('u1')
    await source.invalidateGroup('/projects')
    await source.invalidateRole({ client: 'conda_store', name: 'viewer' })
    await source.invalidateRole({ client: 'jupyterhub', name: 'x' }) // a client this source does not read
    await source.invalidateRole({ name: 'platform-admin' }) // realmRoles: false
    await source.invalidateAll()
    expect(seen.map((i) => i.kind)).toEqual(['user', 'group', 'role', 'all', 'all', 'all'])
    const noGroups = make({ groups: false, realmRoles: true })
    await noGroups.source.invalidateGroup('/projects')
    await noGroups.source.invalidateRole({ name: 'platform-admin' })
    expect(noGroups.seen.map((i) => i.kind)).toEqual(['all', 'role'])
  })

  it('rejects malformed arguments', () => {
    const { source } = make()
    expect(() => source.invalidateUser('')).toThrow(InvalidInputError)
    expect(() => source.invalidateGroup('projects')).toThrow(InvalidInputError)
    expect(() => source.invalidateRole({ name: '' })).toThrow(InvalidInputError)
    expect(() => make({ principalCache: {} })).toThrow(InvalidOptionsError)
    expect(() => make({ checkEnabled: 'yes' })).toThrow(InvalidOptionsError)
  })
})
