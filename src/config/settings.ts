/**
 * From a configuration to what it configures: the defaults every unset setting takes, the component
 * registry's settings (presets, groups, scopes, workspace clients, STAC prefix, custom components),
 * and the live source's cache and freshness options.
 *
 * @module
 */
import type { RegistrySettings } from '../components/index.js'
import type { KeycloakPermissionsConfig } from './schema.js'

/**
 * The settings a command takes when neither the configuration file nor a flag gives them (the lowest
 * layer of `layerConfig`, so `--print-config` shows them as `default`). The source has no default
 * here: without one, commands read the bundled example realm. The preset's groups are not listed:
 * they follow from `components.preset` (see {@link registrySettingsOf}).
 *
 * @example
 * ```ts
 * import { CONFIG_DEFAULTS, layerConfig } from 'keycloak-permissions/config'
 * const { config } = layerConfig([{ config: CONFIG_DEFAULTS, origin: { kind: 'default' } }])
 * config.serve?.port // 8080
 * ```
 */
export const CONFIG_DEFAULTS: KeycloakPermissionsConfig = Object.freeze({
  components: { preset: 'nebari', jupyterhub: { version: 5 }, workspaces: { stacPrefix: '/stac' } },
  cache: { ttlSeconds: 60, maxUsers: 10_000, staleSeconds: 0 },
  freshness: { watchAdminEvents: false, liveRoles: false },
  serve: { host: '127.0.0.1', port: 8080 },
}) as KeycloakPermissionsConfig

/**
 * What each preset sets in the JupyterHub settings before the file's own `allowedGroups` and
 * `adminGroups` (which win): `nebari` keeps Nebari's `allowed_groups` and `admin_groups`
 * (docs/semantics/nebari.md §5); `jupyterhub` is a plain JupyterHub + Keycloak deployment, where every
 * user may log in and nobody is admin by group.
 *
 * @example
 * ```ts
 * import { PRESETS } from 'keycloak-permissions/config'
 * PRESETS.jupyterhub // { allowedGroups: null, adminGroups: [] }
 * ```
 */
export const PRESETS: Readonly<Record<'nebari' | 'jupyterhub', { readonly allowedGroups?: null; readonly adminGroups?: readonly string[] }>> = Object.freeze({
  nebari: Object.freeze({}),
  jupyterhub: Object.freeze({ allowedGroups: null, adminGroups: Object.freeze([]) as readonly string[] }),
})

/**
 * The component registry's settings a configuration describes (for `createRegistry`): the preset's
 * JupyterHub groups overridden by `allowedGroups` / `adminGroups`, the JupyterHub version and custom
 * scopes, `workspaces.clients` (segment globs of the workspace clients), `stacPrefix` (the STAC
 * prefix) and the custom component definitions.
 *
 * @example
 * ```ts
 * import { registrySettingsOf } from 'keycloak-permissions/config'
 * import { createRegistry } from 'keycloak-permissions/components'
 * const registry = createRegistry(registrySettingsOf({ components: { preset: 'jupyterhub', workspaces: { clients: ['ws-*'], stacPrefix: '/catalogue' } } }))
 * registry.settings.jupyterhub?.allowedGroups // null: every user may log in
 * ```
 */
export function registrySettingsOf(config: KeycloakPermissionsConfig): RegistrySettings {
  const c = config.components ?? {}
  const preset = PRESETS[c.preset ?? 'nebari']
  const j = c.jupyterhub ?? {}
  const jupyterhub = {
    ...(preset.allowedGroups !== undefined ? { allowedGroups: preset.allowedGroups } : {}),
    ...(preset.adminGroups !== undefined ? { adminGroups: [...preset.adminGroups] } : {}),
    ...(j.allowedGroups !== undefined ? { allowedGroups: [...j.allowedGroups] } : {}),
    ...(j.adminGroups !== undefined ? { adminGroups: [...j.adminGroups] } : {}),
    ...(j.version !== undefined ? { version: j.version } : {}),
    ...(j.customScopes !== undefined ? { customScopes: j.customScopes } : {}),
    ...(j.collaboration !== undefined ? { collaboration: j.collaboration } : {}),
  }
  const w = c.workspaces ?? {}
  return {
    ...(Object.keys(jupyterhub).length > 0 ? { jupyterhub } : {}),
    ...(w.clients !== undefined ? { workspaces: { clients: [...w.clients] } } : {}),
    ...(w.stacPrefix !== undefined ? { stac: { prefix: w.stacPrefix } } : {}),
    ...(c.custom !== undefined ? { components: c.custom.map((d) => ({ ...d })) } : {}),
  }
}

/**
 * The live source's cache and freshness options a configuration describes, in the units the source
 * takes (milliseconds), with the defaults of {@link CONFIG_DEFAULTS}.
 *
 * @example
 * ```ts
 * import { liveSourceOptionsOf } from 'keycloak-permissions/config'
 * liveSourceOptionsOf({ cache: { ttlSeconds: 30 }, freshness: { watchAdminEvents: true } })
 * // { cache: { ttlMs: 30000, max: 10000, staleMs: 0 }, watchAdminEvents: true, liveRoles: false }
 * ```
 */
export function liveSourceOptionsOf(config: KeycloakPermissionsConfig): {
  readonly cache: { readonly ttlMs: number; readonly max: number; readonly staleMs: number }
  readonly watchAdminEvents: boolean
  readonly liveRoles: boolean
  readonly redis?: string
} {
  const cache = { ...CONFIG_DEFAULTS.cache, ...config.cache }
  const freshness = config.freshness ?? {}
  return {
    cache: { ttlMs: cache.ttlSeconds! * 1000, max: cache.maxUsers!, staleMs: cache.staleSeconds! * 1000 },
    watchAdminEvents: freshness.watchAdminEvents === true,
    liveRoles: freshness.liveRoles === true,
    ...(freshness.redis !== undefined ? { redis: freshness.redis } : {}),
  }
}
