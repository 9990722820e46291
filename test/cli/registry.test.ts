import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli, tempFile } from './helpers.js'
import { startServe, type ServeProcess } from './serve-process.js'

/**
 * A component none of the code knows: declared only in a definitions file (`--components`), it must
 * appear on every surface — check, explain, report, diff and serve — with no other change.
 */
const definitions = tempFile('components.json', JSON.stringify([{ name: 'datasets', actions: ['read', 'write'], resourceKind: 'path', clients: ['data-api'] }]))

function realm(readers: string[]): object {
  return {
    realm: 'lab',
    roles: {
      client: {
        'data-api': [
          { name: 'raw-readers', attributes: { component: ['datasets'], scopes: ['read!path=raw/*'] } },
          { name: 'curators', attributes: { component: ['datasets'], scopes: ['read!path=curated/*,write!path=curated/*'] } },
        ],
      },
    },
    groups: [{ name: 'readers', clientRoles: { 'data-api': ['raw-readers'] } }],
    users: [
      { username: 'ida', groups: readers.includes('ida') ? ['/readers'] : [], clientRoles: { 'data-api': ['curators'] } },
      { username: 'jon', groups: readers.includes('jon') ? ['/readers'] : [] },
    ],
  }
}

const before = tempFile('lab-before.json', JSON.stringify(realm(['ida'])))
const after = tempFile('lab-after.json', JSON.stringify(realm(['ida', 'jon'])))

describe('a custom component from --components appears on every surface', () => {
  it('check and explain decide it, with the chain', () => {
    const check = (user: string, action: string, resource: string) => cli(['check', '--realm', after, '--components', definitions, '--user', user, '--component', 'datasets', action, resource, '--json'])
    const ok = check('jon', 'read', 'raw/2026')
    expect(ok.status).toBe(0)
    expect(ok.json()).toMatchObject({ allowed: true, reason: 'COMPONENT_GRANT', rule: 'data-api:raw-readers' })
    expect(check('jon', 'write', 'raw/2026').status).toBe(1)
    expect(check('ida', 'write', 'curated/x').json()).toMatchObject({ allowed: true })
    const explain = cli(['explain', '--realm', after, '--components', definitions, '--user', 'jon', '--component', 'datasets', 'read', 'raw/2026'])
    expect(explain.status).toBe(0)
    expect(explain.stdout).toMatch(/user jon\n\s*└─ group \/readers\n\s+└─ role data-api\/raw-readers\n\s+└─ item read!path=raw\/\*\n\s+└─ grant read raw\/\*\n\s+└─ resource raw\/2026/)
    // Without the definitions the component does not exist: a usage error.
    expect(cli(['check', '--realm', after, '--user', 'jon', '--component', 'datasets', 'read', 'raw/2026']).status).toBe(2)
  })

  it('resolve and report list its grants', () => {
    const resolved = cli(['resolve', '--realm', after, '--components', definitions, '--user', 'ida', '--json']).json()
    expect(resolved.components.datasets.grants.map((g: any) => `${g.action} ${g.pattern}`)).toEqual(['read curated/*', 'write curated/*', 'read raw/*'])
    const report = cli(['report', '--realm', after, '--components', definitions]).json()
    const ida = report.users.find((u: any) => u.user === 'ida').grants.filter((g: any) => g.component === 'datasets')
    expect(ida.map((g: any) => [g.resource, g.level])).toEqual([
      ['curated/*', 'read, write'],
      ['raw/*', 'read'],
    ])
    expect(ida[1].via).toEqual(['ida → /readers → data-api/raw-readers → read!path=raw/* → read raw/*'])
  })

  it('diff reports a change of its grants, and nothing without the definitions', () => {
    const changes = (args: string[]) => cli(['diff', before, after, '--json', ...args]).json().changes.map((c: any) => `${c.user} ${c.change} ${c.component} ${c.resource}`)
    // Joining /readers also gives jon the group's conda-store namespace (Nebari's login): that one is built in.
    expect(changes(['--components', definitions])).toEqual(['jon gained conda-store readers/*', 'jon gained datasets raw/*'])
    expect(changes([])).toEqual(['jon gained conda-store readers/*'])
  })

  describe('serve', () => {
    let serve: ServeProcess
    beforeAll(async () => {
      serve = await startServe(['--realm', after, '--components', definitions])
    })
    afterAll(() => serve?.stop())
    const post = (body: unknown) => fetch(`${serve.url}/v1/check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

    it('POST /v1/check decides it; the principal lists it', async () => {
      const allowed = await post({ user: 'jon', component: { name: 'datasets', action: 'read', resource: 'raw/2026' } })
      expect(allowed.status).toBe(200)
      expect(await allowed.json()).toMatchObject({ allowed: true, reason: 'COMPONENT_GRANT' })
      expect(await (await post({ user: 'jon', component: { name: 'datasets', action: 'write', resource: 'raw/2026' } })).json()).toMatchObject({ allowed: false, reason: 'NO_GRANT' })
      const principal: any = await (await fetch(`${serve.url}/v1/users/ida/principal`)).json()
      expect(principal.components.datasets.grants).toHaveLength(3)
    })

    it('unknown names are HTTP 400 ERR_UNKNOWN_NAME with the valid names', async () => {
      const cases: Array<[unknown, RegExp]> = [
        [{ user: 'jon', component: { name: 'datasets', action: 'delete', resource: 'raw/x' } }, /unknown action of component datasets "delete" \(valid: read, write\)/],
        [{ user: 'jon', component: { name: 'nope', action: 'read', resource: 'x' } }, /unknown component "nope" \(valid: .*workspaces, datasets\)/],
        [{ user: 'jon', condaStore: { permission: 'environment::reed', resource: 'ml/torch' } }, /unknown conda-store permission "environment::reed" \(valid: .*environment::read/],
        [{ user: 'jon', jupyterhub: { scope: 'read:uers' } }, /unknown JupyterHub scope "read:uers"/],
        [{ user: 'jon', route: { method: 'GETT', path: '/workspaces/ws-alpha' } }, /unknown HTTP method "GETT" \(valid: GET, /],
      ]
      for (const [body, message] of cases) {
        const res = await post(body)
        expect(res.status, JSON.stringify(body)).toBe(400)
        const { error } = (await res.json()) as { error: { code: string; message: string } }
        expect(error.code).toBe('ERR_UNKNOWN_NAME')
        expect(error.message).toMatch(message)
      }
    })
  })
})
