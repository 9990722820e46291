import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from './run-example.js'

const SCRIPT = resolve(ROOT, 'scripts/check-docs.mjs')

// A miniature `typedoc --json` project: ReflectionKind 1 project, 2 module, 64 function, 128 class,
// 256 interface, 2097152 type alias, 32 variable, 4194304 reference.
const example = (text: string) => ({ blockTags: [{ tag: '@example', content: [{ kind: 'code', text }] }] })
const summary = { summary: [{ kind: 'text', text: 'documented, no example' }] }
function project(children: Record<string, unknown[]>) {
  return { id: 0, name: 'keycloak-permissions', kind: 1, children: Object.entries(children).map(([name, c], i) => ({ id: i + 1, name, kind: 2, children: c })) }
}

function check(json: unknown, args: string[] = []) {
  const file = join(mkdtempSync(join(tmpdir(), 'kp-docs-')), 'project.json')
  writeFileSync(file, JSON.stringify(json))
  const res = spawnSync(process.execPath, [SCRIPT, '--from', file, ...args], { encoding: 'utf8' })
  return { status: res.status, stdout: res.stdout, stderr: res.stderr }
}

describe('scripts/check-docs.mjs', () => {
  it('passes when every exported declaration has an @example (functions on a signature)', () => {
    const res = check(
      project({
        index: [
          { id: 10, name: 'allow', kind: 64, signatures: [{ id: 11, name: 'allow', kind: 4096, comment: example('```ts\nallow("OK", [])\n```') }] },
          { id: 12, name: 'Decision', kind: 256, comment: example('```ts\nconst d: Decision = …\n```') },
        ],
        keycloak: [{ id: 13, name: 'RealmExportSource', kind: 128, comment: example('```ts\nRealmExportSource.example()\n```') }],
        express: [{ id: 14, name: 'Decision', kind: 4194304, target: 12 }],
      }),
    )
    expect(res.status, res.stderr).toBe(0)
    expect(res.stdout.trim()).toBe('3 passed, 0 failed')
  })

  it('fails (exit 1) listing each declaration without a non-empty @example, by entry point', () => {
    const res = check(
      project({
        index: [
          { id: 10, name: 'deny', kind: 64, signatures: [{ id: 11, name: 'deny', kind: 4096, comment: summary }] },
          { id: 12, name: 'Severity', kind: 2097152, comment: summary },
        ],
        'conda-store': [
          { id: 13, name: 'DEFAULT_ROLE_MAPPINGS', kind: 32 },
          { id: 14, name: 'CondaStoreClient', kind: 128, comment: { blockTags: [{ tag: '@example', content: [{ kind: 'text', text: '  ' }] }] } },
          { id: 15, name: 'Ok', kind: 256, comment: example('x') },
        ],
      }),
    )
    expect(res.status).toBe(1)
    expect(res.stdout).toContain('  keycloak-permissions: deny (function)')
    expect(res.stdout).toContain('  keycloak-permissions: Severity (type)')
    expect(res.stdout).toContain('  keycloak-permissions/conda-store: DEFAULT_ROLE_MAPPINGS (variable)')
    expect(res.stdout).toContain('  keycloak-permissions/conda-store: CondaStoreClient (class)')
    expect(res.stdout).not.toContain(': Ok (')
    expect(res.stdout.trim().split('\n').at(-1)).toBe('1 passed, 4 failed')
  })

  it('--json reports the same counts', () => {
    const res = check(project({ hono: [{ id: 10, name: 'keycloakHono', kind: 64, signatures: [{ id: 11, name: 'keycloakHono', kind: 4096 }] }] }), ['--json'])
    expect(res.status).toBe(1)
    const out = JSON.parse(res.stdout)
    expect([out.passed, out.failed]).toEqual([0, 1])
    expect(out.missingExample[0]).toMatchObject({ entry: 'keycloak-permissions/hono', name: 'keycloakHono', kind: 'function' })
  })

  it('an unreadable input is exit 2, not a pass', () => {
    const res = spawnSync(process.execPath, [SCRIPT, '--from', join(tmpdir(), 'does-not-exist.json')], { encoding: 'utf8' })
    expect(res.status).toBe(2)
    expect(res.stderr).toMatch(/^check-docs: cannot read /)
  })
})
