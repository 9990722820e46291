/**
 * TokenSource against the live Keycloak: real password-grant tokens of every example user on every
 * confidential client verify with the live JWKS, and their principals equal RealmExportSource's.
 */
import { readFileSync } from 'node:fs'
import { beforeAll, expect, it } from 'vitest'
import { summarizePrincipal, type Principal } from '../../src/core/principal.js'
import { TokenRejectedError } from '../../src/core/errors.js'
import { RealmExportSource, TokenSource } from '../../src/keycloak/index.js'
import { jwtPayload, tokenRequest, userToken } from './helpers/keycloak-admin.js'
import { describeLive, live } from './helpers/live.js'
import { EXPECTED, REALM_FILE } from './helpers/realm.js'

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin'] as const

interface RealmClient {
  clientId: string
  secret?: string
  directAccessGrantsEnabled?: boolean
}

// Client secrets come from the realm file the server imported (conda_store's is `conda-store-secret`).
const realmClients = (JSON.parse(readFileSync(REALM_FILE, 'utf8')) as { clients: RealmClient[] }).clients
const CLIENTS = ['jupyterhub', 'conda_store', 'workspace-api'].map((clientId) => {
  const client = realmClients.find((c) => c.clientId === clientId)
  if (client?.secret === undefined || client.directAccessGrantsEnabled !== true) throw new Error(`${clientId}: no secret or no password grant in ${REALM_FILE}`)
  return { clientId, secret: client.secret }
})

describeLive('TokenSource (live Keycloak)', () => {
  const tokens = new Map<string, string>()
  let source: TokenSource
  const offline = RealmExportSource.example()

  beforeAll(async () => {
    // Every password-grant client of the example realm has a group-membership mapper (full.path).
    source = new TokenSource({ issuers: [live!.issuer], catalogue: offline, groupsMapperConfigured: true })
    for (const user of USERS) {
      for (const { clientId, secret } of CLIENTS) {
        tokens.set(`${user}@${clientId}`, await userToken(user, `${user}-pw`, clientId, secret, live!.url))
      }
    }
  })

  for (const user of USERS) {
    for (const { clientId } of ['jupyterhub', 'conda_store', 'workspace-api'].map((c) => ({ clientId: c }))) {
      it(`${user} on ${clientId}: verified with the live JWKS; principal equals RealmExportSource's`, async () => {
        const token = tokens.get(`${user}@${clientId}`)!
        const { info, protectedHeader } = await source.verify(token)
        expect(protectedHeader.alg).toBe('RS256')
        expect(info.issuer).toBe(live!.issuer)
        expect(info.azp).toBe(clientId)

        const fromToken: Principal = await source.resolve(token)
        const fromExport = await offline.resolve(user)
        expect(summarizePrincipal(fromToken)).toEqual(summarizePrincipal(fromExport))
        expect(fromToken.userId).toMatch(/^[0-9a-f-]{36}$/)
        expect(fromToken.complete).toEqual({ groups: true, realmRoles: true, attributes: true, provenance: false })
        expect(fromToken.diagnostics).toEqual([])
      })

      it(`${user} on ${clientId}: realm_access / resource_access / groups equal example-realm.expected.json`, () => {
        const claims = jwtPayload(tokens.get(`${user}@${clientId}`)!) as {
          realm_access?: { roles: string[] }
          resource_access?: Record<string, { roles: string[] }>
          groups?: string[]
        }
        const expected = EXPECTED.users[user]!
        expect([...(claims.realm_access?.roles ?? [])].sort(), 'realmRoles').toEqual([...expected.realmRoles].sort())
        const clientRoles = Object.fromEntries(
          Object.entries(claims.resource_access ?? {})
            .map(([client, { roles }]) => [client, [...roles].sort()] as const)
            .sort(([a], [b]) => (a < b ? -1 : 1)),
        )
        const expectedClientRoles = Object.fromEntries(
          Object.entries(expected.clientRoles)
            .filter(([, roles]) => roles.length > 0)
            .map(([client, roles]) => [client, [...roles].sort()] as const)
            .sort(([a], [b]) => (a < b ? -1 : 1)),
        )
        expect(clientRoles, 'clientRoles').toEqual(expectedClientRoles)
        expect([...(claims.groups ?? [])].sort(), 'groups').toEqual([...expected.groups].sort())
      })
    }
  }

  it('a user without groups gets no groups claim: ambiguous unless the mapper is declared', async () => {
    const token = tokens.get('carol@jupyterhub')!
    expect(jwtPayload(token)).not.toHaveProperty('groups')
    const undeclared = await new TokenSource({ issuers: [live!.issuer], catalogue: offline }).resolve(token)
    expect(undeclared.complete.groups).toBe(false)
    expect(undeclared.diagnostics.map((d) => d.code)).toEqual(['KEYCLOAK_TOKEN_HAS_NO_GROUPS'])
  })

  it('an ID token and a refresh token of the same login are rejected by type', async () => {
    const { secret } = CLIENTS[0]!
    const body = await tokenRequest({ grant_type: 'password', client_id: 'jupyterhub', client_secret: secret, username: 'alice', password: 'alice-pw', scope: 'openid' }, 'example', live!.url)
    const idToken = body['id_token'] as string
    await expect(source.verify(idToken)).rejects.toMatchObject({ reason: 'TOKEN_TYPE_NOT_ALLOWED', detail: 'WRONG_TYPE' })
    // Keycloak signs refresh tokens with HS512 (a realm secret): refused by the algorithm allow-list.
    await expect(source.verify(body['refresh_token'] as string)).rejects.toMatchObject({ reason: 'ALGORITHM_NOT_ALLOWED' })
  })

  it('audience policy on live tokens: workspace-api tokens carry aud workspace-api; jupyterhub tokens do not', async () => {
    const strict = new TokenSource({ issuers: [live!.issuer], audience: 'workspace-api' })
    await strict.verify(tokens.get('alice@workspace-api')!)
    const err = await strict.verify(tokens.get('alice@conda_store')!).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TokenRejectedError)
    expect(err).toMatchObject({ reason: 'AUDIENCE_MISMATCH', detail: 'WRONG_AUDIENCE' })
    const viaAzp = new TokenSource({ issuers: [live!.issuer], audience: 'workspace-api', allowAzp: ['conda_store'] })
    await viaAzp.verify(tokens.get('alice@conda_store')!)
  })

  it('the localhost issuer is not the 127.0.0.1 issuer (keycloak.md §3.2 pitfall 2)', async () => {
    const other = new TokenSource({ issuers: [live!.issuer.replace('127.0.0.1', 'localhost')], jwksUrl: `${live!.issuer}/protocol/openid-connect/certs` })
    await expect(other.verify(tokens.get('bob@jupyterhub')!)).rejects.toMatchObject({ reason: 'ISSUER_MISMATCH', detail: 'WRONG_ISSUER' })
  })
})
