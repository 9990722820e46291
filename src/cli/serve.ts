/**
 * The HTTP decision mode (`keycloak-permissions serve`): a small JSON API over the same public
 * functions the CLI uses, answering from one shared, cached source.
 *
 *   GET  /healthz
 *   GET  /v1/users/{user}/principal
 *   GET  /v1/users/{user}/environments[?listed=true]
 *   POST /v1/check        { "user": "alice", <one check kind> }
 *   ANY  /v1/forward-auth/{nginx|traefik|envoy}/{workspaces|stac}[…]   gateway mode (forward-auth.ts)
 *
 * Hardening (docs/http.md "Limits"): header, request and idle timeouts, a connection cap and
 * per-connection limits, the exact JSON media type, one `Authorization` header, a request id on every
 * response and in the log line of every 5xx.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { LRUCache } from 'lru-cache'
import * as z from 'zod'
import { InvalidInputError, InvalidOptionsError, KeycloakPermissionsError, SourceUnavailableError, UserNotFoundError } from '../core/errors.js'
import { stacPolicy, workspaceApiPolicy } from '../workspaces/presets.js'
import type { Authenticator } from '../workspaces/http.js'
import type { RoutePolicy } from '../workspaces/types.js'
import { jsonBytes, type CheckQuestion, type Engine } from './engine.js'
import { createForwardAuth, FORWARD_AUTH_PREFIX, forwardedRequest } from './forward-auth.js'
import { duplicateHeaderFinder, HttpRequestError, jsonMediaTypeProblem, serveRouter, type ServeRoute } from './serve-http.js'

/**
 * What the server asks of the engine (an `Engine`; tests substitute their own). `staticAnswers`:
 * `true` when every answer is a function of the request alone for the life of the server (a realm
 * export and, if any, an environment file: nothing they read changes), so `serve` may keep answers.
 * `environmentsBody` / `checkBody`, when present, give the bytes of the `…Json` answers (an `Engine`
 * with `keepAnswers` keeps them per principal value); otherwise the server serialises the answer.
 * `checkQuestion`, with `checkBody`, validates a check body once so the server can reuse it per body text.
 */
export type DecisionEngine = Pick<Engine, 'description' | 'resolveJson' | 'environmentsJson' | 'checkJson'> &
  Partial<Pick<Engine, 'environmentsBody' | 'checkBody' | 'checkQuestion'>> & { readonly staticAnswers?: boolean }

/** Connection and request limits; every field has a default (see {@link DEFAULT_LIMITS}). */
export interface ServeLimits {
  /** Time to receive the complete request headers (slow-header clients get 408). */
  readonly headersTimeoutMs: number
  /** Time to receive the complete request, body included (slow-body clients get 408). */
  readonly requestTimeoutMs: number
  /** How long an idle keep-alive connection stays open after a response. */
  readonly keepAliveTimeoutMs: number
  /** A socket with no traffic for this long is closed. */
  readonly idleTimeoutMs: number
  /** Concurrent connections; connections beyond the cap are closed on accept. */
  readonly maxConnections: number
  /** Requests on one keep-alive connection before the server closes it. */
  readonly maxRequestsPerConnection: number
  /** Largest request head (request line and headers) in bytes (larger: 431). */
  readonly maxHeaderBytes: number
  /** Largest request body in bytes (larger: 413). */
  readonly maxBodyBytes: number
}

/** The defaults: generous for callers on a LAN, small enough that a slow client cannot hold a slot for minutes. */
export const DEFAULT_LIMITS: ServeLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
  maxConnections: 1_024,
  maxRequestsPerConnection: 1_000,
  maxHeaderBytes: 16 * 1024,
  maxBodyBytes: 64 * 1024,
}

/** Options of {@link createDecisionServer}. */
export interface DecisionServerOptions {
  readonly engine: DecisionEngine
  /** Callers must send `Authorization: Bearer <token>` with this value when set (not on /healthz or forward auth). */
  readonly callerToken?: string
  /** Largest accepted request body in bytes (default 64 KiB); same as `limits.maxBodyBytes`. */
  readonly maxBodyBytes?: number
  readonly limits?: Partial<ServeLimits>
  /** Gateway mode: verifies the end user's bearer token. Without it the forward-auth endpoints answer 501. */
  readonly forwardAuth?: {
    readonly authenticate: Authenticator
    /** Route policies by URL name (default: `workspaces` and `stac` presets, as `check --route`). */
    readonly policies?: Readonly<Record<string, RoutePolicy>>
    readonly realm?: string
  }
  /** Where 5xx log lines go (default: stderr). */
  readonly log?: (line: string) => void
  /** Request ids (default: {@link requestIds}: a random per-process prefix and a counter, UUID-shaped). */
  readonly requestId?: () => string
}

const ms = (max: number) => z.number().int().min(1).max(max)
const limitsSchema = z
  .strictObject({
    headersTimeoutMs: ms(3_600_000),
    requestTimeoutMs: ms(3_600_000),
    keepAliveTimeoutMs: ms(3_600_000),
    idleTimeoutMs: ms(3_600_000),
    maxConnections: z.number().int().min(1).max(1_000_000),
    maxRequestsPerConnection: z.number().int().min(1).max(1_000_000),
    maxHeaderBytes: z.number().int().min(1_024).max(1024 * 1024),
    maxBodyBytes: z.number().int().min(1).max(64 * 1024 * 1024),
  })
  .refine((l) => l.headersTimeoutMs <= l.requestTimeoutMs, { message: 'headersTimeoutMs must not exceed requestTimeoutMs', path: ['headersTimeoutMs'] })

const isFunction = (v: unknown) => typeof v === 'function'
const optionsSchema = z.strictObject({
  engine: z.custom<DecisionEngine>(
    (v) => v !== null && typeof v === 'object' && ['resolveJson', 'environmentsJson', 'checkJson'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function'),
    'expected an Engine',
  ),
  callerToken: z.string().regex(/^[\x21-\x7e]+$/, 'expected a non-empty token of printable ASCII without spaces').optional(),
  maxBodyBytes: z.number().int().min(1).optional(),
  limits: z.record(z.string(), z.unknown()).optional(),
  forwardAuth: z
    .strictObject({
      authenticate: z.custom<Authenticator>((v) => isFunction(v) || (v !== null && typeof v === 'object' && isFunction((v as { resolve?: unknown }).resolve)), 'expected a function or an object with resolve(token), such as a TokenSource'),
      policies: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), z.custom<RoutePolicy>((v) => v !== null && typeof v === 'object' && isFunction((v as { check?: unknown }).check), 'expected a RoutePolicy')).optional(),
      realm: z.string().optional(),
    })
    .optional(),
  log: z.custom<(line: string) => void>(isFunction, 'expected a function').optional(),
  requestId: z.custom<() => string>(isFunction, 'expected a function').optional(),
})

function invalid(prefix: string, error: z.ZodError): InvalidOptionsError {
  const issue = error.issues[0]!
  const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.')
  return new InvalidOptionsError(path || 'options', issue.message)
}

/** Validates the limits (eagerly, with the offending field) and fills in defaults. */
export function resolveLimits(limits: Partial<ServeLimits> = {}, maxBodyBytes?: number): ServeLimits {
  const merged = { ...DEFAULT_LIMITS, ...(maxBodyBytes !== undefined ? { maxBodyBytes } : {}), ...limits }
  const parsed = limitsSchema.safeParse(merged)
  if (!parsed.success) throw invalid('limits', parsed.error)
  return parsed.data
}

// Headers a request may carry once: the first of two Authorization headers must not silently win.
const SINGLE_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'content-type',
  'content-length',
  'host',
  'x-original-uri',
  'x-original-method',
  'x-forwarded-uri',
  'x-forwarded-method',
  'x-forwarded-host',
  'x-forwarded-proto',
])

// How many answers of a static source `serve` keeps, and their bytes at most (keys included).
const ANSWER_CACHE_ENTRIES = 10_000
const ANSWER_CACHE_BYTES = 64 * 1024 * 1024
// Longer questions (a user name, a check body) are answered but not kept.
const MAX_CACHED_KEY = 4 * 1024
// Validated check bodies by body text, on a source that is not static (see `checkText`).
const QUESTION_CACHE_ENTRIES = 4_096
const QUESTION_CACHE_BYTES = 16 * 1024 * 1024

/**
 * Request ids unique within the process at the cost of a counter: 24 characters of one random UUID
 * drawn at start-up, then the request's number as 12 hex digits — UUID-shaped (36 characters of hex
 * and dashes), unique for 2^48 requests per process, and distinct across processes by the random
 * prefix; a counter draws no random bytes per request (docs/http.md, "Errors").
 *
 * @example
 * ```ts
 * const next = requestIds()
 * next() // '1b9d6bcd-bbfd-4b2d-9b5d-000000000001'
 * ```
 */
export function requestIds(): () => string {
  const prefix = randomUUID().slice(0, 24)
  let n = 0
  return () => prefix + (++n).toString(16).padStart(12, '0')
}

const JSON_TYPE = 'application/json; charset=utf-8'

// A kept or computed answer: one flat header list with the request id first (the order `send` gives),
// so Node writes the head without building its header map.
function sendBytes(res: ServerResponse, id: string, body: Buffer): void {
  res.writeHead(200, ['x-request-id', id, 'content-type', JSON_TYPE, 'content-length', body.length, 'cache-control', 'no-store'])
  res.end(body)
}

function send(res: ServerResponse, id: string, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  if (!res.hasHeader('x-request-id')) res.setHeader('x-request-id', id)
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' })
  res.end(text)
}

/** The request body as UTF-8 text, after the media type and size checks (415, 413, 400). */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const problem = jsonMediaTypeProblem(req.headers['content-type'])
  if (problem !== undefined) return Promise.reject(new HttpRequestError(415, 'UNSUPPORTED_MEDIA_TYPE', `${problem}; send Content-Type: application/json`))
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) return Promise.reject(new HttpRequestError(413, 'BODY_TOO_LARGE', `request body over ${limit} bytes`))
  // Plain listeners rather than `for await`: an async iterator per request costs more than the rest of a cached answer.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        cleanup()
        reject(new HttpRequestError(413, 'BODY_TOO_LARGE', `request body over ${limit} bytes`))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      try {
        resolve(UTF8.decode(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
      } catch {
        reject(new HttpRequestError(400, 'INVALID_JSON', 'request body is not valid UTF-8'))
      }
    }
    const onError = (err: Error) => {
      cleanup()
      reject(err)
    }
    const onClose = () => {
      // The client went away before the end of the body (or Node timed the request out).
      cleanup()
      reject(new Error('request closed before its body was complete'))
    }
    const cleanup = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
    }
    req.on('data', onData)
    req.once('end', onEnd)
    req.once('error', onError)
    req.once('close', onClose)
  })
}

const UTF8 = new TextDecoder('utf-8', { fatal: true })

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw new HttpRequestError(400, 'INVALID_JSON', 'request body is not valid JSON')
  }
}

function authorized(req: IncomingMessage, want: Buffer | undefined): boolean {
  if (want === undefined) return true
  const header = req.headers.authorization ?? ''
  const space = header.indexOf(' ')
  if (space === -1 || header.slice(0, space).toLowerCase() !== 'bearer') return false
  const given = Buffer.from(header.slice(space + 1))
  return given.length === want.length && timingSafeEqual(given, want)
}

const duplicateSingleHeader = duplicateHeaderFinder(SINGLE_HEADERS)

// The count of requests served on a socket, kept on the socket itself (a property read is cheaper than a WeakMap).
const SERVED = Symbol('keycloak-permissions.served')
type CountedSocket = Socket & { [SERVED]?: number }

function errorStatus(err: unknown): { status: number; code: string; message: string } {
  if (err instanceof HttpRequestError) return { status: err.status, code: err.code, message: err.message }
  if (err instanceof UserNotFoundError) return { status: 404, code: err.code, message: err.message }
  if (err instanceof SourceUnavailableError) return { status: 503, code: err.code, message: err.message }
  if (err instanceof InvalidInputError) return { status: 400, code: err.code, message: err.message }
  if (err instanceof KeycloakPermissionsError) return { status: 400, code: err.code, message: err.message }
  return { status: 500, code: 'INTERNAL', message: 'internal error' }
}

// Answers a request Node refused before any handler (timeouts, oversized or malformed heads) with the
// same JSON error shape; a socket that is already gone or mid-response is just closed.
function clientErrorAnswer(err: NodeJS.ErrnoException): { status: number; code: string; message: string } {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'REQUEST_TIMEOUT', message: 'the request was not received in time' }
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'HEADERS_TOO_LARGE', message: 'request headers too large' }
    default:
      return { status: 400, code: 'BAD_REQUEST', message: 'malformed HTTP request' }
  }
}

/**
 * Creates (does not start) the decision server. Options are validated now (`InvalidOptionsError`
 * naming the field).
 */
export function createDecisionServer(options: DecisionServerOptions): Server {
  const parsed = optionsSchema.safeParse(options)
  if (!parsed.success) throw invalid('', parsed.error)
  const limits = resolveLimits(options.limits, options.maxBodyBytes)
  const { engine } = options
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`))
  const nextId = options.requestId ?? requestIds()
  const callerToken = options.callerToken === undefined ? undefined : Buffer.from(options.callerToken)
  const forwardAuth =
    options.forwardAuth === undefined
      ? undefined
      : createForwardAuth({
          authenticate: options.forwardAuth.authenticate,
          policies: options.forwardAuth.policies ?? { workspaces: workspaceApiPolicy(), stac: stacPolicy() },
          ...(options.forwardAuth.realm !== undefined ? { realm: options.forwardAuth.realm } : {}),
        })
  // Routes by exact raw target: a repeated target costs a map lookup, not a URL parse (serve-http.ts).
  const route = serveRouter()

  // Answers of a static source (engine.staticAnswers), kept as the bytes sent: the same question
  // (endpoint and every input of it) gets the same bytes without resolving, deciding or serialising
  // again. Bounded by entries and bytes; errors are never kept.
  const answers =
    engine.staticAnswers === true ? new LRUCache<string, Buffer>({ max: ANSWER_CACHE_ENTRIES, maxSize: ANSWER_CACHE_BYTES, sizeCalculation: (body, key) => body.length + key.length * 2 }) : undefined
  const environmentsKey = (route: ServeRoute, user: string): string | undefined =>
    answers !== undefined && user.length <= MAX_CACHED_KEY ? `envs\u0000${route.listed}\u0000${user}` : undefined
  const respond = async (res: ServerResponse, id: string, key: string | undefined, compute: () => Promise<Buffer>): Promise<void> => {
    let body = key === undefined ? undefined : answers!.get(key)
    if (body === undefined) {
      body = await compute()
      if (key !== undefined) answers!.set(key, body)
    }
    sendBytes(res, id, body)
  }
  const environmentsBody = async (user: string, listed: boolean): Promise<Buffer> =>
    engine.environmentsBody !== undefined ? engine.environmentsBody(user, { listed }) : jsonBytes(await engine.environmentsJson(user, { listed }))
  const checkBody = async (body: unknown): Promise<Buffer> => (engine.checkBody !== undefined ? engine.checkBody(body) : jsonBytes(await engine.checkJson(body)))
  // Without kept answers (a source that is not static), the answer to a body may change but its
  // validated question does not: parsing and validating it again cost about as much as a kept answer.
  // Kept per exact body text, bounded; invalid bodies are never kept (each gets its 400 again), nor
  // token checks (a bearer token stays out of every cache but the token verifier's).
  const questions =
    answers === undefined && engine.checkQuestion !== undefined && engine.checkBody !== undefined
      ? new LRUCache<string, CheckQuestion>({ max: QUESTION_CACHE_ENTRIES, maxSize: QUESTION_CACHE_BYTES, sizeCalculation: (_question, text) => text.length * 4 })
      : undefined
  const checkText = async (text: string): Promise<Buffer> => {
    if (questions === undefined) return checkBody(parseJson(text))
    let question = questions.get(text)
    if (question === undefined) {
      question = engine.checkQuestion!(parseJson(text))
      if (!question.byToken && text.length <= MAX_CACHED_KEY) questions.set(text, question)
    }
    return engine.checkBody!(question)
  }

  // Everything but a kept answer to a GET: each refusal, every endpoint, in the order the checks run.
  const answer = async (req: IncomingMessage, res: ServerResponse, id: string, target: string): Promise<void> => {
    try {
      const duplicate = duplicateSingleHeader(req.rawHeaders)
      if (duplicate !== undefined) throw new HttpRequestError(400, 'DUPLICATE_HEADER', `more than one ${duplicate} header`)
      if (target.startsWith(FORWARD_AUTH_PREFIX)) {
        res.setHeader('x-request-id', id)
        if (forwardAuth === undefined) {
          throw new HttpRequestError(501, 'FORWARD_AUTH_NOT_CONFIGURED', 'forward auth needs token verification: serve --keycloak URL … --token-audience CLIENT')
        }
        const forwarded = forwardedRequest(req, target, forwardAuth.policies)
        const answer = await forwardAuth.answer(forwarded, req.headers)
        return send(res, id, answer.status, answer.body, answer.headers)
      }
      let routed: ServeRoute
      try {
        routed = route(target)
      } catch {
        // Node's parser took the request line, the URL parser does not (`http://[…`): bad input, not a failure of ours.
        throw new HttpRequestError(400, 'BAD_REQUEST', 'the request target is not a URL path this server can parse')
      }
      if (req.method === 'GET' && routed.pathname === '/healthz') {
        return send(res, id, 200, { status: 'ok', source: engine.description })
      }
      if (!authorized(req, callerToken)) {
        res.setHeader('x-request-id', id)
        res.setHeader('www-authenticate', 'Bearer realm="keycloak-permissions"')
        throw new HttpRequestError(401, 'UNAUTHORIZED', 'a valid caller token is required')
      }
      const userPath = routed.userPath
      if (userPath !== undefined) {
        if (req.method !== 'GET') throw new HttpRequestError(405, 'METHOD_NOT_ALLOWED', `${req.method} not allowed here`)
        const user = userPath.user
        if (user === undefined) throw new HttpRequestError(400, 'INVALID_PATH', 'the user segment is not valid percent-encoded UTF-8')
        if (userPath.leaf === 'principal') return send(res, id, 200, await engine.resolveJson(user))
        if (userPath.leaf === 'environments') {
          return await respond(res, id, environmentsKey(routed, user), () => environmentsBody(user, routed.listed))
        }
      }
      if (routed.pathname === '/v1/check') {
        if (req.method !== 'POST') throw new HttpRequestError(405, 'METHOD_NOT_ALLOWED', 'use POST')
        const text = await readBody(req, limits.maxBodyBytes)
        // The whole body is the question: the same bytes get the same answer from a static source.
        return await respond(res, id, answers && text.length <= MAX_CACHED_KEY ? `check\u0000${text}` : undefined, () => checkText(text))
      }
      throw new HttpRequestError(404, 'NOT_FOUND', `no endpoint ${req.method} ${routed.pathname}`)
    } catch (err) {
      // The client went away (or Node timed the request out and answered 408): nothing to answer.
      if (req.destroyed && !req.complete && !(err instanceof HttpRequestError)) return void res.destroy()
      const { status, code, message } = errorStatus(err)
      if (status >= 500) {
        const detail = err instanceof Error ? (status === 500 ? (err.stack ?? err.message) : err.message) : String(err)
        log(`keycloak-permissions serve: ${status} ${code} request ${id} ${req.method} ${JSON.stringify(target)}: ${detail}`)
      }
      if (res.headersSent) return void res.destroy()
      if (!res.hasHeader('x-request-id')) res.setHeader('x-request-id', id)
      // A body refused part-way is not read further: close the connection after the answer.
      if (status === 413) res.setHeader('connection', 'close')
      send(res, id, status, { error: { code, message, requestId: id } })
    }
  }

  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      // Node checks the two timeouts on this interval (default 30 s, which would stretch a short timeout).
      connectionsCheckingInterval: Math.max(25, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    (req, res) => {
      const id = nextId()
      // Node answers the last allowed request with `Connection: close` but leaves the socket open for the
      // client to close: close it ourselves once that answer is out.
      const socket = req.socket as CountedSocket
      const served = (socket[SERVED] ?? 0) + 1
      socket[SERVED] = served
      if (served >= limits.maxRequestsPerConnection) res.once('finish', () => socket.end())
      const target = req.url ?? '/'
      // A kept answer to a GET is sent here, synchronously (no promise when nothing awaits), and only
      // when every check of `answer` passes: the same checks in the same order, so the bytes are the
      // ones `answer` would send. Anything else (a refusal, a miss, another endpoint) goes to `answer`.
      // A target the URL parser refuses throws here: `answer` refuses it (400 BAD_REQUEST).
      if (answers !== undefined && req.method === 'GET' && !target.startsWith(FORWARD_AUTH_PREFIX)) {
        try {
          const routed = route(target)
          const user = routed.userPath?.user
          if (user !== undefined && routed.userPath!.leaf === 'environments' && duplicateSingleHeader(req.rawHeaders) === undefined && authorized(req, callerToken)) {
            const key = environmentsKey(routed, user)
            const body = key === undefined ? undefined : answers.get(key)
            if (body !== undefined) return sendBytes(res, id, body)
          }
        } catch {
          // answered by `answer` below
        }
      }
      void answer(req, res, id, target)
    },
  )
  server.maxConnections = limits.maxConnections
  server.maxRequestsPerSocket = limits.maxRequestsPerConnection
  server.setTimeout(limits.idleTimeoutMs)
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable || (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage?.headersSent) {
      socket.destroy()
      return
    }
    const { status, code, message } = clientErrorAnswer(err)
    const id = nextId()
    const text = JSON.stringify({ error: { code, message, requestId: id } })
    // end() only half-closes (HTTP servers allow half-open sockets): destroy once the answer is out.
    socket.end(
      `HTTP/1.1 ${status} ${code.replace(/_/g, ' ')}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(text)}\r\ncache-control: no-store\r\nx-request-id: ${id}\r\n\r\n${text}`,
      () => socket.destroy(),
    )
  })
  return server
}
