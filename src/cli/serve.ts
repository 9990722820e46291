/**
 * The HTTP decision mode (`keycloak-permissions serve`): a small JSON API over the same public
 * functions the CLI uses, answering from one shared, cached source.
 *
 *   GET  /healthz
 *   GET  /v1/users/{user}/principal
 *   GET  /v1/users/{user}/environments[?listed=true]
 *   POST /v1/check        { "user": "alice", <one check kind> }
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { timingSafeEqual } from 'node:crypto'
import { KeycloakPermissionsError, UserNotFoundError, SourceUnavailableError, InvalidInputError } from '../core/errors.js'
import type { Engine } from './engine.js'

/** Options of {@link createDecisionServer}. */
export interface DecisionServerOptions {
  readonly engine: Engine
  /** Callers must send `Authorization: Bearer <token>` with this value when set. */
  readonly callerToken?: string
  /** Largest accepted request body in bytes (default 64 KiB). */
  readonly maxBodyBytes?: number
}

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message)
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' })
  res.end(text)
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers['content-type'] ?? ''
  if (!type.toLowerCase().startsWith('application/json')) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send Content-Type: application/json')
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) throw new HttpError(413, 'BODY_TOO_LARGE', `request body over ${limit} bytes`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) throw new HttpError(413, 'BODY_TOO_LARGE', `request body over ${limit} bytes`)
    chunks.push(chunk as Buffer)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new HttpError(400, 'INVALID_JSON', 'request body is not valid JSON')
  }
}

function authorized(req: IncomingMessage, expected: string | undefined): boolean {
  if (expected === undefined) return true
  const header = req.headers.authorization ?? ''
  const match = /^Bearer ([^\s]+)$/i.exec(header)
  if (!match) return false
  const given = Buffer.from(match[1]!)
  const want = Buffer.from(expected)
  return given.length === want.length && timingSafeEqual(given, want)
}

function errorStatus(err: unknown): { status: number; code: string; message: string } {
  if (err instanceof HttpError) return { status: err.status, code: err.code, message: err.message }
  if (err instanceof UserNotFoundError) return { status: 404, code: err.code, message: err.message }
  if (err instanceof SourceUnavailableError) return { status: 503, code: err.code, message: err.message }
  if (err instanceof InvalidInputError) return { status: 400, code: err.code, message: err.message }
  if (err instanceof KeycloakPermissionsError) return { status: 400, code: err.code, message: err.message }
  return { status: 500, code: 'INTERNAL', message: 'internal error' }
}

/**
 * Creates (does not start) the decision server.
 */
export function createDecisionServer(options: DecisionServerOptions): Server {
  const limit = options.maxBodyBytes ?? 64 * 1024
  const { engine } = options
  return createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost')
      const parts = url.pathname.split('/').slice(1)
      if (req.method === 'GET' && url.pathname === '/healthz') {
        return send(res, 200, { status: 'ok', source: engine.description })
      }
      if (!authorized(req, options.callerToken)) {
        res.setHeader('www-authenticate', 'Bearer realm="keycloak-permissions"')
        throw new HttpError(401, 'UNAUTHORIZED', 'a valid caller token is required')
      }
      if (parts[0] === 'v1' && parts[1] === 'users' && parts.length === 4 && parts[2]) {
        if (req.method !== 'GET') throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} not allowed here`)
        let user: string
        try {
          user = decodeURIComponent(parts[2])
        } catch {
          throw new HttpError(400, 'INVALID_PATH', 'the user segment is not valid percent-encoded UTF-8')
        }
        if (parts[3] === 'principal') return send(res, 200, await engine.resolveJson(user))
        if (parts[3] === 'environments') {
          return send(res, 200, await engine.environmentsJson(user, { listed: url.searchParams.get('listed') === 'true' }))
        }
      }
      if (url.pathname === '/v1/check') {
        if (req.method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use POST')
        const body = await readJson(req, limit)
        return send(res, 200, await engine.checkJson(body))
      }
      throw new HttpError(404, 'NOT_FOUND', `no endpoint ${req.method} ${url.pathname}`)
    } catch (err) {
      const { status, code, message } = errorStatus(err)
      if (!res.headersSent) send(res, status, { error: { code, message } })
      else res.destroy()
    }
  })
}
