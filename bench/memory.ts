/**
 * Memory (performance.md §6 "memory"): heap per cached principal and per cached decision, held in
 * an lru-cache configured as the sources configure theirs, and whether the caches' bounds hold when
 * twice their `max` is inserted (size ≤ max, heap no larger than at max plus a tolerance).
 *
 * Heap figures are `process.memoryUsage().heapUsed` deltas after full collections; the `ours`
 * measurement of each row is the time to insert one entry into the full cache (an eviction each).
 */
import { randomUUID } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { LRUCache } from 'lru-cache'
import { ManualClock } from '../src/core/clock.js'
import type { Principal } from '../src/core/principal.js'
import { expandScopes } from '../src/jupyterhub/index.js'
import { principalFromClaims, RealmExportSource, TokenSource } from '../src/keycloak/index.js'
import { workspaceApiPolicy } from '../src/workspaces/index.js'
import { generateRealm } from '../test/review/generate-realm.js'
import type { RouteDecision } from '../src/workspaces/index.js'
import { measure } from './measure.js'
import type { BenchResult, Scenario } from './types.js'

const ISSUER = 'http://127.0.0.1:8180/realms/example'
const NOW_MS = Date.UTC(2026, 0, 1)
const NOW_S = NOW_MS / 1000
/**
 * A bound holds when inserting past `max` grows the heap by at most a quarter of what filling to
 * `max` cost (entry sizes vary a little) plus 0.5 MiB (collector noise); an unbounded cache grows by
 * the full cost of the extra entries.
 */
const boundHolds = (atMax: number, beyond: number) => beyond - atMax <= 0.25 * Math.max(atMax, 0) + 512 * 1024
const BOUND_RULE = 'bound: growth past max ≤ 25% of the fill + 0.5 MiB'

/** `global.gc` when Node runs with `--expose-gc`; otherwise the flag is set at run time and `gc` taken from a fresh context. */
function collector(): { gc: () => void; via: string } {
  const exposed = (globalThis as { gc?: unknown }).gc
  if (typeof exposed === 'function') return { gc: exposed as () => void, via: '--expose-gc' }
  setFlagsFromString('--expose-gc')
  return { gc: runInNewContext('gc') as () => void, via: 'v8.setFlagsFromString + vm.runInNewContext' }
}

const { gc, via: gcVia } = collector()

/**
 * The heap in use once garbage is gone. A timer turn first: what a previous step left reachable only
 * from pending timers and promises (tinybench's, lru-cache's `ttlResolution` timers) is released then;
 * two collections, because the first can leave objects that only die once weak callbacks ran.
 */
async function heapUsed(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 5))
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`

interface Footprint<V extends {}> {
  cache: LRUCache<string, V>
  bytesPerEntry: number
  atMax: number
  atTwiceMax: number
  sizeAfterTwiceMax: number
}

/**
 * Fills a fresh cache (built by `create`) with `max` entries, then with `max` more distinct ones.
 * Values are built inside the loop so that only the cache keeps them alive.
 */
async function footprint<V extends {}>(create: () => LRUCache<string, V>, max: number, entry: (i: number) => [string, V]): Promise<Footprint<V>> {
  const before = await heapUsed()
  const cache = create()
  for (let i = 0; i < max; i++) {
    const [key, value] = entry(i)
    cache.set(key, value)
  }
  const atMax = (await heapUsed()) - before
  for (let i = max; i < 2 * max; i++) {
    const [key, value] = entry(i)
    cache.set(key, value)
  }
  const atTwiceMax = (await heapUsed()) - before
  return { cache, bytesPerEntry: atMax / max, atMax, atTwiceMax, sizeAfterTwiceMax: cache.size }
}

function boundNote(f: Pick<Footprint<{}>, 'atMax' | 'atTwiceMax' | 'sizeAfterTwiceMax'>, max: number): string {
  const growth = f.atTwiceMax / f.atMax
  const holds = f.sizeAfterTwiceMax <= max && boundHolds(f.atMax, f.atTwiceMax)
  return (
    `after 2 × max inserts: size ${f.sizeAfterTwiceMax} (max ${max}), heap ${mib(f.atTwiceMax)} vs ${mib(f.atMax)} at max ` +
    `(${growth.toFixed(2)}×) — bound ${holds ? 'holds' : 'VIOLATED'} (size ≤ max; ${BOUND_RULE})`
  )
}

/** Realistic Keycloak access-token claims for user `i`: a few workspace clients, groups, profile claims. */
function claimsText(i: number): string {
  const user = `user-${i}`
  const resourceAccess: Record<string, { roles: string[] }> = {
    account: { roles: ['manage-account', 'manage-account-links', 'view-profile'] },
    conda_store: { roles: [i % 3 === 0 ? 'conda_store_admin' : 'conda_store_developer'] },
    jupyterhub: { roles: ['allow-app-sharing-role', 'jupyterhub_developer'] },
  }
  for (let w = 0; w < 3; w++) resourceAccess[`ws-${(i + w) % 1000}`] = { roles: ['ws_access'] }
  return JSON.stringify({
    exp: NOW_S + 300,
    iat: NOW_S,
    jti: `onrtac:${randomUUID()}`,
    iss: ISSUER,
    aud: ['workspace-api', 'account'],
    sub: randomUUID(),
    typ: 'Bearer',
    azp: 'jupyterhub',
    sid: randomUUID(),
    realm_access: { roles: ['default-roles-example', 'offline_access', 'uma_authorization'] },
    resource_access: resourceAccess,
    scope: 'openid profile email',
    email_verified: true,
    name: `User ${i}`,
    groups: ['/developer', '/projects/ml'],
    preferred_username: user,
    email: `${user}@example.org`,
  })
}

export const run: Scenario = async ({ quick }) => {
  const clock = new ManualClock(NOW_MS)
  // As AdminApiSource builds its principal cache (ttlResolution 0, the injected clock).
  const principalCache = <V extends {}>(max: number) => () =>
    new LRUCache<string, V>({ max, ttl: 30_000, ttlResolution: 0, perf: { now: () => clock.now() } })
  const results: BenchResult[] = []
  const insertTime = async <V extends {}>(cache: LRUCache<string, V>, value: V) => {
    // Keys not in the cache: every insert evicts the least recently used entry.
    const keys = Array.from({ length: 4_096 }, (_, i) => `insert-${i}`)
    let n = 0
    return (await measure({ insert: () => cache.set(keys[n++ & 4_095]!, value) }, { quick }))['insert']!
  }

  // Each scenario runs in its own async frame: a suspended async function keeps its registers, so a
  // cache held in a block of one long function could stay reachable — and be freed mid-way through
  // the next block's measurement.
  // 1. Principals from a realm export (AdminApiSource-like: roles with provenance; attribute maps
  //    shared with the catalogue, as AdminApiSource shares its catalogue's).
  const principals = quick ? 2_000 : 10_000
  results.push(await (async (): Promise<BenchResult> => {
    const source = RealmExportSource.example({ clock })
    const users = source.usernames().filter((u) => !u.startsWith('service-account-'))
    const f = await footprint<Principal>(principalCache(principals), principals, (i) => {
      const p = source.resolveSync(users[i % users.length]!)
      const username = `${p.username}-${i}`
      return [username, { ...p, username, userId: randomUUID() }]
    })
    const sample = f.cache.values().next().value!
    return {
      scenario: 'memory: cached principal (realm export)',
      size: `${principals} principals (max ${principals})`,
      ours: await insertTime(f.cache, sample),
      target: 'memory per cached principal ≤ 3 KB',
      met: f.bytesPerEntry <= 3 * 1024,
      measured: `${(f.bytesPerEntry / 1024).toFixed(1)} KB`,
      notes:
        `${Math.round(f.bytesPerEntry)} bytes/principal incl. key and cache bookkeeping (${mib(f.atMax)} for ${principals}); ` +
        `users ${users.join('/')} cycled; ${boundNote(f, principals)}`,
    }
  })())

  // 1b. Principals of distinct users of a generated realm (issue 15: 10,000 cached principals): no
  //     user repeats within the first `max`. What users have in common (role objects with the same
  //     provenance, role and group lists, clientRoles records) is shared by the source; everything
  //     the source builds while resolving them, its shared-parts table included, is counted here.
  results.push(await (async (): Promise<BenchResult> => {
    const users = quick ? 2_000 : 10_000
    const source = new RealmExportSource(generateRealm({ users, groups: 50, namespaces: 200, workspaces: 100 }), { clock })
    const names = source.usernames()
    const f = await footprint<Principal>(principalCache(users), users, (i) => {
      const p = source.resolveSync(names[i % names.length]!)
      return [`${p.username}-${i}`, p]
    })
    const sample = f.cache.values().next().value!
    const roles = sample.realmRoles.length + Object.values(sample.clientRoles).reduce((n, list) => n + list.length, 0)
    // How much the principals share: role objects held vs distinct, distinct clientRoles records.
    const distinctRoles = new Set<object>()
    const records = new Set<object>()
    let held = 0
    for (const p of f.cache.values()) {
      records.add(p.clientRoles)
      for (const r of [...p.realmRoles, ...Object.values(p.clientRoles).flat()]) {
        distinctRoles.add(r)
        held++
      }
    }
    return {
      scenario: 'memory: cached principal (generated realm, distinct users)',
      size: `${users} principals (max ${users})`,
      ours: await insertTime(f.cache, sample),
      target: 'memory per cached principal ≤ 3 KB',
      met: f.bytesPerEntry <= 3 * 1024,
      measured: `${(f.bytesPerEntry / 1024).toFixed(1)} KB`,
      notes:
        `${Math.round(f.bytesPerEntry)} bytes/principal incl. key, cache bookkeeping and the user's resolved role lists (${roles} roles, ` +
        `${sample.groups.length} groups in the first; ${mib(f.atMax)} for ${users}; generateRealm 50 groups × 200 namespaces × 100 workspaces); ` +
        `shared: ${held} roles held are ${distinctRoles.size} frozen objects, ${f.cache.size} principals have ${records.size} distinct clientRoles records; ${boundNote(f, users)}`,
    }
  })())

  // 2. Principals from verified token claims (what TokenSource.resolve returns: the principal keeps
  //    the claims object in `token.claims`). First, in a frame of its own, the same cache holding the
  //    parsed claims alone under the same keys: what of a principal's bytes is the claims object.
  const claimsOnly = await (async () =>
    (await footprint<Record<string, unknown>>(principalCache(principals), principals, (i) => {
      const claims = JSON.parse(claimsText(i)) as Record<string, unknown>
      return [claims['sub'] as string, claims]
    })).bytesPerEntry)()
  results.push(await (async (): Promise<BenchResult> => {
    const f = await footprint<Principal>(principalCache(principals), principals, (i) => {
      const p = principalFromClaims(JSON.parse(claimsText(i)) as Record<string, unknown>, { clock, groupsMapperConfigured: true })
      return [p.userId!, p]
    })
    const sample = f.cache.values().next().value!
    const roles = sample.realmRoles.length + Object.values(sample.clientRoles).reduce((n, list) => n + list.length, 0)
    return {
      scenario: 'memory: cached principal (token claims)',
      size: `${principals} principals (max ${principals})`,
      ours: await insertTime(f.cache, sample),
      target: 'memory per cached principal ≤ 3 KB',
      met: f.bytesPerEntry <= 3 * 1024,
      measured: `${(f.bytesPerEntry / 1024).toFixed(1)} KB`,
      notes:
        `${Math.round(f.bytesPerEntry)} bytes/principal incl. the retained claims (${roles} roles, ${sample.groups.length} groups, ` +
        `${claimsText(0).length} B of claims JSON each; ${mib(f.atMax)} for ${principals}); the same cache holding the parsed claims alone: ` +
        `${Math.round(claimsOnly)} bytes/entry, so ${Math.round(f.bytesPerEntry - claimsOnly)} bytes are the principal's own; ${boundNote(f, principals)}`,
    }
  })())

  // 3. Decisions: workspace route decisions keyed on the full input (user, method, raw path).
  results.push(await (async (): Promise<BenchResult> => {
    const decisions = quick ? 20_000 : 100_000
    const policy = workspaceApiPolicy()
    const alice = principalFromClaims(JSON.parse(claimsText(0)) as Record<string, unknown>, { clock, groupsMapperConfigured: true })
    let allowed = 0
    const f = await footprint<RouteDecision>(
      () => new LRUCache<string, RouteDecision>({ max: decisions }),
      decisions,
      (i) => {
        // Half the requests are on a workspace alice holds (ws-0…ws-2), half on one she does not.
        const path = `/workspaces/ws-${i % 2 === 0 ? i % 3 : 3 + (i % 997)}/files/${i}.ipynb`
        const d = policy.check({ method: 'GET', path }, alice)
        if (d.allowed) allowed++
        return [`${alice.userId}\u0000GET\u0000${path}`, d]
      },
    )
    const sample = f.cache.values().next().value!
    return {
      scenario: 'memory: cached route decision',
      size: `${decisions} decisions (max ${decisions})`,
      ours: await insertTime(f.cache, sample),
      notes:
        `${Math.round(f.bytesPerEntry)} bytes/decision incl. the key (${mib(f.atMax)} for ${decisions}; ` +
        `${((allowed / (2 * decisions)) * 100).toFixed(1)}% allow, ${sample.trace.length}-step traces); ${boundNote(f, decisions)}`,
    }
  })())

  // 4. TokenSource's verified-token cache: its size is private, so the bound is checked through the
  //    heap — 2 × max distinct tokens verified must cost no more heap than max (within tolerance).
  results.push(await (async (): Promise<BenchResult> => {
    const max = quick ? 500 : 1_000
    const { publicKey, privateKey } = await generateKeyPair('RS256', { modulusLength: 2048 })
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' }] }
    const tokens: string[] = []
    for (let i = 0; i < 2 * max; i++) {
      tokens.push(await new SignJWT(JSON.parse(claimsText(i)) as Record<string, unknown>).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(privateKey))
    }
    // A first pass through an uncached source, outside the measured delta: it JIT-compiles the path
    // and, above all, flattens the signed token strings (jose returns concatenations, whose pieces
    // V8 frees on first use — without this pass the heap *shrinks* as tokens are first verified).
    const options = { issuers: [ISSUER], audience: 'workspace-api', jwks, clock }
    const firstPass = new TokenSource(options)
    for (const token of tokens) await firstPass.verify(token)
    const source = new TokenSource({ ...options, verifiedCache: { max } })
    const before = await heapUsed()
    for (let i = 0; i < max; i++) await source.verify(tokens[i]!)
    const atMax = (await heapUsed()) - before
    for (let i = max; i < 2 * max; i++) await source.verify(tokens[i]!)
    const atTwiceMax = (await heapUsed()) - before
    const growth = atTwiceMax / atMax
    // The tokens themselves are held by the `tokens` array, not counted: the cache keys reference them.
    let n = 0
    const m = await measure({ verifyNew: () => source.verify(tokens[n++ % tokens.length]!) }, { quick })
    return {
      scenario: 'memory: TokenSource verified-token cache',
      size: `${2 * max} tokens (max ${max})`,
      ours: m['verifyNew']!,
      notes:
        `${Math.round(atMax / max)} bytes/verified token (payload + header + cache entry; token strings not counted); ` +
        `after 2 × max verifications: heap ${mib(atTwiceMax)} vs ${mib(atMax)} at max (${growth.toFixed(2)}×) — bound ${boundHolds(atMax, atTwiceMax) ? 'holds' : 'VIOLATED'} (${BOUND_RULE}); ` +
        `ours = one verify cycling ${2 * max} tokens through a ${max}-entry cache (every call a miss and an eviction)`,
    }
  })())

  // 5. JupyterHub's module-level expansion memo (max 4096, not configurable, not observable): three
  //    rounds of 4096 distinct owners. Another scenario in the same process may have filled it
  //    already, so the bound is judged on the growth after the first round, not on a ratio.
  results.push(await (async (): Promise<BenchResult> => {
    const max = 4_096
    const expand = (i: number) => expandScopes(['self'], { owner: { kind: 'user', name: `memory-user-${i}` } })
    const h0 = await heapUsed()
    for (let i = 0; i < max; i++) expand(i)
    const h1 = await heapUsed()
    for (let i = max; i < 3 * max; i++) expand(i)
    const h3 = await heapUsed()
    const growth = h3 - h1
    let n = 3 * max
    const m = await measure({ expandNew: () => expand(n++) }, { quick })
    return {
      scenario: 'memory: JupyterHub scope-expansion memo',
      size: `${3 * max} distinct owners (max ${max})`,
      ours: m['expandNew']!,
      notes:
        `first ${max}: +${mib(h1 - h0)} (≈ ${Math.round((h1 - h0) / max)} bytes/entry if it started empty); ` +
        `next ${2 * max}: ${growth >= 0 ? '+' : ''}${mib(growth)} — bound ${boundHolds(h1 - h0, h3 - h0) ? 'holds' : 'VIOLATED'} ` +
        `(${BOUND_RULE}); ours = expandScopes(['self']) for a new owner (a miss and an eviction)`,
    }
  })())
  results[0]!.notes = `${results[0]!.notes}; gc via ${gcVia}`
  return results
}
