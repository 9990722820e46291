/**
 * Stops and restarts the live server through scripts/keycloak.sh, for outage tests. The target is
 * the instance behind {@link KEYCLOAK_URL}: `KC_PORT` is taken from that URL and `KC_RUN` (the run
 * directory holding `pid`, default `.cache/keycloak-run`) from the environment, exactly as the
 * script reads them. `restart` relaunches on the existing data directory (same realm, same ids).
 *
 * Only an instance the script manages (its pid file is present, alive, and that process was started
 * with `--http-port={KC_PORT}` — checked in /proc, so Linux only) can be controlled; tests must check
 * {@link controllableKeycloak} and skip otherwise.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { KEYCLOAK_URL } from './live.js'

const run = promisify(execFile)
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const script = resolve(repo, 'scripts/keycloak.sh')

/** The env the script needs to address the instance under test. */
export function keycloakScriptEnv(url: string = KEYCLOAK_URL): NodeJS.ProcessEnv {
  const port = new URL(url).port || '80'
  return { ...process.env, KC_PORT: port, KC_RUN: process.env.KC_RUN ?? '.cache/keycloak-run' }
}

/** The pid the script recorded for the instance, when it is alive; else undefined. */
export function controllableKeycloak(url: string = KEYCLOAK_URL): number | undefined {
  const env = keycloakScriptEnv(url)
  const pidFile = resolve(repo, env.KC_RUN!, 'pid')
  if (!existsSync(pidFile)) return undefined
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  try {
    process.kill(pid, 0)
  } catch {
    return undefined
  }
  // A pid file of another instance must never make us stop it: the process must serve our port.
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    return args.includes(`--http-port=${env.KC_PORT}`) ? pid : undefined
  } catch {
    return undefined
  }
}

/** `scripts/keycloak.sh kill` for the instance under test: SIGKILL at once, as a crash would. */
export async function stopKeycloak(url: string = KEYCLOAK_URL): Promise<void> {
  await run(script, ['kill'], { cwd: repo, env: keycloakScriptEnv(url), timeout: 60_000 })
}

/** `scripts/keycloak.sh restart`: relaunch on the existing data dir and wait until ready (≤ 180 s). */
export async function restartKeycloak(url: string = KEYCLOAK_URL): Promise<string> {
  const { stdout } = await run(script, ['restart'], { cwd: repo, env: keycloakScriptEnv(url), timeout: 240_000 })
  return stdout.trim()
}
