import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../../src/core/errors.js'
import { AdminApiSource, type AdminApiSourceOptions } from '../../src/keycloak/index.js'

const valid: AdminApiSourceOptions = {
  baseUrl: 'http://127.0.0.1:8180',
  realm: 'example',
  clients: ['conda_store', 'jupyterhub'],
  credentials: { clientId: 'permission-resolver', clientSecret: 'permission-resolver-secret' },
  cache: { max: 100, ttlMs: 30_000 },
}

function optionError(options: unknown): InvalidOptionsError {
  try {
    new AdminApiSource(options as AdminApiSourceOptions)
  } catch (err) {
    if (err instanceof InvalidOptionsError) return err
    throw err
  }
  throw new Error('expected an InvalidOptionsError')
}

describe('AdminApiSource options (validated eagerly, no request made)', () => {
  it('accepts valid options, with a token provider instead of credentials, and every optional field', () => {
    expect(new AdminApiSource(valid).realm).toBe('example')
    const { credentials: _, ...rest } = valid
    expect(() => new AdminApiSource({ ...rest, tokenProvider: { getAccessToken: async () => 't' } })).not.toThrow()
    expect(
      () =>
        new AdminApiSource({
          ...valid,
          baseUrl: 'https://nebari.example.com/auth/',
          groups: false,
          realmRoles: true,
          serveStaleMs: 60_000,
          timeoutMs: 2_000,
          catalogueCache: { max: 10, ttlMs: 1_000 },
          groupsPageSize: 500,
          clock: { now: () => 0 },
          credentials: { clientId: 'svc', clientSecret: 'x', realm: 'master' },
        }),
    ).not.toThrow()
  })

  it.each<[string, Record<string, unknown>, string]>([
    ['cache missing (unbounded refused)', { cache: undefined }, 'cache'],
    ['cache.max missing', { cache: { ttlMs: 1 } }, 'cache.max'],
    ['cache.max Infinity', { cache: { max: Number.POSITIVE_INFINITY, ttlMs: 1 } }, 'cache.max'],
    ['cache.max 0', { cache: { max: 0, ttlMs: 1 } }, 'cache.max'],
    ['cache.max fractional', { cache: { max: 1.5, ttlMs: 1 } }, 'cache.max'],
    ['cache.ttlMs 0 (no expiry)', { cache: { max: 1, ttlMs: 0 } }, 'cache.ttlMs'],
    ['cache.ttlMs Infinity', { cache: { max: 1, ttlMs: Number.POSITIVE_INFINITY } }, 'cache.ttlMs'],
    ['cache unknown key', { cache: { max: 1, ttlMs: 1, size: 3 } }, 'cache.size'],
    ['clientCache (removed: clients come from the catalogue)', { clientCache: { max: 1, ttlMs: 1 } }, 'clientCache'],
    ['catalogueCache.max negative', { catalogueCache: { max: -1, ttlMs: 1 } }, 'catalogueCache.max'],
    ['catalogueCache.ttlMs string', { catalogueCache: { max: 1, ttlMs: '1s' } }, 'catalogueCache.ttlMs'],
    ['baseUrl missing', { baseUrl: undefined }, 'baseUrl'],
    ['baseUrl not a URL', { baseUrl: 'keycloak' }, 'baseUrl'],
    ['baseUrl with query', { baseUrl: 'http://h/?x=1' }, 'baseUrl'],
    ['baseUrl file:', { baseUrl: 'file:///etc' }, 'baseUrl'],
    ['realm empty', { realm: '' }, 'realm'],
    ['clients not an array', { clients: 'conda_store' }, 'clients'],
    ['clients with an empty id', { clients: ['conda_store', ''] }, 'clients.1'],
    ['clients with a duplicate', { clients: ['a', 'b', 'a'] }, 'clients.2'],
    ['neither credentials nor tokenProvider', { credentials: undefined }, 'credentials'],
    ['both credentials and tokenProvider', { tokenProvider: { getAccessToken: async () => 't' } }, 'credentials'],
    ['credentials.clientId missing', { credentials: { clientSecret: 'x' } }, 'credentials.clientId'],
    ['credentials.clientSecret not a string', { credentials: { clientId: 'a', clientSecret: 1 } }, 'credentials.clientSecret'],
    ['credentials unknown key', { credentials: { clientId: 'a', clientSecret: 'b', password: 'c' } }, 'credentials.password'],
    ['groups not a boolean', { groups: 'yes' }, 'groups'],
    ['realmRoles not a boolean', { realmRoles: 1 }, 'realmRoles'],
    ['serveStaleMs negative', { serveStaleMs: -1 }, 'serveStaleMs'],
    ['timeoutMs 0', { timeoutMs: 0 }, 'timeoutMs'],
    ['groupsPageSize too large', { groupsPageSize: 5_000 }, 'groupsPageSize'],
    ['clock without now()', { clock: { time: () => 0 } }, 'clock'],
    ['an unknown option (typo)', { cacheTtl: 5 }, 'cacheTtl'],
  ])('%s → InvalidOptionsError at %s', (_label, patch, option) => {
    const err = optionError({ ...valid, ...patch })
    expect(err.option).toBe(option)
    expect(err.code).toBe('ERR_INVALID_OPTIONS')
    expect(err.message).toContain(`Invalid option ${option}:`)
  })

  it('clients is optional: without it every client of the realm is read', () => {
    const { clients: _, ...rest } = valid
    expect(new AdminApiSource(rest).realm).toBe('example')
  })

  it('rejects a tokenProvider without getAccessToken()', () => {
    const { credentials: _, ...rest } = valid
    expect(optionError({ ...rest, tokenProvider: {} }).option).toBe('tokenProvider')
  })

  it('rejects a non-object', () => {
    expect(optionError(undefined).option).toBe('options')
  })
})
