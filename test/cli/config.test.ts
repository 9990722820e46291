/**
 * The configuration file as every command and `serve` read it: a custom component added only through
 * the file appears everywhere, precedence with origins, bad files, presets, workspace clients and the
 * STAC prefix answering the same on the CLI and over HTTP.
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN } from './helpers.js'
import { runCli } from './run-in-process.js'
import { startServe, type ServeProcess } from './serve-process.js'

const BINDER_REALM = resolve(import.meta.dirname, '../../examples/binderhub/realm.json')
const BINDERHUB = { name: 'binderhub', actions: ['build', 'launch'], resourceKind: 'repo', clients: ['binderhub'] }

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'kp-config-cli-'))
}

function writeJson(dir: string, name: string, value: unknown): string {
  const path = join(dir, name)
  writeFileSync(path, JSON.stringify(value, null, 2))
  return path
}

async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}/v1/check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, json: await res.json() }
}

describe('a custom component added through the configuration file alone', () => {
  const dir = tempDir()
  // The realm is named relative to the configuration file's folder.
  copyFileSync(BINDER_REALM, join(dir, 'realm.json'))
  const realm = JSON.parse(readFileSync(BINDER_REALM, 'utf8'))
  // NEW: alice leaves /team (she loses team-builders: build and launch on gitlab.example.com/team/*).
  const newRealm = writeJson(dir, 'realm-new.json', { ...realm, users: realm.users.map((u: any) => (u.username === 'alice' ? { ...u, groups: [] } : u)) })
  const config = writeJson(dir, 'kp.json', { source: { realmFile: 'realm.json' }, components: { custom: [BINDERHUB] } })
  const request = ['--user', 'alice', '--component', 'binderhub', 'build', 'gitlab.example.com/team/proj']

  it('check: unknown without the file (exit 2), decided with it', async () => {
    const without = await runCli(['check', '--realm', join(dir, 'realm.json'), ...request])
    expect([without.status, without.stderr]).toEqual([2, expect.stringMatching(/unknown component "binderhub"/)])
    const withFile = await runCli(['check', '--config', config, ...request, '--json'])
    expect(withFile.status).toBe(0)
    expect(withFile.json()).toMatchObject({ allowed: true, reason: 'COMPONENT_GRANT' })
    const outside = await runCli(['check', '--config', config, '--user', 'alice', '--component', 'binderhub', 'build', 'gitlab.example.com/lab/proj'])
    expect(outside.status).toBe(1)
  })

  it('explain draws the chain through the group and the role', async () => {
    const res = await runCli(['explain', '--config', config, ...request])
    expect(res.status).toBe(0)
    expect(res.stdout).toMatch(/group \/team/)
    expect(res.stdout).toMatch(/binderhub\/team-builders/)
  })

  it('report lists its grants', async () => {
    const res = await runCli(['report', '--config', config, '--json'])
    expect(res.status).toBe(0)
    const alice = res.json().users.find((u: any) => u.user === 'alice')
    const binder = alice.grants.filter((g: any) => g.component === 'binderhub').map((g: any) => g.resource)
    expect(binder).toEqual(expect.arrayContaining(['gitlab.example.com/team/*', 'github.com/demos/*']))
    const plain = await runCli(['report', '--realm', join(dir, 'realm.json'), '--json'])
    expect(plain.json().users.flatMap((u: any) => u.grants).some((g: any) => g.component === 'binderhub')).toBe(false)
  })

  it('diff sees its changes (and only with the file)', async () => {
    // Leaving /team also loses Nebari's group namespace (conda-store): the binderhub part needs the file.
    const plain = await runCli(['diff', join(dir, 'realm.json'), newRealm, '--json'])
    expect(plain.json().changes.filter((c: any) => c.component === 'binderhub')).toEqual([])
    const res = await runCli(['diff', '--config', config, join(dir, 'realm.json'), newRealm, '--json'])
    expect(res.status).toBe(1)
    const binder = res.json().changes.filter((c: any) => c.component === 'binderhub')
    expect(binder.map((c: any) => [c.user, c.resource])).toEqual([['alice', 'gitlab.example.com/team/*']])
    expect(res.json().changes.length).toBe(plain.json().changes.length + 1)
  })

  describe('serve', () => {
    let serve: ServeProcess
    beforeAll(async () => {
      serve = await startServe(['--config', config])
    }, 40_000)
    afterAll(() => serve?.stop())

    it('POST /v1/check and the principal know it, with the same answers as check', async () => {
      const allowed = await post(serve.url, { user: 'alice', component: { name: 'binderhub', action: 'build', resource: 'gitlab.example.com/team/proj' } })
      expect(allowed).toMatchObject({ status: 200, json: { allowed: true, reason: 'COMPONENT_GRANT' } })
      const typo = await post(serve.url, { user: 'alice', component: { name: 'binderhub', action: 'deploy', resource: 'x' } })
      expect(typo.status).toBe(400)
      const principal = (await (await fetch(`${serve.url}/v1/users/alice/principal`)).json()) as any
      expect(principal.components.binderhub.grants.map((g: any) => g.pattern)).toEqual(expect.arrayContaining(['gitlab.example.com/team/*']))
    })
  })

  it('test FILE --config: the configuration\'s source and components apply', async () => {
    const cases = join(dir, 'binder.yaml')
    writeFileSync(cases, 'cases:\n  - user: alice\n    component: binderhub build gitlab.example.com/team/proj\n    expect: allow\n  - members: /team\n    component: binderhub launch github.com/demos/x\n    expect: allow\n')
    const res = await runCli(['test', '--config', config, cases])
    expect(res.stderr).toBe('')
    expect(res.status).toBe(0)
    expect(res.stdout.trimEnd().split('\n').at(-1)).toBe('2 passed, 0 failed')
    // Without the file: the bundled realm has no binderhub component: an input error naming the line.
    const without = await runCli(['test', cases])
    expect(without.status).toBe(2)
  })
})

describe('precedence: default < file < flag, each with its origin', () => {
  const dir = tempDir()
  const config = writeJson(dir, 'kp.json', {
    $schema: '../config.schema.json',
    components: { preset: 'jupyterhub', jupyterhub: { version: 6 }, workspaces: { stacPrefix: '/catalogue' } },
    serve: { host: '127.0.0.2', port: 9100 },
    cache: { ttlSeconds: 30 },
  })

  it('--print-config --json: values and where each came from, exit 0 without opening a source', async () => {
    const res = await runCli(['serve', '--config', config, '--print-config', '--json', '--port', '9200', '--jupyterhub-version', '5'])
    expect(res.status).toBe(0)
    const out = res.json()
    expect(out.file).toBe(config)
    expect(out.config.serve).toEqual({ host: '127.0.0.2', port: 9200 })
    expect(out.origins['serve.port']).toEqual({ kind: 'flag', flag: '--port' })
    expect(out.origins['serve.host']).toEqual({ kind: 'file', file: config })
    expect(out.config.components.jupyterhub.version).toBe(5)
    expect(out.origins['components.jupyterhub.version']).toEqual({ kind: 'flag', flag: '--jupyterhub-version' })
    expect(out.origins['components.preset']).toEqual({ kind: 'file', file: config })
    expect(out.config.cache).toEqual({ ttlSeconds: 30, maxUsers: 10_000, staleSeconds: 0 })
    expect(out.origins['cache.ttlSeconds']).toEqual({ kind: 'file', file: config })
    expect(out.origins['cache.maxUsers']).toEqual({ kind: 'default' })
    expect(out.origins['source']).toEqual({ kind: 'default' })
    expect(out.registry).toMatchObject({ jupyterhub: { allowedGroups: null, adminGroups: [], version: 5 }, stac: { prefix: '/catalogue' } })
    expect(out.derived['jupyterhub.allowedGroups']).toEqual({ value: 'every user', origin: { kind: 'file', file: config } })
  })

  it('--print-config as text on any command, --user not needed', async () => {
    const res = await runCli(['check', '--config', config, '--print-config', '--stac-prefix', '/stac2'])
    expect(res.status).toBe(0)
    expect(res.stdout).toContain(`configuration file: ${config}`)
    expect(res.stdout).toMatch(/components\.workspaces\.stacPrefix\s+"\/stac2"\s+← flag --stac-prefix/)
    expect(res.stdout).toMatch(/components\.preset\s+"jupyterhub"\s+← file /)
    expect(res.stdout).toMatch(/cache\.maxUsers\s+10000\s+← default/)
    expect(res.stdout).toMatch(/source\s+bundled example realm\s+← default/)
    for (const command of ['resolve', 'envs', 'explain', 'lint', 'report', 'diff', 'test']) {
      expect((await runCli([command, '--config', config, '--print-config'])).status, command).toBe(0)
    }
  })

  it('the client secret only from the environment, shown as set, never its value', async () => {
    const live = writeJson(dir, 'live.json', { source: { keycloak: { url: 'http://127.0.0.1:1', realm: 'example', clientId: 'permission-resolver' } } })
    const res = await runCli(['resolve', '--config', live, '--print-config', '--json', '--realm-name', 'other'], { KEYCLOAK_CLIENT_SECRET: 'hunter2-secret-value' })
    expect(res.status).toBe(0)
    expect(res.stdout).not.toContain('hunter2-secret-value')
    const out = res.json()
    expect(out.config.source.keycloak).toEqual({ url: 'http://127.0.0.1:1', realm: 'other', clientId: 'permission-resolver' })
    expect(out.origins['source.keycloak.realm']).toEqual({ kind: 'flag', flag: '--realm-name' })
    expect(out.origins['source.keycloak.url']).toEqual({ kind: 'file', file: live })
    expect(out.environment['source.keycloak.clientSecret']).toEqual({ set: true, origin: { kind: 'environment', variable: 'KEYCLOAK_CLIENT_SECRET' } })
    const text = await runCli(['resolve', '--config', live, '--print-config'], { KEYCLOAK_CLIENT_SECRET: 'hunter2-secret-value' })
    expect(text.stdout).not.toContain('hunter2-secret-value')
    expect(text.stdout).toMatch(/source\.keycloak\.clientSecret\s+\(set, not shown\)\s+← environment KEYCLOAK_CLIENT_SECRET/)
    // A flag source of another kind replaces the file's whole source.
    const swapped = (await runCli(['resolve', '--config', live, '--print-config', '--json', '--realm', BINDER_REALM])).json()
    expect(swapped.config.source).toEqual({ realmFile: BINDER_REALM })
  })

  it('finds keycloak-permissions.config.json in the working directory (the binary, as a user runs it)', () => {
    const cwd = tempDir()
    copyFileSync(BINDER_REALM, join(cwd, 'realm.json'))
    writeJson(cwd, 'keycloak-permissions.config.json', { source: { realmFile: 'realm.json' }, components: { custom: [BINDERHUB] } })
    const res = spawnSync(process.execPath, [BIN, 'check', '--user', 'alice', '--component', 'binderhub', 'build', 'gitlab.example.com/team/proj'], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    })
    expect([res.status, res.stdout]).toEqual([0, 'allowed COMPONENT_GRANT\n'])
  })

  it('a missing --config FILE or an invalid file is exit 2, CONFIG_INVALID, naming the JSON path', async () => {
    const missing = await runCli(['check', '--config', join(dir, 'nope.json'), '--user', 'bob', '--route', 'GET', '/workspaces/ws-alpha'])
    expect(missing.status).toBe(2)
    expect(missing.stderr).toMatch(/nope\.json.*\[CONFIG_INVALID\]/)
    const bad = writeJson(dir, 'bad.json', { components: { jupyterhub: { version: 7 } } })
    const res = await runCli(['check', '--config', bad, '--user', 'bob', '--route', 'GET', '/workspaces/ws-alpha'])
    expect(res.status).toBe(2)
    expect(res.stdout).toBe('')
    expect(res.stderr).toContain('components.jupyterhub.version')
    expect(res.stderr).toContain('[CONFIG_INVALID]')
    const typo = writeJson(dir, 'typo.json', { components: { workspace: { clients: ['ws-*'] } } })
    expect((await runCli(['lint', '--config', typo])).stderr).toMatch(/workspace.*\[CONFIG_INVALID\]/)
    const secret = writeJson(dir, 'secret.json', { source: { keycloak: { url: 'http://127.0.0.1:1', realm: 'r', clientId: 'c', clientSecret: 'x' } } })
    const refused = await runCli(['lint', '--config', secret])
    expect([refused.status, refused.stderr]).toEqual([2, expect.stringMatching(/source\.keycloak.*KEYCLOAK_CLIENT_SECRET.*\[CONFIG_INVALID\]/)])
    // What only the registry can judge is still the file's error, at the file's path.
    const judged: [unknown, RegExp][] = [
      [{ components: { custom: [{ name: 'conda-store', actions: ['x'], resourceKind: 'r' }] } }, /at components\.custom\.0\.name: duplicate component name "conda-store" \[CONFIG_INVALID\]/],
      [{ components: { workspaces: { stacPrefix: '/a?b' } } }, /at components\.workspaces\.stacPrefix: "\/a\?b" must be a plain absolute path/],
      [{ components: { jupyterhub: { customScopes: { 'custom:rtc:write': { description: 'x', subscopes: ['read:nope'] } } } } }, /at components\.jupyterhub\.customScopes: subscope read:nope .* not found.*\[CONFIG_INVALID\]/],
    ]
    for (const [content, message] of judged) {
      const res = await runCli(['check', '--config', writeJson(dir, 'judged.json', content), '--user', 'bob', '--route', 'GET', '/workspaces/ws-alpha'])
      expect([res.status, res.stderr]).toEqual([2, expect.stringMatching(message)])
    }
  })

  it('freshness flags without a live source are usage errors; the file\'s are ignored for a realm export', async () => {
    expect((await runCli(['lint', '--watch-admin-events'])).status).toBe(2)
    const fresh = writeJson(dir, 'fresh.json', { freshness: { watchAdminEvents: true } })
    expect((await runCli(['check', '--config', fresh, '--user', 'bob', '--route', 'GET', '/workspaces/ws-alpha'])).status).toBe(0)
  })
})

describe('presets: the same user, different login answers', () => {
  const dir = tempDir()
  const nebari = writeJson(dir, 'nebari.json', { components: { preset: 'nebari' } })
  const jupyterhub = writeJson(dir, 'jupyterhub.json', { components: { preset: 'jupyterhub' } })
  const staffOnly = writeJson(dir, 'staff.json', { components: { preset: 'jupyterhub', jupyterhub: { allowedGroups: ['/analyst'] } } })

  it('bob (outside Nebari\'s allowed groups) may log in only under the jupyterhub preset', async () => {
    const serverAccess = ['check', '--user', 'bob', '--jupyterhub', 'access:servers', '--resource', 'server=bob/', '--json']
    const bare = await runCli(serverAccess)
    const asNebari = await runCli([...serverAccess, '--config', nebari])
    const asHub = await runCli([...serverAccess, '--config', jupyterhub])
    expect(asNebari.json()).toMatchObject({ allowed: false })
    expect(bare.json()).toEqual(asNebari.json())
    expect(asHub.json()).toMatchObject({ allowed: true, reason: 'SCOPE_HELD' })
    const resolved = async (args: string[]) => (await runCli(['resolve', '--user', 'bob', '--json', ...args])).json().components.jupyterhub.loginRejected
    expect([await resolved(['--config', nebari]), await resolved(['--config', jupyterhub]), await resolved(['--config', staffOnly])]).toEqual([true, false, true])
    // The flag overrides the file.
    expect(await resolved(['--config', nebari, '--preset', 'jupyterhub'])).toBe(false)
  })

  it('erin is a JupyterHub admin through /admin under nebari, not under jupyterhub', async () => {
    const admin = ['check', '--user', 'erin', '--jupyterhub', 'admin:users']
    expect((await runCli([...admin, '--config', nebari])).status).toBe(0)
    expect((await runCli([...admin, '--config', jupyterhub])).status).toBe(1)
  })
})

describe('workspaces.clients and stacPrefix change the answers, identically on the CLI and serve', () => {
  const dir = tempDir()
  const config = writeJson(dir, 'kp.json', { components: { workspaces: { clients: ['ws-b*'], stacPrefix: '/catalogue' } } })
  const cases: [string, string, string][] = [
    ['bob', 'GET', '/workspaces/ws-alpha/files'],
    ['dave', 'DELETE', '/workspaces/ws-beta'],
    ['bob', 'GET', '/catalogue/collections/ws-alpha.c1'],
    ['bob', 'GET', '/stac/collections/ws-alpha.c1'],
    ['dave', 'GET', '/catalogue/collections/ws-beta.c1/items'],
  ]
  let serve: ServeProcess
  let plainServe: ServeProcess
  beforeAll(async () => {
    ;[serve, plainServe] = await Promise.all([startServe(['--config', config]), startServe([])])
  }, 40_000)
  afterAll(async () => {
    await serve?.stop()
    await plainServe?.stop()
  })

  it('every case: check --json and POST /v1/check agree, with and without the file', async () => {
    const answers: Record<string, string[]> = { configured: [], plain: [] }
    for (const [user, method, path] of cases) {
      for (const [name, args, server] of [['configured', ['--config', config], serve], ['plain', [], plainServe]] as const) {
        const cli = (await runCli(['check', '--user', user, '--route', method, path, '--json', ...args])).json()
        const http = await post(server.url, { user, route: { method, path } })
        expect(http.status).toBe(200)
        expect({ allowed: http.json.allowed, reason: http.json.reason }, `${name} ${user} ${method} ${path}`).toEqual({ allowed: cli.allowed, reason: cli.reason })
        answers[name]!.push(`${cli.allowed ? 'allowed' : 'denied'} ${cli.reason}`)
      }
    }
    expect(answers['configured']).toEqual([
      'denied NOT_A_WORKSPACE', // ws-alpha is not a workspace client under ws-b*
      'allowed WORKSPACE_ROLE',
      'denied NOT_A_WORKSPACE', // STAC under /catalogue: the private collection's owner is not a workspace
      'denied PATH_UNMATCHED', // /stac is no longer the STAC prefix
      'allowed WORKSPACE_ROLE',
    ])
    expect(answers['plain']).toEqual(['allowed WORKSPACE_ROLE', 'allowed WORKSPACE_ROLE', 'denied PATH_UNMATCHED', 'allowed WORKSPACE_ROLE', 'denied PATH_UNMATCHED'])
  })

  it('a workspace list holds only the configured workspace clients (resolve and the principal endpoint)', async () => {
    const cli = (await runCli(['resolve', '--user', 'bob', '--json', '--config', config])).json()
    const http = (await (await fetch(`${serve.url}/v1/users/bob/principal`)).json()) as any
    expect(cli.components.workspaces.workspaces).toEqual([])
    expect(http.components.workspaces).toEqual(cli.components.workspaces)
    expect((await runCli(['resolve', '--user', 'bob', '--json'])).json().components.workspaces.workspaces).toEqual(['ws-alpha'])
  })
})

describe('the bundled example configuration (examples/config)', () => {
  const example = resolve(import.meta.dirname, '../../examples/config/keycloak-permissions.config.json')

  it('validates, reads the bundled realm relative to itself, and answers like the bundled realm', async () => {
    const printed = (await runCli(['serve', '--config', example, '--print-config', '--json'])).json()
    expect(printed.file).toBe(example)
    expect(printed.config.source).toEqual({ realmFile: resolve(import.meta.dirname, '../../examples/realm/example-realm.json') })
    expect(printed.registry).toMatchObject({ workspaces: { clients: ['ws-*'] }, stac: { prefix: '/stac' }, components: [{ name: 'binderhub' }] })
    for (const [user, method, path] of [['bob', 'GET', '/workspaces/ws-alpha/files'], ['dave', 'DELETE', '/workspaces/ws-beta'], ['bob', 'GET', '/workspaces/ws-beta']]) {
      const withFile = (await runCli(['check', '--config', example, '--user', user!, '--route', method!, path!, '--json'])).json()
      const bare = (await runCli(['check', '--user', user!, '--route', method!, path!, '--json'])).json()
      expect([withFile.allowed, withFile.reason]).toEqual([bare.allowed, bare.reason])
    }
    // Its custom component is known (a denial, not a usage error): nobody in the bundled realm holds it.
    expect((await runCli(['check', '--config', example, '--user', 'alice', '--component', 'binderhub', 'build', 'gitlab.example.com/team/proj'])).status).toBe(1)
  })
})
