import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../../src/index.js'
import { RealmExportSource } from '../../src/keycloak/index.js'
import {
  JupyterHubUsageError,
  createCollaborationAuthorizer,
  defineCustomScopes,
  expandScopes,
  jupyterhubPrincipal,
} from '../../src/jupyterhub/index.js'

const authz = createCollaborationAuthorizer()
const opts = { customScopes: authz.customScopes }
const who = (username: string, scopes: string[], owner = username) => ({ username, scopes: expandScopes(scopes, { owner: { kind: 'user', name: owner } }, opts) })

describe('collaboration authorizer (default mapping)', () => {
  it('the owner may do everything on their own server', () => {
    const alice = who('alice', ['self'])
    for (const [action, resource] of [['read', 'contents'], ['write', 'contents'], ['execute', 'kernels'], ['execute', 'terminals']] as const) {
      expect(authz.authorize(alice, 'alice/', action, resource)).toMatchObject({ allowed: true, reason: 'OWNER' })
    }
    expect(authz.authorize(alice, 'bob/', 'read', 'contents')).toMatchObject({ allowed: false, reason: 'NO_SERVER_ACCESS' })
  })

  it('read / write / execute scopes shared for one server', () => {
    const reader = who('bob', ['access:servers!server=alice/', 'custom:rtc:read!server=alice/'])
    expect(authz.authorize(reader, 'alice/', 'read', 'contents')).toMatchObject({ allowed: true, reason: 'SCOPE_GRANT', grant: 'custom:rtc:read' })
    expect(authz.authorize(reader, 'alice/', 'write', 'contents')).toMatchObject({ allowed: false, reason: 'NO_MATCHING_SCOPE' })
    expect(authz.authorize(reader, 'alice/lab', 'read', 'contents').reason).toBe('NO_SERVER_ACCESS')
    const writer = who('bob', ['access:servers!server=alice/', 'custom:rtc:write!server=alice/'])
    expect(authz.authorize(writer, 'alice/', 'write', 'contents').allowed).toBe(true)
    expect(authz.authorize(writer, 'alice/', 'read', 'kernels').allowed).toBe(true)
    expect(authz.authorize(writer, 'alice/', 'execute', 'kernels').allowed).toBe(false)
    expect(authz.authorize(writer, 'alice/', 'write', 'terminals').allowed).toBe(false)
    const runner = who('bob', ['access:servers!server=alice/', 'custom:rtc:execute!server=alice/'])
    expect(authz.authorize(runner, 'alice/', 'execute', 'terminals').allowed).toBe(true)
    expect(authz.permissions(writer, 'alice/').filter((p) => p.action === 'write')).toEqual([{ action: 'write', resource: 'contents', grant: 'custom:rtc:write' }])
  })

  it('access alone admits but grants nothing in mapped mode; full mode = JupyterHub\'s own behaviour', () => {
    const visitor = who('bob', ['access:servers!server=alice/'])
    expect(authz.authorize(visitor, 'alice/', 'read', 'contents').reason).toBe('NO_MATCHING_SCOPE')
    const full = createCollaborationAuthorizer({ access: 'full' })
    expect(full.authorize(visitor, 'alice/', 'execute', 'kernels')).toMatchObject({ allowed: true, reason: 'ACCESS_SERVERS' })
  })

  it('group-filtered scopes need the group lookup', () => {
    const member = who('bob', ['access:servers!group=/team', 'custom:rtc:read!group=/team'])
    const groupsOf = (u: string) => (u === 'alice' ? ['/team'] : [])
    expect(authz.authorize(member, 'alice/', 'read', 'contents', { groupsOf }).allowed).toBe(true)
    expect(authz.authorize(member, 'alice/', 'read', 'contents').allowed).toBe(false)
  })

  it('shares from the hub database add to the Keycloak-derived scopes', async () => {
    const alice = await RealmExportSource.example().resolve('alice')
    const withoutShare = jupyterhubPrincipal(alice, opts)
    expect(authz.authorize(withoutShare, 'dave/', 'read', 'contents').reason).toBe('NO_SERVER_ACCESS')
    const shared = jupyterhubPrincipal(alice, { ...opts, shareScopes: ['access:servers!server=dave/', 'custom:rtc:write!server=dave/'] })
    expect(authz.authorize(shared, 'dave/', 'write', 'contents')).toMatchObject({ allowed: true, grant: 'custom:rtc:write' })
    expect(authz.authorize(shared, 'dave/', 'execute', 'kernels').allowed).toBe(false)
    expect(authz.authorize(shared, 'dave/other', 'read', 'contents').allowed).toBe(false)
  })

  it('a rejected login denies', async () => {
    const bob = jupyterhubPrincipal(await RealmExportSource.example().resolve('bob'), opts)
    expect(authz.authorize(bob, 'bob/', 'read', 'contents').reason).toBe('LOGIN_REJECTED')
  })

  it('resolves custom scopes from Keycloak role attributes when the same definitions are used', async () => {
    const alice = await RealmExportSource.example().resolve('alice')
    const withShare = {
      ...alice,
      clientRoles: {
        ...alice.clientRoles,
        jupyterhub: [...(alice.clientRoles['jupyterhub'] ?? []), { client: 'jupyterhub', name: 'review-bob', attributes: { component: ['jupyterhub'], scopes: ['access:servers!server=bob/,custom:rtc:read!server=bob/'] }, via: [] }],
      },
    }
    const jh = jupyterhubPrincipal(withShare, opts)
    const decision = authz.authorize(jh, 'bob/', 'read', 'contents')
    expect(decision.allowed).toBe(true)
    expect(decision.trace.map((t) => `${t.kind}:${t.label}`)).toEqual([
      'user:alice',
      'resource:read contents on bob/',
      'scope:access:servers!server=bob/',
      'role:review-bob',
      'grant:custom:rtc:read!server=bob/',
    ])
    expect(authz.authorize(jh, 'bob/', 'write', 'contents').allowed).toBe(false)
    const undefinedCustom = jupyterhubPrincipal(withShare)
    expect(undefinedCustom.diagnostics.map((d) => d.code)).toContain('JUPYTERHUB_ROLE_SCOPES_REJECTED')
  })
})

describe('configuration is validated eagerly; request-time misuse is loud', () => {
  it('rejects unknown or misspelt scopes, actions and resources', () => {
    expect(() => createCollaborationAuthorizer({ mapping: { 'custom:rtc:raed': [{ actions: ['read'], resources: '*' }] } })).toThrow(InvalidOptionsError)
    expect(() => createCollaborationAuthorizer({ mapping: { 'custom:rtc:raed': [{ actions: ['read'], resources: '*' }] } })).toThrow("Scope 'custom:rtc:raed'  does not exist")
    expect(() => createCollaborationAuthorizer({ mapping: { 'custom:rtc:read!server=a/': [{ actions: ['read'], resources: '*' }] } })).toThrow(/without a filter/)
    expect(() => createCollaborationAuthorizer({ mapping: { 'custom:rtc:read': [{ actions: ['delete' as never], resources: '*' }] } })).toThrow(/unknown action/)
    expect(() => createCollaborationAuthorizer({ mapping: { 'custom:rtc:read': [{ actions: ['read'], resources: ['kernal'] }] } })).toThrow(/unknown resource/)
    expect(() => createCollaborationAuthorizer({ mapping: { 'custom:rtc:read': [] } })).toThrow(InvalidOptionsError)
    expect(() => createCollaborationAuthorizer({ access: 'open' as never })).toThrow(InvalidOptionsError)
    const custom = defineCustomScopes({ 'custom:yjs:edit': { description: 'edit' } })
    const ext = createCollaborationAuthorizer({ customScopes: custom, mapping: { 'custom:yjs:edit': [{ actions: ['write'], resources: ['yjs'] }] }, extraResources: ['yjs'] })
    const editor = { username: 'bob', scopes: expandScopes(['access:servers!user=alice', 'custom:yjs:edit!user=alice'], {}, { customScopes: custom }) }
    expect(ext.authorize(editor, 'alice/lab', 'write', 'yjs').allowed).toBe(true)
    expect(() => ext.authorize(editor, 'alice/lab', 'write', 'yj')).toThrow(JupyterHubUsageError)
    expect(() => ext.authorize(editor, 'alice', 'write', 'yjs')).toThrow(JupyterHubUsageError)
  })
})
