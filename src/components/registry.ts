/**
 * The component registry: the built-in components (conda-store, JupyterHub, shared directories,
 * JupyterLab profiles, workspaces and STAC) and custom ones from `defineComponent()` behind one
 * interface — resolve a principal's grants, check, explain, lint, list resources — with their
 * settings validated once. The CLI, `serve` and the access review loop over it; a disabled account is
 * denied here, once, for every component.
 *
 * @module
 */
import * as z from 'zod'
import type { Decision, TraceStep } from '../core/decision.js'
import { deny } from '../core/decision.js'
import { diagnostic, type Diagnostic } from '../core/diagnostics.js'
import { InvalidOptionsError, UnknownNameError, UserNotFoundError } from '../core/errors.js'
import type { Principal, RoleAttributes, RoleRef } from '../core/principal.js'
// Not the conda-store index: it carries the REST client too (see builtins.ts).
import { listingBindings } from '../conda-store/listing.js'
import type { CondaStorePermissions, EffectiveBinding, EnvironmentAccess, EnvironmentLike } from '../conda-store/permission-set.js'
import {
  createCollaborationAuthorizer,
  defineCustomScopes,
  DEFAULT_COLLABORATION_SCOPES,
  JUPYTER_SERVER_ACTIONS,
  jupyterhubPrincipal,
  type CollaborationAuthorizer,
  type JupyterServerAction,
  type NebariJupyterHubOptions,
} from '../jupyterhub/index.js'
import type { RoutePolicy } from '../workspaces/index.js'
import { builtInComponents, customComponent, jupyterhubOptions, routePoliciesFor, type BuiltInSettings } from './builtins.js'
import type { Component } from './define.js'
import { defineComponent } from './define.js'

/**
 * One check put to a component: the `action` (a conda-store permission, a JupyterHub scope, an HTTP
 * method, a custom component's action) and the `resource` (an environment or namespace, a JupyterHub
 * `KIND=VALUE` filter, a request path, a custom resource). `policy` (workspaces only) forces the rule
 * set instead of routing by the configured STAC prefix.
 *
 * @example
 * ```ts
 * import type { ComponentCheck } from 'keycloak-permissions/components'
 * const conda: ComponentCheck = { action: 'environment::read', resource: 'ml/torch' }
 * const hub: ComponentCheck = { action: 'shares', resource: 'server=alice/' }
 * const route: ComponentCheck = { action: 'GET', resource: '/workspaces/ws-alpha/files' }
 * ```
 */
export interface ComponentCheck {
  readonly action: string
  readonly resource?: string | undefined
  readonly policy?: 'workspaces' | 'stac' | undefined
}

/**
 * What a component's check may read beyond the principal: the groups of other users (JupyterHub
 * `!group=` filters on `user=`/`server=`), fetched by the registry before the check.
 *
 * @example
 * ```ts
 * import type { CheckContext } from 'keycloak-permissions/components'
 * const context: CheckContext = { groupsOf: (user) => (user === 'carol' ? ['/analyst'] : []) }
 * ```
 */
export interface CheckContext {
  /** The current groups of another user (JupyterHub's database); absent: group filters grant no other user. */
  readonly groupsOf?: (username: string) => Iterable<string>
}

/**
 * One path by which a resource is granted: the steps before the role (`lead`), the role (the review
 * expands it into user → group → composite → role from the principal's provenance), and the steps
 * after it (`tail`: attribute item → grant → resource). A path through no role has no `role`.
 * `through` names a group the path reads the role through (a Nebari group rule): only the role's
 * chains through that group count, and when there is none the group leads.
 *
 * @example
 * ```ts
 * import type { GrantPath } from 'keycloak-permissions/components'
 * const p: GrantPath = { role: { client: 'conda_store', name: 'ml-team-scopes' }, tail: [{ kind: 'item', label: 'admin!namespace=ml' }, { kind: 'grant', label: 'ml/*: admin' }] }
 * ```
 */
export interface GrantPath {
  readonly lead?: readonly TraceStep[]
  readonly role?: RoleRef
  readonly through?: string
  readonly tail: readonly TraceStep[]
}

/**
 * One resource a principal holds through a component, at a level, with every path that grants it.
 * `column` is the review column when it is not the component's name (conda-store lists readable
 * environments under `conda-store-environments`); `highlight` flags admin-level and unfiltered-sharing
 * JupyterHub scopes.
 *
 * @example
 * ```ts
 * import type { ResourceGrant } from 'keycloak-permissions/components'
 * const g: ResourceGrant = { kind: 'workspace', resource: 'ws-alpha', level: 'ws_access', paths: [{ role: { client: 'ws-alpha', name: 'ws_access' }, tail: [] }] }
 * ```
 */
export interface ResourceGrant {
  readonly column?: string
  readonly kind: string
  readonly resource: string
  readonly level: string
  readonly paths: readonly GrantPath[]
  readonly highlight?: 'admin' | 'unfiltered-share'
}

/**
 * What listing resources may read besides the principal: conda-store's environment list.
 *
 * @example
 * ```ts
 * import type { ResourceContext } from 'keycloak-permissions/components'
 * const context: ResourceContext = { environments: [{ namespace: 'ml', name: 'torch' }] }
 * ```
 */
export interface ResourceContext {
  readonly environments?: readonly EnvironmentLike[]
}

/**
 * A role as lint reads it: its reference and attributes (`RealmExportSource.roles()` gives these).
 *
 * @example
 * ```ts
 * import type { LintableRole } from 'keycloak-permissions/components'
 * const r: LintableRole = { client: 'conda_store', name: 'ml-team-scopes', attributes: { component: ['conda-store'], scopes: ['admin!namespace=ml'] } }
 * ```
 */
export interface LintableRole extends RoleRef {
  readonly attributes: RoleAttributes
}

/**
 * The one interface of every component in a registry, built-in or custom.
 *
 * - `validate` refuses a request naming an unknown action (`UnknownNameError`) or missing its
 *   resource, and names the users whose groups the check needs;
 * - `resolve` is the component's view of a principal (what `resolve --json` prints);
 * - `check` decides (never throws for a denial); `explain` renders a decision's chain on one line;
 * - `lint` reports every malformed attribute of a role catalogue;
 * - `resources` lists every resource the principal holds, with the paths granting it (the review).
 *
 * @example
 * ```ts
 * import { createRegistry } from 'keycloak-permissions/components'
 * const conda = createRegistry().get('conda-store')
 * const d = conda.check(principal, conda.validate({ action: 'environment::read', resource: 'ml/torch' }).request, {})
 * conda.explain(d) // 'bob → /projects/ml → conda_store/ml-team-scopes → admin!namespace=ml → ml/*: admin → ml/torch (allowed: BINDING_GRANTS)'
 * ```
 */
export interface RegistryComponent {
  readonly name: string
  /** The kind of resource it grants (`namespace`, `scope`, `directory`, `profile`, `workspace`, a custom kind). */
  readonly resourceKind: string
  /** The valid actions, when they are a closed list (JupyterHub scopes depend on the settings: see `validate`). */
  readonly actions: readonly string[]
  /**
   * Refuses a request naming an unknown action (`UnknownNameError`) or missing its resource; returns
   * the request as `check` takes it (e.g. the method upper-cased, the scope filtered) and the users
   * whose groups the check needs.
   */
  validate(request: ComponentCheck): { readonly request: ComponentCheck; readonly targets: readonly string[] }
  /** The component's view of a principal, with the diagnostics found (what `resolve --json` prints). */
  resolve(principal: Principal): { readonly view: unknown; readonly diagnostics: readonly Diagnostic[] }
  /** Decides a validated request; never throws for a denial. */
  check(principal: Principal, request: ComponentCheck, context: CheckContext): Decision
  /** A decision's chain on one line: `user → … → resource (allowed: REASON)`. */
  explain(decision: Decision): string
  /** The diagnostics of every role of a catalogue this component reads. */
  lint(roles: readonly LintableRole[]): Diagnostic[]
  /** Every resource the principal holds through this component, with the paths granting it. */
  resources(principal: Principal, context: ResourceContext): { readonly grants: readonly ResourceGrant[]; readonly diagnostics: readonly Diagnostic[] }
}

const nameList = z.array(z.string().min(1))

/**
 * The plain, JSON-shaped settings of a registry (a configuration file maps onto it), validated with
 * zod: conda-store (Nebari grammar, client, namespaces), JupyterHub (version, custom scopes, Nebari
 * allowed and admin groups — `allowedGroups: null` lets every user log in), the workspace API rule
 * (`workspaces.clients`: segment globs of the client ids that are workspaces), the STAC rules
 * (prefix…), custom component definitions, and whether disabled accounts are let through.
 *
 * @example
 * ```ts
 * import { registrySettingsSchema } from 'keycloak-permissions/components'
 * registrySettingsSchema.parse({ jupyterhub: { version: 6, allowedGroups: ['/staff'] }, stac: { prefix: '/catalogue' } })
 * registrySettingsSchema.parse({ jupyterhub: { allowedGroups: null, adminGroups: [] }, workspaces: { clients: ['ws-*'] } })
 * ```
 */
export const registrySettingsSchema = z.strictObject({
  condaStore: z
    .strictObject({
      grammar: z.enum(['nebari', 'lenient']).optional(),
      clientId: z.string().min(1).optional(),
      defaultNamespace: z.string().min(1).optional(),
      globalNamespace: z.string().min(1).optional(),
    })
    .optional(),
  jupyterhub: z
    .strictObject({
      version: z.union([z.literal(5), z.literal(6)]).optional(),
      customScopes: z.record(z.string(), z.looseObject({ description: z.string().optional(), subscopes: z.array(z.string()).optional() })).optional(),
      grammar: z.enum(['nebari', 'lenient']).optional(),
      clientId: z.string().min(1).optional(),
      // null: every user may log in (a plain JupyterHub + Keycloak deployment, preset `jupyterhub`).
      allowedGroups: nameList.nullable().optional(),
      adminGroups: nameList.optional(),
      // Shared servers: which scope lets a collaborator do what (createCollaborationAuthorizer's options).
      collaboration: z
        .strictObject({
          mapping: z
            .record(z.string(), z.array(z.strictObject({ actions: z.union([z.literal('*'), z.array(z.string())]), resources: z.union([z.literal('*'), z.array(z.string())]) })))
            .optional(),
          access: z.enum(['mapped', 'full']).optional(),
          extraResources: nameList.optional(),
        })
        .optional(),
    })
    .optional(),
  workspaces: z
    .strictObject({
      // Segment globs of the client ids that are workspaces (default: every client not reserved).
      clients: nameList.optional(),
      platformClient: z.string().min(1).optional(),
      platformAdminRole: z.string().min(1).optional(),
      workspaceRoles: nameList.min(1).optional(),
      reservedClientIds: nameList.optional(),
    })
    .optional(),
  stac: z
    .strictObject({
      prefix: z.string().min(1).optional(),
      editorClients: nameList.min(1).optional(),
      editorRole: z.string().min(1).optional(),
      anchorOnAzp: z.boolean().optional(),
      privateCollectionPrefixes: nameList.optional(),
    })
    .optional(),
  components: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        actions: nameList.min(1),
        resourceKind: z.string().min(1),
        clients: nameList.min(1).optional(),
        componentValue: z.string().min(1).optional(),
        attribute: z.string().min(1).optional(),
        grammar: z.enum(['strict', 'lenient']).optional(),
      }),
    )
    .optional(),
  allowDisabledUsers: z.boolean().optional(),
})

/**
 * The settings of {@link createRegistry} (see {@link registrySettingsSchema}).
 *
 * @example
 * ```ts
 * import type { RegistrySettings } from 'keycloak-permissions/components'
 * const s: RegistrySettings = { jupyterhub: { allowedGroups: ['/staff'], adminGroups: ['/admin'] }, allowDisabledUsers: false }
 * ```
 */
export type RegistrySettings = z.input<typeof registrySettingsSchema>

/**
 * What a registry takes besides plain settings: components built in code (`defineComponent()`
 * results, with custom parsers or matchers), the lookup of another user's groups (JupyterHub group
 * filters), and a replacement workspace rule set.
 *
 * @example
 * ```ts
 * import type { RegistryExtensions } from 'keycloak-permissions/components'
 * const e: RegistryExtensions = { groupsOf: async (user) => (await source.resolve(user)).groups }
 * ```
 */
export interface RegistryExtensions {
  readonly components?: readonly Component[]
  /** Another user's current groups; a user the source does not know (`UserNotFoundError`) has none. */
  readonly groupsOf?: (username: string) => Iterable<string> | Promise<Iterable<string>>
  /** Replaces the workspace API rule (`workspaceApiPolicy()` built from the settings). */
  readonly workspacePolicy?: RoutePolicy
}

/**
 * A check put to the registry: the component's name and its {@link ComponentCheck}.
 *
 * @example
 * ```ts
 * import type { RegistryCheck } from 'keycloak-permissions/components'
 * const c: RegistryCheck = { component: 'conda-store', action: 'environment::read', resource: 'ml/torch' }
 * ```
 */
export interface RegistryCheck extends ComponentCheck {
  readonly component: string
}

/**
 * A registry check's outcome: the component, the request as decided, the decision, and its chain on
 * one line.
 *
 * @example
 * ```ts
 * import type { CheckOutcome } from 'keycloak-permissions/components'
 * const line = (o: CheckOutcome) => `${o.component}: ${o.chain}`
 * ```
 */
export interface CheckOutcome {
  readonly component: string
  /** The request as the component decided it (method upper-cased, JupyterHub scope with its filter). */
  readonly request: ComponentCheck
  readonly decision: Decision
  readonly chain: string
  /** The other users' groups the check read (JupyterHub group filters), when it read any. */
  readonly groupsOf?: (username: string) => Iterable<string>
}

/**
 * The route rule sets of a registry (see {@link ComponentRegistry.routes}).
 *
 * @example
 * ```ts
 * import { createRegistry } from 'keycloak-permissions/components'
 * const { routes } = createRegistry({ stac: { prefix: '/catalogue' }, workspaces: { clients: ['ws-*'] } })
 * routes.policyFor('/catalogue/collections/c1').name // 'stac'
 * // The middleware picks the rule set per request path, as `check --route` and serve do:
 * app.use(keycloakMiddleware({ policy: routes, authenticate }))
 * ```
 */
export interface RegistryRoutes {
  /** The workspace API rule, restricted to the configured workspace clients. */
  readonly workspaces: RoutePolicy
  /** The STAC rules under the configured prefix, restricted to the configured workspace clients. */
  readonly stac: RoutePolicy
  /** The STAC rules for a path under the STAC prefix (whole segments), the workspace API rule otherwise. */
  policyFor(path: string): RoutePolicy
}

/**
 * The reason every check of a disabled account carries (unless `allowDisabledUsers`).
 *
 * @example
 * ```ts
 * import { USER_DISABLED } from 'keycloak-permissions/components'
 * const denied = (reason: string) => reason === USER_DISABLED
 * ```
 */
export const USER_DISABLED = 'USER_DISABLED'

/**
 * The registry: every component, and the operations the CLI, `serve` and the review loop over.
 *
 * @example
 * ```ts
 * import { createRegistry } from 'keycloak-permissions/components'
 * const registry = createRegistry({ stac: { prefix: '/catalogue' } })
 * registry.names() // ['conda-store', 'jupyterhub', 'shared-directory', 'jupyterlab-profiles', 'workspaces']
 * ```
 */
export interface ComponentRegistry {
  /** The validated settings. */
  readonly settings: Readonly<z.output<typeof registrySettingsSchema>>
  /** The options the JupyterHub components use (version, custom scopes, allowed and admin groups), for direct calls into `keycloak-permissions/jupyterhub`. */
  readonly jupyterhub: NebariJupyterHubOptions
  /** Every component, built-ins first, in display order. */
  readonly components: readonly RegistryComponent[]
  /**
   * The route rule sets under these settings (`serve` forward auth, middleware): the workspace API
   * rule (restricted to the configured workspace clients), the STAC rules (under the configured
   * prefix), and `policyFor(path)`, which picks between them by the STAC prefix as `check --route` does.
   */
  readonly routes: RegistryRoutes
  /** The component names, in order. */
  names(): string[]
  /** One component; throws `UnknownNameError` (with the valid names) for an unknown name. */
  get(name: string): RegistryComponent
  /** Whether checks deny the principal with `USER_DISABLED` (disabled account, not opted out). */
  isDenied(principal: Principal): boolean
  /** Every component's view of the principal (`resolve`); empty views for a denied disabled account. */
  resolve(principal: Principal): { components: Record<string, unknown>; diagnostics: Diagnostic[]; disabled: boolean }
  /** One check: validates the names (usage errors throw), denies a disabled account, fetches target groups, decides. */
  check(principal: Principal, request: RegistryCheck): Promise<CheckOutcome>
  /**
   * A jupyter-server check on a shared server (`owner/name`): may the principal do `action`
   * (`read|write|execute`) on `resource` there? Decided by the collaboration authorizer of
   * `keycloak-permissions/jupyterhub` with `settings.jupyterhub.collaboration` (default mapping:
   * `custom:rtc:read|write|execute`) over the principal's JupyterHub scopes; an unknown action or
   * resource throws `UnknownNameError` with the valid names; a disabled account is denied.
   */
  collaboration(principal: Principal, request: { readonly server: string; readonly action: string; readonly resource: string }): Promise<CheckOutcome>
  /** Every lint diagnostic of a role catalogue, over every component. */
  lint(roles: readonly LintableRole[]): Diagnostic[]
  /** Every resource the principal holds in every component (none for a denied disabled account). */
  resources(principal: Principal, context?: ResourceContext): { grants: (ResourceGrant & { readonly component: string })[]; diagnostics: Diagnostic[]; disabled: boolean }
  /** conda-store's permission set of the principal under the registry's settings. */
  condaStore(principal: Principal): CondaStorePermissions
  /**
   * The environments the principal may use (`readable`, or `listed`), each with its decision, and the
   * namespace bindings behind the answer; nothing for a denied disabled account.
   */
  environments(
    principal: Principal,
    list: readonly EnvironmentLike[] | undefined,
    options?: { readonly visibility?: 'readable' | 'listed' },
  ): { permissions: CondaStorePermissions; environments: EnvironmentAccess<EnvironmentLike>[] | undefined; bindings: EffectiveBinding[]; disabled: boolean }
}

function validateSettings(settings: unknown): z.output<typeof registrySettingsSchema> {
  const parsed = registrySettingsSchema.safeParse(settings ?? {})
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new InvalidOptionsError(issue.path.join('.') || 'settings', issue.message)
  }
  return parsed.data
}

function disabledDiagnostic(principal: Principal): Diagnostic {
  return diagnostic('warning', USER_DISABLED, `${principal.username} is disabled in Keycloak: every check denies it (USER_DISABLED)`, { user: principal.username }, {
    fix: 'enable the account in Keycloak, or opt out explicitly (allowDisabledUsers: true, CLI --include-disabled)',
  })
}

/**
 * Builds a registry from plain settings (validated eagerly: `InvalidOptionsError` naming the field)
 * and optional extensions. Custom components come from `settings.components` (definitions) and
 * `extensions.components` (built in code); a name may be used once, built-ins included.
 *
 * @example
 * ```ts
 * import { createRegistry } from 'keycloak-permissions/components'
 * import { RealmExportSource } from 'keycloak-permissions/keycloak'
 * const source = RealmExportSource.example()
 * const registry = createRegistry(
 *   { jupyterhub: { version: 5 }, components: [{ name: 'binderhub', actions: ['build'], resourceKind: 'repo' }] },
 *   { groupsOf: (user) => source.resolveSync(user).groups },
 * )
 * const { decision, chain } = await registry.check(source.resolveSync('bob'), { component: 'conda-store', action: 'environment::read', resource: 'ml/torch' })
 * decision.reason // 'BINDING_GRANTS'
 * await registry.check(source.resolveSync('bob'), { component: 'conda-store', action: 'environment::reed', resource: 'ml/torch' })
 * // throws UnknownNameError: unknown conda-store permission "environment::reed" (valid: build::cancel, …)
 * ```
 */
export function createRegistry(settings: RegistrySettings = {}, extensions: RegistryExtensions = {}): ComponentRegistry {
  const valid = validateSettings(settings)
  if (extensions === null || typeof extensions !== 'object') throw new InvalidOptionsError('extensions', 'expected an object')
  if (extensions.groupsOf !== undefined && typeof extensions.groupsOf !== 'function') throw new InvalidOptionsError('extensions.groupsOf', 'expected a function')
  if (extensions.workspacePolicy !== undefined && typeof extensions.workspacePolicy?.check !== 'function') {
    throw new InvalidOptionsError('extensions.workspacePolicy', 'must be a RoutePolicy (workspaceApiPolicy(), routeTable())')
  }
  const routes = routePoliciesFor(valid as BuiltInSettings, extensions.workspacePolicy)
  const builtIns = builtInComponents(valid as BuiltInSettings, extensions.workspacePolicy, routes)
  const custom: { component: Component; option: string }[] = []
  ;(valid.components ?? []).forEach((definition, i) => custom.push({ component: defineComponent(definition as Parameters<typeof defineComponent>[0]), option: `components.${i}` }))
  if (extensions.components !== undefined) {
    if (!Array.isArray(extensions.components)) throw new InvalidOptionsError('extensions.components', 'must be an array of defineComponent() results')
    extensions.components.forEach((c, i) => {
      if (c === null || typeof c !== 'object' || typeof c.grants !== 'function' || typeof c.check !== 'function' || typeof c.name !== 'string') {
        throw new InvalidOptionsError(`extensions.components.${i}`, 'must be a defineComponent() result')
      }
      custom.push({ component: c, option: `extensions.components.${i}` })
    })
  }
  // `conda-store-environments` is a review column of conda-store: reserved too.
  const names = new Set<string>([...builtIns.map((c) => c.name), 'conda-store-environments'])
  for (const { component, option } of custom) {
    if (names.has(component.name)) throw new InvalidOptionsError(`${option}.name`, `duplicate component name ${JSON.stringify(component.name)}`)
    names.add(component.name)
  }
  const components: readonly RegistryComponent[] = Object.freeze([...builtIns, ...custom.map((c) => customComponent(c.component))])
  const byName = new Map(components.map((c) => [c.name, c]))
  const conda = builtIns.find((c) => c.name === 'conda-store')! as ReturnType<typeof builtInComponents>[number] & { permissions(p: Principal): CondaStorePermissions }
  const allowDisabled = valid.allowDisabledUsers === true

  const isDenied = (principal: Principal) => principal.enabled === false && !allowDisabled

  function get(name: string): RegistryComponent {
    const found = byName.get(name)
    if (!found) throw new UnknownNameError('component', name, [...byName.keys()])
    return found
  }

  async function targetGroups(targets: readonly string[]): Promise<CheckContext> {
    const lookup = extensions.groupsOf
    if (lookup === undefined || targets.length === 0) return {}
    const known = new Map<string, string[]>()
    for (const user of new Set(targets)) {
      try {
        known.set(user, [...(await lookup(user))])
      } catch (err) {
        // JupyterHub has no such user: it belongs to no group. Any other failure is not an answer.
        if (!(err instanceof UserNotFoundError)) throw err
        known.set(user, [])
      }
    }
    return { groupsOf: (user) => known.get(user) ?? [] }
  }

  // The collaboration authorizer: built eagerly when configured (a bad mapping fails here), else on first use.
  const hubOptions = jupyterhubOptions(valid as BuiltInSettings)
  const makeAuthorizer = (): CollaborationAuthorizer => {
    const c = valid.jupyterhub?.collaboration ?? {}
    const customScopes = hubOptions.customScopes ?? defineCustomScopes(DEFAULT_COLLABORATION_SCOPES, valid.jupyterhub?.version !== undefined ? { jupyterhubVersion: valid.jupyterhub.version } : {})
    return createCollaborationAuthorizer({
      customScopes,
      ...(c.mapping !== undefined ? { mapping: c.mapping as never } : {}),
      ...(c.access !== undefined ? { access: c.access } : {}),
      ...(c.extraResources !== undefined ? { extraResources: c.extraResources } : {}),
      ...(valid.jupyterhub?.version !== undefined ? { jupyterhubVersion: valid.jupyterhub.version } : {}),
    })
  }
  let authorizer = valid.jupyterhub?.collaboration !== undefined ? makeAuthorizer() : undefined

  const registry: ComponentRegistry = {
    settings: valid,
    jupyterhub: hubOptions,
    components,
    routes: Object.freeze({ workspaces: routes.workspaces, stac: routes.stac, policyFor: routes.policyFor }),
    names: () => [...byName.keys()],
    get,
    isDenied,
    resolve(principal) {
      const diagnostics: Diagnostic[] = [...principal.diagnostics]
      if (isDenied(principal)) return { components: {}, diagnostics: [...diagnostics, disabledDiagnostic(principal)], disabled: true }
      const out: Record<string, unknown> = {}
      for (const component of components) {
        const { view, diagnostics: found } = component.resolve(principal)
        out[component.name] = view
        diagnostics.push(...found)
      }
      return { components: out, diagnostics, disabled: principal.enabled === false }
    },
    async check(principal, request) {
      if (request === null || typeof request !== 'object') throw new InvalidOptionsError('request', 'expected { component, action, resource? }')
      const component = get(request.component)
      // Names first: a typo is a usage error whoever is asking, even a disabled account.
      const { request: checked, targets } = component.validate(request)
      if (isDenied(principal)) {
        const trace: TraceStep[] = [
          { kind: 'user', label: principal.username },
          { kind: 'note', label: 'account disabled in Keycloak: every check denies' },
        ]
        const decision = deny(USER_DISABLED, trace)
        return { component: component.name, request: checked, decision, chain: `${principal.username} (denied: ${USER_DISABLED})` }
      }
      const context = await targetGroups(targets)
      const decision = component.check(principal, checked, context)
      return { component: component.name, request: checked, decision, chain: component.explain(decision), ...(context.groupsOf ? { groupsOf: context.groupsOf } : {}) }
    },
    async collaboration(principal, request) {
      if (request === null || typeof request !== 'object') throw new InvalidOptionsError('request', 'expected { server, action, resource }')
      authorizer ??= makeAuthorizer()
      const { server, action, resource } = request
      if (!(JUPYTER_SERVER_ACTIONS as readonly string[]).includes(action)) throw new UnknownNameError('jupyter-server action', action, JUPYTER_SERVER_ACTIONS)
      if (!authorizer.resources.includes(resource)) throw new UnknownNameError('jupyter-server resource', resource, authorizer.resources)
      const checked = { action, resource: `${resource} on ${server}` }
      const owner = typeof server === 'string' && server.indexOf('/') > 0 ? server.slice(0, server.indexOf('/')) : undefined
      if (isDenied(principal)) {
        const decision = deny(USER_DISABLED, [{ kind: 'user', label: principal.username }, { kind: 'note', label: 'account disabled in Keycloak: every check denies' }])
        return { component: 'jupyterhub', request: checked, decision, chain: `${principal.username} (denied: ${USER_DISABLED})` }
      }
      // The owner's groups: a scope filtered !group=… holds on the servers of that group's members.
      const context = await targetGroups(owner === undefined ? [] : [owner])
      const who = jupyterhubPrincipal(principal, hubOptions)
      const decision = authorizer.authorize(who, server, action as JupyterServerAction, resource, context.groupsOf ? { groupsOf: context.groupsOf } : {})
      const chain = `${decision.trace.map((s) => s.label).join(' → ')} (${decision.allowed ? 'allowed' : 'denied'}: ${decision.reason})`
      return { component: 'jupyterhub', request: checked, decision, chain, ...(context.groupsOf ? { groupsOf: context.groupsOf } : {}) }
    },
    lint(roles) {
      const withAttributes = roles.filter((r) => Object.keys(r.attributes).length > 0)
      const out: Diagnostic[] = []
      for (const component of components) out.push(...component.lint(withAttributes))
      return out
    },
    resources(principal, context = {}) {
      const diagnostics: Diagnostic[] = [...principal.diagnostics]
      if (isDenied(principal)) return { grants: [], diagnostics: [...diagnostics, disabledDiagnostic(principal)], disabled: true }
      const grants: (ResourceGrant & { component: string })[] = []
      for (const component of components) {
        const found = component.resources(principal, context)
        for (const g of found.grants) grants.push({ ...g, component: g.column ?? component.name })
        diagnostics.push(...found.diagnostics)
      }
      return { grants, diagnostics, disabled: principal.enabled === false }
    },
    condaStore: (principal) => conda.permissions(principal),
    environments(principal, list, options = {}) {
      const visibility = options.visibility ?? 'readable'
      const permissions = conda.permissions(principal)
      if (isDenied(principal)) return { permissions, environments: list === undefined ? undefined : [], bindings: [], disabled: true }
      const bindings = listingBindings(permissions, { visibility })
      const environments = list === undefined ? undefined : permissions.explainEnvironments(list, { visibility })
      return { permissions, environments, bindings, disabled: principal.enabled === false }
    },
  }
  return Object.freeze(registry)
}
