/**
 * The effective settings of a command: the defaults, then the configuration file (`--config FILE`, or
 * `keycloak-permissions.config.json` in the working directory), then the flags — each later layer
 * winning per setting, each setting remembering where it came from (`--print-config`). The client
 * secret only ever comes from `KEYCLOAK_CLIENT_SECRET` and is never printed.
 */
import { readTextFile } from '../core/read-text-file.js'
import type { RegistrySettings } from '../components/index.js'
import { InvalidInputError, InvalidOptionsError, KeycloakPermissionsError } from '../core/errors.js'
import {
  CONFIG_DEFAULTS,
  ConfigInvalidError,
  layerConfig,
  loadConfig,
  registrySettingsOf,
  type EffectiveConfig,
  type KeycloakPermissionsConfig,
  type SettingOrigin,
} from '../config/index.js'
import { createRegistry, registrySettingsSchema } from '../components/index.js'
import { UsageError } from './errors.js'
import { createOutput } from './output.js'

/** The flags that feed the configuration layers (every command has them; `serve` adds host and port). */
export interface SettingsFlags {
  config?: string
  printConfig?: boolean
  json?: boolean
  realm?: string
  keycloak?: string
  realmName?: string
  clientId?: string
  redis?: string
  watchAdminEvents?: boolean
  liveRoles?: boolean
  tokenAudience?: string
  tokenIssuer?: string
  components?: string
  customScopes?: string
  jupyterhubVersion?: string
  includeDisabled?: boolean
  preset?: string
  stacPrefix?: string
  workspaceClients?: string
  port?: string
  host?: string
}

/** A command's effective settings: the layered configuration with origins, the file read, and the registry settings. */
export interface CommandSettings {
  readonly effective: EffectiveConfig
  readonly config: KeycloakPermissionsConfig
  readonly file: string | undefined
  readonly registry: RegistrySettings
}

const componentDefinitionsSchema = registrySettingsSchema.shape.components.unwrap()

async function readJson(file: string, what: string): Promise<unknown> {
  try {
    return JSON.parse(await readTextFile(file))
  } catch (err) {
    throw new InvalidInputError(what, '', `cannot read ${file}: ${(err as Error).message}`, { cause: err })
  }
}

/** Reads custom component definitions (`--components FILE`: a JSON array of `defineComponent()` options). */
export async function loadComponentDefinitions(file: string): Promise<NonNullable<RegistrySettings['components']>> {
  const json = await readJson(file, 'component definitions')
  const parsed = componentDefinitionsSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new InvalidInputError('component definitions', issue.path.join('.'), issue.message)
  }
  return parsed.data
}

/** Reads JupyterHub custom scope definitions (`--custom-scopes FILE`); the registry validates them with JupyterHub's messages. */
export async function loadCustomScopes(file: string): Promise<Record<string, { description: string; subscopes?: string[] }>> {
  const json = await readJson(file, 'custom scope definitions')
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new InvalidInputError('custom scope definitions', '', 'expected an object of { "custom:name": { "description": … } }')
  }
  for (const name of Object.keys(json)) {
    // JupyterHub names every custom scope custom:… (docs/semantics/jupyterhub.md §14)
    if (!name.startsWith('custom:')) throw new InvalidInputError('custom scope definitions', name, `custom scopes must start with custom: (got ${JSON.stringify(name)})`)
  }
  return json as Record<string, { description: string; subscopes?: string[] }>
}

/** The flag each setting path comes from (for origins and messages). */
const FLAG_OF: Readonly<Record<string, string>> = {
  'source.realmFile': '--realm',
  'source.keycloak.url': '--keycloak',
  'source.keycloak.realm': '--realm-name',
  'source.keycloak.clientId': '--client-id',
  'source.keycloak.tokenAudience': '--token-audience',
  'source.keycloak.tokenIssuer': '--token-issuer',
  'components.preset': '--preset',
  'components.custom': '--components',
  'components.jupyterhub.customScopes': '--custom-scopes',
  'components.jupyterhub.version': '--jupyterhub-version',
  'components.workspaces.clients': '--workspace-clients',
  'components.workspaces.stacPrefix': '--stac-prefix',
  'freshness.redis': '--redis',
  'freshness.watchAdminEvents': '--watch-admin-events',
  'freshness.liveRoles': '--live-roles',
  'serve.host': '--host',
  'serve.port': '--port',
}

/** The configuration the flags give (files they name are read: a broken one fails before any connection). */
async function flagLayer(flags: SettingsFlags, fileSource: KeycloakPermissionsConfig['source']): Promise<KeycloakPermissionsConfig> {
  if (flags.realm !== undefined && flags.keycloak !== undefined) throw new UsageError('use either --realm FILE or --keycloak URL, not both')
  const keycloakFlags = { realmName: flags.realmName, clientId: flags.clientId, tokenAudience: flags.tokenAudience, tokenIssuer: flags.tokenIssuer }
  const givesKeycloak = Object.values(keycloakFlags).some((v) => v !== undefined)
  // A Keycloak setting without --keycloak layers over the file's Keycloak source, and needs one.
  const fileIsKeycloak = fileSource !== undefined && 'keycloak' in fileSource
  if (flags.keycloak !== undefined && !fileIsKeycloak) {
    if (!flags.realmName) throw new UsageError('--keycloak needs --realm-name NAME')
    if (!flags.clientId) throw new UsageError('--keycloak needs --client-id ID')
  }
  if (flags.keycloak === undefined && givesKeycloak && (!fileIsKeycloak || flags.realm !== undefined)) {
    if (flags.tokenAudience !== undefined || flags.tokenIssuer !== undefined) {
      throw new UsageError('--redis, --watch-admin-events, --live-roles and --token-audience need a live Keycloak (--keycloak URL)')
    }
    throw new UsageError('--realm-name and --client-id need --keycloak URL')
  }
  if (flags.jupyterhubVersion !== undefined && flags.jupyterhubVersion !== '5' && flags.jupyterhubVersion !== '6') {
    throw new UsageError(`--jupyterhub-version must be 5 or 6, got ${flags.jupyterhubVersion}`)
  }
  if (flags.preset !== undefined && flags.preset !== 'nebari' && flags.preset !== 'jupyterhub') {
    throw new UsageError(`--preset must be nebari or jupyterhub, got ${flags.preset}`)
  }
  let port: number | undefined
  if (flags.port !== undefined) {
    if (!/^\d+$/.test(flags.port)) throw new UsageError('--port must be a whole number')
    if (Number(flags.port) > 65_535) throw new UsageError('--port must be between 0 and 65535')
    port = Number(flags.port)
  }
  if (flags.host !== undefined && flags.host === '') throw new UsageError('--host must not be empty')
  const keycloak = {
    ...(flags.keycloak !== undefined ? { url: flags.keycloak } : {}),
    ...(flags.realmName !== undefined ? { realm: flags.realmName } : {}),
    ...(flags.clientId !== undefined ? { clientId: flags.clientId } : {}),
    ...(flags.tokenAudience !== undefined ? { tokenAudience: flags.tokenAudience } : {}),
    ...(flags.tokenIssuer !== undefined ? { tokenIssuer: flags.tokenIssuer } : {}),
  }
  const jupyterhub = {
    ...(flags.jupyterhubVersion !== undefined ? { version: flags.jupyterhubVersion === '6' ? (6 as const) : (5 as const) } : {}),
    ...(flags.customScopes !== undefined ? { customScopes: await loadCustomScopes(flags.customScopes) } : {}),
  }
  const workspaces = {
    ...(flags.workspaceClients !== undefined ? { clients: splitList(flags.workspaceClients, '--workspace-clients') } : {}),
    ...(flags.stacPrefix !== undefined ? { stacPrefix: flags.stacPrefix } : {}),
  }
  const components = {
    ...(flags.preset !== undefined ? { preset: flags.preset as 'nebari' | 'jupyterhub' } : {}),
    ...(Object.keys(jupyterhub).length > 0 ? { jupyterhub } : {}),
    ...(Object.keys(workspaces).length > 0 ? { workspaces } : {}),
    ...(flags.components !== undefined ? { custom: await loadComponentDefinitions(flags.components) } : {}),
  }
  const freshness = {
    ...(flags.redis !== undefined ? { redis: flags.redis } : {}),
    ...(flags.watchAdminEvents === true ? { watchAdminEvents: true } : {}),
    ...(flags.liveRoles === true ? { liveRoles: true } : {}),
  }
  const serve = { ...(flags.host !== undefined ? { host: flags.host } : {}), ...(port !== undefined ? { port } : {}) }
  const source =
    flags.realm !== undefined ? { realmFile: flags.realm } : Object.keys(keycloak).length > 0 ? ({ keycloak } as { keycloak: { url: string; realm: string; clientId: string } }) : undefined
  return {
    ...(source !== undefined ? { source } : {}),
    ...(Object.keys(components).length > 0 ? { components } : {}),
    ...(Object.keys(freshness).length > 0 ? { freshness } : {}),
    ...(Object.keys(serve).length > 0 ? { serve } : {}),
  }
}

function splitList(list: string, flag: string): string[] {
  const items = list.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (items.length === 0) throw new UsageError(`${flag} takes a comma-separated list`)
  return items
}

/**
 * Layers the defaults, the configuration file and the flags. An explicit `--config FILE` that cannot
 * be read, or any file that does not validate, is `CONFIG_INVALID` (exit 2) naming the JSON path.
 */
export async function commandSettings(flags: SettingsFlags, options: { readonly cwd?: string } = {}): Promise<CommandSettings> {
  const loaded = await loadConfig({ ...(flags.config !== undefined ? { file: flags.config } : {}), ...(options.cwd !== undefined ? { cwd: options.cwd } : {}) })
  const fromFlags = await flagLayer(flags, loaded.config.source)
  const effective = layerConfig([
    { config: CONFIG_DEFAULTS, origin: { kind: 'default' } },
    ...(loaded.file !== undefined ? [{ config: loaded.config, origin: { kind: 'file' as const, file: loaded.file } }] : []),
    { config: fromFlags, origin: (path: string) => ({ kind: 'flag' as const, flag: FLAG_OF[path] ?? path }) },
  ])
  const config = effective.config
  const live = config.source !== undefined && 'keycloak' in config.source
  // Freshness flags only make sense live; the file's are ignored for a realm export (they configure `serve`).
  if (!live) {
    const freshFlags = Object.entries(effective.origins).filter(([path, o]) => path.startsWith('freshness.') && o.kind === 'flag')
    if (freshFlags.length > 0) throw new UsageError('--redis, --watch-admin-events, --live-roles and --token-audience need a live Keycloak (--keycloak URL)')
  }
  const registry: RegistrySettings = { ...registrySettingsOf(config), ...(flags.includeDisabled === true ? { allowDisabledUsers: true } : {}) }
  checkRegistrySettings(registry, effective, loaded.file)
  return { effective, config, file: loaded.file, registry }
}

/**
 * Builds the registry once to refuse what only it can judge (a custom scope JupyterHub would reject, a
 * component name used twice, a STAC prefix that is not a plain path) before any source is opened. A
 * refusal of a setting the file gave is the file's `CONFIG_INVALID`, at the setting's path there.
 */
function checkRegistrySettings(registry: RegistrySettings, effective: EffectiveConfig, file: string | undefined): void {
  try {
    createRegistry(registry)
  } catch (err) {
    if (!(err instanceof KeycloakPermissionsError) || err instanceof UsageError) throw err
    const path = configPathOf(err)
    const origin = effective.origins[path] ?? Object.entries(effective.origins).find(([p]) => p.startsWith(`${path}.`) || path.startsWith(`${p}.`))?.[1]
    if (file === undefined || origin?.kind !== 'file') throw err
    throw new ConfigInvalidError(file, path, err.message.replace(/^Invalid option \S+: /, ''), { cause: err })
  }
}

/** The configuration path of a registry refusal (registry option paths differ from the file's). */
function configPathOf(err: KeycloakPermissionsError): string {
  const option = err instanceof InvalidOptionsError ? err.option : ''
  if (option.startsWith('components.')) return `components.custom.${option.slice('components.'.length)}`
  if (option === 'prefix' || option.startsWith('stac.')) return 'components.workspaces.stacPrefix'
  if (option.startsWith('jupyterhub.')) return `components.${option}`
  if (err.code.startsWith('JUPYTERHUB_')) return 'components.jupyterhub.customScopes'
  return 'components'
}

function originLabel(origin: SettingOrigin): string {
  switch (origin.kind) {
    case 'default':
      return 'default'
    case 'file':
      return `file ${origin.file}`
    case 'flag':
      return `flag ${origin.flag}`
    case 'environment':
      return `environment ${origin.variable}`
  }
}

/** Every leaf setting as `[path, value]`, in the configuration's order. */
function leaves(value: unknown, prefix: string, origins: Readonly<Record<string, SettingOrigin>>, out: [string, unknown][]): [string, unknown][] {
  if (prefix !== '' && Object.hasOwn(origins, prefix)) {
    out.push([prefix, value])
    return out
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, v] of Object.entries(value)) leaves(v, prefix === '' ? key : `${prefix}.${key}`, origins, out)
  } else if (prefix !== '') out.push([prefix, value])
  return out
}

/**
 * `--print-config`: every effective setting with its origin (default, the file, a flag, the
 * environment), and what the registry derives from them (the preset's groups). The client secret is
 * shown as set or not, never its value.
 */
export function printConfig(settings: CommandSettings, json: boolean, env: Readonly<Record<string, string | undefined>> = process.env): void {
  const { config, origins } = settings.effective
  const live = config.source !== undefined && 'keycloak' in config.source
  const environment: Record<string, { set: boolean; origin: SettingOrigin }> = {}
  if (live) environment['source.keycloak.clientSecret'] = { set: Boolean(env['KEYCLOAK_CLIENT_SECRET']), origin: { kind: 'environment', variable: 'KEYCLOAK_CLIENT_SECRET' } }
  environment['serve.callerToken'] = { set: Boolean(env['KEYCLOAK_PERMISSIONS_CALLER_TOKEN']), origin: { kind: 'environment', variable: 'KEYCLOAK_PERMISSIONS_CALLER_TOKEN' } }
  const jupyterhub = settings.registry.jupyterhub ?? {}
  const presetOrigin = origins['components.preset'] ?? { kind: 'default' }
  const derived = {
    'jupyterhub.allowedGroups': {
      value: jupyterhub.allowedGroups === undefined ? 'Nebari allowed_groups (/analyst, /developer, /admin, jupyterhub_admin, jupyterhub_developer)' : jupyterhub.allowedGroups === null ? 'every user' : jupyterhub.allowedGroups,
      origin: origins['components.jupyterhub.allowedGroups'] ?? presetOrigin,
    },
    'jupyterhub.adminGroups': {
      value: jupyterhub.adminGroups === undefined ? 'Nebari admin_groups (/admin, jupyterhub_admin)' : jupyterhub.adminGroups,
      origin: origins['components.jupyterhub.adminGroups'] ?? presetOrigin,
    },
  }
  const out = createOutput(json)
  if (out.json) {
    out.printJson({
      file: settings.file ?? null,
      source: config.source ?? { bundledExample: true },
      config,
      origins: { ...(config.source === undefined ? { source: { kind: 'default' } } : {}), ...origins },
      environment,
      registry: settings.registry,
      derived,
    })
    return
  }
  const rows: [string, string, string][] = []
  if (config.source === undefined) rows.push(['source', 'bundled example realm', 'default'])
  for (const [path, value] of leaves(config, '', origins, [])) {
    if (path === '$schema') continue
    rows.push([path, JSON.stringify(value), originLabel(origins[path] ?? { kind: 'default' })])
  }
  for (const [path, e] of Object.entries(environment)) rows.push([path, e.set ? '(set, not shown)' : '(not set)', originLabel(e.origin)])
  for (const [path, d] of Object.entries(derived)) rows.push([`→ ${path}`, typeof d.value === 'string' ? d.value : JSON.stringify(d.value), originLabel(d.origin)])
  const width = Math.max(...rows.map(([p]) => p.length))
  const valueWidth = Math.min(60, Math.max(...rows.map(([, v]) => v.length)))
  out.print(`configuration file: ${settings.file ?? '(none)'}`)
  for (const [path, value, origin] of rows) out.print(`  ${path.padEnd(width)}  ${value.padEnd(valueWidth)}  ← ${origin}`)
}
