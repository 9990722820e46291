/**
 * A small conda-store REST client (docs/semantics/conda-store.md §11): fetch-based, every response validated with
 * zod, offset pagination of `GET /api/v1/environment/`, timeouts, and a clear typed error when the
 * server is not a conda-store (an HTML login page, a proxy error, the wrong base path).
 *
 * @module
 */
import * as z from 'zod'
import { InvalidOptionsError, SourceUnavailableError } from '../core/errors.js'
import type { Principal } from '../core/principal.js'
import type { Diagnostic } from '../core/diagnostics.js'
import { CondaStoreResponseError } from './errors.js'
import type { NebariOptions } from './nebari.js'
import { condaStorePermissionsFor } from './nebari.js'
import type { CondaStoreOptions, EnvironmentAccess, FilterOptions, PermissionResponse } from './permission-set.js'
import type { CondaStorePermissions } from './permission-set.js'
import type { RoleBindings } from './bindings.js'

const namespaceSchema = z.looseObject({
  id: z.number(),
  name: z.string(),
  metadata_: z.record(z.string(), z.unknown()).nullish(),
  role_mappings: z.array(z.looseObject({ id: z.number(), entity: z.string(), role: z.string() })).optional(),
})

const environmentSchema = z.looseObject({
  id: z.number(),
  namespace: namespaceSchema,
  name: z.string(),
  current_build_id: z.number().nullable().optional(),
  description: z.string().nullable().optional(),
})

const environmentPageSchema = z.object({
  status: z.literal('ok'),
  data: z.array(environmentSchema),
  message: z.string().nullable().optional(),
  page: z.number().int().min(1),
  size: z.number().int().min(1),
  count: z.number().int().min(0),
})

// `GET /api/v2/environment/` (conda-store `APIV2ListEnvironment`, `_internal/server/pagination.py`).
const environmentCursorPageSchema = z.object({
  status: z.literal('ok'),
  data: z.array(environmentSchema),
  message: z.string().nullable().optional(),
  cursor: z.string().nullable().optional(),
  count: z.number().int().min(0),
})

/**
 * The cursor conda-store returns for an empty page (`Cursor.end()`, base64 of
 * `{"last_id":null,"last_value":null}`): the listing is complete. Sending it back restarts at page one.
 */
const END_CURSOR = 'eyJsYXN0X2lkIjpudWxsLCJsYXN0X3ZhbHVlIjpudWxsfQ=='

const errorSchema = z.object({ status: z.literal('error'), message: z.string() })

const permissionSchema = z.object({
  status: z.literal('ok'),
  message: z.string().nullable().optional(),
  data: z.object({
    authenticated: z.boolean(),
    primary_namespace: z.string(),
    entity_permissions: z.record(z.string(), z.array(z.string())),
    entity_roles: z.record(z.string(), z.array(z.string())),
    expiration: z.string().nullable(),
  }),
})

const tokenSchema = z.object({ status: z.literal('ok'), data: z.object({ token: z.string() }) })

/**
 * An environment as conda-store's list endpoints return it (`current_build` omitted).
 *
 * @example
 * ```ts
 * import type { CondaStoreEnvironment } from 'keycloak-permissions/conda-store'
 * const label = (e: CondaStoreEnvironment) => `${e.namespace.name}/${e.name}`
 * ```
 */
export interface CondaStoreEnvironment {
  readonly id: number
  readonly namespace: {
    readonly id: number
    readonly name: string
    readonly metadata_?: Readonly<Record<string, unknown>> | null | undefined
    readonly role_mappings?: readonly { readonly id: number; readonly entity: string; readonly role: string }[] | undefined
  }
  readonly name: string
  readonly current_build_id?: number | null | undefined
  readonly description?: string | null | undefined
}

/**
 * Options of {@link CondaStoreClient}, validated when the client is created.
 *
 * @example
 * ```ts
 * import type { CondaStoreClientOptions } from 'keycloak-permissions/conda-store'
 * const o: CondaStoreClientOptions = { baseUrl: 'https://nebari.example.com/conda-store', token: process.env.CONDA_STORE_TOKEN, timeoutMs: 5_000 }
 * ```
 */
export interface CondaStoreClientOptions {
  /** conda-store's base URL, without `/api/v1` (Nebari: `https://HOST/conda-store`). */
  readonly baseUrl: string
  /** A conda-store token, sent as `Authorization: Bearer …`. */
  readonly token?: string | undefined
  /** Per-request timeout; default 10 000 ms. */
  readonly timeoutMs?: number
  /** Requested page size (v1 `size`, v2 `limit`); default 100 (v1: the server clamps to `max_page_size`; v2: not clamped). */
  readonly pageSize?: number
  /** Upper bound on pages read by one listing; default 10 000. */
  readonly maxPages?: number
  /** A `fetch` implementation; default the global one. */
  readonly fetch?: typeof fetch
}

/**
 * Filters of `GET /api/v1/environment/` (docs/semantics/conda-store.md §11.2).
 *
 * @example
 * ```ts
 * import type { EnvironmentQuery } from 'keycloak-permissions/conda-store'
 * const q: EnvironmentQuery = { namespace: 'analyst', status: 'COMPLETED' }
 * ```
 */
export interface EnvironmentQuery {
  readonly search?: string
  readonly namespace?: string
  readonly name?: string
  readonly status?: 'QUEUED' | 'BUILDING' | 'COMPLETED' | 'FAILED' | 'CANCELED'
  readonly packages?: readonly string[]
  readonly artifact?: string
  readonly jwt?: string
}

/**
 * A conda-store REST client.
 *
 * @example
 * ```ts
 * import { CondaStoreClient } from 'keycloak-permissions/conda-store'
 * const client = new CondaStoreClient({ baseUrl: 'http://127.0.0.1:8080/conda-store', token })
 * const envs = await client.listEnvironments()
 * ```
 */
export class CondaStoreClient {
  readonly baseUrl: string
  readonly #token: string | undefined
  readonly #timeoutMs: number
  readonly #pageSize: number
  readonly #maxPages: number
  readonly #fetch: typeof fetch

  constructor(options: CondaStoreClientOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('options', 'must be an object')
    let url: URL
    try {
      url = new URL(options.baseUrl)
    } catch {
      throw new InvalidOptionsError('baseUrl', `must be an absolute http(s) URL, got ${JSON.stringify(options.baseUrl)}`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidOptionsError('baseUrl', 'must use http or https')
    const positiveInt = (key: 'timeoutMs' | 'pageSize' | 'maxPages', fallback: number) => {
      const v = options[key]
      if (v === undefined) return fallback
      if (!Number.isInteger(v) || v <= 0) throw new InvalidOptionsError(key, 'must be a positive integer')
      return v
    }
    if (options.token !== undefined && typeof options.token !== 'string') throw new InvalidOptionsError('token', 'must be a string')
    if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new InvalidOptionsError('fetch', 'must be a function')
    this.baseUrl = url.href.replace(/\/+$/, '')
    this.#token = options.token
    this.#timeoutMs = positiveInt('timeoutMs', 10_000)
    this.#pageSize = positiveInt('pageSize', 100)
    this.#maxPages = positiveInt('maxPages', 10_000)
    this.#fetch = options.fetch ?? globalThis.fetch
  }

  async #request<T>(method: 'GET' | 'POST', path: string, schema: z.ZodType<T>, options: { body?: unknown; signal?: AbortSignal | undefined }): Promise<T> {
    const url = `${this.baseUrl}${path}`
    const timeout = AbortSignal.timeout(this.#timeoutMs)
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
    const headers: Record<string, string> = { accept: 'application/json' }
    if (this.#token !== undefined) headers['authorization'] = `Bearer ${this.#token}`
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    let response: Response
    let text: string
    try {
      response = await this.#fetch(url, { method, headers, signal, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) })
      text = await response.text()
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason
      if (timeout.aborted) throw new SourceUnavailableError('conda-store', `${method} ${url} timed out after ${this.#timeoutMs} ms`, { cause: err, retryable: true })
      throw new SourceUnavailableError('conda-store', `${method} ${url} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err, retryable: true })
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (err) {
      if (response.status >= 500) throw new SourceUnavailableError('conda-store', `${method} ${url} answered HTTP ${response.status}`, { status: response.status, retryable: true })
      const type = response.headers.get('content-type') ?? 'no content type'
      throw new CondaStoreResponseError(url, response.status, `not a conda-store response: expected JSON, got ${type} (${JSON.stringify(text.slice(0, 60))}); check baseUrl (Nebari: https://HOST/conda-store)`, undefined, { cause: err })
    }
    const error = errorSchema.safeParse(json)
    if (error.success) throw new CondaStoreResponseError(url, response.status, `conda-store error: ${error.data.message}`, error.data.message)
    const parsed = schema.safeParse(json)
    if (!parsed.success || !response.ok) {
      if (response.status >= 500) throw new SourceUnavailableError('conda-store', `${method} ${url} answered HTTP ${response.status}`, { status: response.status, retryable: true })
      const issue = parsed.success ? undefined : parsed.error.issues[0]
      throw new CondaStoreResponseError(url, response.status, `not a conda-store response${issue ? ` (at ${issue.path.join('.') || '(root)'}: ${issue.message})` : ''}`)
    }
    return parsed.data
  }

  /**
   * Every environment the client's token lists, reading all pages of `GET /api/v1/environment/`.
   *
   * @example
   * ```ts
   * const envs = await client.listEnvironments({ status: 'COMPLETED' }, { signal: AbortSignal.timeout(30_000) })
   * ```
   */
  async listEnvironments(query: EnvironmentQuery = {}, options: { signal?: AbortSignal } = {}): Promise<CondaStoreEnvironment[]> {
    const out: CondaStoreEnvironment[] = []
    for (let page = 1; page <= this.#maxPages; page++) {
      const params = new URLSearchParams()
      params.set('page', String(page))
      params.set('size', String(this.#pageSize))
      for (const key of ['search', 'namespace', 'name', 'status', 'artifact', 'jwt'] as const) {
        const v = query[key]
        if (v !== undefined) params.set(key, v)
      }
      for (const p of query.packages ?? []) params.append('packages', p)
      const body = await this.#request('GET', `/api/v1/environment/?${params}`, environmentPageSchema, { signal: options.signal })
      out.push(...(body.data as CondaStoreEnvironment[]))
      // The server clamps `size`; its answer (not ours) says how many pages there are.
      if (body.data.length === 0 || page >= Math.ceil(body.count / body.size) || out.length >= body.count) return out
    }
    throw new CondaStoreResponseError(`${this.baseUrl}/api/v1/environment/`, 200, `more than ${this.#maxPages} pages; raise maxPages`)
  }

  /**
   * Every environment the client's token lists, through `GET /api/v2/environment/` (cursor pagination,
   * docs/semantics/conda-store.md §11.3): pages of `pageSize` (`limit`, not clamped by the server) follow the opaque
   * cursor of the previous page until the server answers an empty page with its end cursor. `sortBy`
   * (`namespace`, `name`) and `order` are sent as conda-store reads them; without `sortBy` the order
   * is by id. A cursor that does not move is an error, never a loop.
   *
   * @example
   * ```ts
   * const envs = await client.listEnvironmentsV2({ sortBy: ['namespace', 'name'], order: 'desc' })
   * ```
   */
  async listEnvironmentsV2(
    query: EnvironmentQuery & { readonly sortBy?: readonly ('namespace' | 'name')[]; readonly order?: 'asc' | 'desc' } = {},
    options: { signal?: AbortSignal } = {},
  ): Promise<CondaStoreEnvironment[]> {
    if (query.order !== undefined && query.order !== 'asc' && query.order !== 'desc') throw new InvalidOptionsError('order', "must be 'asc' or 'desc'")
    for (const key of query.sortBy ?? []) if (key !== 'namespace' && key !== 'name') throw new InvalidOptionsError('sortBy', "entries must be 'namespace' or 'name'")
    const out: CondaStoreEnvironment[] = []
    const seen = new Set<string>()
    let cursor: string | undefined
    for (let page = 1; page <= this.#maxPages; page++) {
      const params = new URLSearchParams()
      params.set('limit', String(this.#pageSize))
      if (cursor !== undefined) params.set('cursor', cursor)
      // One comma-separated value: conda-store splits a single sort_by on commas.
      if (query.sortBy !== undefined && query.sortBy.length > 0) params.set('sort_by', query.sortBy.join(','))
      if (query.order !== undefined) params.set('order', query.order)
      for (const key of ['search', 'namespace', 'name', 'status', 'artifact', 'jwt'] as const) {
        const v = query[key]
        if (v !== undefined) params.set(key, v)
      }
      for (const p of query.packages ?? []) params.append('packages', p)
      const url = `/api/v2/environment/?${params}`
      const body = await this.#request('GET', url, environmentCursorPageSchema, { signal: options.signal })
      out.push(...(body.data as CondaStoreEnvironment[]))
      const next = body.cursor ?? END_CURSOR
      if (body.data.length === 0 || next === END_CURSOR) return out
      if (seen.has(next)) throw new CondaStoreResponseError(`${this.baseUrl}${url}`, 200, 'the server returned the same cursor twice; the listing would not advance')
      seen.add(next)
      cursor = next
    }
    throw new CondaStoreResponseError(`${this.baseUrl}/api/v2/environment/`, 200, `more than ${this.#maxPages} pages; raise maxPages`)
  }

  /**
   * The caller's permissions as conda-store reports them (`GET /api/v1/permission/`).
   *
   * @example
   * ```ts
   * (await client.permissions()).entity_roles // { 'default/*': ['viewer'], … }
   * ```
   */
  async permissions(options: { signal?: AbortSignal } = {}): Promise<PermissionResponse> {
    const body = await this.#request('GET', '/api/v1/permission/', permissionSchema, { signal: options.signal })
    return body.data as PermissionResponse
  }

  /**
   * Mints a conda-store token (`POST /api/v1/token/`); conda-store refuses bindings beyond the caller's.
   *
   * @example
   * ```ts
   * const token = await client.mintToken({ roleBindings: { 'alice/*': ['viewer'] } })
   * ```
   */
  async mintToken(request: { primaryNamespace?: string; roleBindings?: RoleBindings; expiration?: string }, options: { signal?: AbortSignal } = {}): Promise<string> {
    const body: Record<string, unknown> = {}
    if (request.primaryNamespace !== undefined) body['primary_namespace'] = request.primaryNamespace
    if (request.expiration !== undefined) body['expiration'] = request.expiration
    if (request.roleBindings !== undefined) body['role_bindings'] = request.roleBindings
    const res = await this.#request('POST', '/api/v1/token/', tokenSchema, { body, signal: options.signal })
    return res.data.token
  }
}

/**
 * The answer to "which conda-store environments can this user use?": each environment, with the
 * binding(s) and the Keycloak role, group or attribute item they came from.
 *
 * @example
 * ```ts
 * import type { UserEnvironments } from 'keycloak-permissions/conda-store'
 * const names = (u: UserEnvironments) => u.environments.map((e) => `${e.namespace}/${e.name}`)
 * ```
 */
export interface UserEnvironments {
  readonly user: string
  readonly environments: readonly EnvironmentAccess<CondaStoreEnvironment>[]
  readonly permissions: CondaStorePermissions
  readonly diagnostics: readonly Diagnostic[]
}

/**
 * End to end: principal → Nebari login bindings → conda-store's environment list (read with a
 * service token that lists everything) → the environments the user may use (`readable` by default,
 * `visibility: 'listed'` for conda-store's own listing).
 *
 * @example
 * ```ts
 * import { CondaStoreClient, environmentsForUser } from 'keycloak-permissions/conda-store'
 * const client = new CondaStoreClient({ baseUrl, token: serviceToken })
 * const { environments } = await environmentsForUser(await source.resolve('alice'), client)
 * ```
 */
export async function environmentsForUser(
  principal: Principal,
  client: CondaStoreClient,
  options: NebariOptions & FilterOptions & Pick<CondaStoreOptions, 'likeDialect' | 'roleMappings' | 'clock'> & { signal?: AbortSignal } = {},
): Promise<UserEnvironments> {
  const { visibility, signal, ...nebari } = options
  const permissions = condaStorePermissionsFor(principal, nebari)
  const all = await client.listEnvironments({}, signal ? { signal } : {})
  const environments = permissions.explainEnvironments(all, visibility !== undefined ? { visibility } : {})
  return { user: principal.username, environments, permissions, diagnostics: permissions.diagnostics }
}
