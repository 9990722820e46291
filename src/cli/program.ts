import { Command, CommanderError } from 'commander'
import { KeycloakPermissionsError } from '../core/errors.js'
import type { Diagnostic } from '../core/diagnostics.js'
import { formatRole } from '../core/principal.js'
import { EXIT, UsageError } from './errors.js'
import { createOutput, style, type Output } from './output.js'
import { printPrincipal } from './resolve.js'
import { renderChainsText } from '../review/chain-render.js'
import { openSource, type CliSource } from './sources.js'
import { Engine, decisionJson, type CheckRequest, type EnvironmentSourceSpec } from './engine.js'
import { commandSettings, printConfig, type CommandSettings, type SettingsFlags } from './settings.js'

type CommonFlags = SettingsFlags

interface CheckFlags extends CommonFlags {
  user?: string
  route?: string[]
  condaStore?: string[]
  jupyterhub?: string
  resource?: string
  component?: string[]
  collaboration?: string[]
}

/** `--config`, `--print-config` and the component settings every command shares (diff included). */
function addConfigOptions(command: Command): Command {
  return command
    .option('--config <file>', 'the configuration file (default: keycloak-permissions.config.json in the working directory, when present)')
    .option('--print-config', 'print the effective settings and where each came from (default, file, flag, environment), then exit 0; with --json as JSON')
    .option('--components <file>', 'custom component definitions (JSON array of defineComponent() options)')
    .option('--custom-scopes <file>', 'JupyterHub custom scope definitions (JSON: { "custom:name": { "description": … } })')
    .option('--jupyterhub-version <n>', 'JupyterHub semantics: 5 (default) or 6')
    .option('--preset <name>', "deployment defaults: nebari (default: Nebari's allowed and admin groups) or jupyterhub (every user may log in, no admin groups)")
    .option('--workspace-clients <globs>', 'comma-separated segment globs of the clients that are workspaces, e.g. ws-* (default: every client not reserved)')
    .option('--stac-prefix <path>', 'where the STAC API is mounted (default /stac)')
}

function addSourceOptions(command: Command): Command {
  return addConfigOptions(command)
    .option('--realm <file>', 'a Keycloak realm export (default: the bundled example realm)')
    .option('--keycloak <url>', 'a live Keycloak base URL, e.g. http://127.0.0.1:8180')
    .option('--realm-name <name>', 'the realm to read on the live Keycloak')
    .option('--client-id <id>', 'the service-account client (its secret is read from KEYCLOAK_CLIENT_SECRET)')
    .option('--include-disabled', 'treat accounts disabled in Keycloak like enabled ones (default: every check denies them, USER_DISABLED)')
    .option('--redis <url>', 'live Keycloak: share cached principals and the admin-event watcher across replicas')
    .option('--watch-admin-events', 'live Keycloak: apply role changes within seconds from Keycloak admin events')
    .option('--live-roles', 'live Keycloak: tokens only authenticate; roles come from the cached Admin API')
    .option('--token-audience <client>', 'live Keycloak: accept bearer tokens in POST /v1/check only with this audience')
    .option('--token-issuer <url>', 'live Keycloak: the tokens\' iss (default <keycloak>/realms/<realm-name>)')
}

// Engines opened by the running command; run() closes them (watchers and Redis keep a process alive).
const openEngines: Engine[] = []

/**
 * The command's effective settings (defaults < configuration file < flags), or — with
 * `--print-config` — prints them and resolves `undefined` (the command then stops, exit 0).
 */
async function settingsOf(flags: CommonFlags): Promise<CommandSettings | undefined> {
  const settings = await commandSettings(flags)
  if (flags.printConfig !== true) return settings
  printConfig(settings, flags.json === true)
  process.exitCode = EXIT.ok
  return undefined
}

async function openEngine(settings: CommandSettings, environments?: EnvironmentSourceSpec): Promise<Engine> {
  return (await openEngineWithSource(settings, environments)).engine
}

/** {@link openEngine}, also handing back the source (`serve` verifies forward-auth tokens with it). */
async function openEngineWithSource(
  settings: CommandSettings,
  environments?: EnvironmentSourceSpec,
  options: { keepAnswers?: boolean } = {},
): Promise<{ engine: Engine; source: CliSource }> {
  // Settings were read first: a bad configuration or definitions file fails before any connection is opened.
  const source = await openSource(settings.config)
  let engine: Engine
  try {
    engine = new Engine({ source, settings: settings.registry, ...(environments ? { environments } : {}), ...options })
  } catch (err) {
    await source.close?.()
    throw err
  }
  openEngines.push(engine)
  return { engine, source }
}

function checkRequest(flags: CheckFlags): CheckRequest {
  const user = requireUser(flags)
  const given = [flags.route, flags.condaStore, flags.jupyterhub, flags.component, flags.collaboration].filter((v) => v !== undefined)
  if (given.length !== 1) {
    throw new UsageError('give exactly one of --route METHOD PATH, --conda-store PERMISSION RESOURCE, --jupyterhub SCOPE, --component NAME ACTION RESOURCE, --collaboration OWNER/NAME ACTION RESOURCE')
  }
  if (flags.resource !== undefined && flags.jupyterhub === undefined) throw new UsageError('--resource KIND=VALUE goes with --jupyterhub SCOPE')
  const arity = (name: string, values: string[], n: number, shape: string) => {
    if (values.length !== n) throw new UsageError(`${name} takes ${n} values: ${shape}`)
    return values
  }
  if (flags.route) {
    const [method, path] = arity('--route', flags.route, 2, 'METHOD PATH')
    return { user, route: { method: method!, path: path! } }
  }
  if (flags.condaStore) {
    const [permission, resource] = arity('--conda-store', flags.condaStore, 2, 'PERMISSION RESOURCE')
    return { user, condaStore: { permission: permission!, resource: resource! } }
  }
  if (flags.collaboration) {
    const [server, action, resource] = arity('--collaboration', flags.collaboration, 3, 'OWNER/NAME ACTION RESOURCE')
    return { user, collaboration: { server: server!, action: action!, resource: resource! } }
  }
  if (flags.component) {
    const [name, action, resource] = arity('--component', flags.component, 3, 'NAME ACTION RESOURCE')
    return { user, component: { name: name!, action: action!, resource: resource! } }
  }
  let resource: { kind: string; value: string } | undefined
  if (flags.resource !== undefined) {
    const eq = flags.resource.indexOf('=')
    if (eq <= 0 || eq === flags.resource.length - 1) throw new UsageError('--resource takes KIND=VALUE, e.g. server=bob/ or user=bob')
    resource = { kind: flags.resource.slice(0, eq), value: flags.resource.slice(eq + 1) }
  }
  return { user, jupyterhub: { scope: flags.jupyterhub!, ...(resource ? { resource } : {}) } }
}

/** `--user` is required except with `--print-config` (commander would refuse it before the action). */
function requireUser(flags: { user?: string }): string {
  if (flags.user === undefined) throw new UsageError("required option '--user <username>' not specified")
  return flags.user
}

/** `--environments FILE` or `--conda-store URL` (its token from CONDA_STORE_TOKEN, never argv). */
function environmentSpec(flags: { environments?: string; condaStore?: string }): EnvironmentSourceSpec | undefined {
  if (flags.environments !== undefined && flags.condaStore !== undefined) throw new UsageError('use either --environments FILE or --conda-store URL')
  if (flags.environments !== undefined) return { file: flags.environments }
  if (flags.condaStore === undefined) return undefined
  const token = process.env['CONDA_STORE_TOKEN']
  return { url: flags.condaStore, ...(token ? { token } : {}) }
}

function addCheckOptions(command: Command): Command {
  return addSourceOptions(command)
    .option('--user <username>', 'the user to check (required)')
    .option('--route <method-and-path...>', 'a workspace/STAC request: METHOD PATH')
    .option('--conda-store <permission-and-resource...>', 'a conda-store permission on an environment or namespace: PERMISSION RESOURCE')
    .option('--jupyterhub <scope>', 'a JupyterHub scope, e.g. access:servers')
    .option('--resource <kind=value>', 'with --jupyterhub: the resource, e.g. server=bob/ or user=bob')
    .option('--component <name-action-resource...>', 'a custom component check: NAME ACTION RESOURCE')
    .option('--collaboration <server-action-resource...>', "a jupyter-server check on a shared server: OWNER/NAME ACTION RESOURCE, e.g. alice/ write contents (OWNER/ is the default server)")
    .option('--json', 'print JSON: { allowed, reason, trace }')
}

function printDiagnostics(out: Output, diagnostics: readonly Diagnostic[]): void {
  if (diagnostics.length === 0) return
  out.print(style(out, 'bold', 'diagnostics'))
  for (const d of diagnostics) {
    const color = d.severity === 'error' ? 'red' : d.severity === 'warning' ? 'yellow' : 'dim'
    out.print(`  ${style(out, color, d.severity)} ${d.code}: ${d.message}`)
  }
}

/** The commands of the program, in the order `--help` lists them. */
const COMMANDS = ['resolve', 'envs', 'check', 'explain', 'lint', 'serve', 'report', 'diff', 'test'] as const

/**
 * Builds the command-line program: every command, or — `only` — just that one, which is all that parsing
 * a command's own arguments needs (its options, help and errors are the same; the program's `--version`
 * and `--help` are kept). Registering the other commands' options costs each run several milliseconds.
 */
export function buildProgram(only?: (typeof COMMANDS)[number]): Command {
  const wanted = (name: (typeof COMMANDS)[number]) => only === undefined || only === name
  const program = new Command('keycloak-permissions')
    .description('Exact, typed permissions from what a Keycloak realm says about a user.')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ outputError: () => {} })
  // Sub-commands inherit the override so their usage errors reach run() as CommanderErrors.
  const command = (name: string) => program.command(name).exitOverride().configureOutput({ outputError: () => {} })

  if (wanted('resolve')) addSourceOptions(
    command('resolve')
      .description("a user's groups, effective roles per client with provenance, and each component's grants")
      .option('--user <username>', 'the user to resolve (required)')
      .option('--json', 'print JSON: { user, groups, clients, components, diagnostics }'),
  ).action(async (flags: CommonFlags & { user?: string }) => {
    const settings = await settingsOf(flags)
    if (!settings) return
    const user = requireUser(flags)
    const engine = await openEngine(settings)
    const out = createOutput(flags.json === true)
    const result = await engine.resolveJson(user)
    if (out.json) return out.printJson(result)
    const principal = await engine.principal(user)
    printPrincipal(out, principal)
    if (principal.enabled === false) {
      out.print(style(out, 'red', `account disabled in Keycloak: ${engine.registry.isDenied(principal) ? 'every check denies it (USER_DISABLED)' : 'checked like an enabled one (--include-disabled)'}`))
    }
    out.print(style(out, 'bold', 'components'))
    for (const [name, view] of Object.entries(result.components)) out.print(`  ${name}: ${JSON.stringify(view)}`)
    printDiagnostics(out, result.diagnostics)
  })

  if (wanted('envs')) addSourceOptions(
    command('envs')
      .description('the conda-store environments a user may use (readable), each with the binding that allows it')
      .option('--user <username>', 'the user')
      .option('--all-users', 'every user of the realm export')
      .option('--environments <file>', 'a conda-store GET /api/v1/environment/ page (JSON)')
      .option('--conda-store <url>', 'a conda-store base URL (token from CONDA_STORE_TOKEN)')
      .option('--listed', "conda-store's own listing (any binding) instead of readable")
      .option('--json', 'print JSON: { user, environments: [{ namespace, name, reason }] }'),
  ).action(async (flags: CommonFlags & { user?: string; allUsers?: boolean; environments?: string; condaStore?: string; listed?: boolean }) => {
    const settings = await settingsOf(flags)
    if (!settings) return
    if ((flags.user === undefined) === (flags.allUsers !== true)) throw new UsageError('give --user USERNAME or --all-users')
    const spec = environmentSpec(flags)
    const engine = await openEngine(settings, spec)
    const out = createOutput(flags.json === true)
    const users = flags.allUsers ? engine.usernames() : [flags.user!]
    const results = []
    for (const user of users) results.push(await engine.environmentsJson(user, { listed: flags.listed === true }))
    if (out.json) return out.printJson(flags.allUsers ? { users: results } : results[0])
    for (const result of results) {
      out.print(`${style(out, 'bold', result.user)} (${result.visibility})`)
      if (result.environments === null) {
        out.print('  no environment list given (--environments FILE or --conda-store URL); namespace patterns:')
        for (const p of result.namespacePatterns ?? []) out.print(`  ${p.pattern}  ${style(out, 'dim', `← ${p.reason}`)}`)
      } else if (result.environments.length === 0) {
        out.print('  (none)')
      } else {
        for (const e of result.environments) out.print(`  ${e.namespace}/${e.name}  ${style(out, 'dim', `← ${e.reason}`)}`)
      }
      printDiagnostics(out, result.diagnostics)
    }
  })

  if (wanted('check')) addCheckOptions(command('check').description('decide one request: prints the decision and its reason; exit 0 allowed, 1 denied')).action(
    async (flags: CheckFlags) => {
      const settings = await settingsOf(flags)
      if (!settings) return
      const request = checkRequest(flags)
      const engine = await openEngine(settings)
      const { decision, chain, chains } = await engine.check(request)
      const out = createOutput(flags.json === true)
      if (out.json) out.printJson(decisionJson(decision, chain, chains))
      else out.print(`${decision.allowed ? style(out, 'green', 'allowed') : style(out, 'red', 'denied')} ${decision.reason}`)
      process.exitCode = decision.allowed ? EXIT.ok : EXIT.denied
    },
  )

  if (wanted('explain')) addCheckOptions(command('explain').description('the decision with its full chain (user → group → role → item → grant → resource)')).action(
    async (flags: CheckFlags) => {
      const settings = await settingsOf(flags)
      if (!settings) return
      const request = checkRequest(flags)
      const engine = await openEngine(settings)
      const { decision, chain, chains } = await engine.check(request)
      const out = createOutput(flags.json === true)
      if (out.json) out.printJson(decisionJson(decision, chain, chains))
      else {
        out.print(`${decision.allowed ? style(out, 'green', 'allowed') : style(out, 'red', 'denied')} ${decision.reason}${decision.rule ? ` (rule ${decision.rule})` : ''}`)
        // Allowed: every separate path that grants it, as a tree. Denied: the steps the check went through.
        if (chains.length > 0) out.print(renderChainsText(chains, { kind: (k) => style(out, 'dim', k) }))
        else decision.trace.forEach((step, i) => out.print(`${'  '.repeat(i)}${i === 0 ? '' : '└─ '}${style(out, 'dim', step.kind)} ${step.label}`))
        for (const d of decision.diagnostics ?? []) out.print(`  ${d.severity} ${d.code}: ${d.message}`)
      }
      process.exitCode = decision.allowed ? EXIT.ok : EXIT.denied
    },
  )

  if (wanted('lint')) addSourceOptions(
    command('lint')
      .description('every diagnostic for every role attribute, grouped by role, with the fix; exit 1 on any error')
      .option('--json', 'print JSON: { diagnostics: [...] }'),
  ).action(async (flags: CommonFlags) => {
    const settings = await settingsOf(flags)
    if (!settings) return
    const engine = await openEngine(settings)
    const diagnostics = await engine.lint()
    const out = createOutput(flags.json === true)
    if (out.json) out.printJson({ diagnostics })
    else {
      const byRole = new Map<string, Diagnostic[]>()
      for (const d of diagnostics) {
        const key = d.subject.role ? formatRole(d.subject.role) : '(realm)'
        byRole.set(key, [...(byRole.get(key) ?? []), d])
      }
      if (byRole.size === 0) out.print('no findings')
      for (const [role, found] of [...byRole].sort(([a], [b]) => (a < b ? -1 : 1))) {
        out.print(style(out, 'bold', role))
        for (const d of found) {
          const color = d.severity === 'error' ? 'red' : d.severity === 'warning' ? 'yellow' : 'dim'
          out.print(`  ${style(out, color, d.severity)} ${d.code}: ${d.message}`)
          if (d.fix) out.print(`    fix: ${d.fix}`)
        }
      }
    }
    process.exitCode = diagnostics.some((d) => d.severity === 'error') ? EXIT.denied : EXIT.ok
  })

  if (wanted('serve')) addSourceOptions(
    command('serve')
      .description('the HTTP decision mode: GET /v1/users/{user}/principal, GET /v1/users/{user}/environments, POST /v1/check, forward auth, GET /healthz')
      .option('--port <port>', 'port to listen on (default 8080, or serve.port of the configuration)')
      .option('--host <host>', 'address to bind (default 127.0.0.1, or serve.host of the configuration)')
      .option('--allow-unauthenticated', 'listen beyond loopback without KEYCLOAK_PERMISSIONS_CALLER_TOKEN (an open API about every user)')
      .option('--headers-timeout <ms>', 'time to receive request headers (default 10000)')
      .option('--request-timeout <ms>', 'time to receive a whole request, body included (default 30000)')
      .option('--max-connections <n>', 'concurrent connections (default 1024)')
      .option('--environments <file>', 'a conda-store GET /api/v1/environment/ page (JSON)')
      .option('--conda-store <url>', 'a conda-store base URL (token from CONDA_STORE_TOKEN)')
      .option('--json', 'with --print-config: print the effective settings as JSON'),
  ).action(async (flags: CommonFlags & import('./serve-command.js').ServeFlags & { environments?: string; condaStore?: string }) => {
    const { serveSettings, runServe } = await import('./serve-command.js')
    const settings = await settingsOf(flags)
    if (!settings) return
    // Flags and the bind/caller-token rule are checked before any source is opened.
    const serve = settings.config.serve!
    const listen = serveSettings({ ...flags, port: String(serve.port), host: serve.host! }, process.env)
    const spec = environmentSpec(flags)
    // A server is asked the same questions again: it keeps answers per principal value (Engine keepAnswers).
    const { engine, source } = await openEngineWithSource(settings, spec, { keepAnswers: true })
    await runServe(listen, engine, source)
  })

  if (wanted('report')) addSourceOptions(
    command('report')
      .description("access review: every user's effective grants of every component, each with the chain that grants it, plus every lint diagnostic")
      .option('--users <list>', 'comma-separated usernames (default: every user of the realm export)')
      .option('--group <path>', 'the members of a group and its subgroups, e.g. /projects')
      .option('--environments <file>', 'a conda-store GET /api/v1/environment/ page (JSON): list readable environments too')
      .option('--format <format>', 'json | csv | md | html', 'json')
      .option('--json', 'same as --format json: { users: [{ user, grants: [{ component, resource, level, via }] }], diagnostics }')
      .option('--out <file>', 'write the report to a file instead of stdout'),
  ).action(async (flags: import('./review.js').ReportFlags) => {
    const settings = await settingsOf(flags)
    if (!settings) return
    const { runReport } = await import('./review.js')
    process.exitCode = await runReport(flags, settings)
  })

  if (wanted('diff')) addConfigOptions(command('diff'))
    .description('what a realm change grants or revokes: every permission gained, lost or changed per user, with its cause; exit 0 no change, 1 changes, 2 input error')
    .argument('[files...]', 'OLD NEW (two realm exports), or NEW with --keycloak (the live realm is OLD)')
    .option('--keycloak <url>', 'compare the live Keycloak (as OLD) with the export NEW')
    .option('--realm-name <name>', 'the realm to read on the live Keycloak')
    .option('--client-id <id>', 'the service-account client (its secret is read from KEYCLOAK_CLIENT_SECRET)')
    .option('--include-disabled', 'treat accounts disabled in Keycloak like enabled ones (default: they hold nothing, USER_DISABLED)')
    .option('--users <list>', 'only these users (comma-separated)')
    .option('--group <path>', 'only the members of a group and its subgroups (on either side)')
    .option('--environments <file>', 'a conda-store GET /api/v1/environment/ page (JSON): compare readable environments too')
    .option('--format <format>', 'text | json | md', 'text')
    .option('--json', 'same as --format json: { changes, lint: { introduced, fixed }, realmChanges }')
    .option('--fail-on-lint', 'also exit 1 when lint errors are introduced')
    .option('--out <file>', 'write the diff to a file instead of stdout')
    .action(async (files: string[], flags: import('./review.js').DiffFlags) => {
      // diff takes its realm exports as arguments: --realm is refused before the settings are layered.
      if (flags.realm !== undefined) throw new UsageError('diff takes the realm exports as arguments: diff OLD NEW')
      const settings = await settingsOf(flags)
      if (!settings) return
      const { runDiff } = await import('./review.js')
      process.exitCode = await runDiff(files, flags, settings)
    })

  if (wanted('test')) addSourceOptions(
    command('test')
      .description('permission tests for realm-as-code: every case of the expectations files (YAML or JSON) decided like check; exit 0 all pass, 1 some fail, 2 input error')
      .argument('[files...]', 'expectations files (see examples/permission-tests/access.yaml)')
      .option('--format <format>', 'text | junit | json', 'text')
      .option('--json', 'same as --format json: { source, files: [{ file, cases, passed, failed }], passed, failed }')
      .option('--out <file>', 'write the results to a file instead of stdout'),
  ).action(async (files: string[], flags: CommonFlags & import('./test-command.js').TestFlags) => {
    const settings = await settingsOf(flags)
    if (!settings) return
    const { runTest } = await import('./test-command.js')
    if (files.length === 0) throw new UsageError('test needs at least one expectations file (YAML or JSON)')
    process.exitCode = await runTest(files, flags, await openEngine(settings))
  })

  return program
}

/** Runs the CLI on `argv` (without node and script), resolving with the exit status. */
export async function run(argv: readonly string[]): Promise<number> {
  // `keycloak-permissions envs …`: that command alone. Anything else (no command, --help, help CMD, an
  // unknown name, a leading option) gets the whole program, for its command list and suggestions.
  const named = COMMANDS.find((name) => name === argv[0])
  const program = buildProgram(named)
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return (process.exitCode as number | undefined) ?? EXIT.ok
  } catch (err) {
    return reportError(err)
  } finally {
    for (const engine of openEngines.splice(0)) await engine.close().catch(() => undefined)
  }
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') return EXIT.ok
    if (err.exitCode === 0) return EXIT.ok
    process.stderr.write(`keycloak-permissions: ${err.message.replace(/^error: /, '')}\n`)
    return EXIT.input
  }
  if (err instanceof KeycloakPermissionsError) {
    process.stderr.write(`keycloak-permissions: ${err.message} [${err.code}]\n`)
    return EXIT.input
  }
  process.stderr.write(`keycloak-permissions: unexpected error: ${(err as Error)?.message ?? String(err)}\n`)
  return EXIT.input
}
