import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvalidOptionsError, SourceUnavailableError } from '../../src/core/errors.js'
import { CondaStoreClient, CondaStoreResponseError } from '../../src/conda-store/index.js'
import { startFakeCondaStore, type FakeCondaStore } from './fake-conda-store.js'

const ENVS = Array.from({ length: 250 }, (_, i) => `ns${String(i % 7).padStart(2, '0')}/env${String(i).padStart(3, '0')}`).concat(['default/name1', 'default/name2'])
let fake: FakeCondaStore

beforeAll(async () => {
  fake = await startFakeCondaStore({ environments: ENVS, serviceToken: 'service-token' })
})
afterAll(async () => {
  await fake.close()
})

describe('CondaStoreClient', () => {
  it('reads every page of GET /api/v1/environment/, following the server-clamped size', async () => {
    fake.requests.length = 0
    const client = new CondaStoreClient({ baseUrl: fake.url, token: 'service-token', pageSize: 500 })
    const envs = await client.listEnvironments()
    expect(envs).toHaveLength(252)
    expect(new Set(envs.map((e) => `${e.namespace.name}/${e.name}`))).toEqual(new Set(ENVS))
    expect(fake.requests).toEqual([1, 2, 3].map((p) => `GET /conda-store/api/v1/environment/?page=${p}&size=500`))
  })
  it('sends filters and an anonymous request sees only what conda-store lists for it', async () => {
    fake.requests.length = 0
    const anon = new CondaStoreClient({ baseUrl: `${fake.url}/`, pageSize: 1 })
    const envs = await anon.listEnvironments({ search: 'name', packages: ['numpy', 'pandas'] })
    expect(envs.map((e) => e.name)).toEqual(['name1', 'name2'])
    expect(fake.requests[0]).toBe('GET /conda-store/api/v1/environment/?page=1&size=1&search=name&packages=numpy&packages=pandas')
    expect(fake.requests).toHaveLength(2)
  })
  it('reads every page of GET /api/v2/environment/ by cursor, until the empty page with the end cursor', async () => {
    fake.requests.length = 0
    const client = new CondaStoreClient({ baseUrl: fake.url, token: 'service-token', pageSize: 100 })
    const envs = await client.listEnvironmentsV2()
    expect(envs.map((e) => e.id)).toEqual([...Array(252).keys()].map((i) => i + 1))
    // 3 pages of data and one empty page that carries the end cursor, as upstream's own test loops
    expect(fake.requests).toHaveLength(4)
    expect(fake.requests[0]).toBe('GET /conda-store/api/v2/environment/?limit=100')
    const cursor = new URL(fake.requests[1]!.slice(4), 'http://x').searchParams.get('cursor')!
    expect(JSON.parse(Buffer.from(cursor, 'base64').toString('utf8'))).toEqual({ last_id: 100, last_value: {} })
  })
  it('v2: sort_by and order as conda-store reads them; every page boundary keeps the order', async () => {
    for (const [sortBy, order] of [[['name'], 'asc'], [['namespace', 'name'], 'desc'], [['name', 'namespace'], undefined]] as const) {
      fake.requests.length = 0
      const client = new CondaStoreClient({ baseUrl: fake.url, token: 'service-token', pageSize: 10 })
      const envs = await client.listEnvironmentsV2({ sortBy, ...(order ? { order } : {}) })
      expect(envs).toHaveLength(252)
      const key = (e: (typeof envs)[number]) => [...sortBy.map((k) => (k === 'name' ? e.name : e.namespace.name)), String(e.id).padStart(4, '0')].join('\u0000')
      const keys = envs.map(key)
      expect(keys).toEqual([...keys].sort((a, b) => (order === 'desc' ? (a < b ? 1 : -1) : a < b ? -1 : 1)))
      expect(fake.requests[0]).toContain(`sort_by=${sortBy.join('%2C')}`)
      expect(fake.requests).toHaveLength(27)
    }
  })
  it('v2: an anonymous caller, filters, and the errors conda-store answers', async () => {
    const anon = new CondaStoreClient({ baseUrl: fake.url, pageSize: 1 })
    expect((await anon.listEnvironmentsV2({ search: 'name' })).map((e) => e.name)).toEqual(['name1', 'name2'])
    await expect(anon.listEnvironmentsV2({ sortBy: ['size' as never] })).rejects.toThrow(InvalidOptionsError)
    await expect(anon.listEnvironmentsV2({ order: 'up' as never })).rejects.toThrow(InvalidOptionsError)
    // a server that keeps answering the same cursor is an error, not a loop
    const stuck = async () =>
      new Response(JSON.stringify({ data: [{ id: 1, namespace: { id: 1, name: 'a' }, name: 'b' }], status: 'ok', cursor: 'eyJsYXN0X2lkIjoxLCJsYXN0X3ZhbHVlIjp7fX0=', count: 5 }), { status: 200 })
    await expect(new CondaStoreClient({ baseUrl: fake.url, fetch: stuck as typeof fetch }).listEnvironmentsV2()).rejects.toThrow(/same cursor twice/)
    const raw = await fetch(`${fake.url}/api/v2/environment/?sort_by=foo`)
    expect(raw.status).toBe(400)
    expect(await raw.json()).toEqual({ status: 'error', message: "Cannot sort results by ['foo']. Valid sort_by values are ['namespace', 'name']" })
  })
  it('reads the permission API and mints tokens', async () => {
    const client = new CondaStoreClient({ baseUrl: fake.url, token: 'service-token' })
    expect((await client.permissions()).entity_roles['*/*']).toEqual(['viewer'])
    expect(await client.mintToken({ roleBindings: { 'alice/*': ['viewer'] } })).toBe('minted-token')
  })
  it('turns a conda-store error object into CONDA_STORE_ERROR_RESPONSE with the server message', async () => {
    const err = await new CondaStoreClient({ baseUrl: fake.url }).mintToken({}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CondaStoreResponseError)
    expect(err).toMatchObject({ code: 'CONDA_STORE_ERROR_RESPONSE', status: 403, serverMessage: 'request not authorized' })
  })
  it('gives a clear error for a non-conda-store response', async () => {
    const html = await new CondaStoreClient({ baseUrl: fake.htmlUrl }).listEnvironments().catch((e: unknown) => e)
    expect(html).toMatchObject({ code: 'CONDA_STORE_BAD_RESPONSE', status: 200 })
    expect((html as Error).message).toMatch(/not a conda-store response: expected JSON, got text\/html.*check baseUrl/)
    const shape = await new CondaStoreClient({ baseUrl: fake.badShapeUrl }).listEnvironments().catch((e: unknown) => e)
    expect(shape).toMatchObject({ code: 'CONDA_STORE_BAD_RESPONSE' })
    expect((shape as Error).message).toMatch(/at data\.0\.namespace/)
  })
  it('times out with a retryable SourceUnavailableError; a caller abort wins', async () => {
    const err = await new CondaStoreClient({ baseUrl: fake.slowUrl, timeoutMs: 200 }).listEnvironments().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SourceUnavailableError)
    expect(err).toMatchObject({ retryable: true })
    expect((err as Error).message).toMatch(/timed out after 200 ms/)
    const reason = new Error('caller gave up')
    const aborted = await new CondaStoreClient({ baseUrl: fake.slowUrl, timeoutMs: 5000 })
      .listEnvironments({}, { signal: AbortSignal.abort(reason) })
      .catch((e: unknown) => e)
    expect(aborted).toBe(reason)
  })
  it('reports an unreachable server as SourceUnavailableError and validates options eagerly', async () => {
    const err = await new CondaStoreClient({ baseUrl: 'http://127.0.0.1:9/conda-store', timeoutMs: 2000 }).listEnvironments().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SourceUnavailableError)
    expect(() => new CondaStoreClient({ baseUrl: 'conda-store' })).toThrow(InvalidOptionsError)
    expect(() => new CondaStoreClient({ baseUrl: 'ftp://x' })).toThrow(/http or https/)
    expect(() => new CondaStoreClient({ baseUrl: fake.url, pageSize: 0 })).toThrow(/pageSize/)
  })
})
