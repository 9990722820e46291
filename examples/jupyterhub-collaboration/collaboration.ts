/**
 * A JupyterHub-adjacent service answering "may alice open bob's shared server, and what may she do
 * there?" from the Keycloak realm (Nebari's JupyterHub roles from role attributes) and the hub's
 * shares — the question a real-time-collaboration extension or a gateway in front of single-user
 * servers has to answer.
 *
 * - `jupyterhubPrincipal` turns a principal into JupyterHub scopes under Nebari's rules (login gate,
 *   `scopes` attributes of `jupyterhub` client roles, default `user` role), plus the scopes of shares
 *   made with the user (the hub database, not Keycloak: here a constant, in a service the answer of
 *   `GET /hub/api/users/{name}/shared`).
 * - `shareDecision` is the hub's own check on `POST /api/shares/bob/`: may bob grant that share?
 * - `hasScope` is JupyterHub's `has_scope` (`access:servers!server=bob/` = may open the server).
 * - `createCollaborationAuthorizer` maps custom scopes (`custom:rtc:read` ⊂ `write` ⊂ `execute`) onto
 *   jupyter-server's `(action, resource)` checks, owner always allowed.
 *
 * Realm (`realm.json` here): everyone in `/analyst` may log in and share their own servers by name;
 * `/projects/ml` members hold `access:servers!group=/projects/ml,custom:rtc:write!group=/projects/ml`
 * (open and edit, not run code, on each other's servers); dan is only in `/projects/ml`, which is not
 * one of Nebari's allowed groups, so his login is rejected and he holds no scope at all.
 *
 * The custom scopes must be defined for the realm's `scopes` attributes to validate (JupyterHub's
 * `c.JupyterHub.custom_scopes`; here the authorizer's `customScopes`, passed to `jupyterhubPrincipal`).
 * `keycloak-permissions lint` has no custom-scope definitions, so it reports `ml-pair-programming` as
 * `JUPYTERHUB_ROLE_SCOPES_REJECTED`.
 *
 * In an application, import from the package instead of the relative source paths:
 *
 * ```ts
 * import { RealmExportSource } from 'keycloak-permissions/keycloak'
 * import { createCollaborationAuthorizer, hasScope, jupyterhubPrincipal, shareDecision } from 'keycloak-permissions/jupyterhub'
 * ```
 *
 * Run the demo with `npx tsx examples/jupyterhub-collaboration/collaboration.ts`.
 *
 * @module
 */
import { fileURLToPath } from 'node:url'
import { RealmExportSource } from '../../src/keycloak/index.js'
import {
  createCollaborationAuthorizer,
  expandScopes,
  hasScope,
  jupyterhubPrincipal,
  shareDecision,
  type CollaborationReason,
  type ExpandedScope,
  type GroupsOf,
  type JupyterServerAction,
} from '../../src/jupyterhub/index.js'

/** The realm export next to this file. */
export const realmPath = fileURLToPath(new URL('./realm.json', import.meta.url))

/** Shares as the hub stores them: grantee → scopes (each filtered `!server=owner/name`). */
export type Shares = Readonly<Record<string, readonly string[]>>

/** bob shared his default server with alice, read-only. */
export const EXAMPLE_SHARES: Shares = { alice: ['access:servers!server=bob/', 'custom:rtc:read!server=bob/'] }

/** The answer for one viewer and one server. */
export interface ServerAccess {
  readonly viewer: string
  readonly server: string
  /** `access:servers!server=<server>` held: the hub lets the viewer in. */
  readonly mayOpen: boolean
  /** `read contents`, `write contents`, `execute kernels` on the server. */
  readonly checks: readonly { readonly action: JupyterServerAction; readonly resource: string; readonly allowed: boolean; readonly reason: CollaborationReason }[]
  /** One line per check: the chain user → scope → role → grant. */
  readonly chains: readonly string[]
}

/** The collaboration service: one realm source, the hub's shares, one authorizer. */
export class CollaborationService {
  readonly #source: RealmExportSource
  readonly #shares: Shares
  readonly #authz = createCollaborationAuthorizer()
  /** Owners' groups for `!group=` filters (JupyterHub looks them up in its database). */
  readonly #groupsOf: GroupsOf

  constructor(source: RealmExportSource, shares: Shares) {
    this.#source = source
    this.#shares = shares
    this.#groupsOf = (username) => {
      try {
        return source.resolveSync(username).groups
      } catch {
        return [] // an unknown owner is in no group
      }
    }
  }

  async #hubPrincipal(username: string) {
    const principal = await this.#source.resolve(username)
    return jupyterhubPrincipal(principal, { customScopes: this.#authz.customScopes, shareScopes: this.#shares[username] ?? [] })
  }

  /** May `owner` share `server` with `viewer` with these scopes (the hub's `POST /api/shares` check)? */
  async mayShare(owner: string, server: string, viewer: string, scopes: readonly string[]) {
    const hub = await this.#hubPrincipal(owner)
    return shareDecision(hub.scopes, server, { user: viewer }, { scopes, groupsOf: this.#groupsOf, customScopes: this.#authz.customScopes })
  }

  /** What `viewer` may do on `server` (`owner/name`; `bob/` is bob's default server). */
  async access(viewer: string, server: string): Promise<ServerAccess> {
    const hub = await this.#hubPrincipal(viewer)
    const mayOpen = hasScope(`access:servers!server=${server}` as ExpandedScope, hub.scopes, { groupsOf: this.#groupsOf })
    const checks = []
    const chains = []
    for (const [action, resource] of [['read', 'contents'], ['write', 'contents'], ['execute', 'kernels']] as const) {
      const d = this.#authz.authorize(hub, server, action, resource, { groupsOf: this.#groupsOf })
      checks.push({ action, resource, allowed: d.allowed, reason: d.reason })
      chains.push(`${d.trace.map((s) => s.label).join(' → ')} (${d.allowed ? 'allowed' : 'denied'}: ${d.reason})`)
    }
    return { viewer, server, mayOpen, checks, chains }
  }
}

async function demo(): Promise<void> {
  const source = await RealmExportSource.fromFile(realmPath)
  const service = new CollaborationService(source, EXAMPLE_SHARES)

  const share = await service.mayShare('bob', 'bob/', 'alice', EXAMPLE_SHARES['alice']!)
  console.log(`may bob share bob/ with alice (${EXAMPLE_SHARES['alice']!.join(', ')})? ${share.status} ${share.reason}`)
  const overreach = await service.mayShare('bob', 'bob/', 'alice', ['custom:rtc:execute!server=bob/'])
  console.log(`may bob share bob/ with alice with custom:rtc:execute? ${overreach.status} ${overreach.reason}${overreach.message ? `: ${overreach.message}` : ''}`)

  for (const [viewer, server] of [['alice', 'bob/'], ['carol', 'bob/'], ['alice', 'carol/'], ['dan', 'bob/'], ['bob', 'bob/']] as const) {
    const a = await service.access(viewer, server)
    const can = a.checks.filter((c) => c.allowed).map((c) => `${c.action} ${c.resource}`)
    console.log(`may ${viewer} open ${server}? ${a.mayOpen ? 'yes' : 'no'}; allowed: ${can.length > 0 ? can.join(', ') : 'nothing'}`)
    for (const chain of a.chains) console.log(`  ${chain}`)
  }

  // The same predicate a HubAuth-based service applies to the scopes of a token (already expanded by the hub).
  const tokenScopes = expandScopes(['access:servers!server=bob/', 'custom:rtc:read!server=bob/'], {}, { customScopes: createCollaborationAuthorizer().customScopes })
  console.log(`token with bob's share: access:servers!server=bob/ held? ${hasScope('access:servers!server=bob/' as ExpandedScope, tokenScopes)}`)
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await demo()
