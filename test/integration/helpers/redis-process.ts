/**
 * A private Redis for the shared-cache tests, through scripts/redis.sh (port from env `REDIS_PORT`,
 * default 6390; its own run directory under .cache/). `redisAvailable()` is false when redis-server
 * is not installed (the suites then skip with a notice).
 */
import { execFile, execFileSync } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const script = resolve(repo, 'scripts/redis.sh')

export const REDIS_PORT = process.env.REDIS_PORT ?? '6390'
export const REDIS_URL = `redis://127.0.0.1:${REDIS_PORT}`

/** redis-server is on the PATH. */
export function redisAvailable(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

async function redis(command: 'start' | 'stop' | 'kill'): Promise<string> {
  const { stdout } = await run(script, [command], { cwd: repo, env: { ...process.env, REDIS_PORT }, timeout: 60_000 })
  return stdout.trim()
}

/** Starts Redis (or finds it running) and waits until it answers PING. */
export const startRedis = () => redis('start')
/** SIGTERM, then waits. */
export const stopRedis = () => redis('stop')
/** SIGKILL at once, as a crash would. */
export const killRedis = () => redis('kill')
