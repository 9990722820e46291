/**
 * Fixture builders for tests that mutate the example realm (through the master-realm bootstrap
 * admin, plain fetch — never the code under test). Everything created is recorded and removed by
 * `cleanup()`, newest first, and realm settings changed with `setRealm()` are restored, so a test file
 * leaves the realm as it found it (the suite shares one server, files run one at a time).
 *
 * ```ts
 * const realm = new RealmFixtures()
 * const user = await realm.user('kp-x-alice')
 * await realm.setRealm({ adminEventsEnabled: true })
 * afterAll(() => realm.cleanup())
 * ```
 */
import { adminCall, masterAdminToken } from './keycloak-admin.js'
import { KEYCLOAK_URL, REALM } from './live.js'

export interface Created {
  readonly id: string
  readonly name: string
}

export class RealmFixtures {
  readonly url: string
  #token: { value: string; at: number } | undefined
  readonly #undo: (() => Promise<void>)[] = []

  constructor(url: string = KEYCLOAK_URL) {
    this.url = url
  }

  /** A master-realm admin token, renewed every 30 s (admin-cli tokens live 60 s). */
  async token(): Promise<string> {
    if (!this.#token || Date.now() - this.#token.at > 30_000) this.#token = { value: await masterAdminToken(this.url), at: Date.now() }
    return this.#token.value
  }

  /** `{url}/admin/realms/example/{path}` with the admin token. */
  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    return adminCall<T>(await this.token(), method, `${REALM}${path === '' ? '' : `/${path}`}`, body, this.url)
  }

  /** Applies realm settings, restoring the previous values in cleanup(). */
  async setRealm(settings: Record<string, unknown>): Promise<void> {
    const current = await this.call<Record<string, unknown>>('GET', '')
    const previous = Object.fromEntries(Object.keys(settings).map((k) => [k, current[k] ?? false]))
    await this.call('PUT', '', settings)
    this.#undo.push(() => this.call('PUT', '', previous).then(() => undefined))
  }

  async user(username: string, extra: Record<string, unknown> = {}): Promise<Created> {
    await this.#removeExisting(`users?username=${encodeURIComponent(username)}&exact=true`, 'users')
    await this.call('POST', 'users', { username, enabled: true, email: `${username}@example.org`, emailVerified: true, firstName: 'Kp', lastName: 'Test', ...extra })
    const [u] = await this.call<{ id: string }[]>('GET', `users?username=${encodeURIComponent(username)}&exact=true`)
    if (!u) throw new Error(`user ${username} was not created`)
    this.#undo.push(() => this.call('DELETE', `users/${u.id}`).then(() => undefined, ignore404))
    return { id: u.id, name: username }
  }

  async client(clientId: string, extra: Record<string, unknown> = {}): Promise<Created> {
    await this.#removeExisting(`clients?clientId=${encodeURIComponent(clientId)}`, 'clients')
    await this.call('POST', 'clients', { clientId, enabled: true, publicClient: false, secret: `${clientId}-secret`, standardFlowEnabled: false, ...extra })
    const [c] = await this.call<{ id: string }[]>('GET', `clients?clientId=${encodeURIComponent(clientId)}`)
    if (!c) throw new Error(`client ${clientId} was not created`)
    this.#undo.push(() => this.call('DELETE', `clients/${c.id}`).then(() => undefined, ignore404))
    return { id: c.id, name: clientId }
  }

  /** A client role (removed with its client, or explicitly). */
  async clientRole(client: Created, name: string, attributes: Record<string, string[]> = {}): Promise<RoleRepresentation> {
    await this.call('POST', `clients/${client.id}/roles`, { name, attributes })
    const role = await this.call<RoleRepresentation>('GET', `clients/${client.id}/roles/${encodeURIComponent(name)}`)
    this.#undo.push(() => this.call('DELETE', `clients/${client.id}/roles/${encodeURIComponent(name)}`).then(() => undefined, ignore404))
    return role
  }

  async realmRole(name: string): Promise<RoleRepresentation> {
    await this.call('DELETE', `roles/${encodeURIComponent(name)}`).catch(ignore404)
    await this.call('POST', 'roles', { name })
    const role = await this.call<RoleRepresentation>('GET', `roles/${encodeURIComponent(name)}`)
    this.#undo.push(() => this.call('DELETE', `roles/${encodeURIComponent(name)}`).then(() => undefined, ignore404))
    return role
  }

  /** A top-level group, or a subgroup of `parent`. */
  async group(name: string, parent?: Created): Promise<Created & { path: string }> {
    if (!parent) {
      const found = await this.call<{ id: string; name: string }[]>('GET', `groups?search=${encodeURIComponent(name)}&exact=true`)
      for (const g of found.filter((g) => g.name === name)) await this.call('DELETE', `groups/${g.id}`).catch(ignore404)
    }
    await this.call('POST', parent ? `groups/${parent.id}/children` : 'groups', { name })
    const list = parent
      ? await this.call<{ id: string; name: string; path: string }[]>('GET', `groups/${parent.id}/children?first=0&max=100`)
      : await this.call<{ id: string; name: string; path: string }[]>('GET', `groups?search=${encodeURIComponent(name)}&exact=true`)
    const g = list.find((x) => x.name === name)
    if (!g) throw new Error(`group ${name} was not created`)
    const full = await this.call<{ id: string; path: string }>('GET', `groups/${g.id}`)
    this.#undo.push(() => this.call('DELETE', `groups/${g.id}`).then(() => undefined, ignore404))
    return { id: g.id, name, path: full.path }
  }

  /** Removes everything created, newest first, and restores realm settings. */
  async cleanup(): Promise<void> {
    const errors: unknown[] = []
    while (this.#undo.length > 0) {
      const undo = this.#undo.pop()!
      try {
        await undo()
      } catch (err) {
        errors.push(err)
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'fixture cleanup failed')
  }

  async #removeExisting(query: string, collection: string): Promise<void> {
    const found = await this.call<{ id: string }[]>('GET', query)
    for (const item of found) await this.call('DELETE', `${collection}/${item.id}`).catch(ignore404)
  }
}

export interface RoleRepresentation {
  readonly id: string
  readonly name: string
  readonly attributes?: Record<string, string[]>
  readonly [key: string]: unknown
}

function ignore404(err: unknown): void {
  if (!String(err).includes('HTTP 404')) throw err
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
