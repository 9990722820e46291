/**
 * Conformance adapters for the JupyterHub kinds (docs/semantics/jupyterhub.md §18) and Nebari's JupyterHub-side kinds
 * (docs/semantics/nebari.md §12: jh_scope_from_role, jh_update_auth_model, nebari_profiles), through the public API.
 *
 * Version rule (README "How to run a vector" rule 3): jupyterhub.jsonl was computed on 6.0.0b2, so
 * `expected` is checked with `jupyterhubVersion: 6` and `ours ?? expected` with the default (5.x);
 * the Nebari kinds were computed on 5.3.0 and run with the default only.
 */
import type { EffectiveRole, Principal } from '../../../src/core/principal.js'
import {
  EmptyFilterValueError,
  ScopeNotFoundError,
  CustomScopeInvalidError,
  TokenScopesExceedOwnerError,
  checkScopeFilter,
  checkTokenScopes,
  defineCustomScopes,
  entityScopes,
  expandScopes,
  groupsFromMembership,
  hasScope,
  hubCheckScopes,
  intersectScopes,
  jupyterhubRoles,
  needsScope,
  parseScopes,
  roleNameError,
  scopeError,
  scopesFromRoleAttributes,
  sharedDirectories,
  tokenScopes,
  visibleProfiles,
  type JupyterHubVersion,
  type ScopeName,
  type ScopeResource,
} from '../../../src/jupyterhub/index.js'
import { mismatch, same } from '../compare.js'
import { asUpstreamError, compareUpstreamError } from './upstream-errors.js'
import type { AdapterTable, Vector, VectorOutcome } from '../types.js'

type Mode = 'default' | 'compat'
type Run = (version: JupyterHubVersion, mode: Mode) => unknown

const sorted = (list: readonly string[]) => [...list].sort()

/** jupyterhub.jsonl: expected under 6 (compat when the vector says so), ours ?? expected under the default 5. */
function versioned(vector: Vector, run: Run, options: { hasCompat?: boolean } = {}): VectorOutcome {
  const failures: string[] = []
  const check = (label: string, fn: () => unknown, expected: unknown) => {
    const msg = outcome(fn, expected)
    if (msg !== undefined) failures.push(`${label}: ${msg}`)
  }
  check('jupyterhubVersion 6', () => run(6, vector.mode === 'compat' ? 'compat' : 'default'), vector.expected)
  // Rule 1: without `mode`, the compat option must give `expected` too.
  if (options.hasCompat && vector.mode === undefined) check('jupyterhubVersion 6, compat', () => run(6, 'compat'), vector.expected)
  check('default (5.x)', () => run(5, 'default'), vector.ours !== undefined ? vector.ours : vector.expected)
  return { failures }
}

/** Nebari kinds: computed on 5.3.0, run with the default version only. `informational` fields are not compared. */
function defaultOnly(vector: Vector, run: () => unknown, informational: readonly string[] = []): VectorOutcome {
  let expected = vector.expected
  if (informational.length > 0 && expected && typeof expected === 'object' && !Array.isArray(expected)) {
    expected = Object.fromEntries(Object.entries(expected).filter(([k]) => !informational.includes(k)))
  }
  const msg = outcome(run, expected)
  return { failures: msg === undefined ? [] : [`default: ${msg}`] }
}

/**
 * Runs one side: a value is compared with `expected`; a thrown typed error is compared with the
 * upstream exception in `expected` by kind and message (rule 4), whichever adapter raised it.
 */
function outcome(fn: () => unknown, expected: unknown): string | undefined {
  let actual: unknown
  try {
    actual = fn()
  } catch (err) {
    const upstream = asUpstreamError(err)
    if (!upstream) return `threw ${(err as Error)?.stack ?? String(err)}`
    return compareUpstreamError(upstream, expected)
  }
  return same(actual, expected) ? undefined : mismatch('result', actual, expected)
}

function owner(o: any): { kind: 'user' | 'service'; name: string } | undefined {
  return o ? { kind: o.kind, name: o.name } : undefined
}

function expansionContext(input: any) {
  const o = owner(input.owner ?? input.have_owner)
  return { ...(o ? { owner: o } : {}), ...(input.oauth_client ? { oauthClient: input.oauth_client } : {}) }
}

const membership = (input: any) => (input.group_membership ? { groupsOf: groupsFromMembership(input.group_membership) } : {})

function principalOf(fields: {
  username: string
  groups: readonly string[]
  clientRoles?: Record<string, EffectiveRole[]>
  realmRoles?: EffectiveRole[]
  claims?: Record<string, unknown>
}): Principal {
  return {
    realm: 'vectors',
    userId: undefined,
    username: fields.username,
    groups: [...fields.groups],
    realmRoles: fields.realmRoles ?? [],
    clientRoles: fields.clientRoles ?? {},
    complete: { groups: true, realmRoles: true, attributes: true, provenance: false },
    origin: { kind: 'token', resolvedAt: 0, cached: false, stale: false },
    ...(fields.claims ? { token: { issuer: 'vectors', audience: [], scope: [], expiresAt: 0, claims: fields.claims } } : {}),
    diagnostics: [],
  }
}

export const jupyterhubAdapters: AdapterTable = {
  expand: (vector) =>
    versioned(vector, (version) => {
      const input = vector.input
      const expectError = vector.expected.scopes && !Array.isArray(vector.expected.scopes)
      try {
        const result = expandScopes(input.scopes, expansionContext(input), { jupyterhubVersion: version })
        const warnings = result.diagnostics.map((d) => d.message).sort()
        return warnings.length > 0 ? { scopes: [...result.scopes], warnings } : { scopes: [...result.scopes] }
      } catch (err) {
        if (!expectError || !(err instanceof EmptyFilterValueError)) throw err
        const prefix: string = vector.expected.scopes.message_prefix
        return { scopes: { error: 'ValueError', message_prefix: err.message.startsWith(prefix) ? prefix : err.message } }
      }
    }),

  check_exists: (vector) =>
    versioned(vector, (version) => {
      for (const scope of vector.input.scopes as string[]) {
        const options = vector.input.who_for ? { jupyterhubVersion: version, whoFor: vector.input.who_for } : { jupyterhubVersion: version }
        const error = scopeError(scope, options)
        if (error) {
          if (!(error instanceof ScopeNotFoundError) || error.code !== 'JUPYTERHUB_SCOPE_NOT_FOUND') return { unexpected: error }
          return { ok: false, error: 'ScopeNotFound', message: error.message, is_KeyError: true }
        }
      }
      return { ok: true }
    }),

  parse: (vector) =>
    versioned(vector, () => {
      try {
        const parsed = parseScopes(vector.input.scopes)
        const out: Record<string, unknown> = {}
        for (const [base, filters] of parsed) {
          out[base] = filters === 'ALL' ? 'ALL' : Object.fromEntries([...filters].map(([k, v]) => [k, sorted([...v])]))
        }
        return { parsed: out }
      } catch (err) {
        if (!(err instanceof EmptyFilterValueError)) throw err
        return { error: 'ValueError', message: err.message }
      }
    }),

  has_scope: (vector) =>
    versioned(vector, (version) => {
      const input = vector.input
      const held = expandScopes(input.have, expansionContext(input), { jupyterhubVersion: version })
      const options = { ...membership(input), ...(input.post_filter ? { postFilter: true } : {}) }
      return { allowed: hasScope(input.scope, held, options) }
    }),

  check_scope_filter: (vector) =>
    versioned(vector, (version, mode) => {
      const input = vector.input
      const held = expandScopes(input.have, {}, { jupyterhubVersion: version })
      const r = input.resource
      const resource: ScopeResource =
        r.kind === 'server'
          ? { kind: 'server', name: r.name, ...(r.owner_groups ? { ownerGroups: r.owner_groups } : {}) }
          : r.kind === 'user'
            ? { kind: 'user', name: r.name, ...(r.groups ? { groups: r.groups } : {}) }
            : { kind: r.kind, name: r.name }
      return { allowed: checkScopeFilter(held, input.scope, resource, { compat: mode === 'compat' }) }
    }, { hasCompat: true }),

  intersect: (vector) =>
    versioned(vector, () => {
      const result = intersectScopes(vector.input.a, vector.input.b, membership(vector.input))
      const warns = result.diagnostics.some((d) => d.code === 'JUPYTERHUB_INTERSECTION_NEEDS_GROUPS')
      return warns ? { scopes: [...result.scopes], warns } : { scopes: [...result.scopes] }
    }),

  entity_scopes: (vector) =>
    versioned(vector, (version) => {
      const input = vector.input
      const result = entityScopes(
        {
          kind: input.entity.kind,
          name: input.entity.name,
          roleScopes: input.role_scopes,
          ...(input.groups ? { groups: input.groups } : {}),
          ...(input.group_role_scopes ? { groupRoleScopes: input.group_role_scopes } : {}),
        },
        { jupyterhubVersion: version },
      )
      return { scopes: [...result.scopes] }
    }),

  token_scopes: (vector) =>
    versioned(vector, (version) => {
      const input = vector.input
      const result = tokenScopes(
        {
          owner: { kind: input.owner.kind, name: input.owner.name, roleScopes: input.owner.role_scopes },
          scopes: input.token_scopes,
          ...(input.oauth_client ? { oauthClient: input.oauth_client } : {}),
          ...membership(input),
        },
        { jupyterhubVersion: version },
      )
      return { scopes: sorted(result.scopes) }
    }),

  check_token_scopes: (vector) =>
    versioned(vector, (version) => {
      const input = vector.input
      try {
        checkTokenScopes(
          { owner: { kind: input.owner.kind, name: input.owner.name, roleScopes: input.owner.role_scopes }, scopes: input.requested },
          { jupyterhubVersion: version },
        )
        return { ok: true }
      } catch (err) {
        if (!(err instanceof TokenScopesExceedOwnerError)) throw err
        const template: string = vector.expected.message_template ?? ''
        const rendered = template.replace("{','.join(excess)}", err.excess.join(','))
        return {
          ok: false,
          error: 'ValueError',
          excess_scopes: [...err.excess],
          message_template: rendered === err.message ? template : err.message,
        }
      }
    }),

  needs_scope: (vector) =>
    versioned(vector, (version) => {
      const input = vector.input
      const guard = needsScope(input.required_any_of as ScopeName[], { jupyterhubVersion: version, ...(input.post_filter ? { postFilter: true } : {}) })
      const a = input.handler_args ?? {}
      const args = {
        ...(a.user_name !== undefined ? { user: a.user_name } : {}),
        ...(a.server_name !== undefined ? { server: a.server_name ?? '' } : {}), // null = the default server
        ...(a.group_name !== undefined ? { group: a.group_name } : {}),
        ...(a.service_name !== undefined ? { service: a.service_name } : {}),
      }
      const decision = guard.check(expandScopes(input.have, {}, { jupyterhubVersion: version }), args, membership(input))
      if (decision.allowed !== (decision.status === 200)) return { inconsistent: decision }
      return decision.message === undefined ? { status: decision.status } : { status: decision.status, message: decision.message }
    }),

  hub_check_scopes: (vector) =>
    versioned(vector, () => {
      const decision = hubCheckScopes(vector.input.required, vector.input.user_model_scopes)
      return { matched: [...decision.matched], allowed: decision.allowed }
    }),

  nebari_attribute: (vector) =>
    versioned(vector, (version) => {
      const result = scopesFromRoleAttributes({ component: ['jupyterhub'], scopes: [vector.input.scopes_attribute] }, { jupyterhubVersion: version })
      const logged = result.diagnostics.filter((d) => d.code === 'JUPYTERHUB_ROLE_SCOPES_REJECTED').map((d) => d.details?.['nebariLog'])
      return logged.length > 0 ? { scopes: [...result.scopes], logged_error: logged[0] } : { scopes: [...result.scopes] }
    }),

  define_custom_scopes: (vector) =>
    versioned(vector, (version) => {
      try {
        defineCustomScopes(vector.input.definitions, { jupyterhubVersion: version })
        return { ok: true }
      } catch (err) {
        if (!(err instanceof CustomScopeInvalidError)) throw err
        return { ok: false, error: 'ValueError', message: err.message }
      }
    }),

  role_name: (vector) =>
    versioned(vector, () => {
      const error = roleNameError(vector.input.name)
      return error ? { valid: false, error: 'InvalidNameError', message: error.message } : { valid: true }
    }),

  jh_scope_from_role: (vector) =>
    defaultOnly(vector, () => {
      const result = scopesFromRoleAttributes(vector.input.role_attributes)
      return {
        scopes: [...result.scopes],
        errors_logged: result.diagnostics.filter((d) => d.details?.['nebariLog'] !== undefined).map((d) => d.details!['nebariLog']),
      }
    }),

  jh_update_auth_model: (vector) =>
    defaultOnly(vector, () => {
      const input = vector.input
      const user = input.auth_model.auth_state.oauth_user
      const jhRoles: EffectiveRole[] = input.jupyterhub_client_roles_effective.map((r: any) => ({
        client: 'jupyterhub',
        name: r.name,
        attributes: r.attributes ?? {},
        via: [],
      }))
      const jhNames = new Set(jhRoles.map((r) => r.name))
      const claimRoles: string[] = Array.isArray(user.roles) ? user.roles : []
      const principal = principalOf({
        username: input.auth_model.name,
        groups: user.groups ?? [],
        clientRoles: jhRoles.length > 0 ? { jupyterhub: jhRoles } : {},
        realmRoles: claimRoles.filter((n) => !jhNames.has(n)).map((name) => ({ name, attributes: {}, via: [] })),
        claims: user,
      })
      const model = jupyterhubRoles(principal, { admin: input.admin ?? input.auth_model.admin, allowed: input.allowed ?? true })
      const mounts = sharedDirectories(principal, { groupsHoldingRole: input.groups_holding_role })
      const roles = [...model.roles]
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((r) => ({ name: r.name, ...(r.source === 'default' ? {} : { scopes: [...(r.scopes ?? [])] }), _jupyterhub_name_valid: r.nameError ?? true }))
      const logged = model.diagnostics.filter((d) => d.details?.['nebariLog'] !== undefined).map((d) => d.details!['nebariLog'])
      const ok = model.loginRejected === model.roles.some((r) => r.nameError !== undefined)
      return {
        roles,
        groups_with_permission_to_mount: [...mounts.groups],
        errors_logged: logged,
        ...(ok ? {} : { loginRejectedMismatch: model.loginRejected }),
      }
    }, ['http_calls']),

  nebari_profiles: (vector) =>
    defaultOnly(vector, () => {
      const state = vector.input.auth_state
      const user = state.oauth_user
      const principal = principalOf({ username: user.preferred_username, groups: user.groups, claims: user })
      const result = visibleProfiles(principal, vector.input.profiles, {
        flavour: 'classic',
        sharedMountGroups: state.groups_with_permission_to_mount,
      })
      return result.profiles.map((p) => ({
        display_name: p.profile.display_name,
        shared_mounts: [...p.sharedMounts],
        conda_store_mounts: [...p.condaStoreMounts],
      }))
    }),
}
