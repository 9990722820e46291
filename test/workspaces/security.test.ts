import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  authorizeHttpRequest,
  normalizeRequestPath,
  normalizeRoutingPath,
  stacPolicy,
  workspaceApiPolicy,
  type RoutePolicy,
  type RouteReason,
  type RouteSubject,
} from '../../src/workspaces/index.js'
import { attackTargets } from '../integration/helpers/attack-targets.js'
import { makePrincipal } from './helpers.js'

// alice: a member of ws-alice; bob: ws-bob; cory and ann hold workspace roles on reserved client ids;
// pat: platform admin; eddie: STAC editor (azp eoapi), evan: the editor role on a token issued elsewhere.
const alice = makePrincipal('alice', { 'ws-alice': ['ws_access'] }, { azp: 'workspace-api' })
const bob = makePrincipal('bob', { 'ws-bob': ['ws_admin'] }, { azp: 'workspace-api' })
const cory = makePrincipal('cory', { 'workspace-api': ['ws_access'] }, { azp: 'workspace-api' })
const ann = makePrincipal(
  'ann',
  {
    account: ['ws_access'],
    'account-console': ['ws_access'],
    'admin-cli': ['ws_access'],
    broker: ['ws_access'],
    'realm-management': ['ws_access'],
    'security-admin-console': ['ws_access'],
    eoapi: ['ws_access'],
  },
  { azp: 'workspace-api' },
)
const pat = makePrincipal('pat', { 'workspace-api': ['admin'] }, { azp: 'workspace-api' })
const eddie = makePrincipal('eddie', { eoapi: ['stac_editor'] }, { azp: 'eoapi' })
const evan = makePrincipal('evan', { eoapi: ['stac_editor'], 'ws-alice': ['ws_access'] }, { azp: 'some-other-client' })

const ws = workspaceApiPolicy()
const wsStrict = workspaceApiPolicy({
  methodRules: [
    { path: '/workspaces/{ws}/**', methods: ['DELETE'], require: { anyOf: ['ws_admin'] } },
    { path: '/workspaces/{ws}/secrets/**', methods: ['GET'], require: { anyOf: ['ws_admin'] } },
  ],
})
const wsOverride = workspaceApiPolicy({
  methodOverrideHeader: 'X-HTTP-Method-Override',
  methodRules: [{ path: '/workspaces/{ws}/**', methods: ['DELETE'], require: { anyOf: ['ws_admin'] } }],
})
const stac = stacPolicy()
const stacOverride = stacPolicy({ methodOverrideHeader: 'x-http-method-override' })

interface Case {
  what: string
  policy?: RoutePolicy
  method?: string
  path: string
  who: RouteSubject
  headers?: Record<string, string>
  allowed: boolean
  reason: RouteReason
}

const A = (what: string, path: string, reason: RouteReason, extra: Partial<Case> = {}): Case => ({
  what,
  path,
  who: alice,
  allowed: reason === 'WORKSPACE_ROLE' || reason === 'PUBLIC_READ' || reason === 'PLATFORM_ADMIN' || reason === 'STAC_EDITOR',
  reason,
  ...extra,
})

const long = 'a/'.repeat(50_000)
const cases: Case[] = [
  // traversal
  A('dot-dot to another workspace', '/workspaces/ws-alice/../ws-bob', 'NO_CLIENT_ENTRY'),
  A('dot-dot out of workspaces and back', '/workspaces/ws-alice/../../workspaces/ws-bob', 'NO_CLIENT_ENTRY'),
  A('dot-dot into own workspace', '/workspaces/ws-bob/../ws-alice', 'WORKSPACE_ROLE'),
  A('dot-dot never above the root', '/../../workspaces/ws-alice', 'WORKSPACE_ROLE'),
  A('dot-dot after an empty segment', '/workspaces/ws-alice//..//ws-bob', 'NO_CLIENT_ENTRY'),
  A('single dots dropped', '/./workspaces/./ws-alice/.', 'WORKSPACE_ROLE'),
  A('encoded dot-dot', '/workspaces/ws-alice/%2e%2e/ws-bob', 'AMBIGUOUS_PATH'),
  A('encoded dot-dot upper case', '/workspaces/ws-alice/%2E%2E/ws-bob', 'AMBIGUOUS_PATH'),
  A('half-encoded dot-dot', '/workspaces/ws-alice/.%2e/ws-bob', 'AMBIGUOUS_PATH'),
  A('encoded single dot', '/workspaces/ws-alice/%2e/ws-bob', 'AMBIGUOUS_PATH'),
  A('servlet path parameter on dot-dot', '/workspaces/ws-alice/..;/ws-bob', 'AMBIGUOUS_PATH'),
  A('servlet path parameter on dot', '/workspaces/ws-alice/.;x/ws-bob', 'AMBIGUOUS_PATH'),
  A('encoded slash', '/workspaces/ws-bob%2F..%2Fws-alice', 'AMBIGUOUS_PATH'),
  A('encoded slash lower case', '/workspaces/ws-alice%2f..%2fws-bob', 'AMBIGUOUS_PATH'),
  A('encoded backslash', '/workspaces/ws-alice%5C..%5Cws-bob', 'AMBIGUOUS_PATH'),
  A('raw backslash', '/workspaces\\ws-bob', 'AMBIGUOUS_PATH'),
  A('raw backslash dot-dot', '/workspaces/ws-alice\\..\\ws-bob', 'AMBIGUOUS_PATH'),
  // encodings
  A('one layer of decoding', '/workspaces/ws%2Dalice', 'WORKSPACE_ROLE'),
  A('encoded first segment', '/%77orkspaces/ws-alice', 'WORKSPACE_ROLE'),
  A('encoded letters of another workspace', '/workspaces/ws-b%6Fb', 'NO_CLIENT_ENTRY'),
  A('double encoding', '/workspaces/ws%252Dalice', 'AMBIGUOUS_PATH'),
  A('double-encoded slash', '/workspaces/ws-alice%252F..%252Fws-bob', 'AMBIGUOUS_PATH'),
  A('double-encoded NUL', '/workspaces/ws-alice%2500', 'AMBIGUOUS_PATH'),
  A('encoded NUL', '/workspaces/ws-alice%00', 'AMBIGUOUS_PATH'),
  A('raw NUL', '/workspaces/ws-alice\u0000/x', 'AMBIGUOUS_PATH'),
  A('bad escape', '/workspaces/ws-alice%G0', 'AMBIGUOUS_PATH'),
  A('truncated escape', '/workspaces/ws-alice%2', 'AMBIGUOUS_PATH'),
  A('lone percent', '/workspaces/ws-alice%', 'AMBIGUOUS_PATH'),
  A('overlong UTF-8 dots', '/workspaces/%C0%AE%C0%AE/ws-bob', 'AMBIGUOUS_PATH'),
  A('invalid UTF-8', '/workspaces/ws-alice%FF', 'AMBIGUOUS_PATH'),
  A('encoded question mark is data', '/workspaces/ws-bob%3F/../ws-alice', 'WORKSPACE_ROLE'),
  A('encoded hash is data', '/workspaces/ws-alice%23/../../ws-bob', 'PATH_UNMATCHED'),
  // unicode look-alikes
  A('hyphen look-alike (U+2010)', '/workspaces/ws\u2010alice', 'NO_CLIENT_ENTRY'),
  A('Cyrillic a', '/workspaces/ws-\u0430lice', 'NO_CLIENT_ENTRY'),
  A('fullwidth a', '/workspaces/ws-\uff41lice', 'NO_CLIENT_ENTRY'),
  A('combining accent', '/workspaces/ws-alice\u0301', 'NO_CLIENT_ENTRY'),
  A('fullwidth solidus traversal', '/workspaces/ws-alice\uff0f..\uff0fws-bob', 'AMBIGUOUS_PATH'),
  A('encoded fullwidth solidus traversal', '/workspaces/ws-alice%EF%BC%8F..%EF%BC%8Fws-bob', 'AMBIGUOUS_PATH'),
  A('fullwidth dot-dot', '/workspaces/ws-alice/\uff0e\uff0e/ws-bob', 'AMBIGUOUS_PATH'),
  A('fullwidth reverse solidus', '/workspaces/ws-alice\uff3c..\uff3cws-bob', 'AMBIGUOUS_PATH'),
  A('division slash is a plain character', '/workspaces/ws-alice\u2215..\u2215ws-bob', 'NO_CLIENT_ENTRY'),
  // case
  A('capitalised first segment', '/Workspaces/ws-alice', 'PATH_UNMATCHED'),
  A('upper-case first segment', '/WORKSPACES/ws-alice', 'PATH_UNMATCHED'),
  A('upper-case workspace', '/workspaces/WS-ALICE', 'NO_CLIENT_ENTRY'),
  A('mixed-case other workspace', '/workspaces/Ws-Bob', 'NO_CLIENT_ENTRY'),
  // empty and duplicate segments
  A('doubled slash', '/workspaces//ws-alice', 'WORKSPACE_ROLE'),
  A('leading doubled slash', '//workspaces/ws-alice', 'WORKSPACE_ROLE'),
  A('empty workspace', '/workspaces/', 'PATH_UNMATCHED'),
  A('empty workspace, doubled', '/workspaces//', 'PATH_UNMATCHED'),
  A('bare list', '/workspaces', 'PATH_UNMATCHED'),
  A('other workspace as a sub-path', '/workspaces/ws-alice/ws-bob', 'WORKSPACE_ROLE'),
  A('own workspace as a sub-path of another', '/workspaces/ws-bob/ws-alice', 'NO_CLIENT_ENTRY'),
  A('prefix look-alike', '/workspaces/ws-alicex', 'NO_CLIENT_ENTRY'),
  A('prefix of the name', '/workspaces/ws-ali', 'NO_CLIENT_ENTRY'),
  A('prototype member as workspace', '/workspaces/__proto__', 'NO_CLIENT_ENTRY'),
  A('constructor as workspace', '/workspaces/constructor/x', 'NO_CLIENT_ENTRY'),
  A('encoded prototype member', '/workspaces/%5F_proto__', 'NO_CLIENT_ENTRY'),
  // reserved names
  { what: 'platform client as workspace', path: '/workspaces/workspace-api', who: cory, allowed: false, reason: 'RESERVED_WORKSPACE_NAME' },
  ...['account', 'account-console', 'admin-cli', 'broker', 'realm-management', 'security-admin-console'].map(
    (name): Case => ({ what: `built-in client ${name}`, path: `/workspaces/${name}/x`, who: ann, allowed: false, reason: 'RESERVED_WORKSPACE_NAME' }),
  ),
  { what: 'reserved names compare exactly', path: '/workspaces/Account', who: ann, allowed: false, reason: 'NO_CLIENT_ENTRY' },
  { what: 'admin on a reserved name', path: '/workspaces/account', who: pat, allowed: true, reason: 'PLATFORM_ADMIN' },
  { what: 'admin does not bypass normalisation', path: '/workspaces/ws-alice%2Fx', who: pat, allowed: false, reason: 'AMBIGUOUS_PATH' },
  { what: 'refused token before rules', path: '/workspaces/ws-alice', who: { failure: 'TOKEN_EXPIRED' }, allowed: false, reason: 'TOKEN_EXPIRED' },
  { what: 'ambiguity before a refused token', path: '/workspaces/a%2Fb', who: { failure: 'TOKEN_EXPIRED' }, allowed: false, reason: 'AMBIGUOUS_PATH' },
  // query and fragment
  A('query names another workspace', '/workspaces/ws-alice?x=/workspaces/ws-bob', 'WORKSPACE_ROLE'),
  A('query hides own workspace', '/workspaces/ws-bob?/workspaces/ws-alice', 'NO_CLIENT_ENTRY'),
  A('fragment hides own workspace', '/workspaces/ws-bob#/workspaces/ws-alice', 'NO_CLIENT_ENTRY'),
  A('query only', '?/workspaces/ws-alice', 'AMBIGUOUS_PATH'),
  // not origin-form
  A('relative target', 'workspaces/ws-alice', 'AMBIGUOUS_PATH'),
  A('absolute-form target', 'http://evil.example/workspaces/ws-alice', 'AMBIGUOUS_PATH'),
  A('empty target', '', 'AMBIGUOUS_PATH'),
  A('asterisk-form target', '*', 'AMBIGUOUS_PATH', { method: 'OPTIONS' }),
  // trailing slashes
  A('trailing slash', '/workspaces/ws-alice/', 'WORKSPACE_ROLE'),
  A('trailing slash, other workspace', '/workspaces/ws-bob/', 'NO_CLIENT_ENTRY'),
  // methods
  A('DELETE needs ws_admin with the method rule', '/workspaces/ws-alice', 'METHOD_NEEDS_ROLE', { method: 'DELETE', policy: wsStrict }),
  A('lower-case delete is DELETE', '/workspaces/ws-alice', 'METHOD_NEEDS_ROLE', { method: 'delete', policy: wsStrict }),
  { what: 'ws_admin passes the DELETE rule', policy: wsStrict, method: 'DELETE', path: '/workspaces/ws-bob', who: bob, allowed: true, reason: 'WORKSPACE_ROLE' },
  A('DELETE rule does not touch GET', '/workspaces/ws-alice', 'WORKSPACE_ROLE', { method: 'GET', policy: wsStrict }),
  A('HEAD is covered by a GET rule', '/workspaces/ws-alice/secrets/k', 'METHOD_NEEDS_ROLE', { method: 'HEAD', policy: wsStrict }),
  A('GET rule', '/workspaces/ws-alice/secrets/k', 'METHOD_NEEDS_ROLE', { method: 'GET', policy: wsStrict }),
  A('method override not honoured by default', '/workspaces/ws-alice', 'WORKSPACE_ROLE', {
    method: 'POST',
    policy: wsStrict,
    headers: { 'x-http-method-override': 'DELETE' },
  }),
  A('method override honoured when configured', '/workspaces/ws-alice', 'METHOD_NEEDS_ROLE', {
    method: 'POST',
    policy: wsOverride,
    headers: { 'x-http-method-override': 'delete' },
  }),
  A('another workspace with an unknown method', '/workspaces/ws-bob', 'NO_CLIENT_ENTRY', { method: 'PROPFIND' }),
  // very long paths
  A('very long sub-path', `/workspaces/ws-alice/${long}`, 'WORKSPACE_ROLE'),
  A('very many dot-dots', `${'/..'.repeat(20_000)}/workspaces/ws-bob`, 'NO_CLIENT_ENTRY'),
  A('very long workspace name', `/workspaces/ws-alice${'x'.repeat(100_000)}`, 'NO_CLIENT_ENTRY'),
  A('ambiguity at the end of a long path', `/workspaces/ws-alice/${long}%2e%2e`, 'AMBIGUOUS_PATH'),
  // anonymous
  { what: 'anonymous on a workspace', path: '/workspaces/ws-alice', who: null, allowed: false, reason: 'NO_TOKEN' },
  { what: 'anonymous on an unmatched path', path: '/metrics', who: null, allowed: false, reason: 'NO_TOKEN' },
  // STAC
  { what: 'STAC HEAD read', policy: stac, method: 'HEAD', path: '/stac/collections/sentinel-2', who: null, allowed: true, reason: 'PUBLIC_READ' },
  { what: 'STAC lower-case get', policy: stac, method: 'get', path: '/stac/collections', who: null, allowed: true, reason: 'PUBLIC_READ' },
  { what: 'STAC TRACE', policy: stac, method: 'TRACE', path: '/stac/collections', who: alice, allowed: false, reason: 'METHOD_NOT_ALLOWED' },
  { what: 'STAC CONNECT', policy: stac, method: 'CONNECT', path: '/stac/', who: eddie, allowed: false, reason: 'METHOD_NOT_ALLOWED' },
  { what: 'STAC method with a space', policy: stac, method: 'GET ', path: '/stac/', who: null, allowed: false, reason: 'METHOD_NOT_ALLOWED' },
  {
    what: 'STAC override ignored by default',
    policy: stac,
    method: 'POST',
    path: '/stac/search',
    headers: { 'x-http-method-override': 'DELETE' },
    who: null,
    allowed: true,
    reason: 'PUBLIC_READ',
  },
  {
    what: 'STAC override honoured when configured',
    policy: stacOverride,
    method: 'POST',
    path: '/stac/search',
    headers: { 'x-http-method-override': 'DELETE' },
    who: alice,
    allowed: false,
    reason: 'METHOD_NEEDS_ROLE',
  },
  { what: 'STAC other owner', policy: stac, path: '/stac/collections/ws-bob.crops', who: alice, allowed: false, reason: 'NO_CLIENT_ENTRY' },
  { what: 'STAC own collection', policy: stac, path: '/stac/collections/ws-alice.crops/items/i1', who: alice, allowed: true, reason: 'WORKSPACE_ROLE' },
  { what: 'STAC traversal to own', policy: stac, path: '/stac/collections/ws-bob.crops/../ws-alice.crops', who: alice, allowed: true, reason: 'WORKSPACE_ROLE' },
  { what: 'STAC traversal to other', policy: stac, path: '/stac/collections/ws-alice.crops/../ws-bob.crops', who: alice, allowed: false, reason: 'NO_CLIENT_ENTRY' },
  { what: 'STAC encoded dot owner', policy: stac, path: '/stac/collections/ws-bob%2Ecrops', who: alice, allowed: false, reason: 'NO_CLIENT_ENTRY' },
  { what: 'STAC reserved owner', policy: stac, path: '/stac/collections/workspace-api.x', who: cory, allowed: false, reason: 'RESERVED_WORKSPACE_NAME' },
  { what: 'STAC editor client as owner', policy: stac, path: '/stac/collections/eoapi.x', who: ann, allowed: false, reason: 'RESERVED_WORKSPACE_NAME' },
  { what: 'STAC empty owner', policy: stac, path: '/stac/collections/.hidden', who: alice, allowed: false, reason: 'NO_CLIENT_ENTRY' },
  { what: 'STAC anonymous private', policy: stac, path: '/stac/collections/ws-alice.crops/', who: null, allowed: false, reason: 'NO_TOKEN' },
  { what: 'STAC prefix look-alike', policy: stac, path: '/stacx/collections', who: null, allowed: false, reason: 'PATH_UNMATCHED' },
  { what: 'STAC prefix case', policy: stac, path: '/STAC/collections/ws-alice.crops', who: alice, allowed: false, reason: 'PATH_UNMATCHED' },
  { what: 'STAC editor on another azp writes', policy: stac, method: 'PUT', path: '/stac/collections/c', who: evan, allowed: false, reason: 'AZP_NOT_ALLOWED' },
  { what: 'STAC editor on another azp reads own', policy: stac, path: '/stac/collections/ws-alice.c', who: evan, allowed: true, reason: 'WORKSPACE_ROLE' },
  { what: 'STAC owner writes without editor', policy: stac, method: 'DELETE', path: '/stac/collections/ws-alice.c', who: alice, allowed: false, reason: 'METHOD_NEEDS_ROLE' },
  { what: 'STAC anchored editor deletes', policy: stac, method: 'DELETE', path: '/stac/collections/ws-bob.c', who: eddie, allowed: true, reason: 'STAC_EDITOR' },
  { what: 'STAC POST to a collection named search is a write', policy: stac, method: 'POST', path: '/stac/collections/search/items', who: alice, allowed: false, reason: 'METHOD_NEEDS_ROLE' },
]

describe('security suite: crafted requests', () => {
  it('has at least 60 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60)
  })

  it.each(cases.map((c) => [c.what, c] as const))('%s', (_what, c) => {
    const policy = c.policy ?? ws
    // The 100 kB paths' time is measured in bench/adversarial.ts, not asserted here.
    const d = policy.check({ method: c.method ?? 'GET', path: c.path, ...(c.headers ? { headers: c.headers } : {}) }, c.who)
    expect({ allowed: d.allowed, reason: d.reason }).toEqual({ allowed: c.allowed, reason: c.reason })
  })

  it("never lets alice reach another team's workspace", () => {
    for (const c of cases) {
      if (c.who !== alice) continue
      const d = (c.policy ?? ws).check({ method: c.method ?? 'GET', path: c.path, ...(c.headers ? { headers: c.headers } : {}) }, alice)
      if (d.allowed && d.reason !== 'PUBLIC_READ') expect(d.grant?.client, c.what).toBe('ws-alice')
    }
  })

  it('a method override is recorded in the trace only when configured', () => {
    const req = { method: 'POST', path: '/workspaces/ws-alice', headers: { 'x-http-method-override': 'DELETE' } }
    expect(wsStrict.check(req, alice).trace.some((s) => s.kind === 'method-override')).toBe(false)
    expect(wsOverride.check(req, alice).trace.some((s) => s.kind === 'method-override')).toBe(true)
  })
})

// ---------------------------------------------------------------------------------------------------
// The HTTP layer (issue 13, "one authorised path"): what a router reads must be what was decided.
// ---------------------------------------------------------------------------------------------------

/** How Express 5 and Fastify 5 read a target: the raw path split on `/`, each param decoded once, no dot resolution. */
function rawRouterSegments(target: string): string[] {
  const path = target.split('?')[0]!
  const parts = path.split('/').slice(1)
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop()
  return parts.map((p) => decodeURIComponent(p))
}

/** How a WHATWG-URL-based server reads it (Hono on node-server, `new URL(req.url, base)`): dots resolved, `\` → `/`. */
function whatwgRouterSegments(target: string): string[] {
  const parts = new URL(target, 'http://localhost').pathname.split('/').slice(1)
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop()
  return parts.map((p) => decodeURIComponent(p))
}

describe('routing-safe normalisation (normalizeRoutingPath, authorizeHttpRequest)', () => {
  it('refuses every attack target of the integration suite, and accepts its controls', () => {
    const targets = attackTargets('ws-alice', 'ws-bob')
    for (const t of targets) {
      const n = normalizeRoutingPath(t.target)
      expect(n.ok, `${t.id} ${t.target}`).toBe(t.expected !== 'refused')
    }
    expect(targets.filter((t) => t.expected === 'refused').length).toBeGreaterThanOrEqual(40)
  })

  it.each([
    ['/workspaces/ws-bob/../ws-alice', 'DOT_SEGMENT'],
    ['/workspaces/./ws-alice', 'DOT_SEGMENT'],
    ['/workspaces/ws-alice/..', 'DOT_SEGMENT'],
    ['//workspaces/ws-alice', 'EMPTY_SEGMENT'],
    ['/workspaces/ws-alice//', 'EMPTY_SEGMENT'],
    ['/workspaces/ws-alice;/x', 'SEGMENT_PARAMETER'],
    ['/workspaces/ws-alice%3Bx', 'SEGMENT_PARAMETER'],
    ['/workspaces/ws-alice%3bx', 'SEGMENT_PARAMETER'],
    ['/workspaces/ws-alice#x', 'FRAGMENT'],
    ['/workspaces/ws-alice?x=#', 'FRAGMENT'],
    ['/workspaces/ws alice', 'INVALID_CHARACTER'],
    ['/workspaces/ws-alicé', 'INVALID_CHARACTER'],
    ['/workspaces/ws-alice\t', 'INVALID_CHARACTER'],
    ['http://h/workspaces/ws-alice', 'ABSOLUTE_FORM'],
    ['HTTPS://h/workspaces/ws-alice', 'ABSOLUTE_FORM'],
    ['urn:x', 'ABSOLUTE_FORM'],
    ['*', 'NOT_ABSOLUTE'],
    ['workspaces/ws-alice', 'NOT_ABSOLUTE'],
    ['', 'NOT_ABSOLUTE'],
    // The refusals of docs/semantics/workspaces.md §6 keep their own detail.
    ['/workspaces/ws-alice/%2e%2e/ws-bob', 'ENCODED_DOT_SEGMENT'],
    ['/workspaces/ws-alice%2F..', 'ENCODED_SEPARATOR'],
    ['/workspaces/ws-alice\\..', 'RAW_SEPARATOR'],
    ['/workspaces/ws-bob/..;/ws-alice', 'DOT_SEGMENT_PARAMETER'],
    ['/workspaces/ws%252Dalice', 'DOUBLE_ENCODING'],
  ])('refuses %s (%s)', (target, detail) => {
    expect(normalizeRoutingPath(target)).toMatchObject({ ok: false, reason: 'AMBIGUOUS_PATH', detail })
  })

  it.each([
    ['/', []],
    ['/workspaces', ['workspaces']],
    ['/workspaces/', ['workspaces']],
    ['/workspaces/ws%2Dalice/files/?q=../..;x//y', ['workspaces', 'ws-alice', 'files']],
    ['/workspaces/ws-alice/a.b/..c/.../%2Ex', ['workspaces', 'ws-alice', 'a.b', '..c', '...', '.x']],
    ['/workspaces/ws-alice/caf%C3%A9', ['workspaces', 'ws-alice', 'café']],
  ])('accepts %s with the same segments as the path question', (target, segments) => {
    const routed = normalizeRoutingPath(target)
    expect(routed).toMatchObject({ ok: true, segments })
    expect(routed).toEqual(normalizeRequestPath(target))
  })

  it('whatever it accepts, Express/Fastify-style and WHATWG-style routers read the same segments as the decision', () => {
    const piece = fc.constantFrom(
      'workspaces', 'ws-alice', 'ws-bob', '.', '..', '', ';', ';x=1', '%2e', '%2E%2e', '.%2e', '%2F', '%5c', '\\', '%3B', '%25', '%2541',
      '%2D', 'a.b', '...', '#', '?', '?x=/../', '%C3%A9', '%FF', 'é', ' ', '+', '%20', '~', '@', ':', 'http:',
    )
    const target = fc.tuple(fc.boolean(), fc.array(fc.array(piece, { minLength: 0, maxLength: 3 }), { minLength: 1, maxLength: 6 })).map(
      ([slash, segments]) => (slash ? '/' : '') + segments.map((s) => s.join('')).join('/'),
    )
    let accepted = 0
    fc.assert(
      fc.property(target, (t) => {
        const routed = normalizeRoutingPath(t)
        if (!routed.ok) return
        accepted++
        expect(routed).toEqual(normalizeRequestPath(t))
        expect(rawRouterSegments(t), t).toEqual(routed.segments)
        expect(whatwgRouterSegments(t), t).toEqual(routed.segments)
      }),
      { numRuns: 3000, seed: 13 },
    )
    // The property must not hold vacuously.
    expect(accepted).toBeGreaterThan(300)
  })

  it('refuses before the token is verified, with 400 and the refusing step', async () => {
    let calls = 0
    const authenticate = async () => {
      calls++
      return alice
    }
    const answer = await authorizeHttpRequest(
      { method: 'GET', target: '/workspaces/ws-bob/../ws-alice', headers: { authorization: 'Bearer x.y.z' } },
      { policy: ws, authenticate },
    )
    expect(calls).toBe(0)
    expect(answer).toMatchObject({
      status: 400,
      principal: null,
      path: undefined,
      decision: { allowed: false, reason: 'AMBIGUOUS_PATH' },
      body: { error: 'bad_request', reason: 'AMBIGUOUS_PATH', detail: 'DOT_SEGMENT' },
    })
    expect(answer.decision.trace).toEqual([{ kind: 'path', label: '/workspaces/ws-bob/../ws-alice', data: { detail: 'DOT_SEGMENT', segment: '..' } }])
    const allowed = await authorizeHttpRequest({ method: 'GET', target: '/workspaces/ws%2Dalice/x/', headers: { authorization: 'Bearer x.y.z' } }, { policy: ws, authenticate })
    expect([calls, allowed.status, allowed.path, allowed.decision.grant?.client]).toEqual([1, 200, '/workspaces/ws-alice/x', 'ws-alice'])
  })

  it('refuses an allow whose lower-case target is denied, unless the routers are declared case-sensitive', async () => {
    let calls = 0
    const options = { policy: stac, authenticate: async () => alice }
    const ask = (target: string, extra: { caseSensitiveRouting?: boolean } = {}) => {
      calls++
      return authorizeHttpRequest({ method: 'GET', target, headers: {} }, { ...options, ...extra })
    }
    expect((await ask('/stac/COLLECTIONS/ws-bob.c/items?Q=1')).body).toEqual({ error: 'bad_request', reason: 'AMBIGUOUS_PATH', detail: 'CASE_VARIANT' })
    expect((await ask('/stac/COLLECTIONS/ws-bob.c/items', { caseSensitiveRouting: true })).decision.reason).toBe('PUBLIC_READ')
    // Upper case that changes nothing: a public mixed-case collection, an upper-case query.
    expect((await ask('/stac/collections/Sentinel-2?Next=ABC')).status).toBe(200)
    // The price: a workspace held under a mixed-case client id is refused unless the routers are declared
    // case-sensitive (the lower-case id is another client; EOEPCA workspace names are lower case).
    const mixedHolder = makePrincipal('mia', { 'ws-Mixed': ['ws_access'] }, { azp: 'workspace-api' })
    const mixed = (extra: { caseSensitiveRouting?: boolean } = {}) =>
      authorizeHttpRequest({ method: 'GET', target: '/workspaces/ws-Mixed', headers: { authorization: 'Bearer t' } }, { policy: ws, authenticate: async () => mixedHolder, ...extra })
    expect((await mixed()).body?.detail).toBe('CASE_VARIANT')
    expect((await mixed({ caseSensitiveRouting: true })).decision.grant?.client).toBe('ws-Mixed')
    expect(calls).toBe(3)
    await expect(authorizeHttpRequest({ method: 'GET', target: '/', headers: {} }, { ...options, caseSensitiveRouting: 'yes' as never })).rejects.toThrow(
      expect.objectContaining({ option: 'caseSensitiveRouting' }),
    )
  })

  it('answers 400 when the router path names other segments, and for a custom policy refusing a path', async () => {
    const authenticate = async () => alice
    const mismatch = await authorizeHttpRequest(
      { method: 'GET', target: '/workspaces/ws-alice', routerPath: '/workspaces/ws-bob', headers: {} },
      { policy: ws, authenticate },
    )
    expect(mismatch.body).toEqual({ error: 'bad_request', reason: 'AMBIGUOUS_PATH', detail: 'ROUTER_MISMATCH' })
    const agreeing = await authorizeHttpRequest(
      { method: 'GET', target: '/workspaces/ws%2Dalice/a%3Fb/', routerPath: '/workspaces/ws-alice/a%3Fb', headers: { authorization: 'Bearer t' } },
      { policy: ws, authenticate },
    )
    expect(agreeing.status).toBe(200)
    const picky: RoutePolicy = { ...ws, name: 'picky', check: (request, subject) => ({ ...ws.check(request, subject), allowed: false, reason: 'AMBIGUOUS_PATH' }) }
    const custom = await authorizeHttpRequest({ method: 'GET', target: '/workspaces/ws-alice', headers: {} }, { policy: picky, authenticate })
    expect([custom.status, custom.body?.error]).toEqual([400, 'bad_request'])
  })
})
