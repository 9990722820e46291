/**
 * Building blocks shared by the rule table and the STAC policy (not exported from the package).
 *
 * @module
 */
import { deny } from '../core/decision.js'
import type { TraceStep } from '../core/decision.js'
import { InvalidOptionsError } from '../core/errors.js'
import type { EffectiveRole, Principal } from '../core/principal.js'
import type { CredentialFailure, RouteDecision, RouteRequest, RouteSubject } from './types.js'

/** Keycloak's built-in client ids (docs/semantics/workspaces.md §2), reserved as workspace names. */
export const KEYCLOAK_BUILTIN_CLIENTS: readonly string[] = Object.freeze([
  'account',
  'account-console',
  'admin-cli',
  'broker',
  'realm-management',
  'security-admin-console',
])

export function isFailure(subject: RouteSubject): subject is CredentialFailure {
  return subject !== null && typeof (subject as CredentialFailure).failure === 'string'
}

export function failureDecision(failure: CredentialFailure, trace: TraceStep[]): RouteDecision {
  trace.push({ kind: 'credentials', label: failure.failure, ...(failure.detail !== undefined ? { data: { detail: failure.detail } } : {}) })
  return deny(failure.failure, trace)
}

/** The principal's roles on a client, or `undefined` when `resource_access[client]` is absent. */
export function rolesOn(principal: Principal, client: string): readonly EffectiveRole[] | undefined {
  return rolesIn(principal.clientRoles, clientIndex(principal.clientRoles), client)
}

/**
 * {@link rolesOn} with the index already fetched ({@link clientIndex}), for a decision that looks up
 * more than one client (the platform admin's, then the workspace's).
 */
export function rolesIn(
  clientRoles: Principal['clientRoles'],
  index: ClientIndex | null,
  client: string,
): readonly EffectiveRole[] | undefined {
  // The client name is sliced from the request path, so it is a fresh string: a keyed property lookup
  // with it must first find the string's interned copy, which costs more than the rest of a decision.
  // A Map hashes it instead (bench/workspaces.ts).
  if (index !== null) return index.get(client)
  // One keyed lookup. Inherited Object.prototype members (`constructor`, `__proto__`, …) are never
  // arrays, so a workspace named after one reads as absent.
  // `__proto__` assigned through a plain object's setter becomes its prototype, not an entry.
  const roles = clientRoles[client]
  if (!Array.isArray(roles)) return undefined
  return client !== '__proto__' || Object.hasOwn(clientRoles, client) ? roles : undefined
}

/**
 * Per `clientRoles` object: its index, or `null` when it was not frozen when first seen. Only a frozen
 * object (as every source makes it) is indexed, so an index cannot go stale; whether an object is frozen
 * is asked once, because asking costs a walk over every property of a large object. Entries live as
 * long as their object (a WeakMap keyed on it).
 */
/** A frozen `clientRoles` as a Map. */
export type ClientIndex = ReadonlyMap<string, readonly EffectiveRole[]>

const CLIENT_INDEXES = new WeakMap<Principal['clientRoles'], ClientIndex | null>()

/** The own entries whose values are role lists — exactly what the keyed lookup reads — or `null`. */
export function clientIndex(clientRoles: Principal['clientRoles']): ClientIndex | null {
  let index = CLIENT_INDEXES.get(clientRoles)
  if (index === undefined) {
    if (Object.isFrozen(clientRoles)) {
      const entries = new Map<string, readonly EffectiveRole[]>()
      for (const [client, roles] of Object.entries(clientRoles)) if (Array.isArray(roles)) entries.set(client, roles)
      index = entries
    } else {
      index = null
    }
    CLIENT_INDEXES.set(clientRoles, index)
  }
  return index
}

export function findRole(roles: readonly EffectiveRole[], name: string): EffectiveRole | undefined {
  for (let i = 0; i < roles.length; i++) if (roles[i]!.name === name) return roles[i]
  return undefined
}

/** The chain steps of a granting role: the group or composite it came through, then the role. */
export function roleSteps(trace: TraceStep[], client: string, role: EffectiveRole): void {
  const via = role.via[0]
  if (via?.kind === 'group') trace.push({ kind: 'group', label: via.member })
  else if (via?.kind === 'composite') {
    trace.push({ kind: 'role', label: via.parent.client === undefined ? via.parent.name : `${via.parent.client}/${via.parent.name}` })
  }
  trace.push({ kind: 'role', label: `${client}/${role.name}` })
}

export function claimLabel(client: string): string {
  // Only names needing JSON escapes (quote, backslash, controls, anything beyond ASCII) take the slow path;
  // a character loop, cheaper than a regular expression on the short ids of the decision hot path.
  for (let i = 0; i < client.length; i++) {
    const c = client.charCodeAt(i)
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x7f) return `resource_access[${JSON.stringify(client)}].roles`
  }
  return 'resource_access["' + client + '"].roles'
}

export function upperMethod(method: string): string {
  // Fast path: methods are almost always already upper-case ASCII.
  for (let i = 0; i < method.length; i++) {
    const c = method.charCodeAt(i)
    if (c >= 0x61 && c <= 0x7a) return method.toUpperCase()
  }
  return method
}

/** The method the backend will act on: the request method, or a configured override header's value. */
export function effectiveMethod(request: RouteRequest, overrideHeader: string | undefined, trace: TraceStep[]): string {
  const method = upperMethod(request.method)
  if (overrideHeader === undefined) return method
  const value = request.headers?.[overrideHeader]
  const first = typeof value === 'string' ? value : value?.[0]
  if (first === undefined || first === '') return method
  const overridden = upperMethod(first.trim())
  trace.push({ kind: 'method-override', label: `${method} → ${overridden}`, data: { header: overrideHeader } })
  return overridden
}

export function stringList(option: string, value: unknown, nonEmpty: boolean): readonly string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) {
    throw new InvalidOptionsError(option, `expected an array of non-empty strings, got ${JSON.stringify(value)}`)
  }
  if (nonEmpty && value.length === 0) throw new InvalidOptionsError(option, 'must not be empty')
  return Object.freeze([...(value as string[])])
}

export function nonEmptyString(option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new InvalidOptionsError(option, `expected a non-empty string, got ${JSON.stringify(value)}`)
  return value
}

export function methodHeader(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  const name = nonEmptyString(option, value)
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    const token = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x2d || c === 0x5f
    if (!token) throw new InvalidOptionsError(option, `${JSON.stringify(name)} is not an HTTP header name`)
  }
  return name.toLowerCase()
}

export function rejectUnknownKeys(option: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new InvalidOptionsError(`${option}${option ? '.' : ''}${key}`, `unknown option (known: ${known.join(', ')})`)
  }
}

export function filterWith<T>(
  check: (request: RouteRequest, subject: RouteSubject) => RouteDecision,
  items: Iterable<T>,
  subject: RouteSubject,
  toRequest: (item: T) => RouteRequest,
): T[] {
  const out: T[] = []
  for (const item of items) if (check(toRequest(item), subject).allowed) out.push(item)
  return out
}
