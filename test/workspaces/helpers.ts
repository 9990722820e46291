import type { EffectiveRole, Principal } from '../../src/index.js'

/** A principal built by hand: `clients` maps a client id to role names (empty list = entry with no role). */
export function makePrincipal(
  username: string,
  clients: Record<string, readonly string[]>,
  options: { realmRoles?: readonly string[]; azp?: string; token?: boolean; groups?: readonly string[]; via?: EffectiveRole['via'] } = {},
): Principal {
  const clientRoles: Record<string, readonly EffectiveRole[]> = Object.create(null)
  for (const [client, names] of Object.entries(clients)) {
    clientRoles[client] = names.map((name) => ({ client, name, attributes: {}, via: options.via ?? [] }))
  }
  const token = options.token ?? options.azp !== undefined
  return {
    realm: 'example',
    userId: `u-${username}`,
    username,
    groups: options.groups ?? [],
    realmRoles: (options.realmRoles ?? []).map((name) => ({ name, attributes: {}, via: [] })),
    clientRoles,
    complete: { groups: true, realmRoles: true, attributes: false, provenance: false },
    origin: { kind: token ? 'token' : 'realm-export', resolvedAt: 0, cached: false, stale: false },
    ...(token
      ? {
          token: {
            issuer: 'http://127.0.0.1:8180/realms/example',
            audience: ['workspace-api'],
            ...(options.azp !== undefined ? { azp: options.azp } : {}),
            scope: [],
            expiresAt: 1767225840,
          },
        }
      : {}),
    diagnostics: [],
  }
}
