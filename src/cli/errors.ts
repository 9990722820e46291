import { KeycloakPermissionsError } from '../core/errors.js'

/** A command-line usage error (unknown flag, missing argument): exit status 2. */
export class UsageError extends KeycloakPermissionsError {
  static override code = 'ERR_CLI_USAGE'
  override readonly code = UsageError.code
}

/** Exit statuses of every command (the CLI contract). */
export const EXIT = { ok: 0, denied: 1, input: 2 } as const
