import { expectTypeOf, test } from 'vitest'
import type { Principal } from '../../src/core/principal.js'
import { AdminApiSource, ClientCredentialsTokenProvider, type AccessTokenProvider, type AdminApiSourceOptions, type RoleCatalogue, type RoleSource } from '../../src/keycloak/index.js'

test('AdminApiSource is a RoleSource and a RoleCatalogue', () => {
  expectTypeOf<AdminApiSource>().toMatchTypeOf<RoleSource>()
  expectTypeOf<AdminApiSource>().toMatchTypeOf<RoleCatalogue>()
  expectTypeOf<AdminApiSource['resolve']>().returns.toEqualTypeOf<Promise<Principal>>()
  expectTypeOf<ClientCredentialsTokenProvider>().toMatchTypeOf<AccessTokenProvider>()
})

test('the principal cache bounds are required', () => {
  const base = { baseUrl: 'http://127.0.0.1:8180', realm: 'example', clients: ['conda_store'], credentials: { clientId: 'a', clientSecret: 'b' } }
  // @ts-expect-error cache is required: there is no unbounded cache
  const missing: AdminApiSourceOptions = base
  // @ts-expect-error both bounds are required
  const partial: AdminApiSourceOptions = { ...base, cache: { max: 10 } }
  const ok: AdminApiSourceOptions = { ...base, cache: { max: 10, ttlMs: 1_000 } }
  expectTypeOf(ok).toMatchTypeOf<AdminApiSourceOptions>()
  void missing
  void partial
})
