import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

/** The built binary (npm test builds before running the unit suite). */
export const BIN = resolve(import.meta.dirname, '../../dist/cli/main.cjs')

export interface CliResult {
  status: number | null
  stdout: string
  stderr: string
  json: () => any
}

/** Runs the built CLI as a subprocess, without a TTY. */
export function cli(args: readonly string[], options: { env?: Record<string, string>; input?: string } = {}): CliResult {
  const res = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    input: options.input ?? '',
    timeout: 30_000,
  })
  return { status: res.status, stdout: res.stdout, stderr: res.stderr, json: () => JSON.parse(res.stdout) }
}

/** Writes a file into a fresh temporary directory and returns its path. */
export function tempFile(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kp-cli-'))
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

/** A second realm, unlike the example: a team realm with nested groups and a composite. */
export function secondRealm(): object {
  return {
    realm: 'teams',
    roles: {
      realm: [{ name: 'staff', composite: true, composites: { client: { conda_store: ['conda_store_viewer'] } } }],
      client: {
        conda_store: [
          { name: 'conda_store_viewer' },
          { name: 'conda_store_developer' },
          { name: 'team-a-admin', attributes: { component: ['conda-store'], scopes: ['admin!namespace=team-a'] } },
        ],
        jupyterhub: [{ name: 'hub-reader', attributes: { component: ['jupyterhub'], scopes: ['read:users!group=/eng/team-a'] } }],
        'ws-team-a': [{ name: 'ws_access' }],
      },
    },
    groups: [
      { name: 'eng', realmRoles: ['staff'], subGroups: [{ name: 'team-a', clientRoles: { conda_store: ['team-a-admin', 'conda_store_developer'], jupyterhub: ['hub-reader'], 'ws-team-a': ['ws_access'] } }] },
    ],
    users: [
      { username: 'zoe', groups: ['/eng/team-a'] },
      { username: 'yann', groups: ['/eng'] },
      { username: 'xena' },
    ],
  }
}
