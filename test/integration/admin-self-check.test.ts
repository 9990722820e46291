import { afterAll, beforeAll, expect, it } from 'vitest'
import { ClientNotFoundError, InsufficientPermissionsError, SourceUnavailableError, UserNotFoundError } from '../../src/core/errors.js'
import { AdminApiSource, ClientCredentialsTokenProvider } from '../../src/keycloak/index.js'
import { adminCall, clientCredentialsToken, createServiceAccountClient } from './helpers/keycloak-admin.js'
import { describeLive, live, REALM, SERVICE_ACCOUNT } from './helpers/live.js'

const CLIENTS = ['conda_store', 'jupyterhub', 'workspace-api']

/** Service-account clients created for this file (through the master-realm bootstrap admin), by the rights they hold. */
const FIXTURES = {
  none: [],
  queryOnly: ['query-users', 'query-clients'],
  usersOnly: ['view-users'],
  clientsOnly: ['view-clients'],
} as const satisfies Record<string, readonly string[]>

describeLive('AdminApiSource.selfCheck against the live Keycloak', () => {
  const created: Partial<Record<keyof typeof FIXTURES, { clientId: string; clientSecret: string; remove: () => Promise<void> }>> = {}
  const sourceFor = (credentials: { clientId: string; clientSecret: string }, clients: readonly string[] = CLIENTS) =>
    new AdminApiSource({ baseUrl: live!.url, realm: REALM, clients, credentials: { clientId: credentials.clientId, clientSecret: credentials.clientSecret }, cache: { max: 10, ttlMs: 10_000 } })

  beforeAll(async () => {
    for (const [name, roles] of Object.entries(FIXTURES) as [keyof typeof FIXTURES, readonly string[]][]) {
      created[name] = await createServiceAccountClient(`kp-selfcheck-${name}`, roles, live!.url)
    }
  })
  afterAll(async () => {
    for (const fixture of Object.values(created)) await fixture?.remove()
  })

  it('passes for the permission-resolver service account and reports the client UUIDs it found', async () => {
    const report = await sourceFor(SERVICE_ACCOUNT).selfCheck()
    const token = await clientCredentialsToken()
    for (const clientId of CLIENTS) {
      const [client] = await adminCall<{ id: string }[]>(token, 'GET', `${REALM}/clients?clientId=${clientId}`, undefined, live!.url)
      expect(report.clients[clientId]).toBe(client!.id)
    }
    expect(report.realm).toBe(REALM)
    expect(report.rights).toEqual(expect.arrayContaining(['view-users', 'view-clients', 'view-realm']))
  })

  it.each([
    ['none', ['view-users', 'view-clients', 'view-realm']],
    ['queryOnly', ['view-users', 'view-clients', 'view-realm']],
    ['usersOnly', ['view-clients', 'view-realm']],
    ['clientsOnly', ['view-users', 'view-realm']],
  ] as const)('fails for a service account with %s rights, naming exactly the missing ones', async (name, missing) => {
    const err = await sourceFor(created[name]!).selfCheck().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InsufficientPermissionsError)
    expect((err as InsufficientPermissionsError).missing).toEqual(missing)
    for (const right of missing) expect((err as Error).message).toContain(right)
  })

  it('without the self-check, query-only rights still fail closed at run time, never an empty principal', async () => {
    // Keycloak answers 200 [] to both the client and the user listing for query-* without view-*;
    // the realm-role listing of the catalogue answers 403, which is what the source reports.
    const err = await sourceFor(created.queryOnly!).resolve('alice').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InsufficientPermissionsError)
    expect((err as InsufficientPermissionsError).missing).toEqual(['view-realm'])
    expect(err).not.toBeInstanceOf(UserNotFoundError)
    expect(err).not.toBeInstanceOf(ClientNotFoundError)
  })

  it('a 403 at run time is an InsufficientPermissionsError naming the right the request needed', async () => {
    const err = await sourceFor(created.clientsOnly!).resolve('alice').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InsufficientPermissionsError)
    expect((err as InsufficientPermissionsError).missing).toEqual(['view-realm'])
  })

  it('fails with ClientNotFoundError for a configured client that does not exist', async () => {
    const err = await sourceFor(SERVICE_ACCOUNT, ['conda_store', 'no-such-client']).selfCheck().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ClientNotFoundError)
    expect((err as ClientNotFoundError).clientId).toBe('no-such-client')
    expect((err as ClientNotFoundError).realm).toBe(REALM)
  })

  it('a wrong client secret is a non-retryable SourceUnavailableError carrying the HTTP status', async () => {
    const err = await sourceFor({ clientId: SERVICE_ACCOUNT.clientId, clientSecret: 'wrong' }).selfCheck().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SourceUnavailableError)
    expect((err as SourceUnavailableError).status).toBe(401)
    expect((err as SourceUnavailableError).retryable).toBe(false)
    expect((err as Error).message).toContain('Invalid client or Invalid client credentials')
  })

  it('an injected token provider is used as is (the realm-management rights come from its token)', async () => {
    const tokens = new ClientCredentialsTokenProvider({
      tokenUrl: ClientCredentialsTokenProvider.tokenEndpoint(live!.url, REALM),
      clientId: created.usersOnly!.clientId,
      clientSecret: created.usersOnly!.clientSecret,
    })
    const source = new AdminApiSource({ baseUrl: live!.url, realm: REALM, clients: CLIENTS, tokenProvider: tokens, cache: { max: 10, ttlMs: 10_000 } })
    await expect(source.selfCheck()).rejects.toMatchObject({ code: 'KEYCLOAK_INSUFFICIENT_PERMISSIONS', missing: ['view-clients', 'view-realm'] })
  })
})
