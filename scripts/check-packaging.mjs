#!/usr/bin/env node
// Packaging checks on the packed tarball (run after `npm run build`; packing skips the prepare script):
//   1. publint and @arethetypeswrong/cli on the .tgz;
//   2. the tarball installed into a fresh project: every subpath of package.json "exports" resolves
//      from both `import` and `require`, and exports what its module is for; the `bin` runs.
// Ends with the line "N passed, M failed".
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const work = mkdtempSync(join(tmpdir(), 'kp-pack-'))
let passed = 0
let failed = 0
const check = (name, fn) => {
  try {
    fn()
    passed++
    console.log(`ok   ${name}`)
  } catch (err) {
    failed++
    console.log(`FAIL ${name}\n${String(err.stdout ?? '')}${String(err.stderr ?? '')}${err.stdout || err.stderr ? '' : err.message}`)
  }
}
const run = (cmd, args, cwd = root) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

const packed = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work]))
const tarball = join(work, packed[0].filename)
console.log(`packed ${packed[0].filename}: ${packed[0].files.length} files, ${packed[0].size} bytes`)

check('publint (strict) on the tarball', () => run(join(root, 'node_modules/.bin/publint'), ['run', tarball, '--strict']))
check('arethetypeswrong (node16 profile: Node >= 20 resolves exports) on the tarball', () => run(join(root, 'node_modules/.bin/attw'), [tarball, '--format', 'ascii', '--profile', 'node16']))

// A fresh consumer project with the tarball installed from the registry's dependencies.
const consumer = join(work, 'consumer')
run('mkdir', ['-p', consumer])
writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '0.0.0' }))
run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', tarball], consumer)

// What each subpath must export (one name per module proves the right module resolved).
const markers = {
  '.': 'KeycloakPermissionsError',
  './keycloak': 'RealmExportSource',
  './conda-store': 'condaStorePermissionsFor',
  './jupyterhub': 'expandScopes',
  './workspaces': 'workspaceApiPolicy',
  './components': 'defineComponent',
  './express': 'keycloakMiddleware',
  './fastify': 'keycloakPlugin',
  './hono': 'keycloakHono',
  './redis': 'RedisPrincipalCache',
  './review': 'accessMatrix',
  './config': 'loadConfig',
}
const subpaths = Object.keys(pkg.exports).filter((s) => s !== './package.json')
for (const subpath of subpaths) {
  const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`
  if (subpath.endsWith('.json')) {
    // A published JSON Schema: it resolves from both module systems and is a schema.
    const probe = `if (typeof m.$schema !== 'string' || m.type !== 'object') throw new Error('not a JSON Schema')`
    check(`require('${specifier}')`, () => run('node', ['-e', `const m = require(${JSON.stringify(specifier)}); ${probe}`], consumer))
    check(`import('${specifier}', { with: { type: 'json' } })`, () =>
      run('node', ['--input-type=module', '-e', `const m = (await import(${JSON.stringify(specifier)}, { with: { type: 'json' } })).default; ${probe}`], consumer))
    continue
  }
  const marker = markers[subpath]
  if (!marker) {
    check(`a marker export is declared for ${specifier}`, () => {
      throw new Error(`add the name of one export of ${subpath} to markers in scripts/check-packaging.mjs`)
    })
    continue
  }
  const probe = `if (!(${JSON.stringify(marker)} in m)) throw new Error('missing export ${marker}')`
  check(`import('${specifier}')`, () => run('node', ['--input-type=module', '-e', `const m = await import(${JSON.stringify(specifier)}); ${probe}`], consumer))
  check(`require('${specifier}')`, () => run('node', ['-e', `const m = require(${JSON.stringify(specifier)}); ${probe}`], consumer))
  check(`README documents ${specifier}`, () => {
    if (!readme.includes(specifier)) throw new Error(`README.md does not mention ${specifier}`)
  })
}
check('bin keycloak-permissions --help', () => {
  const out = run(join(consumer, 'node_modules/.bin/keycloak-permissions'), ['--help'], consumer)
  if (!out.includes('Usage')) throw new Error(`unexpected --help output:\n${out}`)
})

rmSync(work, { recursive: true, force: true })
console.log(`${passed} passed, ${failed} failed`)
process.exitCode = failed > 0 ? 1 : 0
