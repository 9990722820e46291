/**
 * `serve` near the machine's ceiling (issue 15 item 4): `node dist/cli/main.cjs serve` on the bundled
 * realm and environments, and a minimal node:http server returning the same bytes (captured from
 * `serve` first), each a child process on a free loopback port, loaded one after the other in one run
 * with the same settings (50 connections, the same duration, a warm-up first), in 5 rounds of 4 s per
 * server (the order rotated each round); each figure is the median over rounds of what ours measured
 * against the ceiling of its own round. Rows per endpoint:
 * - serve hot: the same question repeated (serve keeps the answers of a static source as bytes);
 * - serve rotating: every user of the bundled realm in turn (still kept answers: 6 users fit the cache);
 * - serve, source not static: the same engine and server with `staticAnswers: false`
 *   (bench/serve-uncached.ts, compiled as the CLI is; KEEP=principal), so every request resolves the user again, as with a live
 *   Keycloak, and an unchanged user's answer comes from the bytes kept per principal value (target row);
 * - serve, nothing kept (KEEP=none): every request resolves, decides and serialises, what a user whose
 *   roles just changed costs (an extra row, no target).
 * - autocannon as its README shows for its API (`autocannon({ url, connections, duration, requests })`),
 *   run in its own process (bench/autocannon-run.mjs) so it shares no event loop with a server; it
 *   does share the machine's cores with each server, equally for each.
 * - latency percentiles timed per connection by bench/autocannon-run.mjs, from each request's write to
 *   its answer on the same connection: autocannon's own figures round to whole milliseconds and, once a
 *   server closes a kept-alive connection (`serve` does after 1,000 requests, as nginx does), time every
 *   later answer of that client from an earlier request (see that file); they are printed beside ours;
 * - each row's notes also give the server's CPU time per request (user + system, from /proc on Linux),
 *   ours and node:http's: requests per second on a shared 2-core machine move with its load (a loaded
 *   machine slows the ceiling more than us), CPU time per request much less.
 *
 * Needs `npm run build` (it runs the built CLI, as users do).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { promisify } from 'node:util'
import { median } from './measure.js'
import type { BenchResult, Scenario } from './types.js'

// BENCH_SERVE_CLI: another build of the CLI (a scratch copy of main's dist) to compare before/after in one session.
const CLI = process.env['BENCH_SERVE_CLI'] ?? 'dist/cli/main.cjs'
const REALM = 'examples/realm/example-realm.json'
const ENVIRONMENTS = 'examples/realm/example-environments.json'
const CONNECTIONS = 50
const run_ = promisify(execFile)

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

interface Target { method: 'GET' | 'POST'; path: string; body?: string }

function once(port: number, t: Target): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: t.method, path: t.path, headers: t.body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(t.body) } : {} }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(t.body)
  })
}

async function waitUp(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`bench serve: server exited with ${child.exitCode}`)
    try {
      await once(port, { method: 'GET', path: '/' })
      return
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  throw new Error('bench serve: server did not start within 30 s')
}

/** One autocannon run: p50Ms / p99Ms from every 2xx answer timed per connection (bench/autocannon-run.mjs), …Rounded autocannon's own. */
interface Load { requestsPerSecond: number; total: number; p50Ms: number; p99Ms: number; p50MsRounded: number; p99MsRounded: number; timed: number; non2xx: number; errors: number; timeouts: number; cpuUsPerRequest?: number }

/**
 * A process's CPU time (user + system) in µs from /proc (Linux; undefined elsewhere). Requests per second
 * on a shared 2-core machine depend on what else runs; the server's CPU time per request much less so.
 */
function cpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in clock ticks (100 per second on Linux).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10_000
  } catch {
    return undefined
  }
}

/** autocannon in a child process against `port`, cycling `targets` per connection; every answer must be 2xx. */
async function load(port: number, targets: readonly Target[], seconds: number, pid?: number): Promise<Load> {
  const cpuBefore = cpuMicros(pid)
  const requests = targets.map((t) => ({ method: t.method, path: t.path, ...(t.body ? { body: t.body, headers: { 'content-type': 'application/json' } } : {}) }))
  const { stdout } = await run_(process.execPath, ['bench/autocannon-run.mjs', JSON.stringify({ url: `http://127.0.0.1:${port}`, connections: CONNECTIONS, duration: seconds, requests })], { maxBuffer: 1 << 20 })
  const result = JSON.parse(stdout) as Load
  if (result.non2xx || result.errors || result.timeouts || !result.total) throw new Error(`bench serve: ${JSON.stringify(result)} on port ${port}`)
  // Every answer counted must have been timed: the percentiles are over all of them.
  if (result.timed !== result.total) throw new Error(`bench serve: ${result.timed} answers timed of ${result.total}`)
  const cpuAfter = cpuMicros(pid)
  if (cpuBefore !== undefined && cpuAfter !== undefined) result.cpuUsPerRequest = (cpuAfter - cpuBefore) / result.total
  return result
}

/**
 * bench/serve-uncached.ts compiled as the CLI is (tsup, no `keepNames`), so the rows that run it measure
 * the code users run: under tsx every function carries esbuild's `__name` wrapper, 2% of that server's
 * CPU in a profile. Written under node_modules/.cache so its dependencies resolve from node_modules.
 */
async function buildUncachedServer(): Promise<string> {
  const { build } = await import('tsup')
  const outDir = 'node_modules/.cache/keycloak-permissions-bench'
  await build({ entry: { 'serve-uncached': 'bench/serve-uncached.ts' }, format: ['esm'], platform: 'node', target: 'node20', outDir, outExtension: () => ({ js: '.mjs' }), config: false, silent: true, dts: false, sourcemap: false, splitting: false, clean: false })
  return `${outDir}/serve-uncached.mjs`
}

/** A minimal node:http server answering every request with the given bytes and headers. */
function baselineSource(): string {
  return `
const http = require('node:http')
const body = Buffer.from(process.env.BODY_B64, 'base64')
http.createServer((req, res) => {
  req.resume()
  req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' }); res.end(body) })
}).listen(Number(process.env.PORT), '127.0.0.1')
`
}

export const run: Scenario = async ({ quick }) => {
  if (!existsSync(CLI)) throw new Error(`bench serve: ${CLI} is missing — run npm run build first`)
  const users = (JSON.parse(readFileSync(REALM, 'utf8')) as { users: { username: string }[] }).users.map((u) => u.username)
  const environments = (u: string): Target => ({ method: 'GET', path: `/v1/users/${encodeURIComponent(u)}/environments` })
  const check = (u: string): Target => ({ method: 'POST', path: '/v1/check', body: JSON.stringify({ user: u, route: { method: 'GET', path: `/workspaces/ws-${u}/files` } }) })
  const endpoints = [
    { name: 'GET /v1/users/{u}/environments', target: environments },
    { name: 'POST /v1/check', target: check },
  ]
  const seconds = quick ? 2 : 4
  const rounds = quick ? 1 : 5
  const warmSeconds = quick ? 1 : 2
  const results: BenchResult[] = []
  const children: ChildProcess[] = []
  const pidOf = new Map<number, number | undefined>()
  const start = async (args: string[], env: Record<string, string> = {}): Promise<number> => {
    const port = await freePort()
    const child = spawn(process.execPath, [...args.map((a) => (a === '$PORT' ? String(port) : a))], { stdio: 'ignore', env: { ...process.env, ...env, PORT: String(port) } })
    children.push(child)
    pidOf.set(port, child.pid)
    await waitUp(port, child)
    return port
  }
  try {
    const servePort = await start([CLI, 'serve', '--port', '$PORT', '--host', '127.0.0.1', '--environments', ENVIRONMENTS])
    const uncached = await buildUncachedServer()
    const notStaticPort = await start([uncached], { ENVIRONMENTS, KEEP: 'principal' })
    const nothingKeptPort = await start([uncached], { ENVIRONMENTS, KEEP: 'none' })
    const others = [
      { port: notStaticPort, what: 'serve on a source that is not static' },
      { port: nothingKeptPort, what: 'serve with nothing kept' },
    ]
    for (const { name, target } of endpoints) {
      const hot = target('bob')
      const reference = await once(servePort, hot)
      if (reference.status !== 200) throw new Error(`bench serve: ${name} answered ${reference.status}: ${reference.body.toString('utf8').slice(0, 200)}`)
      // Every user the endpoint answers (200): the same bytes from each server, asked twice (the second
      // answer of a server that keeps bytes per principal value is the kept one).
      const rotating: Target[] = []
      for (const u of users) {
        const a = await once(servePort, target(u))
        if (a.status !== 200) continue
        for (const { port, what } of others) {
          for (let ask = 0; ask < 2; ask++) if (!(await once(port, target(u))).body.equals(a.body)) throw new Error(`bench serve: ${name} for ${u} differs from ${what}`)
        }
        rotating.push(target(u))
      }
      const basePort = await start(['-e', baselineSource()], { BODY_B64: reference.body.toString('base64') })
      if (!(await once(basePort, hot)).body.equals(reference.body)) throw new Error('bench serve: the baseline does not return the same bytes')
      const servers = [
        { label: 'ceiling', short: '', port: basePort, targets: [hot] },
        { label: 'serve hot (bob repeated, kept answers)', short: 'hot', port: servePort, targets: [hot] },
        { label: `serve rotating (${rotating.length} users in turn, kept answers)`, short: `rotating ${rotating.length} users`, port: servePort, targets: rotating },
        { label: 'serve, source not static (bob repeated, resolved per request, bytes kept per principal value)', short: 'not static', port: notStaticPort, targets: [hot] },
        { label: 'serve, nothing kept (bob repeated, every request resolved, decided and serialised); no target', short: 'nothing kept', port: nothingKeptPort, targets: [hot], noTarget: true },
      ]
      for (const s of servers) await load(s.port, s.targets, warmSeconds)
      // ROUNDS rounds, each loading every server once, the order rotated per round (no server always runs
      // right after another); each of ours is compared with the ceiling of its own round, and the verdict is
      // the median over rounds of those same-round figures (one 8 s run per server moved the share by ±25
      // points between two full runs on this shared machine).
      const perRound: Map<string, Load>[] = []
      for (let round = 0; round < rounds; round++) {
        const measured = new Map<string, Load>()
        for (let i = 0; i < servers.length; i++) {
          const s = servers[(i + round) % servers.length]!
          measured.set(s.label, await load(s.port, s.targets, seconds, pidOf.get(s.port)))
        }
        perRound.push(measured)
      }
      const middle = (values: number[]) => median(values)
      const ceilingOf = (key: keyof Load) => middle(perRound.map((m) => m.get('ceiling')![key] as number))
      for (const s of servers.slice(1)) {
        const rounds_ = perRound.map((m) => ({ ours: m.get(s.label)!, ceiling: m.get('ceiling')! }))
        const shares = rounds_.map((r) => r.ours.requestsPerSecond / r.ceiling.requestsPerSecond)
        const p99Ratios = rounds_.map((r) => r.ours.p99Ms / Math.max(r.ceiling.p99Ms, 1e-9))
        // A whole-ms p99 of 0 (under half a millisecond) has no ratio.
        const roundedP99Ratios = rounds_.flatMap((r) => (r.ceiling.p99MsRounded > 0 ? [r.ours.p99MsRounded / r.ceiling.p99MsRounded] : []))
        const cpuRatios = rounds_.flatMap((r) => (r.ours.cpuUsPerRequest !== undefined && r.ceiling.cpuUsPerRequest !== undefined ? [r.ours.cpuUsPerRequest / r.ceiling.cpuUsPerRequest] : []))
        const oursOf = (key: keyof Load) => middle(rounds_.map((r) => r.ours[key] as number))
        const share = middle(shares)
        const p99Ratio = middle(p99Ratios)
        const list = (xs: number[], f: (x: number) => string) => (xs.length === 1 ? '' : ` (rounds: ${xs.map(f).join(', ')})`)
        const cpu = cpuRatios.length
          ? `; server CPU per request ${oursOf('cpuUsPerRequest').toFixed(0)} µs vs node:http ${ceilingOf('cpuUsPerRequest').toFixed(0)} µs (median of same-round ratios ${middle(cpuRatios).toFixed(2)}×; less sensitive to the machine's load than req/s)`
          : ''
        results.push({
          scenario: `serve ${name}: ${s.label} (p50 latency, ${CONNECTIONS} connections)`,
          size: `${name}, ${s.short}: ${reference.body.length} B response (bob), ${rounds} × ${seconds} s each`,
          ours: { medianNs: oursOf('p50Ms') * 1e6, spreadPct: 0, samples: rounds_.reduce((a, r) => a + r.ours.total, 0) },
          comparison: { name: 'minimal node:http server returning the same bytes', medianNs: ceilingOf('p50Ms') * 1e6, spreadPct: 0, samples: rounds_.reduce((a, r) => a + r.ceiling.total, 0) },
          ratio: ceilingOf('p50Ms') / Math.max(oursOf('p50Ms'), 1e-9),
          notes:
            `medians over ${rounds} rounds: ours ${Math.round(oursOf('requestsPerSecond'))} req/s, p50 ${oursOf('p50Ms').toFixed(2)} ms, p99 ${oursOf('p99Ms').toFixed(2)} ms; node:http ${Math.round(ceilingOf('requestsPerSecond'))} req/s, p50 ${ceilingOf('p50Ms').toFixed(2)} ms, p99 ${ceilingOf('p99Ms').toFixed(2)} ms; ` +
            `${(share * 100).toFixed(0)}% of the ceiling${list(shares, (x) => `${(x * 100).toFixed(0)}%`)}, p99 ${p99Ratio.toFixed(2)}×${list(p99Ratios, (x) => `${x.toFixed(2)}×`)}${cpu}; ` +
            `latencies timed per connection (autocannon's own, rounded and shifted after a closed connection, gave p99 ${roundedP99Ratios.length ? `${middle(roundedP99Ratios).toFixed(2)}×${list(roundedP99Ratios, (x) => `${x.toFixed(2)}×`)}` : 'n/a: node:http under 1 ms'}); load generator: autocannon in its own process (bench/autocannon-run.mjs), ${warmSeconds} s warm-up per server`,
          ...('noTarget' in s ? {} : { target: '≥ 50% of node:http req/s, p99 ≤ 2×', met: share >= 0.5 && p99Ratio <= 2 }),
          measured: `${(share * 100).toFixed(0)}% req/s, p99 ${p99Ratio.toFixed(2)}× (${rounds > 1 ? `medians of ${rounds} same-round ratios; req/s ${shares.map((x) => `${(x * 100).toFixed(0)}%`).join(', ')}; p99 ${p99Ratios.map((x) => `${x.toFixed(2)}×`).join(', ')}` : 'one round'})`,
        })
      }
    }
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill()
  }
  return results
}
