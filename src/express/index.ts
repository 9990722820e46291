/**
 * `keycloak-permissions/express` (in progress).
 *
 * @module
 */
export {}
