/**
 * `keycloak-permissions serve`: its flags (validated eagerly with zod, before any source is opened),
 * the refusal to listen beyond loopback without a caller token, and the listen / stop loop.
 */
import * as z from 'zod'
import type { Engine } from './engine.js'
import { UsageError } from './errors.js'
import { createDecisionServer, DEFAULT_LIMITS, type ServeLimits } from './serve.js'
import { isLoopbackHost } from './serve-http.js'
import type { CliSource } from './sources.js'

/** The serve-specific flags as commander hands them over (strings). */
export interface ServeFlags {
  port: string
  host: string
  allowUnauthenticated?: boolean
  headersTimeout?: string
  requestTimeout?: string
  maxConnections?: string
}

/** The serve settings after validation. */
export interface ServeSettings {
  readonly port: number
  readonly host: string
  readonly callerToken: string | undefined
  readonly limits: Partial<ServeLimits>
}

const integer = (flag: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${flag} must be a whole number`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${flag} must be between ${min} and ${max}`)

const flagsSchema = z.object({
  port: integer('--port', 0, 65_535),
  host: z.string().min(1, '--host must not be empty'),
  allowUnauthenticated: z.boolean().optional(),
  headersTimeout: integer('--headers-timeout', 1, 3_600_000).optional(),
  requestTimeout: integer('--request-timeout', 1, 3_600_000).optional(),
  maxConnections: integer('--max-connections', 1, 1_000_000).optional(),
})

/**
 * Validates the flags and the caller token (from `KEYCLOAK_PERMISSIONS_CALLER_TOKEN`), throwing
 * `UsageError` (exit 2): a bind address beyond loopback needs a caller token, or
 * `--allow-unauthenticated` to say that an open API about every user is intended.
 */
export function serveSettings(flags: ServeFlags, env: Readonly<Record<string, string | undefined>>): ServeSettings {
  const parsed = flagsSchema.safeParse(flags)
  if (!parsed.success) throw new UsageError(parsed.error.issues[0]!.message)
  const { port, host, allowUnauthenticated, headersTimeout, requestTimeout, maxConnections } = parsed.data
  const callerToken = env['KEYCLOAK_PERMISSIONS_CALLER_TOKEN'] || undefined
  if (callerToken !== undefined && !/^[\x21-\x7e]+$/.test(callerToken)) {
    throw new UsageError('KEYCLOAK_PERMISSIONS_CALLER_TOKEN must be printable ASCII without spaces')
  }
  if (!isLoopbackHost(host) && callerToken === undefined && allowUnauthenticated !== true) {
    throw new UsageError(
      `refusing to listen on ${host} without a caller token: anyone who reaches it could ask about every user. ` +
        'Set KEYCLOAK_PERMISSIONS_CALLER_TOKEN, bind --host 127.0.0.1, or pass --allow-unauthenticated',
    )
  }
  const effectiveRequest = requestTimeout ?? DEFAULT_LIMITS.requestTimeoutMs
  const effectiveHeaders = headersTimeout ?? Math.min(DEFAULT_LIMITS.headersTimeoutMs, effectiveRequest)
  if (effectiveHeaders > effectiveRequest) throw new UsageError(`--headers-timeout (${effectiveHeaders}) must not exceed --request-timeout (${effectiveRequest})`)
  return {
    port,
    host,
    callerToken,
    limits: {
      headersTimeoutMs: effectiveHeaders,
      requestTimeoutMs: effectiveRequest,
      // An idle socket is not kept longer than a whole request may take.
      idleTimeoutMs: Math.max(effectiveRequest, DEFAULT_LIMITS.keepAliveTimeoutMs),
      ...(maxConnections !== undefined ? { maxConnections } : {}),
    },
  }
}

/** Starts the server and resolves when SIGINT / SIGTERM stopped it. */
export async function runServe(settings: ServeSettings, engine: Engine, source: CliSource): Promise<void> {
  const server = createDecisionServer({
    engine,
    limits: settings.limits,
    ...(settings.callerToken !== undefined ? { callerToken: settings.callerToken } : {}),
    // Forward auth decides with the registry's rule sets: the configured STAC prefix and workspace clients.
    ...(source.tokens ? { forwardAuth: { authenticate: source.tokens, policies: { workspaces: engine.registry.routes.workspaces, stac: engine.registry.routes.stac } } } : {}),
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(settings.port, settings.host, () => resolve())
  })
  const address = server.address()
  const bound = typeof address === 'object' && address ? `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address)
  if (!isLoopbackHost(settings.host) && settings.callerToken === undefined) {
    process.stderr.write(`keycloak-permissions serve: WARNING: no caller token on ${settings.host} (--allow-unauthenticated): every user's permissions are readable by anyone who reaches this port\n`)
  }
  // The stop handlers before the "listening" line: a supervisor may signal as soon as it reads the line.
  const stopped = new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve())
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  process.stdout.write(`keycloak-permissions serve: listening on http://${bound} (${engine.description})${source.tokens ? '; forward auth on /v1/forward-auth/' : ''}\n`)
  await stopped
}
