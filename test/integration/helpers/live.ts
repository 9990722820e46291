/**
 * Finds the live Keycloak the integration suite runs against, and makes a suite report clearly
 * when it did not run.
 *
 * Usage (top-level await is fine in vitest test files):
 * ```ts
 * import { describeLive, live } from './helpers/live.js'
 * describeLive('TokenSource (live)', () => { it('…', async () => { … live!.url … }) })
 * ```
 * Without a server the suite shows one skipped suite titled
 * `SKIPPED: no live Keycloak at http://127.0.0.1:8180 — run scripts/keycloak.sh start`.
 */
import { describe } from 'vitest'

/** The server under test: env `KEYCLOAK_URL`, default `http://127.0.0.1:8180` (no trailing slash). */
export const KEYCLOAK_URL = (process.env.KEYCLOAK_URL ?? 'http://127.0.0.1:8180').replace(/\/+$/, '')

/** The realm imported from examples/realm/example-realm.json. */
export const REALM = 'example'

/** The service account the suite authenticates as (imported with the realm). */
export const SERVICE_ACCOUNT = { clientId: 'permission-resolver', clientSecret: 'permission-resolver-secret' } as const

/** The bootstrap admin of the `master` realm (created by scripts/keycloak.sh), for fixture mutation tests. */
export const BOOTSTRAP_ADMIN = { username: 'admin', password: 'admin' } as const

export interface LiveKeycloak {
  /** Base URL, e.g. `http://127.0.0.1:8180`. */
  readonly url: string
  /** `iss` of the example realm's tokens, from its discovery document. */
  readonly issuer: string
  /** The example realm's token endpoint. */
  readonly tokenEndpoint: string
}

/** The notice used as the suite title when no server answers. */
export function skipNotice(url: string = KEYCLOAK_URL): string {
  return `SKIPPED: no live Keycloak at ${url} — run scripts/keycloak.sh start`
}

/**
 * Probes the example realm's discovery document (proves the server is up and the import finished).
 * Resolves to undefined when nothing usable answers within `timeoutMs`.
 */
export async function detectKeycloak(url: string = KEYCLOAK_URL, timeoutMs = 5_000): Promise<LiveKeycloak | undefined> {
  try {
    const res = await fetch(`${url}/realms/${REALM}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(timeoutMs) })
    if (!res.ok) return undefined
    const doc = (await res.json()) as { issuer?: unknown; token_endpoint?: unknown }
    if (typeof doc.issuer !== 'string' || typeof doc.token_endpoint !== 'string') return undefined
    return { url, issuer: doc.issuer, tokenEndpoint: doc.token_endpoint }
  } catch {
    return undefined
  }
}

/** The live server, detected once when this module is first imported. */
export const live: LiveKeycloak | undefined = await detectKeycloak()

if (!live) {
  // CI sets KEYCLOAK_REQUIRED=1: there a missing server is a failure, not a skip.
  if (process.env.KEYCLOAK_REQUIRED === '1') throw new Error(`KEYCLOAK_REQUIRED=1 but ${skipNotice()}`)
  console.warn(skipNotice())
}

/**
 * `describe` that runs only against a live server; otherwise one skipped suite whose title is the
 * {@link skipNotice} (so the report says the suite did not run, and why).
 */
export function describeLive(title: string, body: () => void): void {
  describe.skipIf(!live)(live ? title : `${skipNotice()} (${title})`, body)
}
