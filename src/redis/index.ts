/**
 * `keycloak-permissions/redis`: a shared principal cache tier on Redis for many replicas
 * (`RedisPrincipalCache`): shared entries with their TTL, fleet-wide coalescing of Admin API lookups,
 * invalidations over pub/sub, one admin-event watcher per fleet, local fallback while Redis is down.
 * Needs the optional peer dependency `redis` (node-redis ≥ 5).
 *
 * @module
 */
export { RedisPrincipalCache } from './principal-cache.js'
export type { RedisPrincipalCacheOptions, RedisPrincipalCacheStatus, SupervisedWatcher, WatcherResume } from './principal-cache.js'
