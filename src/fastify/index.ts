/**
 * `keycloak-permissions/fastify` (in progress).
 *
 * @module
 */
export {}
