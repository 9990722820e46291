/**
 * `serve` near the machine's ceiling (issue 15 item 4): `node dist/cli/main.js serve` on the bundled
 * realm and environments, and a minimal node:http server returning the same bytes (captured from
 * `serve` first), both child processes on free loopback ports, loaded side by side in one run by the
 * small keep-alive load generator below (50 connections, bounded duration, rounds interleaved).
 * The load generator shares the machine's cores with both servers, equally for each.
 *
 * Needs `npm run build` (it runs the built CLI, as users do).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { createServer } from 'node:net'
import type { BenchResult, Measurement, Scenario } from './types.js'

const CLI = 'dist/cli/main.js'
const CONNECTIONS = 50

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

function once(port: number, t: Target, agent?: Agent): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: t.method, path: t.path, agent, headers: t.body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(t.body) } : {} }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
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

/** `CONNECTIONS` keep-alive loops for `ms` milliseconds; every response must be 200 with the expected length. */
async function load(port: number, t: Target, ms: number, expectBytes: number): Promise<{ requests: number; latenciesNs: number[]; elapsedNs: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS })
  const latenciesNs: number[] = []
  const start = process.hrtime.bigint()
  const end = Date.now() + ms
  const loop = async () => {
    while (Date.now() < end) {
      const t0 = process.hrtime.bigint()
      const res = await once(port, t, agent)
      latenciesNs.push(Number(process.hrtime.bigint() - t0))
      if (res.status !== 200 || res.body.length !== expectBytes) throw new Error(`bench serve: ${t.method} ${t.path} answered ${res.status}, ${res.body.length} B`)
    }
  }
  await Promise.all(Array.from({ length: CONNECTIONS }, loop))
  const elapsedNs = Number(process.hrtime.bigint() - start)
  agent.destroy()
  return { requests: latenciesNs.length, latenciesNs, elapsedNs }
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

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
  const targets: Record<string, Target> = {
    'GET /v1/users/bob/environments': { method: 'GET', path: '/v1/users/bob/environments' },
    'POST /v1/check': { method: 'POST', path: '/v1/check', body: JSON.stringify({ user: 'bob', route: { method: 'GET', path: '/workspaces/ws-bob/files' } }) },
  }
  const durationMs = quick ? 1_500 : 5_000
  const rounds = quick ? 1 : 2
  const results: BenchResult[] = []
  const servePort = await freePort()
  const serve = spawn(process.execPath, [CLI, 'serve', '--port', String(servePort), '--host', '127.0.0.1', '--environments', 'examples/realm/example-environments.json'], { stdio: 'ignore' })
  const children: ChildProcess[] = [serve]
  try {
    await waitUp(servePort, serve)
    for (const [name, t] of Object.entries(targets)) {
      const reference = await once(servePort, t)
      if (reference.status !== 200) throw new Error(`bench serve: ${name} answered ${reference.status}: ${reference.body.toString('utf8').slice(0, 200)}`)
      const basePort = await freePort()
      const base = spawn(process.execPath, ['-e', baselineSource()], { stdio: 'ignore', env: { ...process.env, PORT: String(basePort), BODY_B64: reference.body.toString('base64') } })
      children.push(base)
      await waitUp(basePort, base)
      const same = await once(basePort, t)
      if (!same.body.equals(reference.body)) throw new Error('bench serve: the baseline does not return the same bytes')
      // Warm both, then interleave the measured rounds.
      await load(servePort, t, 500, reference.body.length)
      await load(basePort, t, 500, reference.body.length)
      const ours: number[] = []
      const theirs: number[] = []
      let oursReq = 0, oursNs = 0, baseReq = 0, baseNs = 0
      for (let r = 0; r < rounds; r++) {
        const a = await load(servePort, t, durationMs, reference.body.length)
        const b = await load(basePort, t, durationMs, reference.body.length)
        ours.push(...a.latenciesNs); oursReq += a.requests; oursNs += a.elapsedNs
        theirs.push(...b.latenciesNs); baseReq += b.requests; baseNs += b.elapsedNs
      }
      base.kill()
      ours.sort((x, y) => x - y)
      theirs.sort((x, y) => x - y)
      const rps = (n: number, ns: number) => n / (ns / 1e9)
      const oursRps = rps(oursReq, oursNs), baseRps = rps(baseReq, baseNs)
      const share = oursRps / baseRps
      const p99Ratio = quantile(ours, 0.99) / quantile(theirs, 0.99)
      const m = (sorted: number[]): Measurement => ({ medianNs: quantile(sorted, 0.5), spreadPct: 0, samples: sorted.length })
      results.push({
        scenario: `serve ${name} (p50 latency, ${CONNECTIONS} connections)`,
        size: `${reference.body.length} B response, ${rounds} × ${durationMs / 1000} s`,
        ours: m(ours),
        comparison: { name: 'minimal node:http server returning the same bytes', ...m(theirs) },
        ratio: quantile(theirs, 0.5) / quantile(ours, 0.5),
        notes:
          `ours ${Math.round(oursRps)} req/s, p99 ${(quantile(ours, 0.99) / 1e6).toFixed(1)} ms; node:http ${Math.round(baseRps)} req/s, p99 ${(quantile(theirs, 0.99) / 1e6).toFixed(1)} ms; ` +
          `${(share * 100).toFixed(0)}% of the ceiling, p99 ${p99Ratio.toFixed(2)}×; load generator: node:http keep-alive agent in the bench process`,
        target: '≥ 50% of node:http req/s, p99 ≤ 2×',
        met: share >= 0.5 && p99Ratio <= 2,
        measured: `${(share * 100).toFixed(0)}% req/s, p99 ${p99Ratio.toFixed(2)}×`,
      })
    }
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill()
  }
  return results
}
