import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli, tempFile } from './helpers.js'

const REALM = 'examples/realm/example-realm.json'
const ENVS = 'examples/realm/example-environments.json'
const example = () => JSON.parse(readFileSync(REALM, 'utf8'))

function realmFile(change: (realm: any) => void): string {
  const realm = example()
  change(realm)
  return tempFile('realm.json', JSON.stringify(realm))
}

describe('report (built binary)', () => {
  it('json: { users: [{ user, grants: [{ component, resource, level, via }] }], diagnostics } equal to resolve', () => {
    const r = cli(['report', '--format', 'json'])
    expect(r.status).toBe(0)
    const out = r.json()
    expect(out.users.map((u: any) => u.user)).toEqual(['alice', 'bob', 'carol', 'dave', 'erin', 'service-account-permission-resolver'])
    expect(out.diagnostics.map((d: any) => d.code)).toEqual(cli(['lint', '--json']).json().diagnostics.map((d: any) => d.code))
    for (const row of out.users) {
      const resolved = cli(['resolve', '--user', row.user, '--json']).json()
      const hub = row.grants.filter((g: any) => g.component === 'jupyterhub').map((g: any) => g.resource).sort()
      expect(hub).toEqual(resolved.components.jupyterhub.scopes)
      expect(row.grants.filter((g: any) => g.component === 'conda-store').map((g: any) => g.resource).sort()).toEqual(Object.keys(resolved.components['conda-store'].permissions.entity_roles).sort())
      expect(row.grants.filter((g: any) => g.component === 'workspaces').map((g: any) => g.resource)).toEqual(resolved.components.workspaces.workspaces)
    }
  })

  it('--users, --group and --environments select users and add readable environments', () => {
    const bob = cli(['report', '--users', 'bob', '--environments', ENVS]).json()
    expect(bob.users.map((u: any) => u.user)).toEqual(['bob'])
    expect(bob.users[0].grants.filter((g: any) => g.component === 'conda-store-environments').map((g: any) => g.resource)).toEqual(
      cli(['envs', '--user', 'bob', '--environments', ENVS, '--json']).json().environments.map((e: any) => `${e.namespace}/${e.name}`),
    )
    expect(cli(['report', '--group', '/projects']).json().users.map((u: any) => u.user)).toEqual(['bob', 'dave'])
  })

  it('--json is --format json; it contradicts another format', () => {
    expect(cli(['report', '--json', '--users', 'erin']).json().users.map((u: any) => u.user)).toEqual(['erin'])
    expect(cli(['report', '--json', '--format', 'csv']).status).toBe(2)
  })

  it('custom components appear with their grants', () => {
    const components = tempFile('components.json', JSON.stringify([{ name: 'binderhub', actions: ['build', 'launch'], resourceKind: 'repo', clients: ['binderhub'] }]))
    const out = cli(['report', '--realm', 'examples/binderhub/realm.json', '--components', components, '--users', 'alice']).json()
    expect(out.users[0].grants.filter((g: any) => g.component === 'binderhub').map((g: any) => [g.resource, g.level])).toEqual([
      ['github.com/demos/*', 'launch'],
      ['gitlab.example.com/team/*', 'build, launch'],
    ])
    expect(out.diagnostics.map((d: any) => d.subject.role?.name)).toContain('typo-role')
  })

  it('csv, md and html; --out writes the file', () => {
    expect(cli(['report', '--format', 'csv']).stdout.split('\r\n')[0]).toBe('user,component,kind,resource,level,highlight,via')
    expect(cli(['report', '--format', 'md']).stdout).toContain('## carol')
    const out = join(mkdtempSync(join(tmpdir(), 'kp-report-')), 'report.html')
    const r = cli(['report', '--format', 'html', '--out', out])
    expect(r.status).toBe(0)
    expect(r.stdout).toBe('')
    expect(readFileSync(out, 'utf8')).toMatch(/^<!doctype html>/)
  })

  it('usage and input errors exit 2 with one line', () => {
    for (const args of [
      ['report', '--format', 'pdf'],
      ['report', '--users', 'nobody'],
      ['report', '--group', '/nope'],
      ['report', '--users', 'bob', '--group', '/projects'],
      ['report', '--realm', '/nonexistent.json'],
      ['report', '--environments', tempFile('e.json', '{"data": 3}')],
    ]) {
      const r = cli(args)
      expect(r.status, args.join(' ')).toBe(2)
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1)
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/)
    }
  })
})

describe('diff (built binary): a CI gate', () => {
  it('exit 0 when nothing changes', () => {
    const r = cli(['diff', REALM, realmFile(() => {})])
    expect(r.status).toBe(0)
    expect(r.stdout).toBe('no permission changes\n')
    expect(cli(['diff', REALM, REALM, '--json']).json()).toEqual({ changes: [], lint: { introduced: [], fixed: [] }, realmChanges: [] })
  })

  it('exit 1 with the changes and their causes', () => {
    const next = realmFile((r) => r.groups.find((g: any) => g.name === 'projects').clientRoles['ws-beta'] = ['ws_access'])
    const r = cli(['diff', REALM, next, '--json'])
    expect(r.status).toBe(1)
    const out = r.json()
    expect(out.changes.map((c: any) => `${c.user} ${c.change} ${c.component} ${c.resource}`)).toEqual(['bob gained workspaces ws-beta', 'dave changed workspaces ws-beta'])
    expect(out.changes[0].causes.map((c: any) => c.description)).toEqual(['role ws-beta/ws_access added to group /projects'])
    expect(Object.keys(out.lint)).toEqual(['introduced', 'fixed'])
    const text = cli(['diff', REALM, next])
    expect(text.status).toBe(1)
    expect(text.stdout).toContain('bob gained workspaces ws-beta (ws_access) ← role ws-beta/ws_access added to group /projects')
    expect(cli(['diff', REALM, next, '--format', 'md']).stdout).toContain('| bob | gained | workspaces | ws-beta |')
  })

  it('a lint-only change: exit 0, the error reported; --fail-on-lint makes it exit 1', () => {
    const next = realmFile((r) => r.roles.client.jupyterhub.push({ name: 'typo', attributes: { component: ['jupyterhub'], scopes: ['read:users, read:groups'] } }))
    const r = cli(['diff', REALM, next, '--json'])
    expect(r.status).toBe(0)
    expect(r.json().changes).toEqual([])
    expect(r.json().lint.introduced.map((d: any) => d.code)).toEqual(['JUPYTERHUB_ROLE_SCOPES_REJECTED'])
    expect(cli(['diff', REALM, next, '--fail-on-lint']).status).toBe(1)
  })

  it('--users restricts the users compared', () => {
    const next = realmFile((r) => (r.users = r.users.filter((u: any) => u.username !== 'erin')))
    expect(cli(['diff', REALM, next, '--users', 'alice,bob']).status).toBe(0)
    const erin = cli(['diff', REALM, next, '--users', 'erin', '--json'])
    expect(erin.status).toBe(1)
    expect(erin.json().changes.every((c: any) => c.change === 'lost' && c.causes[0].description === 'user erin removed')).toBe(true)
  })

  it('input and usage errors exit 2', () => {
    const broken = tempFile('broken.json', '{ not json')
    const invalid = tempFile('invalid.json', JSON.stringify({ realm: 'x', users: [{ username: 'a', groups: ['/missing'] }] }))
    for (const args of [['diff', REALM], ['diff', REALM, broken], ['diff', invalid, REALM], ['diff', REALM, REALM, '--format', 'xml'], ['diff', '--realm', REALM, REALM]]) {
      const r = cli(args)
      expect(r.status, args.join(' ')).toBe(2)
      expect(r.stderr).toMatch(/^keycloak-permissions: /)
    }
  })

  it('--keycloak: one export (the proposal); an unreachable Keycloak is an input error (exit 2)', () => {
    const live = ['--keycloak', 'http://127.0.0.1:9', '--realm-name', 'example', '--client-id', 'permission-resolver']
    const two = cli(['diff', ...live, REALM, REALM], { env: { KEYCLOAK_CLIENT_SECRET: 'x' } })
    expect(two.status).toBe(2)
    expect(two.stderr).toContain('with --keycloak, diff takes one realm export')
    const down = cli(['diff', ...live, REALM], { env: { KEYCLOAK_CLIENT_SECRET: 'x' } })
    expect(down.status).toBe(2)
    expect(down.stderr).toMatch(/^keycloak-permissions: .*\[KEYCLOAK_SOURCE_UNAVAILABLE\]\n$/)
  })

  it('--out writes the diff', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kp-diff-'))
    const next = join(dir, 'next.json')
    const realm = example()
    realm.users.find((u: any) => u.username === 'alice').groups.push('/projects/ml')
    writeFileSync(next, JSON.stringify(realm))
    const out = join(dir, 'diff.md')
    expect(cli(['diff', REALM, next, '--format', 'md', '--out', out]).status).toBe(1)
    expect(readFileSync(out, 'utf8')).toContain('user alice added to group /projects/ml')
  })
})

describe('report and diff use the same registry settings as check', () => {
  const COLLAB = 'examples/jupyterhub-collaboration/realm.json'
  const scopes = tempFile('scopes.json', JSON.stringify({ 'custom:rtc:write': { description: 'Edit shared notebooks' } }))
  const hubGrants = (out: any, user: string) => out.users.find((u: any) => u.user === user).grants.filter((g: any) => g.component === 'jupyterhub').map((g: any) => g.resource).sort()

  it('report --custom-scopes: the role using a custom scope is valid, its scopes are granted, as check says', () => {
    const without = cli(['report', '--realm', COLLAB, '--users', 'bob']).json()
    const withScopes = cli(['report', '--realm', COLLAB, '--users', 'bob', '--custom-scopes', scopes]).json()
    expect(hubGrants(without, 'bob')).not.toContain('custom:rtc:write!group=/projects/ml')
    expect(without.diagnostics.map((d: any) => d.code)).toContain('JUPYTERHUB_ROLE_SCOPES_REJECTED')
    expect(hubGrants(withScopes, 'bob')).toEqual(expect.arrayContaining(['access:servers!group=/projects/ml', 'custom:rtc:write!group=/projects/ml']))
    expect(withScopes.diagnostics.map((d: any) => d.code)).not.toContain('JUPYTERHUB_ROLE_SCOPES_REJECTED')
    expect(hubGrants(withScopes, 'bob')).toEqual(cli(['resolve', '--realm', COLLAB, '--user', 'bob', '--custom-scopes', scopes, '--json']).json().components.jupyterhub.scopes)
    // The same registry decides `check` on another user's server through the group filter.
    expect(cli(['check', '--realm', COLLAB, '--custom-scopes', scopes, '--user', 'bob', '--jupyterhub', 'custom:rtc:write', '--resource', 'server=carol/']).status).toBe(0)
    expect(cli(['check', '--realm', COLLAB, '--custom-scopes', scopes, '--user', 'bob', '--jupyterhub', 'custom:rtc:write', '--resource', 'server=alice/']).status).toBe(1)
  })

  it('report --jupyterhub-version 6: `servers` holds start:servers, as resolve says', () => {
    const v5 = cli(['report', '--users', 'alice']).json()
    const v6 = cli(['report', '--users', 'alice', '--jupyterhub-version', '6']).json()
    expect(hubGrants(v5, 'alice')).not.toContain('start:servers!user=alice')
    expect(hubGrants(v6, 'alice')).toContain('start:servers!user=alice')
    expect(hubGrants(v6, 'alice')).toEqual(cli(['resolve', '--user', 'alice', '--jupyterhub-version', '6', '--json']).json().components.jupyterhub.scopes)
    expect(cli(['report', '--jupyterhub-version', '7']).status).toBe(2)
    expect(cli(['diff', REALM, REALM, '--jupyterhub-version', '7']).status).toBe(2)
  })

  it('diff --custom-scopes and --jupyterhub-version compare under those settings', () => {
    const collab = JSON.parse(readFileSync(COLLAB, 'utf8'))
    const before = JSON.parse(JSON.stringify(collab))
    before.users.find((u: any) => u.username === 'carol').groups = ['/analyst']
    const old = tempFile('collab-old.json', JSON.stringify(before))
    const gained = (args: string[]) =>
      cli(['diff', old, COLLAB, '--users', 'carol', '--json', ...args]).json().changes.filter((c: any) => c.component === 'jupyterhub').map((c: any) => c.resource)
    expect(gained([])).not.toContain('custom:rtc:write!group=/projects/ml')
    expect(gained(['--custom-scopes', scopes])).toEqual(expect.arrayContaining(['access:servers!group=/projects/ml', 'custom:rtc:write!group=/projects/ml']))
    // bob joins /analyst and may log in to JupyterHub: under 6, his `servers` also holds start:servers.
    const next = realmFile((r) => (r.users.find((u: any) => u.username === 'bob').groups = ['/projects/ml', '/analyst']))
    const resources = (args: string[]) => cli(['diff', REALM, next, '--users', 'bob', '--json', ...args]).json().changes.map((c: any) => c.resource)
    expect(resources([])).not.toContain('start:servers!user=bob')
    expect(resources(['--jupyterhub-version', '6'])).toContain('start:servers!user=bob')
  })
})
