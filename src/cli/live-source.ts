import { AdminApiSource } from '../keycloak/admin-api-source.js'
import type { CliSource } from './sources.js'

/** The clients the built-in components read (Nebari's and the workspace API's). */
export const DEFAULT_LIVE_CLIENTS = ['conda_store', 'jupyterhub', 'workspace-api'] as const

/** A live Keycloak through the Admin API, with the self-check run first (missing rights fail fast). */
export async function openLiveSource(options: {
  baseUrl: string
  realm: string
  clientId: string
  clientSecret: string
  clients?: readonly string[]
}): Promise<CliSource> {
  const clients = options.clients ?? DEFAULT_LIVE_CLIENTS
  const source = new AdminApiSource({
    baseUrl: options.baseUrl,
    realm: options.realm,
    clients,
    credentials: { clientId: options.clientId, clientSecret: options.clientSecret },
    cache: { max: 10_000, ttlMs: 30_000 },
    realmRoles: true,
  })
  await source.selfCheck()
  return { description: `Keycloak ${options.baseUrl} realm ${options.realm}`, source, catalogue: source, clients }
}
