/**
 * `keycloak-permissions/jupyterhub` (in progress).
 *
 * @module
 */
export {}
