/**
 * `keycloak-permissions/config`: the configuration file (`keycloak-permissions.config.json`, or
 * `--config FILE`) that the CLI, `serve` and the access review read — the source, the components and
 * their deployment settings, cache and freshness — validated by one zod schema that is also published
 * as JSON Schema for editors. Flags override it; `--print-config` shows each effective setting's origin.
 *
 * @module
 */
export { configSchema, configJsonSchema, type KeycloakPermissionsConfig } from './schema.js'
export {
  CONFIG_FILE_NAME,
  ConfigInvalidError,
  layerConfig,
  loadConfig,
  parseConfig,
  type ConfigLayer,
  type EffectiveConfig,
  type LoadedConfig,
  type SettingOrigin,
} from './load.js'
export { CONFIG_DEFAULTS, PRESETS, liveSourceOptionsOf, registrySettingsOf } from './settings.js'
