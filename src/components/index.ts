/**
 * `keycloak-permissions/components` (in progress).
 *
 * @module
 */
export {}
