/**
 * Diagnostics: what went wrong (or surprising) in the data, as values. A malformed scope attribute
 * never aborts a resolution; it becomes a diagnostic naming the role, the item and the reason.
 *
 * @module
 */
import type { RoleRef } from './principal.js'

/**
 * How serious a diagnostic is. `error`: a role or attribute grants nothing of what it evidently
 * means (lint exits 1); `warning`: applied, but not as it reads; `info`: expected behaviour worth knowing.
 *
 * @example
 * ```ts
 * import type { Severity } from 'keycloak-permissions'
 * const s: Severity = 'warning'
 * ```
 */
export type Severity = 'error' | 'warning' | 'info'

/**
 * What a diagnostic is about. Every field is optional; fill in what is known.
 *
 * @example
 * ```ts
 * import type { DiagnosticSubject } from 'keycloak-permissions'
 * const about: DiagnosticSubject = { role: { client: 'conda_store', name: 'broken-scopes' }, attribute: 'scopes', item: ' viewer!namespace=global' }
 * ```
 */
export interface DiagnosticSubject {
  readonly role?: RoleRef
  readonly attribute?: string
  readonly item?: string
  readonly user?: string
  readonly group?: string
  readonly component?: string
}

/**
 * One finding, with a stable `code` (e.g. `NEBARI_SCOPE_ROLE_REJECTED`), a human message, what it is
 * about, an optional fix, and machine-readable `details`.
 *
 * @example
 * ```ts
 * import type { Diagnostic } from 'keycloak-permissions'
 * const d: Diagnostic = { severity: 'error', code: 'NEBARI_SCOPE_ROLE_REJECTED', message: 'role dropped', subject: {} }
 * ```
 */
export interface Diagnostic {
  readonly severity: Severity
  readonly code: string
  readonly message: string
  readonly subject: DiagnosticSubject
  readonly fix?: string
  readonly details?: Readonly<Record<string, unknown>>
}

/**
 * Builds a {@link Diagnostic}, dropping undefined optional fields so diagnostics compare and
 * serialise cleanly.
 *
 * @example
 * ```ts
 * import { diagnostic } from 'keycloak-permissions'
 * diagnostic('warning', 'NEBARI_DUPLICATE_NAMESPACE', 'several grants for ml; admin kept', { item: 'ml' })
 * ```
 */
export function diagnostic(
  severity: Severity,
  code: string,
  message: string,
  subject: DiagnosticSubject = {},
  extra: { fix?: string; details?: Record<string, unknown> } = {},
): Diagnostic {
  const d: { -readonly [K in keyof Diagnostic]: Diagnostic[K] } = { severity, code, message, subject }
  if (extra.fix !== undefined) d.fix = extra.fix
  if (extra.details !== undefined) d.details = extra.details
  return d
}

/**
 * True when any diagnostic has severity `error`.
 *
 * @example
 * ```ts
 * import { hasErrors } from 'keycloak-permissions'
 * process.exitCode = hasErrors(diagnostics) ? 1 : 0
 * ```
 */
export function hasErrors(diagnostics: Iterable<Diagnostic>): boolean {
  for (const d of diagnostics) if (d.severity === 'error') return true
  return false
}
