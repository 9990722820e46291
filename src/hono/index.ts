/**
 * `keycloak-permissions/hono` (in progress).
 *
 * @module
 */
export {}
