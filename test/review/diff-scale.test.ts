/**
 * The diff stays linear in users (issue 15 item 6): counted in reads of the access matrices' rows and
 * grants (no clock), with every user changed at once, at 4× the users. A per-user lookup that scans the
 * other side's rows, or a grant comparison across users, makes the reads per user grow with the users.
 */
import { describe, expect, it } from 'vitest'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { accessMatrix, diffAccess, type AccessMatrix, type ReviewInput } from '../../src/review/index.js'
import { generateRealm } from './generate-realm.js'

function inputOf(realm: unknown): ReviewInput {
  const source = new RealmExportSource(realm)
  return { principals: source.usernames().map((u) => source.resolveSync(u)), roles: source.roles() }
}

interface Reads {
  /** Reads of the matrix, its row list and the rows. */
  rows: number
  /** Reads of a row's grant list and of the grants. */
  grants: number
}

/**
 * The matrix behind proxies that count every property read of the matrix, its row list, each row, each
 * row's grant list and each grant (deeper values, the chains, are handed out as they are). The same
 * object always gets the same proxy, so identity comparisons still hold.
 */
function counted(matrix: AccessMatrix, counter: Reads): AccessMatrix {
  const proxies = new WeakMap<object, object>()
  const wrap = (value: unknown, depth: number): unknown => {
    if (value === null || typeof value !== 'object' || depth > 4) return value
    let proxy = proxies.get(value)
    if (!proxy) {
      proxy = new Proxy(value, {
        get(target, key, receiver) {
          if (depth <= 2) counter.rows++
          else counter.grants++
          return wrap(Reflect.get(target, key, receiver), depth + 1)
        },
      })
      proxies.set(value, proxy)
    }
    return proxy
  }
  return wrap(matrix, 0) as AccessMatrix
}

/** Reads per user of a diff where every user joined a group, between realms of `users` users. */
function readsPerUser(users: number): { rows: number; grants: number; changes: number } {
  const before = generateRealm({ users, groups: 15, namespaces: 25, workspaces: 8, seed: 7 })
  const after = structuredClone(before)
  for (const u of after.users) u.groups = [...u.groups, '/admin']
  const a = inputOf(before)
  const b = inputOf(after)
  const counter: Reads = { rows: 0, grants: 0 }
  const diff = diffAccess(a, b, { matrices: { before: counted(accessMatrix(a), counter), after: counted(accessMatrix(b), counter) } })
  return { rows: counter.rows / users, grants: counter.grants / users, changes: diff.changes.length }
}

describe('diffAccess at 4× the users (every user changed)', () => {
  it('reads each user\'s rows and grants a bounded number of times: the reads per user do not grow', () => {
    const small = readsPerUser(50)
    const large = readsPerUser(200)
    // Every user changed: the comparison below is over real work, not the unchanged-row shortcut.
    expect(small.changes).toBeGreaterThan(50)
    expect(large.changes).toBeGreaterThan(4 * 50)
    // A scan of the other side's rows per user reads ~4× as many rows per user here; a comparison of a
    // user's grants with other users' grants, ~4× as many grants.
    expect(large.rows).toBeLessThan(small.rows * 1.3)
    expect(large.grants).toBeLessThan(small.grants * 1.3)
  })
})
