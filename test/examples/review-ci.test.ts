import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from './run-example.js'

const WORKFLOW = readFileSync(resolve(ROOT, 'examples/review/realm-diff.yml'), 'utf8')
const REALM = JSON.parse(readFileSync(resolve(ROOT, 'examples/realm/example-realm.json'), 'utf8'))

/** The `run: |` block of the step named `access diff`, verbatim. */
function stepScript(workflow: string): string {
  const lines = workflow.split('\n')
  const step = lines.findIndex((l) => /^\s+- name: access diff$/u.test(l))
  const run = lines.findIndex((l, i) => i > step && /^\s+run: \|$/u.test(l))
  const indent = /^\s*/u.exec(lines[run + 1]!)![0].length
  const body: string[] = []
  for (const line of lines.slice(run + 1)) {
    if (line.trim() !== '' && /^\s*/u.exec(line)![0].length < indent) break
    body.push(line.slice(indent))
  }
  return `${body.join('\n').trimEnd()}\n`
}

const git = (cwd: string, ...args: string[]) => {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } })
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`)
}

/**
 * A checkout as actions/checkout leaves it: the base branch as origin/main, the pull request's realm in the work
 * tree; `npx` is a shim running the built CLI. Runs the script as GitHub runs a `run` step without `shell:`
 * (`bash -e`), the weakest setting the step may meet.
 */
function runStep(script: string, change: (realm: any) => void): { status: number | null; stdout: string; diff: string } {
  const repo = mkdtempSync(join(tmpdir(), 'kp-ci-'))
  mkdirSync(join(repo, 'realm'))
  writeFileSync(join(repo, 'realm/realm-export.json'), JSON.stringify(REALM, null, 2))
  git(repo, 'init', '-q', '-b', 'main')
  git(repo, 'add', '.')
  git(repo, 'commit', '-q', '-m', 'base')
  git(repo, 'update-ref', 'refs/remotes/origin/main', 'HEAD')
  const proposed = structuredClone(REALM)
  change(proposed)
  writeFileSync(join(repo, 'realm/realm-export.json'), JSON.stringify(proposed, null, 2))
  const bin = join(repo, '.bin')
  mkdirSync(bin)
  writeFileSync(join(bin, 'npx'), `#!/bin/sh\n[ "$1" = keycloak-permissions ] || exit 127\nshift\nexec "${process.execPath}" "${resolve(ROOT, 'dist/cli/main.cjs')}" "$@"\n`)
  chmodSync(join(bin, 'npx'), 0o755)
  writeFileSync(join(repo, 'step.sh'), script)
  const runnerTemp = mkdtempSync(join(tmpdir(), 'kp-ci-tmp-'))
  const res = spawnSync('bash', ['--noprofile', '--norc', '-e', 'step.sh'], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, BASE_REF: 'main', RUNNER_TEMP: runnerTemp, NO_COLOR: '1' },
    timeout: 60_000,
  })
  let diff = ''
  try {
    diff = readFileSync(join(repo, 'diff.md'), 'utf8')
  } catch {}
  return { status: res.status, stdout: res.stdout, diff }
}

const grantBobWsBeta = (realm: any) => {
  const ml = realm.groups.find((g: any) => g.name === 'projects').subGroups.find((g: any) => g.name === 'ml')
  ml.clientRoles = { ...ml.clientRoles, 'ws-beta': ['ws_access'] }
}

describe('examples/review/realm-diff.yml: the gate fails when the change grants something', () => {
  const script = stepScript(WORKFLOW)

  it('sets pipefail before piping diff into tee', () => {
    expect(script).toMatch(/^set -euo pipefail$/mu)
    expect(script).toMatch(/\| tee diff\.md$/mu)
  })

  it('a permission change: exit 1, and the diff is still written', () => {
    const run = runStep(script, grantBobWsBeta)
    expect(run.status).toBe(1)
    expect(run.diff).toContain('| bob | gained | workspaces | ws-beta | ws_access | role ws-beta/ws_access added to group /projects/ml |')
  })

  it('no change: exit 0', () => {
    const run = runStep(script, () => {})
    expect(run.status).toBe(0)
    expect(run.diff).toContain('0 permission changes')
  })

  it('without pipefail the same step would pass (the bug this example had)', () => {
    const run = runStep(script.replace('set -euo pipefail', 'set -eu'), grantBobWsBeta)
    expect(run.status).toBe(0)
    expect(run.diff).toContain('| bob | gained |')
  })
})
