/**
 * The engine behind the CLI and `serve`: one source, the built-in components and any custom ones,
 * answering resolve / envs / check / explain / lint through the public API only.
 */
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import type { Decision, TraceStep } from '../core/decision.js'
import { allow, deny } from '../core/decision.js'
import { diagnostic, type Diagnostic } from '../core/diagnostics.js'
import { InvalidInputError, TokenRejectedError } from '../core/errors.js'
import type { EffectiveRole, Principal, RoleRef } from '../core/principal.js'
import { formatRole } from '../core/principal.js'
import {
  CondaStoreClient,
  condaStorePermissionsFor,
  lintCondaStoreRoles,
  permissionsForRoles,
  type CondaStoreEnvironment,
  type CondaStorePermission,
} from '../conda-store/index.js'
import {
  defineCustomScopes,
  expandScopes,
  hasScope,
  jupyterhubPrincipal,
  lintJupyterHubRoles,
  profileSlugs,
  sharedDirectories,
  validateScopes,
  type ExpandedScope,
  type ScopeOptions,
} from '../jupyterhub/index.js'
import { explainRoute, stacPolicy, workspaceApiPolicy, type RoutePolicy } from '../workspaces/index.js'
import { defineComponent, type Component } from '../components/index.js'
import { roleChains, type Chain } from '../core/chain.js'
import { chainContext, chainLine, chainsJson, condaStoreBindingChains, decisionChains, extendChains } from '../review/index.js'
import type { CliSource } from './sources.js'
import { UsageError } from './errors.js'

const ENVIRONMENT_LIST_TTL_MS = 60_000

/** Where `envs` reads conda-store environments from. */
export type EnvironmentSourceSpec = { readonly file: string } | { readonly url: string; readonly token?: string }

/** A role as lint sees it: its reference and attributes. */
export interface RoleWithAttributes extends RoleRef {
  readonly attributes: Readonly<Record<string, readonly string[]>>
}

/** The check kinds of `check` / `explain` / `POST /v1/check`. */
export type CheckRequest =
  | { readonly user: string; readonly route: { readonly method: string; readonly path: string; readonly policy?: 'workspaces' | 'stac' } }
  | { readonly user: string; readonly condaStore: { readonly permission: string; readonly resource: string } }
  | { readonly user: string; readonly jupyterhub: { readonly scope: string; readonly resource?: { readonly kind: string; readonly value: string } } }
  | { readonly user: string; readonly component: { readonly name: string; readonly action: string; readonly resource: string } }

const subjectSchema = { user: z.string().min(1).optional(), token: z.string().min(1).optional() }

const checkSchema = z.union([
  z.strictObject({
    ...subjectSchema,
    route: z.strictObject({ method: z.string().min(1), path: z.string().min(1), policy: z.enum(['workspaces', 'stac']).optional() }),
  }),
  z.strictObject({ ...subjectSchema, condaStore: z.strictObject({ permission: z.string().min(1), resource: z.string().min(1) }) }),
  z.strictObject({
    ...subjectSchema,
    jupyterhub: z.strictObject({
      scope: z.string().min(1),
      resource: z.strictObject({ kind: z.string().min(1), value: z.string().min(1) }).optional(),
    }),
  }),
  z.strictObject({ ...subjectSchema, component: z.strictObject({ name: z.string().min(1), action: z.string().min(1), resource: z.string().min(1) }) }),
])

const componentDefinitionsSchema = z.array(
  z.strictObject({
    name: z.string().min(1),
    actions: z.array(z.string().min(1)).min(1),
    resourceKind: z.string().min(1),
    clients: z.array(z.string().min(1)).optional(),
    componentValue: z.string().min(1).optional(),
    attribute: z.string().min(1).optional(),
    grammar: z.enum(['strict', 'lenient']).optional(),
  }),
)

const environmentPageSchema = z.looseObject({
  data: z.array(z.looseObject({ name: z.string(), namespace: z.looseObject({ name: z.string() }) })),
})

/** Reads custom component definitions (JSON: an array of `defineComponent()` options). */
export async function loadComponents(file: string): Promise<Component[]> {
  let json: unknown
  try {
    json = JSON.parse(await readFile(file, 'utf8'))
  } catch (err) {
    throw new InvalidInputError('component definitions', '', `cannot read ${file}: ${(err as Error).message}`, { cause: err })
  }
  const parsed = componentDefinitionsSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new InvalidInputError('component definitions', issue.path.join('.'), issue.message)
  }
  return parsed.data.map((def) => defineComponent(def as Parameters<typeof defineComponent>[0]))
}

/** The outcome of a check: the decision, its trace on one line, and (allowed) each path that grants it. */
export interface CheckOutcome {
  readonly decision: Decision
  readonly chain: string
  readonly chains: readonly Chain[]
}

/**
 * Reads JupyterHub custom scope definitions (JSON: `{ "custom:…": { "description": …, "subscopes"?: [...] } }`)
 * and builds the scope options; JupyterHub's own messages on invalid definitions.
 */
export async function loadJupyterHubOptions(file: string | undefined, version: 5 | 6 | undefined): Promise<ScopeOptions> {
  const base: ScopeOptions = version !== undefined ? { jupyterhubVersion: version } : {}
  if (file === undefined) return base
  let json: unknown
  try {
    json = JSON.parse(await readFile(file, 'utf8'))
  } catch (err) {
    throw new InvalidInputError('custom scope definitions', '', `cannot read ${file}: ${(err as Error).message}`, { cause: err })
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new InvalidInputError('custom scope definitions', '', 'expected an object of { "custom:name": { "description": … } }')
  }
  return { ...base, customScopes: defineCustomScopes(json as never, base) }
}

/** The engine's configuration. */
export interface EngineOptions {
  readonly source: CliSource
  readonly components?: readonly Component[]
  readonly environments?: EnvironmentSourceSpec
  /** JupyterHub version and custom scopes (`--jupyterhub-version`, `--custom-scopes FILE`). */
  readonly jupyterhub?: ScopeOptions
}

/** Answers every CLI and HTTP question from one source. */
export class Engine {
  readonly #source: CliSource
  readonly #components: ReadonlyMap<string, Component>
  readonly #environments: EnvironmentSourceSpec | undefined
  readonly #policies: Record<'workspaces' | 'stac', RoutePolicy>
  readonly #hub: ScopeOptions
  #environmentList: Promise<CondaStoreEnvironment[]> | undefined
  #environmentListAt = 0

  constructor(options: EngineOptions) {
    this.#source = options.source
    this.#components = new Map((options.components ?? []).map((c) => [c.name, c]))
    this.#environments = options.environments
    this.#policies = { workspaces: workspaceApiPolicy(), stac: stacPolicy() }
    this.#hub = options.jupyterhub ?? {}
  }

  /** The source's description, e.g. `bundled example realm`. */
  get description(): string {
    return this.#source.description
  }

  /** Every user of a realm export (a live source cannot list users cheaply: usage error). */
  usernames(): string[] {
    const exported = this.#source.realmExport
    if (!exported) throw new UsageError('--all-users needs a realm export (--realm FILE or the bundled realm)')
    return exported.usernames()
  }

  /** Stops the source's background work (admin-event watcher, Redis connection). */
  async close(): Promise<void> {
    await this.#source.close?.()
  }

  /** Resolves a user through the shared (cached) source. */
  principal(user: string): Promise<Principal> {
    return this.#source.source.resolve(user)
  }

  /** Every component's view of one principal. */
  components(principal: Principal): { components: Record<string, unknown>; diagnostics: Diagnostic[] } {
    const diagnostics: Diagnostic[] = [...principal.diagnostics]
    const conda = condaStorePermissionsFor(principal)
    diagnostics.push(...conda.diagnostics)
    const hub = jupyterhubPrincipal(principal, this.#hub)
    diagnostics.push(...hub.diagnostics)
    const shared = sharedDirectories(principal)
    diagnostics.push(...shared.diagnostics)
    const workspaces = this.#policies.workspaces.filter(Object.keys(principal.clientRoles), principal, (client) => ({
      method: 'GET',
      path: `/workspaces/${encodeURIComponent(client)}`,
    }))
    const components: Record<string, unknown> = {
      'conda-store': {
        permissions: conda.toPermissionResponse(),
        readablePatterns: conda.bindings.filter((b) => permissionsForRoles(b.roles).includes('environment::read')).map((b) => b.arn),
      },
      jupyterhub: {
        loginRejected: hub.loginRejected,
        roles: Object.fromEntries(Object.entries(hub.roleScopes).map(([name, scopes]) => [name, [...scopes]])),
        scopes: [...hub.scopes.scopes].sort(),
      },
      'shared-directory': { mounts: shared.mounts.map((m) => m.mountPath) },
      'jupyterlab-profiles': { profiles: profileSlugs(principal) },
      workspaces: { workspaces: workspaces },
    }
    for (const component of this.#components.values()) {
      const { grants, diagnostics: found } = component.grants(principal)
      diagnostics.push(...found)
      components[component.name] = { grants: grants.map((g) => ({ action: g.action, pattern: g.pattern, role: formatRole(g.role), item: g.item })) }
    }
    return { components, diagnostics }
  }

  /** `resolve --json` / `GET /v1/users/{user}/principal`. */
  async resolveJson(user: string) {
    const principal = await this.principal(user)
    const { components, diagnostics } = this.components(principal)
    return principalJson(principal, components, diagnostics)
  }

  /** The environments a user may use (readable by default, `listed` for conda-store's listing). */
  async environments(user: string, options: { listed?: boolean } = {}) {
    const principal = await this.principal(user)
    const permissions = condaStorePermissionsFor(principal)
    if (this.#environments === undefined) {
      return { principal, permissions, environments: undefined }
    }
    const list = await this.#loadEnvironments()
    const environments = permissions.explainEnvironments(list, { visibility: options.listed ? 'listed' : 'readable' })
    return { principal, permissions, environments }
  }

  /** `envs --json` / `GET /v1/users/{user}/environments`. */
  async environmentsJson(user: string, options: { listed?: boolean } = {}) {
    const { principal, permissions, environments } = await this.environments(user, options)
    const ctx = chainContext(principal)
    if (environments === undefined) {
      const visibility = options.listed ? 'listed' : 'readable'
      const patterns = permissions.bindings
        .filter((b) => options.listed || permissionsForRoles(b.roles).includes('environment::read'))
        .map((b) => {
          const chains = condaStoreBindingChains(ctx, b)
          return { pattern: b.arn, roles: [...b.roles], reason: reasonOf(chains), chains: chainsJson(chains) }
        })
      return { user: principal.username, visibility, environments: null, namespacePatterns: patterns, diagnostics: permissions.diagnostics }
    }
    return {
      user: principal.username,
      visibility: options.listed ? 'listed' : 'readable',
      environments: environments.map((e) => {
        const chains = extendChains(
          e.bindings.flatMap((b) => condaStoreBindingChains(ctx, b)),
          { kind: 'resource', label: `${e.namespace}/${e.name}` },
        )
        return { namespace: e.namespace, name: e.name, reason: reasonOf(chains), chains: chainsJson(chains), bindings: e.bindings.map((b) => b.arn) }
      }),
      diagnostics: permissions.diagnostics,
    }
  }

  /** Runs one check. Throws only for usage errors (unknown component, invalid scope, bad input). */
  async check(request: CheckRequest, resolved?: Principal): Promise<CheckOutcome> {
    const principal = resolved ?? (await this.principal(request.user))
    if ('route' in request) {
      const kind = request.route.policy ?? (request.route.path.startsWith('/stac') ? 'stac' : 'workspaces')
      const method = request.route.method.toUpperCase()
      const decision = this.#policies[kind].check({ method, path: request.route.path }, principal)
      return { decision, chain: explainRoute(decision), chains: decisionChains(principal, decision, { component: kind, resource: `${method} ${request.route.path}` }) }
    }
    if ('condaStore' in request) {
      const permissions = condaStorePermissionsFor(principal)
      const decision = permissions.explain(request.condaStore.permission as CondaStorePermission, request.condaStore.resource)
      return { decision, chain: chainOf(decision), chains: decisionChains(principal, decision, { component: 'conda-store', resource: request.condaStore.resource }) }
    }
    if ('jupyterhub' in request) return this.#checkJupyterHub(principal, request.jupyterhub)
    const component = this.#components.get(request.component.name)
    if (!component) {
      const known = [...this.#components.keys()]
      throw new UsageError(`unknown component ${JSON.stringify(request.component.name)}${known.length ? ` (known: ${known.join(', ')})` : ' (load definitions with --components FILE)'}`)
    }
    if (!component.actions.includes(request.component.action)) {
      throw new UsageError(`component ${component.name} has no action ${JSON.stringify(request.component.action)} (actions: ${component.actions.join(', ')})`)
    }
    const decision = component.check(principal, request.component.action, request.component.resource)
    return { decision, chain: component.explain(decision), chains: decisionChains(principal, decision, { component: component.name, resource: request.component.resource }) }
  }

  /** `POST /v1/check`: validates the body, then {@link Engine.check}. */
  async checkJson(body: unknown) {
    const parsed = checkSchema.safeParse(body)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      throw new InvalidInputError('check request', issue.path.join('.'), `${issue.message} (expected { user, route | condaStore | jupyterhub | component })`)
    }
    const { user, token, ...kind } = parsed.data as { user?: string; token?: string }
    if ((user === undefined) === (token === undefined)) {
      throw new InvalidInputError('check request', '', 'give exactly one of user (a username) or token (a bearer access token)')
    }
    if (token !== undefined) {
      const tokens = this.#source.tokens
      if (!tokens) throw new InvalidInputError('check request', 'token', 'token checks need a live Keycloak and the audience to require (serve --keycloak URL … --token-audience CLIENT)')
      let principal: Principal
      try {
        principal = await tokens.resolve(token)
      } catch (err) {
        // A rejected token is a denial with its reason, like the middleware's 401.
        if (err instanceof TokenRejectedError) return decisionJson(deny(err.reason, [{ kind: 'token', label: err.detail }]), `token rejected (${err.reason})`)
        throw err
      }
      const { decision, chain, chains } = await this.check({ ...kind, user: principal.username } as CheckRequest, principal)
      return decisionJson(decision, chain, chains)
    }
    const { decision, chain, chains } = await this.check(parsed.data as CheckRequest)
    return decisionJson(decision, chain, chains)
  }

  /** Every diagnostic for every role attribute the source can see. */
  async lint(): Promise<Diagnostic[]> {
    const roles = await this.#roles()
    const diagnostics: Diagnostic[] = [...lintCondaStoreRoles(roles), ...lintJupyterHubRoles(roles, this.#hub)]
    for (const component of this.#components.values()) diagnostics.push(...component.lint(roles))
    return diagnostics
  }

  async #roles(): Promise<RoleWithAttributes[]> {
    const exported = this.#source.realmExport
    if (exported) return exported.roles().filter((r) => Object.keys(r.attributes).length > 0)
    const catalogue = this.#source.catalogue
    if (!catalogue) throw new UsageError('lint needs a realm export or a live Keycloak with a role catalogue')
    const out: RoleWithAttributes[] = []
    for (const client of this.#source.clients ?? []) {
      const roles = await catalogue.clientRoles(client)
      for (const [name, attributes] of roles ?? []) if (Object.keys(attributes).length > 0) out.push({ client, name, attributes })
    }
    return out
  }

  #checkJupyterHub(principal: Principal, request: { scope: string; resource?: { kind: string; value: string } }): CheckOutcome {
    try {
      validateScopes([request.scope], this.#hub)
    } catch (err) {
      throw new UsageError((err as Error).message)
    }
    const kinds: Record<string, string> = { user: 'user', server: 'server', group: 'group', service: 'service' }
    let scope = request.scope
    if (request.resource) {
      if (!Object.hasOwn(kinds, request.resource.kind)) throw new UsageError(`--resource kind must be one of user, server, group, service (got ${request.resource.kind})`)
      if (scope.includes('!')) throw new UsageError('give either a filtered scope or --resource, not both')
      scope = `${scope}!${request.resource.kind}=${request.resource.value}`
    }
    const hub = jupyterhubPrincipal(principal, this.#hub)
    const source = this.#source.realmExport
    const groupsOf = (username: string): string[] => {
      if (!source) return []
      try {
        return [...source.resolveSync(username).groups]
      } catch {
        return []
      }
    }
    const held = hasScope(scope as ExpandedScope, hub.scopes, { groupsOf })
    const trace: TraceStep[] = [{ kind: 'user', label: principal.username }]
    if (hub.loginRejected) trace.push({ kind: 'note', label: 'JupyterHub login rejected under Nebari rules: no scopes' })
    const granting = Object.entries(hub.roleScopes)
      .filter(([, scopes]) => scopes.length > 0 && hasScope(scope as ExpandedScope, expandScopes([...scopes], { owner: { kind: 'user', name: principal.username } }, this.#hub), { groupsOf }))
      .map(([name]) => name)
    for (const name of granting) trace.push({ kind: 'role', label: name, data: { scopes: hub.roleScopes[name] } })
    trace.push({ kind: 'resource', label: scope })
    const decision = held ? allow('SCOPE_HELD', trace, { grant: { roles: granting } }) : deny('SCOPE_NOT_HELD', trace)
    const chains = decisionChains(principal, decision, { component: 'jupyterhub', resource: scope, jupyterhub: { ...this.#hub, groupsOf } })
    return { decision, chain: chainOf(decision), chains }
  }

  #loadEnvironments(): Promise<CondaStoreEnvironment[]> {
    // A file is read once; a conda-store list is refreshed after a minute. A failed load is not kept,
    // so one outage does not fail every later request.
    const now = Date.now()
    if (this.#environmentList !== undefined && 'url' in this.#environments! && now - this.#environmentListAt > ENVIRONMENT_LIST_TTL_MS) {
      this.#environmentList = undefined
    }
    if (this.#environmentList === undefined) this.#environmentListAt = now
    this.#environmentList ??= (async () => {
      const spec = this.#environments!
      if ('file' in spec) {
        let json: unknown
        try {
          json = JSON.parse(await readFile(spec.file, 'utf8'))
        } catch (err) {
          throw new InvalidInputError('environment list', '', `cannot read ${spec.file}: ${(err as Error).message}`, { cause: err })
        }
        const page = environmentPageSchema.safeParse(json)
        if (!page.success) {
          const issue = page.error.issues[0]!
          throw new InvalidInputError('environment list (a conda-store GET /api/v1/environment/ page)', issue.path.join('.'), issue.message)
        }
        return page.data.data as unknown as CondaStoreEnvironment[]
      }
      const client = new CondaStoreClient({ baseUrl: spec.url, token: spec.token })
      return client.listEnvironments()
    })()
    const pending = this.#environmentList
    pending.catch(() => {
      if (this.#environmentList === pending) this.#environmentList = undefined
    })
    return pending
  }
}

/** Why a binding applies, each path without the user and the resource, `; `-separated: `/analyst → conda_store/conda_store_developer → … → analyst/*: developer`. */
function reasonOf(chains: readonly Chain[]): string {
  return chains.map((c) => chainLine(c.filter((s) => s.kind !== 'user' && s.kind !== 'resource'))).join('; ')
}

/** The chain of a decision's trace on one line: `alice → /analyst → … → resource (allowed: REASON)`. */
export function chainOf(decision: Decision): string {
  const steps = decision.trace.map((s) => s.label)
  return `${steps.join(' → ')} (${decision.allowed ? 'allowed' : 'denied'}: ${decision.reason})`
}

/** The JSON of a decision (`check --json`, `POST /v1/check`): `{ allowed, reason, trace, chains, … }`. */
export function decisionJson(decision: Decision, chain: string, chains: readonly Chain[] = []) {
  return {
    allowed: decision.allowed,
    reason: decision.reason,
    ...(decision.rule !== undefined ? { rule: decision.rule } : {}),
    ...(decision.grant !== undefined ? { grant: decision.grant } : {}),
    trace: decision.trace,
    chain,
    // Each separate path that grants it (empty for a denial): the chain model `explain` draws.
    chains: chainsJson(chains),
    ...(decision.diagnostics ? { diagnostics: decision.diagnostics } : {}),
  }
}

/** The JSON shape of `resolve --json` (CLI contract): `{ user, groups, clients, components, diagnostics }`. */
export function principalJson(principal: Principal, components: Record<string, unknown>, diagnostics: readonly Diagnostic[]) {
  const roleJson = (r: EffectiveRole, client?: string) => ({
    name: r.name,
    attributes: { ...r.attributes },
    via: r.via,
    chains: chainsJson(roleChains(principal, client === undefined ? { name: r.name } : { client, name: r.name })),
  })
  const clients: Record<string, ReturnType<typeof roleJson>[]> = {}
  for (const [client, roles] of Object.entries(principal.clientRoles)) clients[client] = roles.map((r) => roleJson(r, client))
  return {
    user: principal.username,
    userId: principal.userId ?? null,
    realm: principal.realm,
    groups: principal.groups,
    realmRoles: principal.realmRoles.map((r) => roleJson(r)),
    clients,
    components,
    diagnostics,
    // How old the answer is and where it came from (the tier: memory, shared or source).
    origin: { ...principal.origin, ageMs: Math.max(0, Date.now() - principal.origin.resolvedAt) },
  }
}

export { diagnostic }
