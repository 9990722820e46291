/**
 * A real JupyterHub for the integration suite: Debian's `jupyterhub` (3.0) with its
 * `configurable-http-proxy`, started on 127.0.0.1 with ephemeral ports, a dummy authenticator and
 * SimpleLocalProcessSpawner running `jupyterhub-singleuser` (jupyter-server). The hook and client code
 * come verbatim from docs/python.md ({@link pythonBlocks}), so the documentation is what is tested.
 *
 * ```ts
 * const hub = await startHub({ config: [...harnessLines, docs['jupyterhub_config.py']], files: { 'keycloak_permissions_client.py': docs[...] }, env })
 * const res = await hub.api('POST', '/users/alice/server')
 * await hub.stop()
 * ```
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe } from 'vitest'
import { describeLive } from '../helpers/live.js'

/** Debian's packages; the single-user command is absolute so a pyenv `python3` on PATH cannot shadow it. */
export const JUPYTERHUB = '/usr/bin/jupyterhub'
export const SINGLEUSER = '/usr/bin/jupyterhub-singleuser'
export const PROXY = '/usr/bin/configurable-http-proxy'
/** Debian's configurable-http-proxy loads its modules from Debian's Node module folders. */
const PROXY_NODE_PATH = '/usr/share/nodejs:/usr/lib/nodejs'

/** Whether the hub can run here (CI installs the packages in .ci/run). */
export function hubInstalled(): boolean {
  return existsSync(JUPYTERHUB) && existsSync(SINGLEUSER) && existsSync(PROXY)
}

/**
 * `describe` for a suite that needs the hub and the live Keycloak. In CI (`KEYCLOAK_REQUIRED=1`) a missing
 * hub is a failure; elsewhere the suite is reported skipped, its title saying why.
 */
export function describeHub(title: string, body: () => void): void {
  if (hubInstalled()) return describeLive(title, body)
  if (process.env['KEYCLOAK_REQUIRED'] === '1') {
    throw new Error('KEYCLOAK_REQUIRED=1 but JupyterHub is not installed (.ci/run installs jupyterhub, python3-jupyter-server, python3-notebook)')
  }
  describe.skip(`SKIPPED: JupyterHub not installed (${title})`, body)
}

/** Versions of the Python side, as the interpreter that runs the hub imports them. */
export function pythonVersions(): Record<string, string> {
  const out = spawnSync('/usr/bin/python3', ['-c', 'import json, jupyterhub, jupyter_server, tornado; print(json.dumps({"jupyterhub": jupyterhub.__version__, "jupyter_server": jupyter_server.__version__, "tornado": tornado.version}))'], { encoding: 'utf8' })
  if (out.status !== 0) throw new Error(`python3: ${out.stderr}`)
  return JSON.parse(out.stdout) as Record<string, string>
}

/**
 * The fenced ```python blocks of a Markdown file, keyed by the file name their first line names
 * (`# keycloak_permissions_client.py — …` → `keycloak_permissions_client.py`). A name given twice is
 * an error: the test must know which block it runs.
 */
export function pythonBlocks(markdownPath: string): Record<string, string> {
  const text = readFileSync(markdownPath, 'utf8')
  const out: Record<string, string> = {}
  const fence = /^```python\n([\s\S]*?)^```$/gm
  for (let m = fence.exec(text); m; m = fence.exec(text)) {
    const code = m[1]!
    const name = /^# ([\w.-]+\.py)\b/.exec(code)?.[1]
    if (!name) continue
    if (out[name] !== undefined) throw new Error(`${markdownPath}: two python blocks named ${name}`)
    out[name] = code
  }
  return out
}

/** A free TCP port on 127.0.0.1 (bound and released; the hub binds it right after). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as { port: number }
  await new Promise<void>((done) => server.close(() => done()))
  return port
}

export interface HubOptions {
  /** Python appended to the harness configuration, in order (e.g. the docs' hook block). */
  readonly config: readonly string[]
  /** Extra files written next to jupyterhub_config.py (importable: the directory is on PYTHONPATH). */
  readonly files?: Readonly<Record<string, string>>
  /** Environment of the hub (and so of the hook and, through the spawner, not of the single-user server). */
  readonly env?: Readonly<Record<string, string>>
  /** Users the test service may act on; each gets `access:servers` on every server when `shareAll`. */
  readonly users: readonly string[]
}

export interface Hub {
  readonly url: string
  readonly dir: string
  /** The test service's API token (admin on users and servers). */
  readonly token: string
  /** Milliseconds from process start to "JupyterHub is now running". */
  readonly startMs: number
  /** The hub's REST API (`/hub/api{path}`) as the test service. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>
  /** What the hub wrote so far (its log). */
  log(): string
  stop(): Promise<void>
}

/**
 * The harness lines every hub of the suite runs with (the part of the configuration that is not from
 * docs/python.md): loopback addresses and ephemeral ports, a throwaway database, the dummy
 * authenticator, SimpleLocalProcessSpawner with jupyterhub-singleuser (jupyter-server, --allow-root
 * because the suite runs as root), and one service whose token drives the REST API.
 */
function harnessConfig(dir: string, ports: { hub: number; internal: number; proxyApi: number }, token: string, users: readonly string[]): string {
  const py = (v: unknown) => JSON.stringify(v)
  return [
    `c.JupyterHub.ip = "127.0.0.1"`,
    `c.JupyterHub.port = ${ports.hub}`,
    `c.JupyterHub.hub_ip = "127.0.0.1"`,
    `c.JupyterHub.hub_port = ${ports.internal}`,
    `c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:${ports.proxyApi}"`,
    `c.ConfigurableHTTPProxy.command = [${py(PROXY)}]`,
    `c.ConfigurableHTTPProxy.pid_file = ${py(join(dir, 'proxy.pid'))}`,
    `c.JupyterHub.db_url = ${py(`sqlite:///${join(dir, 'jupyterhub.sqlite')}`)}`,
    `c.JupyterHub.cookie_secret_file = ${py(join(dir, 'cookie_secret'))}`,
    `c.JupyterHub.authenticator_class = "dummy"`,
    `c.JupyterHub.spawner_class = "simple"`,
    `c.SimpleLocalProcessSpawner.home_dir_template = ${py(join(dir, 'home', '{username}'))}`,
    `c.Spawner.cmd = [${py(SINGLEUSER)}]`,
    `c.Spawner.args = ["--allow-root"]`,
    `c.Spawner.http_timeout = 30`,
    `c.JupyterHub.services = [{"name": "kp-test", "api_token": ${py(token)}}]`,
    `c.JupyterHub.load_roles = [`,
    `    {"name": "kp-test", "services": ["kp-test"], "scopes": ["admin:users", "admin:servers", "admin:server_state", "tokens", "access:servers", "read:users"]},`,
    `]`,
    `c.Authenticator.allowed_users = set(${py(users)})`,
    '',
  ].join('\n')
}

/** Starts the hub and waits until it says it is running (at most 60 s). */
export async function startHub(options: HubOptions): Promise<Hub> {
  const dir = mkdtempSync(join(tmpdir(), 'kp-hub-'))
  const token = `kp-test-${process.pid}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`
  const ports = { hub: await freePort(), internal: await freePort(), proxyApi: await freePort() }
  for (const [name, content] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), content)
  writeFileSync(join(dir, 'jupyterhub_config.py'), [harnessConfig(dir, ports, token, options.users), ...options.config].join('\n\n'))
  const started = performance.now()
  const child: ChildProcess = spawn(JUPYTERHUB, ['-f', join(dir, 'jupyterhub_config.py')], {
    cwd: dir,
    // Its own process group: stop() can end the hub, its proxy and its single-user servers together.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: dir,
      LANG: 'C.UTF-8',
      PYTHONPATH: dir,
      NODE_PATH: PROXY_NODE_PATH,
      ...options.env,
    },
  })
  let log = ''
  child.stdout!.on('data', (d) => (log += d))
  child.stderr!.on('data', (d) => (log += d))
  const url = `http://127.0.0.1:${ports.hub}`
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`the hub did not start in 60 s:\n${log}`)), 60_000)
    const poll = setInterval(() => {
      if (log.includes('JupyterHub is now running')) {
        clearTimeout(timer)
        clearInterval(poll)
        done()
      }
    }, 50)
    child.once('exit', (code) => {
      clearTimeout(timer)
      clearInterval(poll)
      fail(new Error(`the hub exited with ${code}:\n${log}`))
    })
  })
  const startMs = performance.now() - started
  return {
    url,
    dir,
    token,
    startMs,
    async api(method, path, body) {
      const res = await fetch(`${url}/hub/api${path}`, {
        method,
        headers: { authorization: `token ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(60_000),
      })
      const text = await res.text()
      let parsed: unknown = text
      try {
        parsed = text === '' ? null : JSON.parse(text)
      } catch {
        // not JSON: keep the text (an HTML error page)
      }
      return { status: res.status, body: parsed }
    },
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        // SIGTERM lets the hub stop its servers and its proxy (cleanup_servers, the default).
        process.kill(-child.pid!, 'SIGTERM')
        const exited = once(child, 'exit')
        const timeout = new Promise((done) => setTimeout(done, 15_000))
        if ((await Promise.race([exited.then(() => 'exited'), timeout])) !== 'exited') process.kill(-child.pid!, 'SIGKILL')
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The environment of a running process (Linux), e.g. a spawned single-user server. */
export function processEnvironment(pid: number): Record<string, string> {
  const raw = readFileSync(`/proc/${pid}/environ`, 'utf8')
  const out: Record<string, string> = {}
  for (const entry of raw.split('\0')) {
    const eq = entry.indexOf('=')
    if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1)
  }
  return out
}

/** docs/python.md, from this file. */
export const PYTHON_DOCS = resolve(import.meta.dirname, '../../../docs/python.md')
