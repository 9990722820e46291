/**
 * `keycloak-permissions/workspaces` (in progress).
 *
 * @module
 */
export {}
