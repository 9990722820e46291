import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { stacPolicy, workspaceApiPolicy } from '../../src/workspaces/index.js'
import { makePrincipal } from './helpers.js'

// ---------------------------------------------------------------------------------------------------
// An independent reference model of docs/semantics/workspaces.md §2, §3 and §6, written the straightforward way.
// ---------------------------------------------------------------------------------------------------

const RESERVED = ['workspace-api', 'account', 'account-console', 'admin-cli', 'broker', 'realm-management', 'security-admin-console']

function modelSegments(target: string): string[] | 'AMBIGUOUS_PATH' {
  const path = target.split('#')[0]!.split('?')[0]!
  if (!path.startsWith('/')) return 'AMBIGUOUS_PATH'
  const kept: string[] = []
  for (const raw of path.split('/')) {
    if (raw.includes('\\') || raw.includes('\u0000')) return 'AMBIGUOUS_PATH'
    if (/%(2f|5c|00)/i.test(raw)) return 'AMBIGUOUS_PATH'
    if (/%(?![0-9a-f]{2})/i.test(raw)) return 'AMBIGUOUS_PATH'
    let seg: string
    try {
      seg = decodeURIComponent(raw)
    } catch {
      return 'AMBIGUOUS_PATH'
    }
    if (/%[0-9a-f]{2}/i.test(seg)) return 'AMBIGUOUS_PATH'
    if (raw.includes('%') && (seg === '.' || seg === '..')) return 'AMBIGUOUS_PATH'
    // Our two documented extensions: compatibility look-alikes of separators, servlet `..;x`.
    const nfkc = seg.normalize('NFKC')
    if (nfkc !== seg && (nfkc === '.' || nfkc === '..' || /[/\\\u0000]/.test(nfkc))) return 'AMBIGUOUS_PATH'
    if (/^\.\.?;/.test(seg)) return 'AMBIGUOUS_PATH'
    kept.push(seg)
  }
  const out: string[] = []
  for (const seg of kept.filter((s) => s !== '')) {
    if (seg === '.') continue
    if (seg === '..') out.pop()
    else out.push(seg)
  }
  return out
}

type Roles = Record<string, string[]>

function modelWorkspace(path: string, roles: Roles | null): string {
  const segs = modelSegments(path)
  if (segs === 'AMBIGUOUS_PATH') return segs
  if (roles === null) return 'NO_TOKEN'
  if ((roles['workspace-api'] ?? []).includes('admin')) return 'PLATFORM_ADMIN'
  if (segs[0] !== 'workspaces' || segs.length < 2) return 'PATH_UNMATCHED'
  const ws = segs[1]!
  if (RESERVED.includes(ws)) return 'RESERVED_WORKSPACE_NAME'
  if (!Object.hasOwn(roles, ws)) return 'NO_CLIENT_ENTRY'
  return roles[ws]!.some((r) => r === 'ws_access' || r === 'ws_admin') ? 'WORKSPACE_ROLE' : 'ROLE_MISSING'
}

function modelStac(method: string, path: string, roles: Roles | null, azp: string | undefined): string {
  const segs = modelSegments(path)
  if (segs === 'AMBIGUOUS_PATH') return segs
  if (segs[0] !== 'stac') return 'PATH_UNMATCHED'
  const m = method.toUpperCase()
  const rest = segs.slice(1)
  const isRead = ['GET', 'HEAD', 'OPTIONS'].includes(m) || (m === 'POST' && rest.length > 0 && rest[rest.length - 1] === 'search')
  const isWrite = !isRead && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(m)
  if (!isRead && !isWrite) return 'METHOD_NOT_ALLOWED'
  const holdsEditor = roles !== null && (roles['eoapi'] ?? []).includes('stac_editor')
  if (holdsEditor && azp === 'eoapi') return 'STAC_EDITOR'
  if (isWrite) return roles === null ? 'NO_TOKEN' : holdsEditor ? 'AZP_NOT_ALLOWED' : 'METHOD_NEEDS_ROLE'
  const at = rest.indexOf('collections')
  const id = at === -1 ? undefined : rest[at + 1]
  if (id === undefined) return 'PUBLIC_READ'
  if (!id.includes('.')) return id.startsWith('ws-') && roles === null ? 'NO_TOKEN' : 'PUBLIC_READ'
  if (roles === null) return 'NO_TOKEN'
  const owner = id.split('.')[0]!
  if (owner === '') return 'NO_CLIENT_ENTRY'
  if ([...RESERVED, 'eoapi'].includes(owner)) return 'RESERVED_WORKSPACE_NAME'
  if (!Object.hasOwn(roles, owner)) return 'NO_CLIENT_ENTRY'
  return roles[owner]!.some((r) => r === 'ws_access' || r === 'ws_admin') ? 'WORKSPACE_ROLE' : 'ROLE_MISSING'
}

// ---------------------------------------------------------------------------------------------------

const CLIENTS = ['ws-a', 'ws-b', 'ws-c', 'workspace-api', 'account', 'eoapi']
const ROLES = ['ws_access', 'ws_admin', 'ws_api', 'admin', 'stac_editor']
const SEGMENTS = [
  'workspaces', 'Workspaces', 'stac', 'collections', 'search', 'items', ...CLIENTS, 'ws-a.crops', 'ws-b.x', 'eoapi.x', '.hidden',
  '', '.', '..', '%2e%2e', '%2E', '..;', 'ws%2Da', 'ws-a%2F..', 'a%5Cb', '%00', '%252e', '%', '%zz', '%C0%AE', 'ws-\uff41', '\uff0e\uff0e',
  'x', 'ws-a%3F', '%23', 'a\\b', '__proto__', 'constructor', 'toString', 'ws-a.__proto__', 'hasOwnProperty.x',
]

const rolesArb: fc.Arbitrary<Roles> = fc.dictionary(fc.constantFrom(...CLIENTS), fc.uniqueArray(fc.constantFrom(...ROLES), { maxLength: 3 }), {
  maxKeys: 5,
})
const subjectArb = fc.option(rolesArb, { nil: null, freq: 5 })
const pathArb = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.constantFrom(...SEGMENTS), { maxLength: 6 }).map((s) => `/${s.join('/')}`) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.array(fc.constantFrom(...SEGMENTS), { maxLength: 4 }), fc.constantFrom('?', '#', '?x=/workspaces/ws-b', '', '/'))
      .map(([s, tail]) => `/${s.join('/')}${tail}`),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }).map((s) => `/workspaces/${s}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
)
const methodArb = fc.constantFrom('GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE', 'TRACE', 'get', 'post', 'Delete')

const toPrincipal = (roles: Roles, azp?: string) => makePrincipal('u', roles, azp === undefined ? { token: true } : { azp })

describe('property: the workspace rule equals the reference model', () => {
  const policy = workspaceApiPolicy()

  it('for random principals, methods and paths', () => {
    fc.assert(
      fc.property(subjectArb, methodArb, pathArb, (roles, method, path) => {
        const d = policy.check({ method, path }, roles === null ? null : toPrincipal(roles))
        const expected = modelWorkspace(path, roles)
        expect(d.reason).toBe(expected)
        expect(d.allowed).toBe(expected === 'WORKSPACE_ROLE' || expected === 'PLATFORM_ADMIN')
      }),
      { numRuns: 3000 },
    )
  })

  it('filtering a list of workspaces is the single check', () => {
    fc.assert(
      fc.property(rolesArb, fc.uniqueArray(fc.constantFrom(...SEGMENTS.filter((s) => s !== '')), { maxLength: 10 }), (roles, names) => {
        const principal = toPrincipal(roles)
        const toRequest = (ws: string) => ({ method: 'GET', path: `/workspaces/${ws}` })
        const filtered = policy.filter(names, principal, toRequest)
        expect(filtered).toEqual(names.filter((ws) => policy.check(toRequest(ws), principal).allowed))
        expect(filtered).toEqual(names.filter((ws) => ['WORKSPACE_ROLE', 'PLATFORM_ADMIN'].includes(modelWorkspace(`/workspaces/${ws}`, roles))))
      }),
      { numRuns: 1000 },
    )
  })
})

describe('property: the STAC rules equal the reference model', () => {
  const policy = stacPolicy()

  it('for random principals, azp, methods and paths', () => {
    fc.assert(
      fc.property(subjectArb, fc.constantFrom('eoapi', 'workspace-api', undefined), methodArb, pathArb, (roles, azp, method, path) => {
        const d = policy.check({ method, path }, roles === null ? null : toPrincipal(roles, azp))
        const expected = modelStac(method, path, roles, azp)
        expect(d.reason).toBe(expected)
        expect(d.allowed).toBe(['PUBLIC_READ', 'WORKSPACE_ROLE', 'STAC_EDITOR'].includes(expected))
      }),
      { numRuns: 3000 },
    )
  })

  it('filtering collections is the single check', () => {
    fc.assert(
      fc.property(subjectArb, fc.uniqueArray(fc.constantFrom(...SEGMENTS.filter((s) => s !== '')), { maxLength: 10 }), (roles, ids) => {
        const subject = roles === null ? null : toPrincipal(roles, 'workspace-api')
        const toRequest = (id: string) => ({ method: 'GET', path: `/stac/collections/${id}` })
        expect(policy.filter(ids, subject, toRequest)).toEqual(ids.filter((id) => policy.check(toRequest(id), subject).allowed))
      }),
      { numRuns: 500 },
    )
  })
})
