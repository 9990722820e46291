import { AdminApiSource } from '../keycloak/admin-api-source.js'
import { AdminEventWatcher } from '../keycloak/admin-events.js'
import type { PrincipalCache } from '../keycloak/cache.js'
import { LiveRolesSource } from '../keycloak/live-roles.js'
import { TokenSource } from '../keycloak/token-source.js'
import type { CliSource } from './sources.js'

/** Options of {@link openLiveSource}: the connection and the freshness flags. */
export interface LiveSourceOptions {
  readonly baseUrl: string
  readonly realm: string
  readonly clientId: string
  readonly clientSecret: string
  /** An optional allow-list of clients; default every client of the realm (workspaces included). */
  readonly clients?: readonly string[]
  /**
   * The per-user cache (configuration `cache`): how long a resolved user is trusted, how many are
   * kept, and how long past its TTL one may answer while Keycloak is failing (default 60 s, 10,000
   * users, never stale).
   */
  readonly cache?: { readonly ttlMs: number; readonly max: number; readonly staleMs?: number }
  /** `--redis URL`: share principals (and the watcher) across replicas. */
  readonly redis?: string
  /** `--watch-admin-events`: invalidate cached principals from Keycloak's admin events. */
  readonly watchAdminEvents?: boolean
  /** `--live-roles`: tokens only authenticate; roles come from the cached Admin API (and disabled users are refused). */
  readonly liveRoles?: boolean
  /** `--token-audience CLIENT`: the `aud` a bearer token must carry; without it token checks are refused. */
  readonly tokenAudience?: string
  /** `--token-issuer URL`: the tokens' `iss` (default `<baseUrl>/realms/<realm>`; differs behind a proxy). */
  readonly tokenIssuer?: string
  /** Where one-line operational messages go (default stderr). */
  readonly log?: (message: string) => void
}

/**
 * A live Keycloak through the Admin API, with the self-check run first (missing rights fail fast),
 * optionally with a Redis tier, the admin-event watcher and live roles for token callers.
 */
export async function openLiveSource(options: LiveSourceOptions): Promise<CliSource> {
  const log = options.log ?? ((message: string) => void process.stderr.write(`keycloak-permissions: ${message}\n`))
  const credentials = { clientId: options.clientId, clientSecret: options.clientSecret }
  const cache = options.cache ?? { ttlMs: 60_000, max: 10_000 }
  let principalCache: (PrincipalCache & { close(): Promise<void>; superviseWatcher(make: (resume: any) => AdminEventWatcher): unknown }) | undefined
  if (options.redis !== undefined) {
    const { RedisPrincipalCache } = await import('../redis/index.js')
    principalCache = new RedisPrincipalCache({ url: options.redis, local: { max: cache.max }, log }) as never
  }
  // Everything opened here is closed again when opening fails: a Redis client left reconnecting, or a
  // watcher left polling, would keep a one-shot command that failed from ever exiting.
  const closers: Array<() => Promise<void>> = []
  if (principalCache) closers.push(() => principalCache!.close())
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close()
  }
  try {
    const source = new AdminApiSource({
      baseUrl: options.baseUrl,
      realm: options.realm,
      ...(options.clients !== undefined ? { clients: options.clients } : {}),
      credentials,
      cache: { max: cache.max, ttlMs: cache.ttlMs },
      ...(cache.staleMs !== undefined && cache.staleMs > 0 ? { serveStaleMs: cache.staleMs } : {}),
      realmRoles: true,
      checkEnabled: options.liveRoles === true,
      ...(principalCache ? { principalCache } : {}),
    })
    // Also fetches the realm catalogue once: every client, role and group (the per-user cost is then ≤ 3 requests).
    const report = await source.selfCheck()
    if (options.watchAdminEvents) {
      const make = (extra: Record<string, unknown> = {}) =>
        new AdminEventWatcher({ baseUrl: options.baseUrl, realm: options.realm, credentials, target: source, onError: (e) => log(e.message), ...extra })
      const events = await make().selfCheck()
      if (!events.ok) for (const d of events.diagnostics) log(`${d.message}${d.fix ? ` — fix: ${d.fix}` : ''}`)
      if (principalCache) {
        principalCache.superviseWatcher(({ from, onPoll }: { from?: number; onPoll: unknown }) => make({ onPoll, ...(from !== undefined ? { from } : {}) }))
      } else {
        const watcher = make()
        watcher.start()
        closers.push(() => watcher.stop())
      }
    }
    const issuer = options.tokenIssuer ?? `${options.baseUrl.replace(/\/+$/, '')}/realms/${options.realm}`
    // Tokens are accepted only for a configured audience: a token issued to another client is refused.
    const tokens =
      options.tokenAudience === undefined
        ? undefined
        : new TokenSource({ issuers: [issuer], audience: options.tokenAudience, catalogue: source, groupsMapperConfigured: true })
    const flags = [options.redis ? 'redis' : '', options.watchAdminEvents ? 'admin events' : '', options.liveRoles ? 'live roles' : ''].filter(Boolean)
    return {
      description: `Keycloak ${options.baseUrl} realm ${options.realm}${flags.length ? ` (${flags.join(', ')})` : ''}`,
      source,
      catalogue: source,
      // The clients at start-up (for lint); principals see clients created later too.
      clients: Object.keys(report.clients),
      ...(tokens ? { tokens: options.liveRoles ? new LiveRolesSource({ tokens, roles: source }) : tokens } : {}),
      close: closeAll,
    }
  } catch (err) {
    await closeAll().catch(() => undefined)
    throw err
  }
}
