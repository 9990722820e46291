/**
 * JupyterHub scope checks (performance.md §5): expansion of the default `admin` role (16 raw → 44
 * scopes on 5.x), of `self`, of a realistic Nebari role set, memoised repeats, and `hasScope` against
 * parsed sets with 1, 100 and 1,000 `!user=` / `!group=` filter values (hits and misses). The
 * comparison for `hasScope` is a naive check that scans the expanded scope strings (what code without
 * a parsed index does), measured in the same run. Group-dependent checks are never cached.
 */
import type { EffectiveRole, Principal } from '../src/index.js'
import { defaultRoles, expandScopes, hasScope, jupyterhubPrincipal, type ExpandedScope, type ScopeSet } from '../src/jupyterhub/index.js'
import { measure } from './measure.js'
import type { BenchResult, Scenario } from './types.js'

const ADMIN = defaultRoles().find((r) => r.name === 'admin')!.scopes

function nebariPrincipal(): Principal {
  const jh = (name: string, attributes: Record<string, string[]> = {}): EffectiveRole => ({ client: 'jupyterhub', name, attributes, via: [{ kind: 'group', group: '/analyst', member: '/analyst' }] })
  const other = (client: string, name: string): EffectiveRole => ({ client, name, attributes: {}, via: [] })
  return {
    realm: 'nebari',
    userId: 'u1',
    username: 'alice',
    groups: ['/analyst', '/developer', '/projects/ml'],
    realmRoles: ['default-roles-nebari', 'offline_access', 'uma_authorization'].map((name) => ({ name, attributes: {}, via: [] })),
    clientRoles: {
      jupyterhub: [
        jh('jupyterhub_developer'),
        jh('allow-app-sharing-role', { component: ['jupyterhub'], scopes: ['shares!user,read:users:name,read:groups:name'] }),
        jh('allow-read-access-to-services-role', { component: ['jupyterhub'], scopes: ['read:services'] }),
        jh('allow-group-directory-creation-role', { component: ['shared-directory'], scopes: ['write:shared-mount'] }),
        jh('ml-group-reader', { component: ['jupyterhub'], scopes: ['read:users!group=/projects/ml,list:users!group=/projects/ml,access:servers!group=/projects/ml'] }),
        jh('dask_gateway_developer'),
      ],
      conda_store: [other('conda_store', 'conda_store_developer')],
      account: ['manage-account', 'manage-account-links', 'view-profile'].map((n) => other('account', n)),
      grafana: [other('grafana', 'grafana_viewer'), other('grafana', 'grafana_developer')],
      argo: [other('argo', 'argo-developer'), other('argo', 'argo-viewer')],
    },
    complete: { groups: true, realmRoles: true, attributes: true, provenance: true },
    origin: { kind: 'admin-api', resolvedAt: 0, cached: false, stale: false },
    diagnostics: [],
  }
}

/** What a has_scope without a parsed index looks like: scan the expanded strings. */
function naiveHasScope(scope: string, scopes: readonly string[], groupsOf?: (u: string) => readonly string[]): boolean {
  const bang = scope.indexOf('!')
  const base = bang < 0 ? scope : scope.slice(0, bang)
  const [kind, value] = bang < 0 ? ['', ''] : (scope.slice(bang + 1).split('=', 2) as [string, string])
  const user = kind === 'server' ? value.split('/')[0]! : value
  for (const held of scopes) {
    if (held === base) return true
    if (!held.startsWith(base + '!')) continue
    const f = held.slice(base.length + 1)
    if (f === `${kind}=${value}`) return true
    if (kind === 'server' && f === `user=${user}`) return true
    if (groupsOf && (kind === 'user' || kind === 'server') && f.startsWith('group=') && groupsOf(user).includes(f.slice(6))) return true
  }
  return false
}

export const run: Scenario = async ({ quick }) => {
  const results: BenchResult[] = []
  let sink = 0
  const alice = { owner: { kind: 'user' as const, name: 'alice' } }

  // Expansion: cold (memoize: false) against the memoised repeat of the same input.
  const principal = nebariPrincipal()
  const nebariRaw = Object.values(jupyterhubPrincipal(principal).roleScopes).flat()
  const bigRaw = Array.from({ length: 1_000 }, (_, i) => `read:users!user=u${i}`)
  const expansions: [string, string, readonly string[], typeof alice | Record<string, never>][] = [
    ['admin role', `${ADMIN.length} raw → ${expandScopes(ADMIN).scopes.length} scopes`, ADMIN, {}],
    ['self', `1 raw → ${expandScopes(['self'], alice).scopes.length} scopes`, ['self'], alice],
    ['Nebari role set', `${nebariRaw.length} raw → ${expandScopes(nebariRaw, alice).scopes.length} scopes`, nebariRaw, alice],
    ['1,000 user filters', `1000 raw → ${expandScopes(bigRaw).scopes.length} scopes`, bigRaw, {}],
  ]
  for (const [name, size, raw, context] of expansions) {
    const frozen = Object.freeze([...raw])
    expandScopes(raw, context)
    expandScopes(frozen, context)
    const m = await measure(
      {
        cold: () => (sink += expandScopes(raw, { ...context, memoize: false }).scopes.length),
        memoised: () => (sink += expandScopes(raw, context).scopes.length),
        frozen: () => (sink += expandScopes(frozen, context).scopes.length),
      },
      { quick },
    )
    results.push({
      scenario: `jupyterhub expandScopes ${name} (memoised repeat vs cold)`,
      size,
      ours: m['memoised']!,
      comparison: { name: 'cold expansion (memoize: false)', ...m['cold']! },
      ratio: m['cold']!.medianNs / m['memoised']!.medianNs,
      notes: 'memoised = bounded LRU (4096) keyed on the sorted scope set + owner + OAuth client + version + custom table (key building is O(input))',
    })
    results.push({
      scenario: `jupyterhub expandScopes ${name} (memoised repeat of a frozen input vs cold)`,
      size,
      ours: m['frozen']!,
      comparison: { name: 'cold expansion (memoize: false)', ...m['cold']! },
      ratio: m['cold']!.medianNs / m['frozen']!.medianNs,
      notes: 'frozen input arrays are remembered by identity (WeakMap, 16 contexts each): O(1) repeat',
    })
  }

  // The whole Nebari resolution of one principal (attributes → validation → roles → expansion).
  {
    const m = await measure({ resolve: () => (sink += jupyterhubPrincipal(principal).scopes.scopes.length) }, { quick })
    results.push({ scenario: 'jupyterhub jupyterhubPrincipal (Nebari role set, memoised expansion)', size: `${Object.keys(principal.clientRoles).length} clients, 6 jupyterhub roles`, ours: m['resolve']! })
  }

  // hasScope with N user / group filter values: hit and miss, ours vs a naive scan of the strings.
  for (const n of [1, 100, 1_000]) {
    const users = Array.from({ length: n }, (_, i) => `access:servers!user=u${i}`)
    const groups = Array.from({ length: n }, (_, i) => `access:servers!group=/g${i}`)
    const heldUsers: ScopeSet = expandScopes(users)
    const heldGroups: ScopeSet = expandScopes(groups)
    const groupsOf = (u: string) => (u === 'member' ? [`/g${n - 1}`] : ['/other'])
    const cases: [string, ScopeSet, ExpandedScope, boolean][] = [
      ['!user= hit', heldUsers, `access:servers!server=u${n - 1}/lab`, true],
      ['!user= miss', heldUsers, 'access:servers!server=nobody/lab', false],
      ['!group= hit', heldGroups, 'access:servers!server=member/', true],
      ['!group= miss', heldGroups, 'access:servers!server=stranger/', false],
    ]
    for (const [label, held, scope, want] of cases) {
      const opts = label.startsWith('!group') ? { groupsOf } : {}
      if (hasScope(scope, held, opts) !== want || naiveHasScope(scope, held.scopes, label.startsWith('!group') ? groupsOf : undefined) !== want) {
        throw new Error(`bench jupyterhub: ${label} gave the wrong answer`)
      }
      const m = await measure(
        {
          ours: () => (sink += hasScope(scope, held, opts) ? 1 : 0),
          naive: () => (sink += naiveHasScope(scope, held.scopes, label.startsWith('!group') ? groupsOf : undefined) ? 1 : 0),
        },
        { quick },
      )
      results.push({
        scenario: `jupyterhub hasScope ${label}`,
        size: `${n} filter values`,
        ours: m['ours']!,
        comparison: { name: 'naive scan of expanded strings', ...m['naive']! },
        ratio: m['naive']!.medianNs / m['ours']!.medianNs,
        ...(label.startsWith('!group') ? { notes: 'group lookup per call (never cached)' } : {}),
      })
    }
  }
  if (sink === -1) console.log(sink)
  return results
}
