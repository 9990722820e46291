import { readFileSync } from 'node:fs'

/** The example realm plus Nebari-style JupyterHub roles sharing alice's server with dave (read) and erin (execute). */
export function collaborationRealmJson(): Record<string, any> {
  const realm = JSON.parse(readFileSync(new URL('../../examples/realm/example-realm.json', import.meta.url), 'utf8'))
  const role = (name: string, scopes: string) => ({ name, clientRole: true, attributes: { component: ['jupyterhub'], scopes: [scopes] } })
  realm.roles.client.jupyterhub.push(
    role('alice-readers', 'access:servers!server=alice/,custom:rtc:read!server=alice/'),
    role('alice-runners', 'access:servers!server=alice/,custom:rtc:execute!server=alice/'),
  )
  for (const user of realm.users) {
    if (user.username === 'dave') (user.clientRoles.jupyterhub ??= []).push('alice-readers')
    if (user.username === 'erin') (user.clientRoles.jupyterhub ??= []).push('alice-runners')
  }
  return realm
}
