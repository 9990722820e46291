import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { condaStorePermissionsFor } from '../../src/conda-store/index.js'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { UserNotFoundError } from '../../src/index.js'
import {
  environmentsForSpawn,
  exampleEnvironmentsPath,
  loadEnvironmentPage,
  preSpawnHook,
  type SpawnerLike,
} from '../../examples/nebari-spawner/spawner-environments.js'
import { ROOT, runExample } from './run-example.js'

const source = RealmExportSource.example()

describe('examples/nebari-spawner', () => {
  it('the demo prints each user’s environments with the chain that allows them', () => {
    const run = runExample('nebari-spawner/spawner-environments.ts')
    expect(run.status, run.stderr).toBe(0)
    expect(run.lines).toContain('bob: 7 environments')
    expect(run.lines).toContain('  ml/torch  ← /projects/ml → conda_store/ml-team-scopes → admin!namespace=ml → ml/*: admin')
    expect(run.lines).toContain('alice: 9 environments')
    // dave's malformed role is reported, not silently dropped.
    expect(run.stdout).toMatch(/error NEBARI_SCOPE_ROLE_REJECTED: role conda_store\/broken-scopes/)
    expect(run.stdout).toContain('spawner.environment.CONDA_STORE_ENVIRONMENTS = ["default/python-3.12","filesystem/base","nebari-git/dask"')
  })

  it('an unknown user refuses the spawn (exit 1), never an empty list', () => {
    const run = runExample('nebari-spawner/spawner-environments.ts', ['nobody'])
    expect(run.status).toBe(1)
    expect(run.stdout).toContain('nobody: spawn refused (KEYCLOAK_USER_NOT_FOUND')
    expect(run.stdout).not.toContain('CONDA_STORE_ENVIRONMENTS')
  })

  it('gives the same answer as `keycloak-permissions envs` (the CLI over the same public API)', () => {
    const run = runExample('nebari-spawner/spawner-environments.ts', ['--json', 'dave'])
    expect(run.status, run.stderr).toBe(0)
    const ours = JSON.parse(run.stdout)
    const cli = spawnSync(process.execPath, [resolve(ROOT, 'dist/cli/main.cjs'), 'envs', '--user', 'dave', '--environments', exampleEnvironmentsPath, '--json'], {
      encoding: 'utf8',
    })
    expect(cli.status, cli.stderr).toBe(0)
    const theirs = JSON.parse(cli.stdout)
    const fields = (e: any) => ({ namespace: e.namespace, name: e.name, reason: e.reason, bindings: e.bindings })
    expect(ours.environments.map(fields)).toEqual(theirs.environments.map(fields))
    expect(ours.diagnostics.map((d: any) => d.code)).toEqual(theirs.diagnostics.map((d: any) => d.code))
  })

  it('lists exactly the environments a single environment::read check allows', async () => {
    const environments = await loadEnvironmentPage(exampleEnvironmentsPath)
    for (const user of source.usernames()) {
      const answer = await environmentsForSpawn(source, environments, user)
      const permissions = condaStorePermissionsFor(await source.resolve(user))
      const listed = new Set(answer.environments.map((e) => e.environment))
      for (const env of environments) {
        const name = `${typeof env.namespace === 'string' ? env.namespace : env.namespace.name}/${env.name}`
        expect(listed.has(name), `${user} ${name}`).toBe(permissions.can('environment::read', name))
      }
    }
  })

  it('the hook sets CONDA_STORE_ENVIRONMENTS; nested groups use their basename, Keycloak scopes are included', async () => {
    const environments = await loadEnvironmentPage(exampleEnvironmentsPath)
    const spawner: SpawnerLike = { user: { name: 'bob' }, environment: { EXISTING: 'kept' } }
    await preSpawnHook(spawner, source, environments)
    const list = JSON.parse(spawner.environment['CONDA_STORE_ENVIRONMENTS']!) as string[]
    // /projects/ml → namespace ml (Nebari's jhub-apps list would look for "projectsml"); granted by the scopes attribute.
    expect(list).toEqual(expect.arrayContaining(['ml/torch', 'ml/jax', 'bob/experiments']))
    expect(list).not.toContain('analyst/pandas')
    expect(list).not.toContain('alice/scratch')
    expect(spawner.environment['EXISTING']).toBe('kept')
    await expect(preSpawnHook({ user: { name: 'nobody' }, environment: {} }, source, environments)).rejects.toBeInstanceOf(UserNotFoundError)
  })
})
