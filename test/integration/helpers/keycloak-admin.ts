/**
 * Plain-HTTP helpers for fixture setup against the live server: tokens for the service account
 * and the master-realm bootstrap admin, and a small authenticated Admin API caller. Kept free of
 * the code under test (no AdminApiSource, no admin client) so tests do not verify code with itself.
 */
import { BOOTSTRAP_ADMIN, KEYCLOAK_URL, REALM, SERVICE_ACCOUNT } from './live.js'

/** POSTs a form to a realm's token endpoint and returns the parsed JSON (throws on non-2xx). */
export async function tokenRequest(form: Record<string, string>, realm: string = REALM, url: string = KEYCLOAK_URL): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/realms/${encodeURIComponent(realm)}/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
    signal: AbortSignal.timeout(10_000),
  })
  const body = (await res.json()) as Record<string, unknown>
  if (!res.ok) throw new Error(`token request failed: HTTP ${res.status} ${JSON.stringify(body)}`)
  return body
}

/** An access token of a client-credentials client (default: the permission-resolver service account). */
export async function clientCredentialsToken(clientId: string = SERVICE_ACCOUNT.clientId, clientSecret: string = SERVICE_ACCOUNT.clientSecret, url: string = KEYCLOAK_URL): Promise<string> {
  const body = await tokenRequest({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }, REALM, url)
  return body.access_token as string
}

/** An access token of the master realm's bootstrap admin (`admin`/`admin`, client `admin-cli`). */
export async function masterAdminToken(url: string = KEYCLOAK_URL): Promise<string> {
  const body = await tokenRequest({ grant_type: 'password', client_id: 'admin-cli', username: BOOTSTRAP_ADMIN.username, password: BOOTSTRAP_ADMIN.password }, 'master', url)
  return body.access_token as string
}

/** A user's password-grant access token from a confidential client of the example realm. */
export async function userToken(username: string, password: string, clientId = 'jupyterhub', clientSecret = 'jupyterhub-secret', url: string = KEYCLOAK_URL): Promise<string> {
  const body = await tokenRequest({ grant_type: 'password', client_id: clientId, client_secret: clientSecret, username, password, scope: 'openid' }, REALM, url)
  return body.access_token as string
}

/**
 * Calls `{url}/admin/realms/{path}` with a bearer token; returns the parsed JSON body (or undefined
 * for an empty body) and throws on non-2xx.
 */
export async function adminCall<T = unknown>(token: string, method: string, path: string, body?: unknown, url: string = KEYCLOAK_URL): Promise<T> {
  const init: RequestInit = {
    method,
    headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    signal: AbortSignal.timeout(10_000),
  }
  if (body !== undefined) init.body = JSON.stringify(body)
  const res = await fetch(`${url}/admin/realms/${path}`, init)
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`)
  return (text === '' ? undefined : JSON.parse(text)) as T
}

/** Decodes a JWT's payload without verifying it (fixture inspection only). */
export function jwtPayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1]
  if (part === undefined) throw new Error('not a JWT')
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>
}

/**
 * Creates a confidential service-account client in the example realm holding exactly the given
 * realm-management roles (through the bootstrap admin); returns its credentials and a remover.
 */
export async function createServiceAccountClient(clientId: string, realmManagementRoles: readonly string[], url: string = KEYCLOAK_URL): Promise<{ clientId: string; clientSecret: string; remove: () => Promise<void> }> {
  const admin = await masterAdminToken(url)
  const clientSecret = `${clientId}-secret`
  const existing = await adminCall<{ id: string }[]>(admin, 'GET', `${REALM}/clients?clientId=${encodeURIComponent(clientId)}`, undefined, url)
  for (const c of existing) await adminCall(admin, 'DELETE', `${REALM}/clients/${c.id}`, undefined, url)
  await adminCall(admin, 'POST', `${REALM}/clients`, {
    clientId, secret: clientSecret, enabled: true, publicClient: false, serviceAccountsEnabled: true,
    standardFlowEnabled: false, directAccessGrantsEnabled: false, clientAuthenticatorType: 'client-secret',
  }, url)
  const [created] = await adminCall<{ id: string }[]>(admin, 'GET', `${REALM}/clients?clientId=${encodeURIComponent(clientId)}`, undefined, url)
  if (!created) throw new Error(`client ${clientId} was not created`)
  if (realmManagementRoles.length > 0) {
    const account = await adminCall<{ id: string }>(admin, 'GET', `${REALM}/clients/${created.id}/service-account-user`, undefined, url)
    const [rm] = await adminCall<{ id: string }[]>(admin, 'GET', `${REALM}/clients?clientId=realm-management`, undefined, url)
    const roles = await Promise.all(realmManagementRoles.map((name) => adminCall<{ id: string; name: string }>(admin, 'GET', `${REALM}/clients/${rm!.id}/roles/${encodeURIComponent(name)}`, undefined, url)))
    await adminCall(admin, 'POST', `${REALM}/users/${account.id}/role-mappings/clients/${rm!.id}`, roles, url)
  }
  return {
    clientId,
    clientSecret,
    remove: async () => {
      const token = await masterAdminToken(url)
      await adminCall(token, 'DELETE', `${REALM}/clients/${created.id}`, undefined, url)
    },
  }
}
