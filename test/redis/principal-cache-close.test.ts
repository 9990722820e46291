/**
 * RedisPrincipalCache with Redis unreachable (a closed local port; no redis-server needed): close()
 * and ready() must settle, and nothing of the cache may keep a process alive afterwards. Each case
 * runs in a child process that does nothing else, so the child exiting on its own is the proof that
 * no handle was left; `timeout` is only a safety net (a killed child has no status and fails).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'

const CACHE = pathToFileURL(resolve(import.meta.dirname, '../../src/redis/index.ts')).href
let url: string

beforeAll(async () => {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((done) => server.close(() => done()))
  url = `redis://127.0.0.1:${port}`
})

/** Runs `body` (an async function body with `cache` in scope) in a fresh Node process. */
function inChild(body: string): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kp-redis-close-'))
  const script = join(dir, 'child.mts')
  writeFileSync(
    script,
    `import { RedisPrincipalCache } from ${JSON.stringify(CACHE)}
const logs: string[] = []
const cache = new RedisPrincipalCache({ url: ${JSON.stringify(url)}, local: { max: 10 }, log: (m) => logs.push(m) })
${body}
console.log(JSON.stringify({ logs }))
`,
  )
  const res = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' })
  return { status: res.status, signal: res.signal, stdout: res.stdout, stderr: res.stderr }
}

const lines = (stdout: string) => stdout.trim().split('\n')

describe('RedisPrincipalCache with Redis unreachable', () => {
  it('close() right after construction (the redis package still loading) resolves, and the process exits', () => {
    const res = inChild(`await cache.close(); console.log('closed', cache.status().redis)`)
    expect(res.stderr).toBe('')
    expect(res.signal).toBeNull()
    expect(res.status).toBe(0)
    expect(lines(res.stdout)[0]).toBe('closed connecting')
  })

  it('close() while node-redis keeps retrying the first connection resolves, and the process exits', () => {
    const res = inChild(`
while (cache.status().redis !== 'down') await new Promise((r) => setTimeout(r, 10))
await cache.close()
console.log('closed', cache.status().redis)`)
    expect(res.stderr).toBe('')
    expect(res.signal).toBeNull()
    expect(res.status).toBe(0)
    expect(lines(res.stdout)[0]).toBe('closed down')
    const { logs } = JSON.parse(lines(res.stdout).at(-1)!) as { logs: string[] }
    expect(logs).toHaveLength(1) // the outage, reported once
    expect(logs[0]).toMatch(/^keycloak-permissions\/redis: Redis at redis:\/\/127\.0\.0\.1:\d+ unavailable \(/)
  })

  it('ready(timeout) rejects with SourceUnavailableError instead of waiting for the first connect(), and close() then lets the process exit', () => {
    const res = inChild(`
const outcome = await cache.ready(300).then(() => 'ready', (err) => err.code + ': ' + err.message)
console.log(outcome)
await cache.close()
const afterClose = await cache.ready(300).then(() => 'ready', (err) => err.code + ': ' + err.message)
console.log(afterClose)`)
    expect(res.stderr).toBe('')
    expect(res.signal).toBeNull()
    expect(res.status).toBe(0)
    const [outcome, afterClose] = lines(res.stdout)
    expect(outcome).toMatch(/^KEYCLOAK_SOURCE_UNAVAILABLE: .*not reachable at redis:\/\/127\.0\.0\.1:\d+ within 300 ms/)
    expect(afterClose).toMatch(/^KEYCLOAK_SOURCE_UNAVAILABLE: .*the cache was closed/)
  })
})
