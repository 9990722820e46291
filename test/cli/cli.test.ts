import { describe, expect, it } from 'vitest'
import { cli, secondRealm, tempFile } from './helpers.js'

const ENVS = 'examples/realm/example-environments.json'

describe('keycloak-permissions CLI on the bundled realm (built binary, subprocess)', () => {
  it('prints help for every command with exit 0', () => {
    for (const args of [['--help'], ...['resolve', 'envs', 'check', 'explain', 'lint', 'serve'].map((c) => [c, '--help'])]) {
      const r = cli(args)
      expect(r.status, args.join(' ')).toBe(0)
      expect(r.stdout).toMatch(/Usage: keycloak-permissions/)
    }
  })

  it('resolve --json has the contract fields, provenance and component grants', () => {
    const r = cli(['resolve', '--user', 'bob', '--json'])
    expect(r.status).toBe(0)
    const out = r.json()
    expect(Object.keys(out)).toEqual(expect.arrayContaining(['user', 'groups', 'clients', 'components', 'diagnostics']))
    expect(out.user).toBe('bob')
    expect(out.groups).toEqual(['/projects/ml'])
    expect(out.clients['ws-alpha']).toMatchObject([{ name: 'ws_access', attributes: {}, via: [{ kind: 'group', group: '/projects', member: '/projects/ml' }] }])
    expect(out.components['workspaces'].workspaces).toEqual(['ws-alpha'])
    expect(out.components['shared-directory'].mounts).toEqual(['/shared/ml'])
    expect(out.components['conda-store'].permissions.entity_roles['ml/*']).toEqual(['admin'])
  })

  it('resolve prints readable text without a TTY (no colour codes)', () => {
    const r = cli(['resolve', '--user', 'carol'])
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('jupyterhub_admin  ← composite of platform-admin')
    expect(r.stdout).not.toMatch(/\u001b\[/)
  })

  it('envs lists readable environments with the reason for each', () => {
    const r = cli(['envs', '--user', 'bob', '--environments', ENVS, '--json'])
    expect(r.status).toBe(0)
    const out = r.json()
    expect(out.user).toBe('bob')
    expect(out.environments.map((e: any) => `${e.namespace}/${e.name}`)).toEqual([
      'default/python-3.12', 'filesystem/base', 'nebari-git/dask', 'nebari-git/pytorch', 'ml/torch', 'ml/jax', 'bob/experiments',
    ])
    const torch = out.environments.find((e: any) => e.name === 'torch')
    expect(torch.reason).toContain('/projects/ml → conda_store/ml-team-scopes → admin!namespace=ml')
  })

  it('envs --listed shows what conda-store lists (bob: global/* is listed, not readable)', () => {
    const listed = cli(['envs', '--user', 'bob', '--environments', ENVS, '--listed', '--json']).json()
    const readable = cli(['envs', '--user', 'bob', '--environments', ENVS, '--json']).json()
    const names = (o: any) => o.environments.map((e: any) => `${e.namespace}/${e.name}`)
    expect(names(listed)).toContain('global/shared-tools')
    expect(names(readable)).not.toContain('global/shared-tools')
  })

  it('envs without an environment source prints the readable namespace patterns', () => {
    const out = cli(['envs', '--user', 'alice', '--json']).json()
    expect(out.environments).toBeNull()
    expect(out.namespacePatterns.map((p: any) => p.pattern)).toEqual(expect.arrayContaining(['alice/*', 'analyst/*', 'global/*']))
  })

  it('check: exit 0 when allowed, 1 when denied, JSON { allowed, reason, trace }', () => {
    const allowed = cli(['check', '--user', 'bob', '--route', 'GET', '/workspaces/ws-alpha/files', '--json'])
    expect(allowed.status).toBe(0)
    expect(allowed.json()).toMatchObject({ allowed: true, reason: 'WORKSPACE_ROLE' })
    expect(Array.isArray(allowed.json().trace)).toBe(true)
    const denied = cli(['check', '--user', 'bob', '--route', 'GET', '/workspaces/ws-beta', '--json'])
    expect(denied.status).toBe(1)
    expect(denied.json()).toMatchObject({ allowed: false, reason: 'NO_CLIENT_ENTRY' })
    expect(cli(['check', '--user', 'bob', '--route', 'GET', '/workspaces/ws-alpha%2F..%2Fws-beta']).stdout).toContain('AMBIGUOUS_PATH')
  })

  it('check --conda-store and --jupyterhub decide with upstream semantics', () => {
    expect(cli(['check', '--user', 'alice', '--conda-store', 'environment::update', 'analyst/pandas']).status).toBe(0)
    expect(cli(['check', '--user', 'alice', '--conda-store', 'environment::update', 'global/r-base']).status).toBe(1)
    const hub = cli(['check', '--user', 'alice', '--jupyterhub', 'read:services', '--json'])
    expect(hub.status).toBe(0)
    expect(hub.json().reason).toBe('SCOPE_HELD')
    expect(cli(['check', '--user', 'alice', '--jupyterhub', 'admin:users']).status).toBe(1)
    expect(cli(['check', '--user', 'alice', '--jupyterhub', 'shares', '--resource', 'server=alice/']).status).toBe(0)
    expect(cli(['check', '--user', 'alice', '--jupyterhub', 'shares', '--resource', 'server=bob/']).status).toBe(1)
  })

  it('explain prints the chain as a tree, with the check exit codes', () => {
    const r = cli(['explain', '--user', 'bob', '--conda-store', 'environment::read', 'ml/torch'])
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/user bob\n\s*└─ group \/projects\/ml\n\s*└─ role conda_store\/ml-team-scopes\n\s*└─ item admin!namespace=ml/)
    expect(cli(['explain', '--user', 'bob', '--route', 'DELETE', '/workspaces']).status).toBe(1)
  })

  it('lint reports the deliberately malformed role with its fix, exit 1', () => {
    const r = cli(['lint', '--json'])
    expect(r.status).toBe(1)
    const { diagnostics } = r.json()
    const broken = diagnostics.filter((d: any) => d.subject.role?.name === 'broken-scopes')
    expect(broken.map((d: any) => d.code)).toContain('NEBARI_SCOPE_ROLE_REJECTED')
    expect(broken[0].fix).toBeTruthy()
    expect(cli(['lint']).stdout).toMatch(/conda_store\/broken-scopes\n\s+error NEBARI_SCOPE_ROLE_REJECTED/)
  })

  it('custom components from a definitions file', () => {
    const defs = tempFile('components.json', JSON.stringify([{ name: 'binderhub', actions: ['build', 'launch'], resourceKind: 'repo', clients: ['binderhub'] }]))
    const realm = 'examples/binderhub/realm.json'
    const ok = cli(['check', '--realm', realm, '--components', defs, '--user', 'alice', '--component', 'binderhub', 'build', 'gitlab.example.com/team/proj', '--json'])
    expect(ok.status).toBe(0)
    expect(ok.json().reason).toBe('COMPONENT_GRANT')
    const no = cli(['check', '--realm', realm, '--components', defs, '--user', 'alice', '--component', 'binderhub', 'build', 'gitlab.example.com/team/sub/proj'])
    expect(no.status).toBe(1)
  })
})

describe('CLI on a second realm created in the test', () => {
  const realm = tempFile('teams-realm.json', JSON.stringify(secondRealm()))

  it('resolves nested groups and a realm composite', () => {
    const out = cli(['resolve', '--realm', realm, '--user', 'zoe', '--json']).json()
    expect(out.realm).toBe('teams')
    expect(out.groups).toEqual(['/eng/team-a'])
    expect(out.clients.conda_store.map((r: any) => r.name)).toEqual(['conda_store_developer', 'conda_store_viewer', 'team-a-admin'])
    expect(out.realmRoles.map((r: any) => r.name)).toEqual(['staff'])
  })

  it('grants team-a namespaces through the attribute, not to others', () => {
    expect(cli(['check', '--realm', realm, '--user', 'zoe', '--conda-store', 'environment::delete', 'team-a/x']).status).toBe(0)
    expect(cli(['check', '--realm', realm, '--user', 'yann', '--conda-store', 'environment::delete', 'team-a/x']).status).toBe(1)
    expect(cli(['check', '--realm', realm, '--user', 'zoe', '--route', 'GET', '/workspaces/ws-team-a']).status).toBe(0)
    expect(cli(['check', '--realm', realm, '--user', 'xena', '--route', 'GET', '/workspaces/ws-team-a']).status).toBe(1)
  })

  it('lint is clean (exit 0)', () => {
    const r = cli(['lint', '--realm', realm, '--json'])
    expect(r.json().diagnostics.filter((d: any) => d.severity === 'error')).toEqual([])
    expect(r.status).toBe(0)
  })
})

describe('bad input: one line naming the problem, exit 2, no stack trace', () => {
  const bad = (args: string[], pattern: RegExp, env?: Record<string, string>) => {
    const r = cli(args, env ? { env } : {})
    expect(r.status, `${args.join(' ')}\n${r.stderr}`).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(pattern)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  }
  it('missing realm file', () => bad(['resolve', '--realm', '/nonexistent/realm.json', '--user', 'alice'], /cannot read \/nonexistent\/realm\.json.*ENOENT/))
  it('invalid realm JSON', () => bad(['resolve', '--realm', tempFile('bad.json', '{ nope'), '--user', 'alice'], /not valid JSON/))
  it('a realm export of the wrong shape', () => bad(['resolve', '--realm', tempFile('shape.json', '{"realm":"x","users":[{"username":1}]}'), '--user', 'a'], /users\.0\.username/))
  it('unknown user', () => bad(['resolve', '--user', 'mallory'], /User "mallory" not found.*KEYCLOAK_USER_NOT_FOUND/))
  it('unknown component', () => bad(['check', '--user', 'alice', '--component', 'nope', 'build', 'x'], /unknown component "nope" \(valid: conda-store, jupyterhub, shared-directory, jupyterlab-profiles, workspaces\)/))
  it('an invalid JupyterHub scope', () => bad(['check', '--user', 'alice', '--jupyterhub', 'read:uers'], /read:uers/))
  it('unknown names are usage errors listing the valid names, on check and explain alike', () => {
    for (const command of ['check', 'explain']) {
      bad([command, '--user', 'alice', '--conda-store', 'environment::reed', 'ml/torch'], /unknown conda-store permission "environment::reed" \(valid: build::cancel, .*environment::read, .*\) \[ERR_UNKNOWN_NAME\]/)
      bad([command, '--user', 'alice', '--jupyterhub', 'read:uers'], /unknown JupyterHub scope "read:uers".*\(valid: .*read:users, .*\[ERR_UNKNOWN_NAME\]/)
      bad([command, '--user', 'alice', '--route', 'GETT', '/workspaces/ws-alpha'], /unknown HTTP method "GETT" \(valid: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE, CONNECT\)/)
      bad([command, '--user', 'alice', '--component', 'workspaces', 'FETCH', '/workspaces/ws-alpha'], /unknown HTTP method "FETCH"/)
      bad([command, '--user', 'alice', '--component', 'shared-directory', 'read', '/shared/ml'], /unknown action of component shared-directory "read" \(valid: write\)/)
    }
    const defs = tempFile('components.json', JSON.stringify([{ name: 'binderhub', actions: ['build', 'launch'], resourceKind: 'repo', clients: ['binderhub'] }]))
    bad(['check', '--realm', 'examples/binderhub/realm.json', '--components', defs, '--user', 'alice', '--component', 'binderhub', 'deploy', 'x'], /unknown action of component binderhub "deploy" \(valid: build, launch\)/)
    // A real method in lower case is the method.
    expect(cli(['check', '--user', 'bob', '--route', 'get', '/workspaces/ws-alpha']).status).toBe(0)
  })
  it('malformed flags', () => {
    bad(['resolve', '--user'], /argument missing/)
    bad(['resolve', '--bogus', '--user', 'a'], /unknown option '--bogus'/)
    bad(['check', '--user', 'alice'], /give exactly one of/)
    bad(['check', '--user', 'alice', '--route', 'GET'], /--route takes 2 values/)
    bad(['nonsense'], /unknown command 'nonsense'/)
    bad(['envs', '--user', 'a', '--environments', 'x', '--conda-store', 'http://127.0.0.1:1'], /either --environments/)
  })
  it('live flags without a secret in the environment (never argv)', () =>
    bad(['resolve', '--keycloak', 'http://127.0.0.1:1', '--realm-name', 'example', '--client-id', 'x', '--user', 'a'], /KEYCLOAK_CLIENT_SECRET/, { KEYCLOAK_CLIENT_SECRET: '' }))
  it('an unknown client on a live Keycloak that is down is a source error, exit 2', () =>
    bad(['resolve', '--keycloak', 'http://127.0.0.1:1', '--realm-name', 'example', '--client-id', 'x', '--user', 'a'], /unavailable|KEYCLOAK_/, { KEYCLOAK_CLIENT_SECRET: 's' }))
  it('an environment list that is not a conda-store page', () =>
    bad(['envs', '--user', 'alice', '--environments', tempFile('e.json', '{"status":"ok"}')], /environment list.*data/))
})

describe('JupyterHub custom scopes from a definitions file', () => {
  const realm = 'examples/jupyterhub-collaboration/realm.json'
  it('without the definitions, a role using custom:rtc:write is rejected with JupyterHub\'s message', () => {
    const codes = cli(['lint', '--realm', realm, '--json']).json().diagnostics.map((d: any) => d.code)
    expect(codes).toContain('JUPYTERHUB_ROLE_SCOPES_REJECTED')
  })
  it('with them, the role is valid and its scope is held', () => {
    const defs = tempFile('scopes.json', JSON.stringify({ 'custom:rtc:write': { description: 'Edit shared notebooks' } }))
    const codes = cli(['lint', '--realm', realm, '--custom-scopes', defs, '--json']).json().diagnostics.map((d: any) => d.code)
    expect(codes).not.toContain('JUPYTERHUB_ROLE_SCOPES_REJECTED')
  })
  it('bad definitions and versions are input errors', () => {
    const bad = tempFile('bad-scopes.json', JSON.stringify({ 'rtc:write': { description: 'no custom: prefix' } }))
    const r = cli(['lint', '--realm', realm, '--custom-scopes', bad])
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/custom:/)
    expect(cli(['lint', '--jupyterhub-version', '7']).status).toBe(2)
  })
})
