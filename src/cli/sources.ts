import { RealmExportSource } from '../keycloak/realm-export-source.js'
import type { Principal } from '../core/principal.js'
import type { RoleCatalogue, RoleSource } from '../keycloak/source.js'
import { UsageError } from './errors.js'

/** Source flags shared by every command. */
export interface SourceFlags {
  realm?: string
  keycloak?: string
  realmName?: string
  clientId?: string
  redis?: string
  watchAdminEvents?: boolean
  liveRoles?: boolean
  tokenAudience?: string
  tokenIssuer?: string
}

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
 * Builds the source the flags describe: `--realm FILE`, a live Keycloak, or the bundled example realm.
 * The live client secret comes from KEYCLOAK_CLIENT_SECRET only (never argv).
 */
export async function openSource(flags: SourceFlags): Promise<CliSource> {
  if (flags.keycloak !== undefined) {
    if (flags.realm !== undefined) throw new UsageError('use either --realm FILE or --keycloak URL, not both')
    if (!flags.realmName) throw new UsageError('--keycloak needs --realm-name NAME')
    if (!flags.clientId) throw new UsageError('--keycloak needs --client-id ID')
    const secret = process.env['KEYCLOAK_CLIENT_SECRET']
    if (!secret) throw new UsageError('--keycloak needs the client secret in the environment variable KEYCLOAK_CLIENT_SECRET')
    const { openLiveSource } = await import('./live-source.js')
    return openLiveSource({
      baseUrl: flags.keycloak,
      realm: flags.realmName,
      clientId: flags.clientId,
      clientSecret: secret,
      ...(flags.redis !== undefined ? { redis: flags.redis } : {}),
      watchAdminEvents: flags.watchAdminEvents === true,
      liveRoles: flags.liveRoles === true,
      ...(flags.tokenAudience !== undefined ? { tokenAudience: flags.tokenAudience } : {}),
      ...(flags.tokenIssuer !== undefined ? { tokenIssuer: flags.tokenIssuer } : {}),
    })
  }
  if (flags.realmName !== undefined || flags.clientId !== undefined) {
    throw new UsageError('--realm-name and --client-id need --keycloak URL')
  }
  if (flags.redis !== undefined || flags.watchAdminEvents || flags.liveRoles || flags.tokenAudience !== undefined || flags.tokenIssuer !== undefined) {
    throw new UsageError('--redis, --watch-admin-events, --live-roles and --token-audience need a live Keycloak (--keycloak URL)')
  }
  const realmExport = flags.realm === undefined ? RealmExportSource.example() : await RealmExportSource.fromFile(flags.realm)
  return {
    description: flags.realm === undefined ? 'bundled example realm' : `realm export ${flags.realm}`,
    source: realmExport,
    realmExport,
  }
}
