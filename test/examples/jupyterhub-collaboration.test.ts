import { describe, expect, it } from 'vitest'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { CollaborationService, EXAMPLE_SHARES, realmPath } from '../../examples/jupyterhub-collaboration/collaboration.js'
import { runExample } from './run-example.js'

const allowed = (a: { checks: readonly { action: string; resource: string; allowed: boolean }[] }) =>
  a.checks.filter((c) => c.allowed).map((c) => `${c.action} ${c.resource}`)

describe('examples/jupyterhub-collaboration', () => {
  it('alice may open bob’s shared server, read-only (the share), and nothing on carol’s', async () => {
    const service = new CollaborationService(await RealmExportSource.fromFile(realmPath), EXAMPLE_SHARES)
    const bobs = await service.access('alice', 'bob/')
    expect(bobs.mayOpen).toBe(true)
    expect(allowed(bobs)).toEqual(['read contents'])
    expect(bobs.checks.find((c) => c.action === 'write')?.reason).toBe('NO_MATCHING_SCOPE')
    const carols = await service.access('alice', 'carol/')
    expect(carols.mayOpen).toBe(false)
    expect(carols.checks.every((c) => c.reason === 'NO_SERVER_ACCESS')).toBe(true)
  })

  it('without the share alice cannot open bob’s server', async () => {
    const service = new CollaborationService(await RealmExportSource.fromFile(realmPath), {})
    const a = await service.access('alice', 'bob/')
    expect(a.mayOpen).toBe(false)
    expect(allowed(a)).toEqual([])
  })

  it('a Keycloak group role (!group=/projects/ml) lets carol edit bob’s server but not run code; the owner may do all', async () => {
    const service = new CollaborationService(await RealmExportSource.fromFile(realmPath), EXAMPLE_SHARES)
    const carol = await service.access('carol', 'bob/')
    expect(allowed(carol)).toEqual(['read contents', 'write contents'])
    expect(carol.chains[1]).toBe('carol → write contents on bob/ → access:servers!server=bob/ → ml-pair-programming → custom:rtc:write!server=bob/ (allowed: SCOPE_GRANT)')
    // The group filter follows the owner's groups: alice is not in /projects/ml, so carol gets nothing on alice's server.
    expect((await service.access('carol', 'alice/')).mayOpen).toBe(false)
    expect(allowed(await service.access('bob', 'bob/'))).toEqual(['read contents', 'write contents', 'execute kernels'])
  })

  it('a user outside Nebari’s allowed groups is refused at login, whatever roles he holds', async () => {
    const service = new CollaborationService(await RealmExportSource.fromFile(realmPath), EXAMPLE_SHARES)
    const dan = await service.access('dan', 'bob/')
    expect(dan.mayOpen).toBe(false)
    expect(dan.checks.map((c) => c.reason)).toEqual(['LOGIN_REJECTED', 'LOGIN_REJECTED', 'LOGIN_REJECTED'])
  })

  it('bob may grant the read-only share but not a scope he does not hold', async () => {
    const service = new CollaborationService(await RealmExportSource.fromFile(realmPath), EXAMPLE_SHARES)
    expect((await service.mayShare('bob', 'bob/', 'alice', EXAMPLE_SHARES['alice']!)).status).toBe(200)
    const over = await service.mayShare('bob', 'bob/', 'alice', ['custom:rtc:execute!server=bob/'])
    expect([over.status, over.reason]).toEqual([403, 'SHARE_SCOPE_NOT_HELD'])
    // Sharing someone else's server needs shares on it: bob holds shares!user (his own) only.
    expect((await service.mayShare('bob', 'carol/', 'alice', ['access:servers!server=carol/'])).allowed).toBe(false)
  })

  it('the demo prints the answers and their chains', () => {
    const run = runExample('jupyterhub-collaboration/collaboration.ts')
    expect(run.status, run.stderr).toBe(0)
    expect(run.lines).toContain('may alice open bob/? yes; allowed: read contents')
    expect(run.lines).toContain('may carol open bob/? yes; allowed: read contents, write contents')
    expect(run.lines).toContain('may alice open carol/? no; allowed: nothing')
    expect(run.lines).toContain('may dan open bob/? no; allowed: nothing')
    expect(run.lines).toContain('  alice → read contents on bob/ → access:servers!server=bob/ → custom:rtc:read!server=bob/ (allowed: SCOPE_GRANT)')
    expect(run.stdout).toContain('may bob share bob/ with alice with custom:rtc:execute? 403 SHARE_SCOPE_NOT_HELD')
  })
})
