import { describe, expect, it } from 'vitest'
import { createRegistry } from '../../src/components/index.js'
import { InvalidOptionsError, UnknownNameError } from '../../src/index.js'
import { DEFAULT_COLLABORATION_SCOPES } from '../../src/jupyterhub/index.js'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { collaborationRealmJson } from './collaboration-realm.js'

/** The default custom scopes as plain settings (JSON-shaped, mutable lists). */
const RTC_SCOPES = JSON.parse(JSON.stringify(DEFAULT_COLLABORATION_SCOPES)) as Record<string, { description?: string; subscopes?: string[] }>

function collaborationRealm(): RealmExportSource {
  return new RealmExportSource(collaborationRealmJson())
}

describe('registry.collaboration: jupyter-server checks on a shared server', () => {
  const source = collaborationRealm()
  const registry = createRegistry({ jupyterhub: { customScopes: RTC_SCOPES } }, { groupsOf: (u) => source.resolveSync(u).groups })
  const ask = async (user: string, action: string, resource: string, server = 'alice/') =>
    (await registry.collaboration(source.resolveSync(user), { server, action, resource })).decision

  it('owner, read mapping, execute mapping, nobody else — with the library reasons', async () => {
    expect(await ask('alice', 'execute', 'kernels')).toMatchObject({ allowed: true, reason: 'OWNER' })
    expect(await ask('dave', 'read', 'contents')).toMatchObject({ allowed: true, reason: 'SCOPE_GRANT', grant: 'custom:rtc:read' })
    expect(await ask('dave', 'write', 'contents')).toMatchObject({ allowed: false, reason: 'NO_MATCHING_SCOPE' })
    expect(await ask('dave', 'execute', 'kernels')).toMatchObject({ allowed: false, reason: 'NO_MATCHING_SCOPE' })
    // custom:rtc:execute includes custom:rtc:write (its subscope), the first mapped scope that covers write on contents.
    expect(await ask('erin', 'write', 'contents')).toMatchObject({ allowed: true, grant: 'custom:rtc:write' })
    expect(await ask('erin', 'execute', 'kernels')).toMatchObject({ allowed: true })
    expect(await ask('alice', 'read', 'contents', 'dave/')).toMatchObject({ allowed: false, reason: 'NO_SERVER_ACCESS' })
    // carol is a hub admin: admin's access:servers lets her in, but in the mapped mode she needs a mapped scope.
    expect(await ask('carol', 'read', 'contents')).toMatchObject({ allowed: false, reason: 'NO_MATCHING_SCOPE' })
    // bob is refused at login under Nebari's rules: no scope at all.
    expect(await ask('bob', 'read', 'contents')).toMatchObject({ allowed: false })
    // The share is for alice's default server only.
    expect(await ask('dave', 'read', 'contents', 'alice/lab')).toMatchObject({ allowed: false, reason: 'NO_SERVER_ACCESS' })
  })

  it('unknown action or resource: UnknownNameError with the valid names', async () => {
    await expect(ask('alice', 'delete', 'contents')).rejects.toThrow(UnknownNameError)
    await expect(ask('alice', 'delete', 'contents')).rejects.toThrow('valid: read, write, execute')
    await expect(ask('alice', 'read', 'kernals')).rejects.toThrow(/valid: api, config, contents/)
  })

  it('the mapping comes from the settings, validated when the registry is built', async () => {
    const readOnly = createRegistry({
      jupyterhub: { customScopes: RTC_SCOPES, collaboration: { mapping: { 'custom:rtc:read': [{ actions: ['read', 'write'], resources: ['contents'] }] } } },
    })
    expect((await readOnly.collaboration(source.resolveSync('dave'), { server: 'alice/', action: 'write', resource: 'contents' })).decision.allowed).toBe(true)
    expect((await readOnly.collaboration(source.resolveSync('erin'), { server: 'alice/', action: 'execute', resource: 'kernels' })).decision.allowed).toBe(false)
    expect(() => createRegistry({ jupyterhub: { customScopes: RTC_SCOPES, collaboration: { mapping: { 'custom:rtc:raed': [{ actions: ['read'], resources: '*' }] } } } })).toThrow(InvalidOptionsError)
    expect(() => createRegistry({ jupyterhub: { collaboration: { access: 'open' as never } } })).toThrow(InvalidOptionsError)
  })

  it('a disabled account is denied like every other check', async () => {
    const dave = { ...source.resolveSync('dave'), enabled: false }
    expect((await registry.collaboration(dave, { server: 'alice/', action: 'read', resource: 'contents' })).decision.reason).toBe('USER_DISABLED')
  })
})
