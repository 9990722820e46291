/**
 * The configuration file's schema (`keycloak-permissions.config.json`): one zod schema, from which the
 * TypeScript type and the published JSON Schema (for editors) are both derived, so they cannot drift.
 *
 * @module
 */
import * as z from 'zod'
import { registrySettingsSchema } from '../components/registry.js'

const nonEmpty = z.string().min(1)
const groupOrRole = nonEmpty.describe('a Keycloak group full path (/analyst) or a role name')

/** Where the realm comes from. The client secret is never read from the file: only from `KEYCLOAK_CLIENT_SECRET`. */
const sourceSchema = z.union([
  z
    .strictObject({ realmFile: nonEmpty.describe('a Keycloak realm export (JSON), relative to the configuration file') })
    .describe('a realm export file'),
  z
    .strictObject({
      keycloak: z.strictObject({
        url: z.url().describe('the Keycloak base URL, e.g. http://127.0.0.1:8180'),
        realm: nonEmpty.describe('the realm name'),
        clientId: nonEmpty.describe('the service-account client; its secret comes from KEYCLOAK_CLIENT_SECRET only'),
        clients: z.array(nonEmpty).optional().describe('optional allow-list: read only these clients (default: every client)'),
        tokenAudience: nonEmpty.optional().describe('accept bearer tokens in POST /v1/check only with this audience'),
        tokenIssuer: z.url().optional().describe("the tokens' iss (default <url>/realms/<realm>)"),
      }),
    })
    .describe('a live Keycloak Admin API'),
])

const customScopeSchema = z.looseObject({
  description: z.string(),
  subscopes: z.array(nonEmpty).optional(),
})

/**
 * `defineComponent()` options as data: the registry's own definition schema, so the configuration
 * and the registry cannot disagree on what a custom component is.
 */
const customComponentSchema = registrySettingsSchema.shape.components.unwrap().element

const collaborationSchema = registrySettingsSchema.shape.jupyterhub.unwrap().shape.collaboration.unwrap()

const componentsSchema = z.strictObject({
  preset: z
    .enum(['nebari', 'jupyterhub'])
    .optional()
    .describe("deployment defaults: 'nebari' (Nebari's allowed and admin groups) or 'jupyterhub' (plain JupyterHub + Keycloak: every user may log in, no admin groups)"),
  jupyterhub: z
    .strictObject({
      version: z.union([z.literal(5), z.literal(6)]).optional().describe('JupyterHub semantics (default 5)'),
      customScopes: z.record(z.string().regex(/^custom:/), customScopeSchema).optional().describe('c.JupyterHub.custom_scopes'),
      allowedGroups: z.array(groupOrRole).optional().describe('who may log in (overrides the preset)'),
      adminGroups: z.array(groupOrRole).optional().describe('who is a JupyterHub admin (overrides the preset)'),
      collaboration: collaborationSchema
        .optional()
        .describe("shared servers: which scope lets a collaborator do what (mapping: scope → [{ actions, resources }]; access 'mapped' or 'full'; extraResources)"),
    })
    .optional(),
  workspaces: z
    .strictObject({
      clients: z
        .array(nonEmpty)
        .optional()
        .describe('segment globs of the client ids that are workspaces, e.g. ["ws-*"] (default: any client that is not reserved)'),
      stacPrefix: nonEmpty.optional().describe('where the STAC API is mounted (default /stac)'),
    })
    .optional(),
  custom: z.array(customComponentSchema).optional().describe('custom components (defineComponent() options)'),
})

const cacheSchema = z.strictObject({
  ttlSeconds: z.number().int().positive().optional().describe('how long a resolved user is trusted'),
  maxUsers: z.number().int().positive().optional().describe('cached users at most'),
  staleSeconds: z.number().int().nonnegative().optional().describe('how long past the TTL a cached user may answer while Keycloak is down (0: never)'),
})

const freshnessSchema = z.strictObject({
  watchAdminEvents: z.boolean().optional().describe('apply role changes within seconds from Keycloak admin events'),
  liveRoles: z.boolean().optional().describe('tokens only authenticate; roles come from the cached Admin API'),
  redis: z.string().regex(/^rediss?:\/\//).optional().describe('share cached principals across replicas'),
})

const serveSchema = z.strictObject({
  host: nonEmpty.optional().describe('address to bind (default 127.0.0.1)'),
  port: z.number().int().min(0).max(65535).optional().describe('port (default 8080)'),
})

/**
 * The zod schema of the configuration file. Unknown keys are errors (a typo must not be ignored).
 *
 * @example
 * ```ts
 * import { configSchema } from 'keycloak-permissions/config'
 * configSchema.parse({ source: { realmFile: 'realm.json' }, components: { preset: 'jupyterhub' } })
 * ```
 */
export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    source: sourceSchema.optional(),
    components: componentsSchema.optional(),
    cache: cacheSchema.optional(),
    freshness: freshnessSchema.optional(),
    serve: serveSchema.optional(),
  })
  .describe('keycloak-permissions configuration (keycloak-permissions.config.json)')

/**
 * A validated configuration file.
 *
 * @example
 * ```ts
 * import type { KeycloakPermissionsConfig } from 'keycloak-permissions/config'
 * const config: KeycloakPermissionsConfig = {
 *   source: { keycloak: { url: 'http://127.0.0.1:8180', realm: 'example', clientId: 'permission-resolver' } },
 *   components: { preset: 'jupyterhub', workspaces: { clients: ['ws-*'], stacPrefix: '/stac' } },
 * }
 * ```
 */
export type KeycloakPermissionsConfig = z.infer<typeof configSchema>

/**
 * The JSON Schema (draft 2020-12) of the configuration file, for editors (`"$schema"` in the file).
 * The package ships it as `keycloak-permissions/config.schema.json`.
 *
 * @example
 * ```ts
 * import { configJsonSchema } from 'keycloak-permissions/config'
 * writeFileSync('config.schema.json', JSON.stringify(configJsonSchema(), null, 2))
 * ```
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>
  return { $id: 'https://unpkg.com/keycloak-permissions/config.schema.json', title: 'keycloak-permissions configuration', ...schema }
}
