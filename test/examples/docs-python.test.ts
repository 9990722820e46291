import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli } from '../cli/helpers.js'
import { startServe, type ServeProcess } from '../cli/serve-process.js'
import { ROOT } from './run-example.js'

// Runs the Python snippets of docs/python.md, as written, against a real `keycloak-permissions serve`.
// tornado is replaced by a small urllib-based stand-in (same names and call shapes), so only python3 is needed.
const python = spawnSync('python3', ['--version'], { encoding: 'utf8' }).status === 0

const TORNADO_HTTPCLIENT = `
import asyncio, urllib.request, urllib.error
class HTTPRequest:
    def __init__(self, url, method="GET", headers=None, body=None, connect_timeout=None, request_timeout=None):
        assert connect_timeout and request_timeout, "the docs promise timeouts on every call"
        self.url, self.method, self.headers, self.body, self.timeout = url, method, headers or {}, body, request_timeout
class HTTPResponse:
    def __init__(self, code, body):
        self.code, self.body = code, body
class AsyncHTTPClient:
    async def fetch(self, request, raise_error=True):
        def go():
            data = request.body.encode() if request.body is not None else None
            req = urllib.request.Request(request.url, data=data, method=request.method, headers=request.headers)
            try:
                with urllib.request.urlopen(req, timeout=request.timeout) as r:
                    return r.status, r.read()
            except urllib.error.HTTPError as e:
                return e.code, e.read()
        code, body = await asyncio.get_running_loop().run_in_executor(None, go)
        if raise_error and code != 200:
            raise Exception(f"HTTP {code}")
        return HTTPResponse(code, body)
`
const TORNADO_WEB = `
class HTTPError(Exception):
    def __init__(self, status_code, log_message=None):
        super().__init__(log_message)
        self.status_code, self.log_message = status_code, log_message
`
const DRIVER = `
import asyncio, json, logging, sys
from types import SimpleNamespace as NS
from tornado import web
log = logging.getLogger("hub")
c = NS(Spawner=NS(), Launcher=NS())
hub, binder = {"c": c}, {"c": c}
exec(open("jupyterhub_config.py").read(), hub)
exec(open("binderhub_config.py").read(), binder)

async def outcome(coro):
    try:
        await coro
        return "ok"
    except web.HTTPError as e:
        return f"HTTPError {e.status_code}: {e.log_message}"
    except Exception as e:
        return f"{type(e).__name__}: {e}"

async def main():
    out = {}
    spawner = NS(user=NS(name="alice"), environment={}, log=log)
    out["spawn alice"] = await outcome(c.Spawner.pre_spawn_hook(spawner))
    out["alice envs"] = json.loads(spawner.environment.get("CONDA_STORE_ENVIRONMENTS", "null"))
    out["alice profiles"] = json.loads(spawner.environment.get("JUPYTERLAB_PROFILES", "null"))
    nobody = NS(user=NS(name="nobody"), environment={}, log=log)
    out["spawn nobody"] = await outcome(c.Spawner.pre_spawn_hook(nobody))
    out["nobody envs"] = nobody.environment.get("CONDA_STORE_ENVIRONMENTS")
    out["build team/proj"] = await outcome(binder["pre_build_hook"]("alice", "https://gitlab.example.com/team/proj.git", log))
    out["build team/sub/proj"] = await outcome(binder["pre_build_hook"]("alice", "https://gitlab.example.com/team/sub/proj", log))
    out["launch demos/intro"] = await outcome(c.Launcher.pre_launch_hook(NS(log=log), "image", "alice", "", "https://github.com/demos/intro"))
    out["build as carol"] = await outcome(binder["pre_build_hook"]("carol", "https://gitlab.example.com/team/proj", log))
    print(json.dumps(out))

asyncio.run(main())
`

/** The python blocks of docs/python.md, keyed by the file their first line names (`# jupyterhub_config.py`). */
function pythonBlocks(): Record<string, string> {
  const doc = readFileSync(resolve(ROOT, 'docs/python.md'), 'utf8')
  const named = [...doc.matchAll(/```python\n([\s\S]*?)```/g)].map((m) => [/^# ([\w.-]+\.py)\b/.exec(m[1]!)?.[1], m[1]!] as const)
  return Object.fromEntries(named.filter(([name]) => name !== undefined))
}

describe.skipIf(!python)('docs/python.md against serve', () => {
  let serve: ServeProcess
  // The spawn hook asks about JupyterHub users: the bundled example realm (the BinderHub realm's users are all refused).
  let exampleServe: ServeProcess
  let dir: string
  beforeAll(async () => {
    serve = await startServe(
      [
        '--realm', resolve(ROOT, 'examples/binderhub/realm.json'),
        '--environments', resolve(ROOT, 'examples/realm/example-environments.json'),
        '--components', resolve(ROOT, 'examples/policy-review/binderhub-component.json'),
      ],
      { KEYCLOAK_PERMISSIONS_CALLER_TOKEN: 'docs-test-token' },
    )
    exampleServe = await startServe(['--environments', resolve(ROOT, 'examples/realm/example-environments.json')], { KEYCLOAK_PERMISSIONS_CALLER_TOKEN: 'docs-test-token' })
    dir = mkdtempSync(join(tmpdir(), 'kp-docs-python-'))
    const { 'keycloak_permissions_client.py': client, 'jupyterhub_config.py': hub, 'binderhub_config.py': binder } = pythonBlocks()
    mkdirSync(join(dir, 'tornado'))
    writeFileSync(join(dir, 'tornado', '__init__.py'), '')
    writeFileSync(join(dir, 'tornado', 'httpclient.py'), TORNADO_HTTPCLIENT)
    writeFileSync(join(dir, 'tornado', 'web.py'), TORNADO_WEB)
    writeFileSync(join(dir, 'keycloak_permissions_client.py'), client!)
    writeFileSync(join(dir, 'jupyterhub_config.py'), hub!)
    writeFileSync(join(dir, 'binderhub_config.py'), binder!)
    writeFileSync(join(dir, 'driver.py'), DRIVER)
  })
  afterAll(async () => {
    await serve?.stop()
    await exampleServe?.stop()
  })

  const runDriver = (env: Record<string, string>) => {
    const res = spawnSync('python3', ['driver.py'], { cwd: dir, encoding: 'utf8', env: { ...process.env, PYTHONPATH: dir, ...env }, timeout: 60_000 })
    expect(res.status, res.stderr).toBe(0)
    return JSON.parse(res.stdout)
  }

  it('the docs have the snippets: the client, the spawn hook, the BinderHub hooks', () => {
    expect(Object.keys(pythonBlocks())).toEqual(expect.arrayContaining(['keycloak_permissions_client.py', 'jupyterhub_config.py', 'binderhub_config.py']))
  })

  it('spawn gets the environments, unknown users and denied repositories are refused', () => {
    const out = runDriver({ KEYCLOAK_PERMISSIONS_URL: serve.url, KEYCLOAK_PERMISSIONS_CALLER_TOKEN: 'docs-test-token' })
    expect(out['spawn alice']).toBe('HTTPError 403: alice may not start a server (SCOPE_NOT_HELD)')
    expect(out['alice envs']).toBeNull()
    const spawn = runDriver({ KEYCLOAK_PERMISSIONS_URL: exampleServe.url, KEYCLOAK_PERMISSIONS_CALLER_TOKEN: 'docs-test-token' })
    expect(spawn['spawn alice']).toBe('ok')
    // The same answer as the CLI on the same realm and environment page.
    const envs = cli(['envs', '--environments', resolve(ROOT, 'examples/realm/example-environments.json'), '--user', 'alice', '--json']).json()
    expect(spawn['alice envs']).toEqual(envs.environments.map((e: { namespace: string; name: string }) => `${e.namespace}/${e.name}`))
    expect(spawn['alice envs'].length).toBeGreaterThan(0)
    expect(spawn['alice profiles']).toEqual(cli(['resolve', '--user', 'alice', '--json']).json().components['jupyterlab-profiles'].profiles)
    // An unknown user is no decision (404): refused, and nothing is set.
    expect(spawn['spawn nobody']).toBe('HTTPError 503: Permission service unavailable; try again later')
    expect(spawn['nobody envs']).toBeNull()
    expect(out['nobody envs']).toBeNull()
    expect(out['build team/proj']).toBe('ok')
    expect(out['build team/sub/proj']).toBe('HTTPError 403: You may not build gitlab.example.com/team/sub/proj (NO_GRANT)')
    expect(out['launch demos/intro']).toBe('ok')
    expect(out['build as carol']).toBe('HTTPError 403: You may not build gitlab.example.com/team/proj (NO_GRANT)')
  })

  it('fails closed: a wrong caller token or an unreachable service refuses everything', () => {
    const wrong = runDriver({ KEYCLOAK_PERMISSIONS_URL: serve.url, KEYCLOAK_PERMISSIONS_CALLER_TOKEN: 'not-the-token' })
    expect(wrong['spawn alice']).toBe('HTTPError 503: Permission service unavailable; try again later')
    expect(wrong['alice envs']).toBeNull()
    expect(wrong['build team/proj']).toBe('HTTPError 503: Permission service unavailable; try again later')
    const down = runDriver({ KEYCLOAK_PERMISSIONS_URL: 'http://127.0.0.1:9', KEYCLOAK_PERMISSIONS_CALLER_TOKEN: 'docs-test-token' })
    expect(down['spawn alice']).toBe('HTTPError 503: Permission service unavailable; try again later')
    expect(down['alice envs']).toBeNull()
    expect(down['launch demos/intro']).toBe('HTTPError 503: Permission service unavailable; try again later')
  })
})
