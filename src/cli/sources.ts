import { RealmExportSource } from '../keycloak/realm-export-source.js'
import type { Principal } from '../core/principal.js'
import type { RoleCatalogue, RoleSource } from '../keycloak/source.js'
import { UsageError } from './errors.js'
import { liveSourceOptionsOf, type KeycloakPermissionsConfig } from '../config/index.js'

/** What a command needs from a source: principals, and (offline) the realm's users and roles. */
export interface CliSource {
  readonly description: string
  readonly source: RoleSource
  /** Present for realm exports: the whole realm, for lint and all-user commands. */
  readonly realmExport?: RealmExportSource
  /** Present for live sources: role definitions of the configured clients, for lint. */
  readonly catalogue?: RoleCatalogue
  /** The clients a live source reads. */
  readonly clients?: readonly string[]
  /** Live sources: turns a bearer token into a principal (token-only, or live roles with `--live-roles`). */
  readonly tokens?: { resolve(token: string): Promise<Principal> }
  /** Stops background work (watcher, Redis connection). */
  readonly close?: () => Promise<void>
}

/**
 * Builds the source of the effective settings: a realm export (`source.realmFile`, `--realm FILE`), a
 * live Keycloak (`source.keycloak`, `--keycloak URL …`) with the configured cache and freshness, or —
 * with no source configured — the bundled example realm. The live client secret comes from
 * KEYCLOAK_CLIENT_SECRET only (never argv, never the configuration file).
 */
export async function openSource(config: Pick<KeycloakPermissionsConfig, 'source' | 'cache' | 'freshness'>): Promise<CliSource> {
  const source = config.source
  if (source !== undefined && 'keycloak' in source) {
    const k = source.keycloak
    const secret = process.env['KEYCLOAK_CLIENT_SECRET']
    if (!secret) throw new UsageError('--keycloak needs the client secret in the environment variable KEYCLOAK_CLIENT_SECRET')
    const live = liveSourceOptionsOf(config)
    const { openLiveSource } = await import('./live-source.js')
    return openLiveSource({
      baseUrl: k.url,
      realm: k.realm,
      clientId: k.clientId,
      clientSecret: secret,
      ...(k.clients !== undefined ? { clients: k.clients } : {}),
      cache: live.cache,
      ...(live.redis !== undefined ? { redis: live.redis } : {}),
      watchAdminEvents: live.watchAdminEvents,
      liveRoles: live.liveRoles,
      ...(k.tokenAudience !== undefined ? { tokenAudience: k.tokenAudience } : {}),
      ...(k.tokenIssuer !== undefined ? { tokenIssuer: k.tokenIssuer } : {}),
    })
  }
  const realmFile = source?.realmFile
  const realmExport = realmFile === undefined ? RealmExportSource.example() : await RealmExportSource.fromFile(realmFile)
  return {
    description: realmFile === undefined ? 'bundled example realm' : `realm export ${realmFile}`,
    source: realmExport,
    realmExport,
  }
}
