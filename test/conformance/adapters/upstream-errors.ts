/**
 * Every typed error of the library → the Python exception upstream raises for the same input, so an
 * adapter compares a thrown typed error with an upstream `{"error": <class>, "message": …}` by meaning
 * (README "How to run a vector" rule 4). Used by every adapter and by the upstream-test runner.
 */
import { KeycloakPermissionsError } from '../../../src/core/errors.js'

/** Python exception classes, each with its bases (a `ScopeNotFound` is a `KeyError`). */
const BASES: Record<string, readonly string[]> = {
  ScopeNotFound: ['ScopeNotFound', 'KeyError', 'LookupError', 'Exception'],
  KeyError: ['KeyError', 'LookupError', 'Exception'],
  InvalidNameError: ['InvalidNameError', 'ValueError', 'Exception'],
  ValueError: ['ValueError', 'Exception'],
  TypeError: ['TypeError', 'Exception'],
  HTTPError: ['HTTPError', 'Exception'],
}

/** Error code → the exception upstream raises (jupyterhub/scopes.py, roles.py; conda-store server/auth.py). */
export const UPSTREAM_EXCEPTION: Readonly<Record<string, string>> = {
  JUPYTERHUB_SCOPE_NOT_FOUND: 'ScopeNotFound', // _check_scopes_exist, needs_scope construction
  JUPYTERHUB_EMPTY_FILTER_VALUE: 'ValueError', // parse_scopes
  JUPYTERHUB_UNEXPANDED_FILTER: 'ValueError', // has_scope
  JUPYTERHUB_TOKEN_SCOPES_EXCEED_OWNER: 'ValueError', // _check_token_scopes
  JUPYTERHUB_CUSTOM_SCOPE_INVALID: 'ValueError', // define_custom_scopes
  JUPYTERHUB_ROLE_NAME_INVALID: 'InvalidNameError', // roles._validate_role_name
  JUPYTERHUB_USAGE: 'ValueError', // has_scope(post_filter=True) on a filtered scope
  CONDA_ROLE_EDITOR_IN_BINDING: 'ValueError', // convert_roles_to_permissions
  CONDA_ROLE_UNKNOWN: 'KeyError', // role_mappings[role]
  CONDA_ARN_INVALID: 'ValueError', // compile_arn_regex / compile_arn_sql_like
  ERR_INVALID_OPTIONS: 'TypeError',
}

/** A typed error in upstream's terms, or undefined for anything that is not a typed library error. */
export function asUpstreamError(err: unknown): { error: string; code: string; message: string } | undefined {
  if (!(err instanceof KeycloakPermissionsError)) return undefined
  const exception = UPSTREAM_EXCEPTION[err.code]
  if (exception === undefined) throw new Error(`conformance: no upstream exception kind for error code ${err.code}; add it to UPSTREAM_EXCEPTION`)
  return { error: exception, code: err.code, message: err.message }
}

/** Whether a raised `actual` class satisfies an expected `expected` class (`pytest.raises` semantics: subclasses count). */
export function raises(actual: string, expected: string): boolean {
  return (BASES[actual] ?? [actual]).includes(expected)
}

/**
 * Compares a thrown typed error with the error object found in `expected` (top level, or under
 * `scopes` as in expand vectors): class by `raises`, `message` exactly, `message_prefix` as a prefix.
 * Returns a failure text or undefined.
 */
export function compareUpstreamError(actual: { error: string; message: string }, expected: unknown): string | undefined {
  const target = findError(expected)
  if (target === undefined) return `threw ${actual.error} (${actual.message}), expected no error: ${JSON.stringify(expected)}`
  if (!raises(actual.error, String(target['error']))) return `threw ${actual.error}, expected ${String(target['error'])}`
  if (typeof target['message'] === 'string' && target['message'] !== actual.message) return `message ${JSON.stringify(actual.message)}, expected ${JSON.stringify(target['message'])}`
  if (typeof target['message_prefix'] === 'string' && !actual.message.startsWith(target['message_prefix'])) {
    return `message ${JSON.stringify(actual.message)}, expected prefix ${JSON.stringify(target['message_prefix'])}`
  }
  return undefined
}

function findError(expected: unknown): Record<string, unknown> | undefined {
  if (expected === null || typeof expected !== 'object' || Array.isArray(expected)) return undefined
  const e = expected as Record<string, unknown>
  if (typeof e['error'] === 'string') return e
  for (const value of Object.values(e)) {
    const inner = findError(value)
    if (inner) return inner
  }
  return undefined
}
