/**
 * Finding, reading and validating the configuration file, and layering it between the defaults and
 * the command-line flags with the origin of every effective setting (`--print-config`).
 *
 * @module
 */
import { readTextFile } from '../core/read-text-file.js'
import { dirname, isAbsolute, resolve } from 'node:path'
import { InvalidInputError } from '../core/errors.js'
import { configSchema, type KeycloakPermissionsConfig } from './schema.js'

/**
 * The file name looked up in the working directory when no `--config FILE` is given.
 *
 * @example
 * ```ts
 * import { CONFIG_FILE_NAME } from 'keycloak-permissions/config'
 * existsSync(CONFIG_FILE_NAME) // keycloak-permissions.config.json
 * ```
 */
export const CONFIG_FILE_NAME = 'keycloak-permissions.config.json'

/**
 * The configuration file cannot be read, is not JSON, or does not match the schema. `path` is the
 * dotted path of the first offending value; `file` the file read.
 *
 * @example
 * ```ts
 * import { ConfigInvalidError, loadConfig } from 'keycloak-permissions/config'
 * try { await loadConfig({ file: 'bad.json' }) } catch (err) {
 *   if (err instanceof ConfigInvalidError) console.error(err.file, err.path, err.message)
 * }
 * ```
 */
export class ConfigInvalidError extends InvalidInputError {
  static override code = 'CONFIG_INVALID'
  override readonly code = ConfigInvalidError.code
  /** The configuration file. */
  readonly file: string

  constructor(file: string, path: string, problem: string, options?: { cause?: unknown }) {
    super(`configuration ${file}`, path, problem, options)
    this.file = file
  }
}

/**
 * A loaded configuration: the validated settings and the file they came from (`undefined` when no
 * file was given and none was found).
 *
 * @example
 * ```ts
 * import type { LoadedConfig } from 'keycloak-permissions/config'
 * const none: LoadedConfig = { config: {}, file: undefined }
 * ```
 */
export interface LoadedConfig {
  readonly config: KeycloakPermissionsConfig
  readonly file: string | undefined
}

/**
 * Reads the configuration: `file` when given (an error when it is missing), otherwise
 * `keycloak-permissions.config.json` in `cwd` when present, otherwise an empty configuration.
 * Relative paths inside the file (`source.realmFile`) are made absolute against the file's folder.
 *
 * @example
 * ```ts
 * import { loadConfig } from 'keycloak-permissions/config'
 * const { config, file } = await loadConfig({ cwd: process.cwd() })
 * console.log(file ?? 'no configuration file', config.components?.preset)
 * ```
 */
export async function loadConfig(options: { readonly file?: string; readonly cwd?: string } = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd()
  const explicit = options.file !== undefined
  const file = resolve(cwd, options.file ?? CONFIG_FILE_NAME)
  let text: string
  try {
    text = await readTextFile(file)
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return { config: {}, file: undefined }
    throw new ConfigInvalidError(file, '', `cannot read it: ${(err as Error).message}`, { cause: err })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ConfigInvalidError(file, '', `not JSON: ${(err as Error).message}`, { cause: err })
  }
  return { config: parseConfig(json, file), file }
}

/**
 * Validates a configuration object (already parsed JSON). `file` names it in errors and anchors
 * relative paths.
 *
 * @example
 * ```ts
 * import { parseConfig } from 'keycloak-permissions/config'
 * parseConfig({ components: { preset: 'nebari' } }, '/etc/kp/config.json')
 * ```
 */
export function parseConfig(json: unknown, file: string): KeycloakPermissionsConfig {
  if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
    const keycloak = (json as { source?: { keycloak?: Record<string, unknown> } }).source?.keycloak
    if (keycloak !== null && typeof keycloak === 'object' && ('clientSecret' in keycloak || 'secret' in keycloak)) {
      throw new ConfigInvalidError(file, 'source.keycloak', 'the client secret is never read from a file: set KEYCLOAK_CLIENT_SECRET')
    }
  }
  const parsed = configSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const at = issue.path.map(String).join('.')
    const keys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : ''
    throw new ConfigInvalidError(file, at, `${issue.message}${keys}`)
  }
  const config = parsed.data
  const realmFile = config.source !== undefined && 'realmFile' in config.source ? config.source.realmFile : undefined
  if (realmFile !== undefined && !isAbsolute(realmFile)) {
    return { ...config, source: { realmFile: resolve(dirname(file), realmFile) } }
  }
  return config
}

/**
 * Where one effective setting came from.
 *
 * @example
 * ```ts
 * import type { SettingOrigin } from 'keycloak-permissions/config'
 * const fromFlag: SettingOrigin = { kind: 'flag', flag: '--jupyterhub-version' }
 * ```
 */
export type SettingOrigin =
  | { readonly kind: 'default' }
  | { readonly kind: 'file'; readonly file: string }
  | { readonly kind: 'flag'; readonly flag: string }
  | { readonly kind: 'environment'; readonly variable: string }

/**
 * The effective settings and, per dotted path of a leaf setting, where it came from.
 *
 * @example
 * ```ts
 * import type { EffectiveConfig } from 'keycloak-permissions/config'
 * const e: EffectiveConfig = { config: { serve: { port: 9000 } }, origins: { 'serve.port': { kind: 'flag', flag: '--port' } } }
 * ```
 */
export interface EffectiveConfig {
  readonly config: KeycloakPermissionsConfig
  readonly origins: Readonly<Record<string, SettingOrigin>>
}

/**
 * One layer of settings: a partial configuration and its origin (flags name the flag per dotted path).
 *
 * @example
 * ```ts
 * import type { ConfigLayer } from 'keycloak-permissions/config'
 * const flags: ConfigLayer = { config: { serve: { port: 9000 } }, origin: (path) => ({ kind: 'flag', flag: path === 'serve.port' ? '--port' : path }) }
 * ```
 */
export interface ConfigLayer {
  /** The settings this layer gives (a partial configuration). */
  readonly config: KeycloakPermissionsConfig
  /** Where they came from, or per dotted path of a leaf setting (flags name their flag). */
  readonly origin: SettingOrigin | ((path: string) => SettingOrigin)
}

/**
 * Layers configurations, later ones winning per leaf setting (arrays are replaced, not merged: a list
 * from a flag means exactly that list). A `source` of another kind replaces the whole source (a realm
 * file instead of a Keycloak); one of the same kind is layered per setting (`--realm-name` over the
 * file's Keycloak). The result is validated again, so a combination that is invalid as a whole is
 * refused.
 *
 * @example
 * ```ts
 * import { layerConfig } from 'keycloak-permissions/config'
 * const { config, origins } = layerConfig([
 *   { config: { serve: { port: 8080, host: '127.0.0.1' } }, origin: { kind: 'default' } },
 *   { config: loaded.config, origin: { kind: 'file', file: loaded.file! } },
 *   { config: { serve: { port: 9000 } }, origin: { kind: 'flag', flag: '--port' } },
 * ])
 * origins['serve.port'] // { kind: 'flag', flag: '--port' }
 * ```
 */
export function layerConfig(layers: readonly ConfigLayer[]): EffectiveConfig {
  let merged: Record<string, unknown> = {}
  const origins: Record<string, SettingOrigin> = {}
  for (const layer of layers) {
    const originOf = typeof layer.origin === 'function' ? layer.origin : () => layer.origin as SettingOrigin
    merged = mergeInto(merged, layer.config as Record<string, unknown>, '', originOf, origins)
  }
  const parsed = configSchema.safeParse(merged)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new ConfigInvalidError('(effective settings)', issue.path.map(String).join('.'), issue.message)
  }
  return { config: parsed.data, origins }
}

const REPLACED_WHOLE = new Set(['components.jupyterhub.customScopes'])

/** `{ realmFile }` or `{ keycloak }`: the key naming a source's kind. */
function sourceKind(value: unknown): string | undefined {
  return value !== null && typeof value === 'object' ? Object.keys(value).sort().join(',') : undefined
}

function mergeInto(
  target: Record<string, unknown>,
  layer: Record<string, unknown>,
  prefix: string,
  originOf: (path: string) => SettingOrigin,
  origins: Record<string, SettingOrigin>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target }
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined || key === '$schema') continue
    const path = prefix === '' ? key : `${prefix}.${key}`
    const isObject = value !== null && typeof value === 'object' && !Array.isArray(value)
    // A source of another kind starts afresh (its settings are not mixed with the other kind's).
    const otherSource = path === 'source' && sourceKind(out[key]) !== sourceKind(value)
    if (otherSource) for (const known of Object.keys(origins)) if (known === path || known.startsWith(`${path}.`)) delete origins[known]
    if (isObject && !REPLACED_WHOLE.has(path)) {
      const previous = otherSource ? undefined : out[key]
      const base = previous !== null && typeof previous === 'object' && !Array.isArray(previous) ? (previous as Record<string, unknown>) : {}
      out[key] = mergeInto(base, value as Record<string, unknown>, path, originOf, origins)
    } else {
      for (const known of Object.keys(origins)) if (known === path || known.startsWith(`${path}.`)) delete origins[known]
      out[key] = value
      origins[path] = originOf(path)
    }
  }
  return out
}
