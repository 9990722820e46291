/**
 * The example realm the live server imported, and the roles each of its users must have.
 *
 * `REALM_FILE` is examples/realm/example-realm.json (what scripts/keycloak.sh imports; override with
 * env `KC_REALM_FILE` as the script does). `EXPECTED` is a copy of the reference
 * example-realm.expected.json kept in test/fixtures/.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

/** Absolute path of the realm file the server imported. */
export const REALM_FILE = resolve(repo, process.env.KC_REALM_FILE ?? 'examples/realm/example-realm.json')

/** One user's expected effective roles (the subset of example-realm.expected.json the suite asserts). */
export interface ExpectedUser {
  readonly password?: string
  readonly groups: readonly string[]
  readonly realmRoles: readonly string[]
  readonly clientRoles: Readonly<Record<string, readonly string[]>>
}

/** example-realm.expected.json, parsed. */
export const EXPECTED: { readonly realm: string; readonly users: Readonly<Record<string, ExpectedUser>> } = JSON.parse(
  readFileSync(resolve(repo, 'test/fixtures/example-realm.expected.json'), 'utf8'),
)

/** Every username of the example realm (including the service account's user). */
export const USERNAMES: readonly string[] = Object.keys(EXPECTED.users).sort()

/** Every client that appears in any expected `clientRoles`, sorted. */
export const EXPECTED_CLIENTS: readonly string[] = [...new Set(Object.values(EXPECTED.users).flatMap((u) => Object.keys(u.clientRoles)))].sort()
