/**
 * `keycloak-permissions/conda-store` (in progress).
 *
 * @module
 */
export {}
