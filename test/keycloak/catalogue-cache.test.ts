import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/core/clock.js'
import { SourceUnavailableError } from '../../src/core/errors.js'
import type { RoleAttributes } from '../../src/core/principal.js'
import { CatalogueCache, estimateCatalogueBytes, type CatalogueRoles } from '../../src/keycloak/catalogue-cache.js'

const roles = (n: number, prefix = 'r'): CatalogueRoles => new Map<string, RoleAttributes>(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, { scopes: [`s${i}`] }]))

function cache(overrides: Partial<ConstructorParameters<typeof CatalogueCache>[0]> = {}) {
  const clock = new ManualClock(1_000_000)
  return { clock, cache: new CatalogueCache({ maxBytes: 1_000_000, ttlMs: 60_000, serveStaleMs: 600_000, retryMs: 5_000, concurrency: 4, clock, ...overrides }) }
}

describe('CatalogueCache', () => {
  it('estimates bytes from names and attribute strings (monotone in content)', () => {
    expect(estimateCatalogueBytes(undefined)).toBeGreaterThan(0)
    expect(estimateCatalogueBytes(roles(2))).toBeGreaterThan(estimateCatalogueBytes(roles(1)))
    expect(estimateCatalogueBytes(new Map([['a', { k: ['x'.repeat(1000)] }]]))).toBeGreaterThan(2000)
  })

  it('keeps stored bytes within maxBytes, evicting the least recently used settled maps', async () => {
    const one = estimateCatalogueBytes(roles(10))
    const { cache: c } = cache({ maxBytes: one * 5 })
    for (let i = 0; i < 50; i++) await c.get(`k${i}`, async () => roles(10))
    expect(c.bytes).toBeLessThanOrEqual(one * 5)
    expect(c.size).toBe(5)
    let loads = 0
    await c.get('k49', async () => (loads++, roles(10)))
    await c.get('k0', async () => (loads++, roles(10)))
    expect(loads).toBe(1)
  })

  it('never evicts a lookup in progress: 1,000 concurrent keys with room for 3 all resolve, each loaded once', async () => {
    const maxBytes = estimateCatalogueBytes(roles(10, 'k999')) * 3
    const { cache: c } = cache({ maxBytes, concurrency: 16 })
    let loads = 0
    let active = 0
    let maxActive = 0
    const load = (k: string) => async () => {
      loads++
      active++
      maxActive = Math.max(maxActive, active)
      await new Promise((r) => setImmediate(r))
      active--
      return roles(10, k)
    }
    const keys = Array.from({ length: 1_000 }, (_, i) => `k${i}`)
    const answers = await Promise.all([...keys, ...keys].map((k) => c.get(k, load(k))))
    expect(loads).toBe(1_000)
    expect(maxActive).toBeLessThanOrEqual(16)
    answers.forEach((a, i) => expect(a.roles!.has(`${keys[i % 1_000]}0`)).toBe(true))
    expect(c.inFlight).toBe(0)
    expect(c.size).toBe(3)
    expect(c.bytes).toBeLessThanOrEqual(maxBytes)
  })

  it('serves stale only for SourceUnavailableError, within ttl + serveStaleMs, retrying every retryMs', async () => {
    const { cache: c, clock } = cache()
    await c.get('k', async () => roles(1))
    clock.advance(60_000)
    const down = new SourceUnavailableError('admin-api', 'down')
    let attempts = 0
    const failing = async (): Promise<CatalogueRoles> => {
      attempts++
      throw down
    }
    expect(await c.get('k', failing)).toMatchObject({ stale: true, loadedAt: 1_000_000 })
    expect(await c.get('k', failing)).toMatchObject({ stale: true })
    expect(attempts).toBe(1)
    clock.advance(5_000)
    await c.get('k', failing)
    expect(attempts).toBe(2)
    clock.set(1_000_000 + 660_000)
    await expect(c.get('k', failing)).rejects.toBe(down)
    await expect(c.get('other', async () => { throw new Error('x') })).rejects.toThrow('x')
  })
})
