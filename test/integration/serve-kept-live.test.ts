import { afterAll, beforeAll, expect, it } from 'vitest'
import { startServe, type ServeProcess } from '../cli/serve-process.js'
import { createServiceAccountClient } from './helpers/keycloak-admin.js'
import { describeLive, live, REALM } from './helpers/live.js'
import { RealmFixtures, sleep, type Created } from './helpers/realm-fixtures.js'

// `serve` on a live source keeps answer bytes per question and principal value (Engine keepAnswers). A
// user changed in Keycloak must get the new answer as soon as the source sees the change: here through
// the admin-event watcher, so within seconds rather than at the cache TTL.

const PREFIX = 'kp-kept'

describeLive('serve on a live Keycloak: kept answers follow a change of the user', () => {
  const realm = new RealmFixtures()
  let serve: ServeProcess
  let sa: { clientId: string; clientSecret: string; remove: () => Promise<void> }
  let user: Created
  let analystId: string

  beforeAll(async () => {
    await realm.setRealm({ adminEventsEnabled: true })
    sa = await createServiceAccountClient(`${PREFIX}-sa`, ['view-users', 'view-clients', 'view-realm', 'view-events'], live!.url)
    user = await realm.user(`${PREFIX}-user`)
    const [analyst] = await realm.call<{ id: string }[]>('GET', 'groups?search=analyst&exact=true')
    analystId = analyst!.id
    await realm.call('PUT', `users/${user.id}/groups/${analystId}`)
    serve = await startServe(
      ['--keycloak', live!.url, '--realm-name', REALM, '--client-id', sa.clientId, '--environments', 'examples/realm/example-environments.json', '--watch-admin-events'],
      { KEYCLOAK_CLIENT_SECRET: sa.clientSecret },
    )
  })

  afterAll(async () => {
    await serve?.stop()
    await sa?.remove()
    await realm.cleanup()
  })

  const ask = async () => {
    const envs = (await (await fetch(`${serve.url}/v1/users/${user.name}/environments`)).json()) as { environments: { namespace: string; name: string }[] }
    const check = (await (
      await fetch(`${serve.url}/v1/check`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: user.name, condaStore: { permission: 'environment::read', resource: 'analyst/pandas' } }),
      })
    ).json()) as { allowed: boolean }
    return { names: envs.environments.map((e) => `${e.namespace}/${e.name}`), allowed: check.allowed }
  }
  const until = async (member: boolean) => {
    const deadline = Date.now() + 20_000
    for (;;) {
      const answer = await ask()
      if (answer.allowed === member && answer.names.includes('analyst/pandas') === member) return answer
      if (Date.now() > deadline) throw new Error(`serve still answers ${JSON.stringify(answer)} for ${user.name}`)
      await sleep(200)
    }
  }

  it('removed from /analyst: the environments and the check change; added back: the first answer again', async () => {
    const member = await ask()
    expect(member.allowed).toBe(true)
    expect(member.names).toContain('analyst/pandas')
    // Asked again unchanged: the same answer (the kept bytes).
    expect(await ask()).toEqual(member)
    await realm.call('DELETE', `users/${user.id}/groups/${analystId}`)
    const removed = await until(false)
    expect(removed.names).not.toContain('analyst/pandas')
    expect(removed.names.length).toBeGreaterThan(0)
    expect(await ask()).toEqual(removed)
    await realm.call('PUT', `users/${user.id}/groups/${analystId}`)
    expect(await until(true)).toEqual(member)
  }, 60_000)
})
