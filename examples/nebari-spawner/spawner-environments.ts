/**
 * The Nebari spawner environment list: a KubeSpawner-style pre-spawn helper that, for a username,
 * returns the conda-store environments the user may use (conda-store's `environment::read`, D4
 * "readable"), each with the chain that allows it — what Nebari's `02-spawner.py`
 * `get_conda_store_environments` approximates by minting a viewer token (nebari.md §9), without its
 * quirks: nested groups use their basename (`/projects/ml` → `ml`), namespaces granted by Keycloak
 * `scopes` attributes are included, and environments are `namespace/name` (never the ambiguous
 * `namespace-name`).
 *
 * In an application, import from the package instead of the relative source paths:
 *
 * ```ts
 * import { RealmExportSource } from 'keycloak-permissions/keycloak'
 * import { condaStorePermissionsFor } from 'keycloak-permissions/conda-store'
 * ```
 *
 * Run the demo with `npx tsx examples/nebari-spawner/spawner-environments.ts [--json] [USER…]`
 * (default users: alice, bob, dave of the bundled example realm, environments from
 * `examples/realm/example-environments.json`, a conda-store `GET /api/v1/environment/` page).
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { KeycloakPermissionsError, type Diagnostic } from '../../src/index.js'
import { RealmExportSource, type RoleSource } from '../../src/keycloak/index.js'
import { condaStorePermissionsFor, type EnvironmentLike, type MergedBinding } from '../../src/conda-store/index.js'
import { chainContext, chainLine, condaStoreBindingChains, type ChainContext } from '../../src/review/index.js'

/** One environment the user may use, with the chain that allows it. */
export interface SpawnerEnvironment {
  /** `namespace/name`, as conda-store names it in `conda activate` paths and ARNs. */
  readonly environment: string
  readonly namespace: string
  readonly name: string
  /** The chain without the user and the environment, e.g. `/projects/ml → conda_store/ml-team-scopes → admin!namespace=ml → ml/*: admin`. */
  readonly reason: string
  /** The binding ARNs that grant `environment::read`. */
  readonly bindings: readonly string[]
}

/** The answer for one user: the environments, and what in the realm was dropped on the way. */
export interface SpawnerEnvironments {
  readonly user: string
  readonly environments: readonly SpawnerEnvironment[]
  /** Malformed role attributes (e.g. a `scopes` item with a space): each names the role and the item. */
  readonly diagnostics: readonly Diagnostic[]
}

/** The example environment list next to the example realm (a conda-store environment page). */
export const exampleEnvironmentsPath = fileURLToPath(new URL('../realm/example-environments.json', import.meta.url))

/** Reads a conda-store `GET /api/v1/environment/` page (`{ status, data: [...] }`) from a file. */
export async function loadEnvironmentPage(path: string): Promise<EnvironmentLike[]> {
  const page = JSON.parse(await readFile(path, 'utf8')) as { data?: unknown }
  if (!Array.isArray(page.data)) throw new Error(`${path}: not a conda-store environment page (no data array)`)
  return page.data as EnvironmentLike[]
}

/** Each path that grants a binding (the library's chain model), without the user, `; `-separated — as `envs` prints it. */
function reasonOf(ctx: ChainContext, bindings: readonly MergedBinding[]): string {
  return bindings
    .flatMap((b) => condaStoreBindingChains(ctx, b))
    .map((c) => chainLine(c.filter((s) => s.kind !== 'user')))
    .join('; ')
}

/**
 * The environments `username` may use. Filtering goes through the same decision as a single
 * `environment::read` check (so it cannot list what a check would deny). An unknown user throws
 * `UserNotFoundError`: a spawner should refuse the spawn rather than start with an empty list.
 */
export async function environmentsForSpawn(source: RoleSource, environments: readonly EnvironmentLike[], username: string): Promise<SpawnerEnvironments> {
  const principal = await source.resolve(username)
  const permissions = condaStorePermissionsFor(principal)
  const ctx = chainContext(principal)
  const allowed = permissions.explainEnvironments(environments, { visibility: 'readable' }).map((access) => ({
    environment: `${access.namespace}/${access.name}`,
    namespace: access.namespace,
    name: access.name,
    reason: reasonOf(ctx, access.bindings),
    bindings: access.bindings.map((b) => b.arn),
  }))
  return { user: principal.username, environments: allowed, diagnostics: [...permissions.diagnostics] }
}

/** The part of a KubeSpawner a pre-spawn hook touches. */
export interface SpawnerLike {
  readonly user: { readonly name: string }
  environment: Record<string, string>
}

/**
 * A `pre_spawn_hook` in TypeScript: puts the user's environments into the single-user server's
 * environment (`CONDA_STORE_ENVIRONMENTS`, a JSON array of `namespace/name`), where a launcher or
 * the JupyterLab extension reads them. The Python equivalent, calling the HTTP decision mode, is in
 * docs/python.md.
 */
export async function preSpawnHook(spawner: SpawnerLike, source: RoleSource, environments: readonly EnvironmentLike[]): Promise<SpawnerEnvironments> {
  const answer = await environmentsForSpawn(source, environments, spawner.user.name)
  spawner.environment['CONDA_STORE_ENVIRONMENTS'] = JSON.stringify(answer.environments.map((e) => e.environment))
  return answer
}

async function demo(argv: readonly string[]): Promise<void> {
  const json = argv.includes('--json')
  const users = argv.filter((a) => a !== '--json')
  const source = RealmExportSource.example()
  const environments = await loadEnvironmentPage(exampleEnvironmentsPath)
  const answers: SpawnerEnvironments[] = []
  for (const user of users.length > 0 ? users : ['alice', 'bob', 'dave']) {
    const spawner: SpawnerLike = { user: { name: user }, environment: {} }
    let answer: SpawnerEnvironments
    try {
      answer = await preSpawnHook(spawner, source, environments)
    } catch (err) {
      // Fail closed: no list means no spawn, never an empty or default list.
      if (!(err instanceof KeycloakPermissionsError)) throw err
      console.log(`${user}: spawn refused (${err.code}: ${err.message})`)
      process.exitCode = 1
      continue
    }
    answers.push(answer)
    if (json) continue
    console.log(`${answer.user}: ${answer.environments.length} environments`)
    for (const e of answer.environments) console.log(`  ${e.environment}  ← ${e.reason}`)
    for (const d of answer.diagnostics) console.log(`  ${d.severity} ${d.code}: ${d.message}`)
    console.log(`  spawner.environment.CONDA_STORE_ENVIRONMENTS = ${spawner.environment['CONDA_STORE_ENVIRONMENTS']}`)
  }
  if (json) console.log(JSON.stringify(answers.length === 1 ? answers[0] : answers, null, 2))
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await demo(process.argv.slice(2))
