import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_COLLABORATION_SCOPES } from '../../src/jupyterhub/index.js'
import { collaborationRealmJson } from '../components/collaboration-realm.js'
import { cli } from './helpers.js'
import { startServe, type ServeProcess } from './serve-process.js'

// `check --collaboration` and `POST /v1/check { collaboration }`: the same answers, the same usage errors.
describe('the collaboration check kind (CLI and serve)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kp-collab-cli-'))
  const realm = join(dir, 'realm.json')
  const scopes = join(dir, 'scopes.json')
  let serve: ServeProcess
  beforeAll(async () => {
    writeFileSync(realm, JSON.stringify(collaborationRealmJson()))
    writeFileSync(scopes, JSON.stringify(DEFAULT_COLLABORATION_SCOPES))
    serve = await startServe(['--realm', realm, '--custom-scopes', scopes])
  })
  afterAll(() => serve?.stop())

  // A connection per request: the CLI runs synchronously between requests (see ServeProcess.request).
  const post = async (body: unknown) => {
    const res = await serve.request('/v1/check', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return { status: res.status, body: res.json() }
  }

  it('every user × operation: serve and the CLI agree (decision, reason, chain)', async () => {
    const cases: [string, string][] = [['read', 'contents'], ['write', 'contents'], ['execute', 'kernels']]
    const seen = new Set<string>()
    const users = ['alice', 'dave', 'erin', 'carol', 'bob'].map((user) => [user, 'alice/'] as const)
    for (const [user, server] of [...users, ['alice', 'dave/'] as const]) {
      for (const [action, resource] of cases) {
        const http = await post({ user, collaboration: { server, action, resource } })
        expect(http.status).toBe(200)
        const viaCli = cli(['check', '--realm', realm, '--custom-scopes', scopes, '--user', user, '--collaboration', server, action, resource, '--json'])
        expect(viaCli.status, viaCli.stderr).toBe(http.body.allowed ? 0 : 1)
        expect(viaCli.json()).toEqual(http.body)
        seen.add(`${http.body.allowed}:${http.body.reason}`)
      }
    }
    // The cases cover every outcome: owner, a mapped scope, no mapping, no access, refused at login (bob).
    expect([...seen].sort()).toEqual(['false:LOGIN_REJECTED', 'false:NO_MATCHING_SCOPE', 'false:NO_SERVER_ACCESS', 'true:OWNER', 'true:SCOPE_GRANT'])
  })

  it('an allowed collaborator gets the chain through the role that shares the server', async () => {
    const { body } = await post({ user: 'dave', collaboration: { server: 'alice/', action: 'read', resource: 'contents' } })
    expect(body).toMatchObject({ allowed: true, reason: 'SCOPE_GRANT' })
    expect(JSON.stringify(body.chains)).toContain('alice-readers')
  })

  it('the mapping comes from the configuration file: CLI and serve read it', async () => {
    const config = join(dir, 'keycloak-permissions.config.json')
    const mapping = { 'custom:rtc:read': [{ actions: ['read', 'write'], resources: ['contents'] }] }
    writeFileSync(config, JSON.stringify({ components: { jupyterhub: { customScopes: DEFAULT_COLLABORATION_SCOPES, collaboration: { mapping } } } }))
    const configured = await startServe(['--realm', realm, '--config', config])
    try {
      const ask = async (user: string, action: string, resource: string) => {
        const res = await configured.request('/v1/check', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, collaboration: { server: 'alice/', action, resource } }) })
        return res.json() as { allowed: boolean; reason: string }
      }
      // dave holds custom:rtc:read on alice/: with this mapping it lets him write contents…
      expect(await ask('dave', 'write', 'contents')).toMatchObject({ allowed: true, reason: 'SCOPE_GRANT' })
      // …and erin's custom:rtc:execute (not mapped here) grants what its subscope custom:rtc:read does, nothing more.
      expect(await ask('erin', 'execute', 'kernels')).toMatchObject({ allowed: false, reason: 'NO_MATCHING_SCOPE' })
      const viaCli = cli(['check', '--realm', realm, '--config', config, '--user', 'dave', '--collaboration', 'alice/', 'write', 'contents', '--json'])
      expect(viaCli.status, viaCli.stderr).toBe(0)
      expect(viaCli.json()).toMatchObject({ allowed: true, reason: 'SCOPE_GRANT' })
    } finally {
      await configured.stop()
    }
    writeFileSync(config, JSON.stringify({ components: { jupyterhub: { customScopes: DEFAULT_COLLABORATION_SCOPES, collaboration: { mapping: { 'custom:rtc:read': [{ actions: ['delete'], resources: '*' }] } } } } }))
    const bad = cli(['check', '--realm', realm, '--config', config, '--user', 'dave', '--collaboration', 'alice/', 'read', 'contents'])
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain('unknown action "delete"')
  })

  it('unknown action or resource: 400 ERR_UNKNOWN_NAME / exit 2, with the valid names; malformed body: 400', async () => {
    const badAction = await post({ user: 'alice', collaboration: { server: 'alice/', action: 'delete', resource: 'contents' } })
    expect(badAction.status).toBe(400)
    expect(badAction.body.error).toMatchObject({ code: 'ERR_UNKNOWN_NAME' })
    expect(badAction.body.error.message).toContain('valid: read, write, execute')
    const badResource = cli(['check', '--realm', realm, '--custom-scopes', scopes, '--user', 'alice', '--collaboration', 'alice/', 'read', 'kernals'])
    expect(badResource.status).toBe(2)
    expect(badResource.stderr).toContain('kernels')
    const missing = await post({ user: 'alice', collaboration: { server: 'alice/', action: 'read' } })
    expect(missing.status).toBe(400)
    expect(missing.body.error.code).toBe('ERR_INVALID_INPUT')
    const arity = cli(['check', '--user', 'alice', '--collaboration', 'alice/', 'read'])
    expect(arity.status).toBe(2)
    expect(arity.stderr).toContain('OWNER/NAME ACTION RESOURCE')
  })
})
