/**
 * Pure, synchronous functions over access-token claims that were already verified (by
 * {@link TokenSource}, a gateway, or a test vector): the claim checks of
 * docs/semantics/workspaces.md §4 (in that order) and the mapping from claims to a {@link Principal}.
 *
 * @module
 */
import type { Clock } from '../core/clock.js'
import { systemClock } from '../core/clock.js'
import type { Diagnostic } from '../core/diagnostics.js'
import { diagnostic } from '../core/diagnostics.js'
import type { TokenRejectionDetail, TokenRejectionReason } from '../core/errors.js'
import { InvalidInputError, InvalidOptionsError } from '../core/errors.js'
import type { EffectiveRole, Principal, PrincipalCompleteness, RoleAttributes, RoleRef, TokenInfo } from '../core/principal.js'
import { SharedParts } from './shared-parts.js'

/**
 * Options of {@link validateClaims}.
 *
 * @example
 * ```ts
 * import type { ClaimsValidationOptions } from 'keycloak-permissions/keycloak'
 * const options: ClaimsValidationOptions = {
 *   issuers: ['http://127.0.0.1:8180/realms/example'],
 *   audience: 'workspace-api',
 *   clockToleranceSec: 30,
 * }
 * ```
 */
export interface ClaimsValidationOptions {
  /** Accepted `iss` values, compared exactly (Keycloak builds `iss` from the front-end URL). Non-empty. */
  readonly issuers: readonly string[]
  /** The token's `aud` (string or array) must contain this value (or one of these values). Unchecked when absent and `allowAzp` is absent. */
  readonly audience?: string | readonly string[]
  /** Also accept a token whose `azp` is one of these clients although `aud` lacks the audience (docs/semantics/keycloak.md §3.2 pitfall 3). */
  readonly allowAzp?: readonly string[]
  /** The clock to read "now" from (default: the system clock). */
  readonly clock?: Clock
  /** Seconds of leeway for `exp` and `nbf` (default 30). */
  readonly clockToleranceSec?: number
  /** Accepted `typ` values (default `['Bearer']`: rejects Keycloak ID and refresh tokens). */
  readonly allowedTypes?: readonly string[]
  /** Whether a token without `typ` passes (default `true`, as docs/semantics/workspaces.md §4: "typ absent or Bearer"). */
  readonly allowMissingType?: boolean
  /**
   * Claims that must be present, checked before the time claims (`TOKEN_INVALID` / `MISSING_CLAIM`).
   * `exp` is always required and is reported by its own check (`TOKEN_EXPIRED` / `MISSING_CLAIM`). Default `[]`.
   */
  readonly requiredClaims?: readonly string[]
}

/**
 * The outcome of {@link validateClaims}: `ok`, or the first failed check with its typed reason and detail.
 *
 * @example
 * ```ts
 * import type { ClaimsValidation } from 'keycloak-permissions/keycloak'
 * const failed: ClaimsValidation = { ok: false, reason: 'TOKEN_EXPIRED', detail: 'EXPIRED', message: 'token expired at 1767225540' }
 * ```
 */
export type ClaimsValidation =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: TokenRejectionReason; readonly detail: TokenRejectionDetail; readonly message: string }

interface NormalizedValidation {
  readonly issuers: readonly string[]
  readonly audience: readonly string[] | undefined
  readonly allowAzp: readonly string[] | undefined
  readonly clock: Clock
  readonly toleranceSec: number
  readonly allowedTypes: readonly string[]
  readonly allowMissingType: boolean
  readonly requiredClaims: readonly string[]
}

/**
 * Checks the options of {@link validateClaims} and fills in defaults; throws {@link InvalidOptionsError}.
 * Shared with `TokenSource`, which validates once at construction.
 *
 * @internal
 */
export function normalizeValidationOptions(options: ClaimsValidationOptions, prefix = ''): NormalizedValidation {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError(prefix || 'options', 'expected an object')
  const issuers = nonEmptyStrings(options.issuers, `${prefix}issuers`, true)!
  const audience =
    options.audience === undefined
      ? undefined
      : nonEmptyStrings(typeof options.audience === 'string' ? [options.audience] : options.audience, `${prefix}audience`, true)
  const allowAzp = options.allowAzp === undefined ? undefined : nonEmptyStrings(options.allowAzp, `${prefix}allowAzp`, true)
  const toleranceSec = options.clockToleranceSec ?? 30
  if (typeof toleranceSec !== 'number' || !Number.isFinite(toleranceSec) || toleranceSec < 0) {
    throw new InvalidOptionsError(`${prefix}clockToleranceSec`, 'must be a finite number of seconds ≥ 0')
  }
  const allowedTypes = nonEmptyStrings(options.allowedTypes ?? ['Bearer'], `${prefix}allowedTypes`, true)!
  const requiredClaims = nonEmptyStrings(options.requiredClaims ?? [], `${prefix}requiredClaims`, false)!
  const clock = options.clock ?? systemClock
  if (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function') {
    throw new InvalidOptionsError(`${prefix}clock`, 'must be an object with a now() method')
  }
  const allowMissingType = options.allowMissingType ?? true
  if (typeof allowMissingType !== 'boolean') throw new InvalidOptionsError(`${prefix}allowMissingType`, 'must be a boolean')
  return { issuers, audience, allowAzp, clock, toleranceSec, allowedTypes, allowMissingType, requiredClaims }
}

function nonEmptyStrings(value: unknown, option: string, nonEmptyList: boolean): readonly string[] | undefined {
  if (!Array.isArray(value)) throw new InvalidOptionsError(option, 'expected an array of strings')
  if (nonEmptyList && value.length === 0) throw new InvalidOptionsError(option, 'must not be empty')
  value.forEach((item, i) => {
    if (typeof item !== 'string' || item === '') throw new InvalidOptionsError(`${option}.${i}`, 'expected a non-empty string')
  })
  return Object.freeze([...(value as string[])])
}

/**
 * Checks verified access-token claims, in the order of docs/semantics/workspaces.md §4, and returns the first failure:
 *
 * 1. every `requiredClaims` entry present → else `TOKEN_INVALID` / `MISSING_CLAIM`;
 * 2. `exp` present and `exp > now − tolerance` → else `TOKEN_EXPIRED` (`EXPIRED`, or `MISSING_CLAIM`);
 * 3. `nbf` absent or `nbf ≤ now + tolerance` → else `TOKEN_NOT_YET_VALID` / `NOT_YET_VALID`;
 * 4. `iss` ∈ `issuers` → else `ISSUER_MISMATCH` / `WRONG_ISSUER`;
 * 5. when `audience` or `allowAzp` is configured: `aud` (string or array) contains an `audience` value,
 *    or `azp` ∈ `allowAzp` → else `AUDIENCE_MISMATCH` / `WRONG_AUDIENCE`;
 * 6. `typ` ∈ `allowedTypes` (or absent, when `allowMissingType`) → else `TOKEN_TYPE_NOT_ALLOWED` / `WRONG_TYPE`.
 *
 * A claim of the wrong JSON type (`exp: "soon"`, `aud: 42`, `typ: 1`, …) fails its step as
 * `TOKEN_INVALID` / `MALFORMED`. "now" is `floor(clock.now() / 1000)`, as jose computes it.
 * Signature, algorithm and key are NOT checked here: use `TokenSource` for a raw token.
 * Invalid options (also a clock whose `now()` is not finite) throw {@link InvalidOptionsError}; claims never throw.
 *
 * @example
 * ```ts
 * import { validateClaims } from 'keycloak-permissions/keycloak'
 * import { ManualClock } from 'keycloak-permissions'
 * const result = validateClaims(claims, {
 *   issuers: ['http://127.0.0.1:8180/realms/example'],
 *   audience: 'workspace-api',
 *   clock: new ManualClock(1767225600_000),
 * })
 * if (!result.ok) console.log(result.reason, result.detail) // e.g. 'TOKEN_EXPIRED' 'EXPIRED'
 * ```
 */
export function validateClaims(claims: Record<string, unknown>, options: ClaimsValidationOptions): ClaimsValidation {
  return checkClaims(claims, normalizeValidationOptions(options))
}

/** {@link validateClaims} over already-normalised options. @internal */
export function checkClaims(claims: unknown, o: NormalizedValidation): ClaimsValidation {
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    return fail('TOKEN_INVALID', 'MALFORMED', 'the claims set is not a JSON object')
  }
  const c = claims as Record<string, unknown>
  for (const claim of o.requiredClaims) {
    if (claim !== 'exp' && !Object.hasOwn(c, claim)) return fail('TOKEN_INVALID', 'MISSING_CLAIM', `missing required "${claim}" claim`)
  }
  const nowMs = o.clock.now()
  // A broken clock must fail closed: NaN would make every time comparison pass.
  if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) throw new InvalidOptionsError('clock', `now() returned ${String(nowMs)}, not a finite number`)
  const now = Math.floor(nowMs / 1000)

  if (!Object.hasOwn(c, 'exp')) return fail('TOKEN_EXPIRED', 'MISSING_CLAIM', 'missing required "exp" claim')
  const exp = c['exp']
  if (!isNumericDate(exp)) return fail('TOKEN_INVALID', 'MALFORMED', '"exp" claim must be a number')
  if (exp <= now - o.toleranceSec) {
    return fail('TOKEN_EXPIRED', 'EXPIRED', `token expired at ${exp} (now ${now}, tolerance ${o.toleranceSec} s)`)
  }

  if (Object.hasOwn(c, 'nbf')) {
    const nbf = c['nbf']
    if (!isNumericDate(nbf)) return fail('TOKEN_INVALID', 'MALFORMED', '"nbf" claim must be a number')
    if (nbf > now + o.toleranceSec) {
      return fail('TOKEN_NOT_YET_VALID', 'NOT_YET_VALID', `token not valid before ${nbf} (now ${now}, tolerance ${o.toleranceSec} s)`)
    }
  }

  const iss = c['iss']
  if (iss === undefined) return fail('ISSUER_MISMATCH', 'MISSING_CLAIM', 'missing "iss" claim')
  if (typeof iss !== 'string') return fail('TOKEN_INVALID', 'MALFORMED', '"iss" claim must be a string')
  if (!o.issuers.includes(iss)) {
    return fail('ISSUER_MISMATCH', 'WRONG_ISSUER', `issuer ${JSON.stringify(iss)} is not one of ${JSON.stringify(o.issuers)}`)
  }

  if (o.audience !== undefined || o.allowAzp !== undefined) {
    const aud = c['aud']
    const audiences = aud === undefined ? [] : typeof aud === 'string' ? [aud] : aud
    if (!isStringArray(audiences)) return fail('TOKEN_INVALID', 'MALFORMED', '"aud" claim must be a string or an array of strings')
    const azp = c['azp']
    if (azp !== undefined && typeof azp !== 'string') return fail('TOKEN_INVALID', 'MALFORMED', '"azp" claim must be a string')
    const audienceOk = o.audience !== undefined && o.audience.some((a) => audiences.includes(a))
    const azpOk = o.allowAzp !== undefined && azp !== undefined && o.allowAzp.includes(azp)
    if (!audienceOk && !azpOk) {
      const wanted = [
        o.audience === undefined ? undefined : `aud containing one of ${JSON.stringify(o.audience)}`,
        o.allowAzp === undefined ? undefined : `azp in ${JSON.stringify(o.allowAzp)}`,
      ].filter((s) => s !== undefined)
      return fail(
        'AUDIENCE_MISMATCH',
        aud === undefined && azp === undefined ? 'MISSING_CLAIM' : 'WRONG_AUDIENCE',
        `expected ${wanted.join(' or ')}; token has aud ${JSON.stringify(aud ?? null)}, azp ${JSON.stringify(azp ?? null)}`,
      )
    }
  }

  const typ = c['typ']
  if (typ === undefined) {
    if (!o.allowMissingType) return fail('TOKEN_TYPE_NOT_ALLOWED', 'MISSING_CLAIM', 'missing "typ" claim')
  } else if (typeof typ !== 'string') {
    return fail('TOKEN_INVALID', 'MALFORMED', '"typ" claim must be a string')
  } else if (!o.allowedTypes.includes(typ)) {
    return fail('TOKEN_TYPE_NOT_ALLOWED', 'WRONG_TYPE', `token type ${JSON.stringify(typ)} is not one of ${JSON.stringify(o.allowedTypes)}`)
  }
  return OK
}

const OK: ClaimsValidation = Object.freeze({ ok: true as const })

function fail(reason: TokenRejectionReason, detail: TokenRejectionDetail, message: string): ClaimsValidation {
  return { ok: false, reason, detail, message }
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

function isStringArray(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string')
}

// ---------------------------------------------------------------------------------------------
// Claims → Principal

/**
 * Options of {@link principalFromClaims}.
 *
 * @example
 * ```ts
 * import type { PrincipalFromClaimsOptions } from 'keycloak-permissions/keycloak'
 * const options: PrincipalFromClaimsOptions = { clients: ['conda_store', 'jupyterhub'], groupsClaim: 'groups' }
 * ```
 */
export interface PrincipalFromClaimsOptions {
  /** The realm name (default: derived from `iss`, the segment after the last `/realms/`). */
  readonly realm?: string
  /**
   * Looks up a role's attributes (tokens carry role names only). `undefined` means "not in the
   * catalogue": the role keeps `{}` attributes and a `KEYCLOAK_TOKEN_ROLE_NOT_IN_CATALOGUE` diagnostic.
   * Without a lookup every role has `{}` and `complete.attributes` is false.
   */
  readonly attributes?: (role: RoleRef) => RoleAttributes | undefined
  /**
   * Where the group paths are: `'groups'` (default; the group-membership mapper with `full.path`), or
   * `false` when the token has no group mapper (then a `groups` claim — e.g. the `microprofile-jwt`
   * scope's realm roles, docs/semantics/keycloak.md §3.2 pitfall 6 — is ignored and `complete.groups` is false).
   */
  readonly groupsClaim?: 'groups' | false
  /**
   * Declares that the client has a group-membership mapper, so an absent `groups` claim means "no
   * groups" (`complete.groups` true, no diagnostic). Keycloak's mapper omits the claim for a user
   * without groups (seen on 26.7.3: `carol`), so without this declaration an absent claim is
   * ambiguous and reported. Default `false`.
   */
  readonly groupsMapperConfigured?: boolean
  /** Only these clients' `resource_access` entries become client roles (default: every client in the token). */
  readonly clients?: readonly string[]
  /** Stamps `origin.resolvedAt` (default: the system clock). */
  readonly clock?: Clock
  /**
   * The claim holding the username (default `'preferred_username'`, Keycloak's `profile` scope). Its
   * value is lower-cased, as Keycloak stores usernames.
   */
  readonly usernameClaim?: string
}

const WHAT = 'access token claims'

/**
 * The {@link TokenInfo} of verified claims: issuer, audience (always an array), azp, scope (split on
 * spaces), expiry and the claims themselves. Throws {@link InvalidInputError} naming the claim when
 * `iss`, `exp`, `aud`, `azp` or `scope` has the wrong type (or `iss` / `exp` is missing).
 *
 * @example
 * ```ts
 * import { tokenInfoFromClaims } from 'keycloak-permissions/keycloak'
 * tokenInfoFromClaims({ iss: 'http://127.0.0.1:8180/realms/example', aud: 'account', exp: 1767225840, scope: 'openid email' })
 * // { issuer: '…/realms/example', audience: ['account'], scope: ['openid', 'email'], expiresAt: 1767225840, claims: {…} }
 * ```
 */
export function tokenInfoFromClaims(claims: Readonly<Record<string, unknown>>): TokenInfo {
  const iss = claims['iss']
  if (typeof iss !== 'string') throw new InvalidInputError(WHAT, 'iss', iss === undefined ? 'missing' : 'expected a string')
  const exp = claims['exp']
  if (!isNumericDate(exp)) throw new InvalidInputError(WHAT, 'exp', exp === undefined ? 'missing' : 'expected a number')
  const aud = claims['aud']
  const audience = aud === undefined ? [] : typeof aud === 'string' ? [aud] : aud
  if (!isStringArray(audience)) throw new InvalidInputError(WHAT, 'aud', 'expected a string or an array of strings')
  const azp = claims['azp']
  if (azp !== undefined && typeof azp !== 'string') throw new InvalidInputError(WHAT, 'azp', 'expected a string')
  const scope = claims['scope']
  if (scope !== undefined && typeof scope !== 'string') throw new InvalidInputError(WHAT, 'scope', 'expected a space-separated string')
  const info: { -readonly [K in keyof TokenInfo]: TokenInfo[K] } = {
    issuer: iss,
    // Shared frozen lists: tokens of one client carry the same audience and scope.
    audience: claimParts.strings('aud', audience),
    scope: scope === undefined ? NO_STRINGS : claimParts.words(scope),
    expiresAt: exp,
    claims,
  }
  if (azp !== undefined) info.azp = azp
  return info
}

/**
 * The realm name in a Keycloak issuer URL (`…/realms/<name>`, also below `/auth`), or `undefined`.
 *
 * @example
 * ```ts
 * import { realmFromIssuer } from 'keycloak-permissions/keycloak'
 * realmFromIssuer('https://nebari.example.org/auth/realms/nebari') // 'nebari'
 * ```
 */
export function realmFromIssuer(issuer: string): string | undefined {
  const marker = '/realms/'
  const at = issuer.lastIndexOf(marker)
  if (at < 0) return undefined
  let name = issuer.slice(at + marker.length)
  if (name.endsWith('/')) name = name.slice(0, -1)
  if (name === '' || name.includes('/')) return undefined
  try {
    return decodeURIComponent(name)
  } catch {
    return undefined
  }
}

/**
 * Builds a {@link Principal} from verified access-token claims (docs/semantics/keycloak.md §3, §6):
 * realm roles from `realm_access.roles`, client roles from `resource_access[clientId].roles`, groups
 * from `groups` (direct memberships, full paths), `username` = lower-cased `preferred_username` (or `usernameClaim`),
 * `userId` = `sub`, and attributes joined through `options.attributes`. Roles are sorted by name and
 * de-duplicated; `via` is empty and `complete.provenance` false (a token cannot tell why a role is held).
 *
 * Malformed input, decided per claim:
 * - role claims (`realm_access`, `resource_access`, their `roles`) of the wrong shape, and `sub`,
 *   `preferred_username`, `iss`, `exp`, `aud`, `azp`, `scope` of the wrong type → {@link InvalidInputError}
 *   naming the claim path (e.g. `resource_access.conda_store.roles.2`): rights must not be computed from a
 *   half-read role set;
 * - the `groups` claim of the wrong shape, or entries that are not full paths (a mapper without
 *   `full.path`) → dropped with a `KEYCLOAK_TOKEN_GROUPS_MALFORMED` diagnostic and `complete.groups`
 *   false: fewer groups can only grant less.
 *
 * Diagnostics: `KEYCLOAK_TOKEN_HAS_NO_ROLES` (neither `realm_access` nor `resource_access`: a lightweight
 * access token or a client without the `roles` scope; `complete.realmRoles` false),
 * `KEYCLOAK_TOKEN_HAS_NO_GROUPS` (info: no `groups` claim and `groupsMapperConfigured` not set; `complete.groups` false),
 * `KEYCLOAK_TOKEN_HAS_NO_USERNAME` (the username claim — `preferred_username` unless `usernameClaim` says
otherwise — is absent, empty or blank: `username` is `''`; `TokenSource` rejects such a token instead),
 * `KEYCLOAK_TOKEN_ROLE_NOT_IN_CATALOGUE` (the lookup lacked a role; `complete.attributes` false).
 * Keycloak omits `realm_access` when the user has no realm roles, so its absence alone is not a gap.
 *
 * @example
 * ```ts
 * import { principalFromClaims } from 'keycloak-permissions/keycloak'
 * const principal = principalFromClaims(payload, {
 *   attributes: (role) => catalogue.get(`${role.client ?? ''}/${role.name}`),
 * })
 * principal.clientRoles['conda_store']?.map((r) => r.name) // ['analyst-global-viewer', 'conda_store_developer']
 * ```
 */
export function principalFromClaims(claims: Readonly<Record<string, unknown>>, options: PrincipalFromClaimsOptions = {}): Principal {
  const { realmOption, lookup, groupsClaim, groupsMapperConfigured, clients, clock, usernameClaim } = normalizePrincipalOptions(options)
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    throw new InvalidInputError(WHAT, '', 'expected a JSON object')
  }
  const token = tokenInfoFromClaims(claims)
  const realm = realmOption ?? realmFromIssuer(token.issuer)
  if (realm === undefined) {
    throw new InvalidInputError(WHAT, 'iss', `cannot derive the realm from ${JSON.stringify(token.issuer)} (no "/realms/<name>"); pass options.realm`)
  }

  const sub = claims['sub']
  if (sub !== undefined && typeof sub !== 'string') throw new InvalidInputError(WHAT, 'sub', 'expected a string')
  const username = usernameFromClaims(claims, usernameClaim)
  const user = username === undefined ? (sub ?? '') : username

  const diagnostics: Diagnostic[] = []
  if (username === undefined) {
    diagnostics.push(
      diagnostic('error', 'KEYCLOAK_TOKEN_HAS_NO_USERNAME', `the token has no usable ${usernameClaim} claim (absent or empty); the principal has an empty username`, userSubject(user), {
        fix: 'request the "profile" client scope (it carries the username mapper), or resolve the user by sub through AdminApiSource; TokenSource rejects such tokens (TOKEN_INVALID / NO_USERNAME)',
        details: { claim: usernameClaim },
      }),
    )
  }

  const realmAccess = claims['realm_access']
  const resourceAccess = claims['resource_access']
  const hasRoleClaims = realmAccess !== undefined || resourceAccess !== undefined
  if (!hasRoleClaims) {
    diagnostics.push(
      diagnostic('warning', 'KEYCLOAK_TOKEN_HAS_NO_ROLES', 'the token has neither realm_access nor resource_access: no roles can be read from it', userSubject(user), {
        fix: 'use an access token (not an ID token) from a client with the "roles" client scope and without lightweight access tokens, or resolve through AdminApiSource',
      }),
    )
  }

  let attributesComplete = lookup !== undefined
  const effective = (ref: RoleRef): EffectiveRole => {
    let attributes: RoleAttributes = NO_ATTRIBUTES
    if (lookup !== undefined) {
      const found = lookup(ref)
      if (found === undefined) {
        attributesComplete = false
        diagnostics.push(
          diagnostic(
            'warning',
            'KEYCLOAK_TOKEN_ROLE_NOT_IN_CATALOGUE',
            `role ${ref.client === undefined ? ref.name : `${ref.client}/${ref.name}`} is in the token but not in the role catalogue; its attributes are unknown`,
            { role: ref, ...userSubject(user) },
            { fix: 'refresh the role catalogue (the role may be new) or check that the catalogue reads the same realm' },
          ),
        )
      } else {
        attributes = found
      }
    }
    // One frozen role object per (role, attribute map): principals from claims carry no provenance,
    // so every principal naming the same role shares it, as it shares the catalogue's attribute map.
    return claimParts.role(ref, attributes, [])
  }

  const realmRoles =
    realmAccess === undefined ? NO_ROLES : claimParts.roles(roleNames(realmAccess, 'realm_access').map((name) => effective({ name })))

  const clientEntries: (readonly [string, readonly EffectiveRole[]])[] = []
  if (resourceAccess !== undefined) {
    if (!isPlainObject(resourceAccess)) throw new InvalidInputError(WHAT, 'resource_access', 'expected an object keyed by clientId')
    for (const clientId of Object.keys(resourceAccess).sort(compareCodeUnits)) {
      // Entries of clients outside the restriction are not read, so they cannot fail the resolution.
      if (clients !== undefined && !clients.includes(clientId)) continue
      const names = roleNames(resourceAccess[clientId], `resource_access.${clientId}`)
      if (names.length > 0) clientEntries.push([clientId, claimParts.roles(names.map((name) => effective({ client: clientId, name })))])
    }
  }

  const groups = readGroups(claims, groupsClaim, groupsMapperConfigured, user, diagnostics)
  const origin = { kind: 'token', resolvedAt: clock.now(), cached: false, stale: false } as const
  return {
    realm,
    userId: sub,
    username: username ?? '',
    groups: claimParts.groups(groups.paths),
    realmRoles,
    clientRoles: claimParts.clientRoles(clientEntries),
    complete: completeness(groups.complete, hasRoleClaims, attributesComplete),
    origin,
    token,
    // Frozen like every other part: caches of derived answers compare a principal's parts by identity.
    diagnostics: diagnostics.length === 0 ? NO_DIAGNOSTICS : Object.freeze(diagnostics),
  }
}

const NO_ATTRIBUTES: RoleAttributes = Object.freeze({})
const NO_STRINGS: readonly string[] = Object.freeze([])
const NO_DIAGNOSTICS: readonly Diagnostic[] = Object.freeze([])
/**
 * Parts shared by principals from claims (role objects, role lists, group lists, `clientRoles`
 * records, audience and scope lists), frozen. Tokens come from anyone: the table starts over once it
 * holds this many parts, which bounds what tokens can make the process keep.
 */
const CLAIM_PARTS_MAX = 20_000
const claimParts = new SharedParts(CLAIM_PARTS_MAX, 'restart')
const NO_ROLES = claimParts.roles([])

/** The 8 possible completeness values of a principal from claims, frozen and shared. */
const COMPLETENESS: readonly PrincipalCompleteness[] = Array.from({ length: 8 }, (_, i) =>
  Object.freeze({ groups: (i & 4) !== 0, realmRoles: (i & 2) !== 0, attributes: (i & 1) !== 0, provenance: false }),
)
function completeness(groups: boolean, realmRoles: boolean, attributes: boolean): PrincipalCompleteness {
  return COMPLETENESS[(groups ? 4 : 0) + (realmRoles ? 2 : 0) + (attributes ? 1 : 0)]!
}

function normalizePrincipalOptions(options: PrincipalFromClaimsOptions) {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', 'expected an object')
  const realmOption = options.realm
  if (realmOption !== undefined && (typeof realmOption !== 'string' || realmOption === '')) {
    throw new InvalidOptionsError('realm', 'expected a non-empty string')
  }
  const lookup = options.attributes
  if (lookup !== undefined && typeof lookup !== 'function') throw new InvalidOptionsError('attributes', 'expected a function (role) => attributes | undefined')
  const groupsClaim = options.groupsClaim ?? 'groups'
  if (groupsClaim !== 'groups' && groupsClaim !== false) throw new InvalidOptionsError('groupsClaim', "expected 'groups' or false")
  const groupsMapperConfigured = options.groupsMapperConfigured ?? false
  if (typeof groupsMapperConfigured !== 'boolean') throw new InvalidOptionsError('groupsMapperConfigured', 'expected a boolean')
  const clients = options.clients === undefined ? undefined : nonEmptyStrings(options.clients, 'clients', false)
  const clock = options.clock ?? systemClock
  if (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function') throw new InvalidOptionsError('clock', 'must be an object with a now() method')
  const usernameClaim = options.usernameClaim ?? 'preferred_username'
  if (typeof usernameClaim !== 'string' || usernameClaim === '') throw new InvalidOptionsError('usernameClaim', 'expected a non-empty claim name')
  return { realmOption, lookup, groupsClaim, groupsMapperConfigured, clients, clock, usernameClaim }
}

/**
 * The lower-cased username in `claims[usernameClaim]`; `undefined` when the claim is absent, empty or
 * only whitespace (no usable username); {@link InvalidInputError} when it is not a string.
 *
 * @internal
 */
export function usernameFromClaims(claims: Readonly<Record<string, unknown>>, usernameClaim: string): string | undefined {
  const value = Object.hasOwn(claims, usernameClaim) ? claims[usernameClaim] : undefined
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw new InvalidInputError(WHAT, usernameClaim, 'expected a string')
  return value.trim() === '' ? undefined : value.toLowerCase()
}

function roleNames(access: unknown, path: string): string[] {
  if (!isPlainObject(access)) throw new InvalidInputError(WHAT, path, 'expected an object with a "roles" array')
  const roles = access['roles']
  // Keycloak writes `{}` rather than `{ roles: [] }` only in hand-made tokens; treat a missing list as empty.
  if (roles === undefined) return []
  if (!Array.isArray(roles)) throw new InvalidInputError(WHAT, `${path}.roles`, 'expected an array of role names')
  roles.forEach((role, i) => {
    if (typeof role !== 'string' || role === '') throw new InvalidInputError(WHAT, `${path}.roles.${i}`, 'expected a non-empty role name')
  })
  return [...new Set(roles as string[])].sort(compareCodeUnits)
}

function readGroups(
  claims: Readonly<Record<string, unknown>>,
  groupsClaim: 'groups' | false,
  mapperConfigured: boolean,
  user: string,
  diagnostics: Diagnostic[],
): { paths: string[]; complete: boolean } {
  if (groupsClaim === false) return { paths: [], complete: false }
  const value = claims[groupsClaim]
  if (value === undefined) {
    if (mapperConfigured) return { paths: [], complete: true }
    diagnostics.push(
      diagnostic(
        'info',
        'KEYCLOAK_TOKEN_HAS_NO_GROUPS',
        'the token has no groups claim: either the user has no groups (the group-membership mapper then omits the claim) or the client has no such mapper; group memberships are treated as unknown',
        userSubject(user),
        {
          fix: 'if the client has a group-membership mapper (claim "groups", full.path "true"), set groupsMapperConfigured: true; otherwise add one, or resolve through AdminApiSource',
        },
      ),
    )
    return { paths: [], complete: false }
  }
  if (!Array.isArray(value)) {
    diagnostics.push(
      diagnostic('warning', 'KEYCLOAK_TOKEN_GROUPS_MALFORMED', 'the groups claim is not an array of group paths; groups ignored', userSubject(user), {
        details: { claim: groupsClaim, type: typeof value },
      }),
    )
    return { paths: [], complete: false }
  }
  const paths = new Set<string>()
  let complete = true
  value.forEach((entry, i) => {
    if (typeof entry === 'string' && entry.startsWith('/') && entry.length > 1) {
      paths.add(entry)
      return
    }
    complete = false
    diagnostics.push(
      diagnostic(
        'warning',
        'KEYCLOAK_TOKEN_GROUPS_MALFORMED',
        typeof entry === 'string'
          ? `groups claim entry ${JSON.stringify(entry)} is not a full group path (mapper without full.path, or the microprofile-jwt scope); ignored`
          : `groups claim entry ${i} is not a string; ignored`,
        { ...userSubject(user), ...(typeof entry === 'string' ? { group: entry } : {}) },
        { fix: 'set "full.path": "true" on the group-membership mapper', details: { claim: `${groupsClaim}.${i}` } },
      ),
    )
  })
  return { paths: [...paths].sort(compareCodeUnits), complete }
}

function userSubject(user: string): { user?: string } {
  return user === '' ? {} : { user }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
