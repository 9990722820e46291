/**
 * CLI glue for `report` and `diff`: builds the review inputs (principals, role catalogue, environment
 * list, custom components) from the sources, then calls `keycloak-permissions/review`.
 */
import { writeFile } from 'node:fs/promises'
import { InvalidInputError, UserNotFoundError } from '../core/errors.js'
import { groupWithAncestors } from '../core/groups.js'
import type { Principal } from '../core/principal.js'
import {
  accessMatrix,
  diffAccess,
  renderAccessDiff,
  renderAccessReport,
  type AccessMatrixOptions,
  type DiffFormat,
  type ReportFormat,
  type ReviewInput,
  type ReviewRole,
} from '../review/index.js'
import { EXIT, UsageError } from './errors.js'
import type { RegistrySettings } from '../components/index.js'
import { loadEnvironmentFile, registryFor } from './engine.js'
import type { CommandSettings, SettingsFlags } from './settings.js'
import { openSource, type CliSource } from './sources.js'

/** Flags of `report`. */
export interface ReportFlags extends SettingsFlags {
  users?: string
  group?: string
  environments?: string
  format?: string
  json?: boolean
  out?: string
}

/** Flags of `diff`: those of `report`, and whether new lint errors fail the gate. */
export interface DiffFlags extends ReportFlags {
  failOnLint?: boolean
}

const REPORT_FORMATS: readonly ReportFormat[] = ['json', 'csv', 'md', 'html']
const DIFF_FORMATS: readonly DiffFormat[] = ['json', 'md', 'text']

/** The realm's role catalogue: every role of an export (with composites), or the live realm and client roles. */
async function catalogueOf(cli: CliSource): Promise<ReviewRole[] | undefined> {
  if (cli.realmExport) return cli.realmExport.roles()
  if (!cli.catalogue) return undefined
  const out: ReviewRole[] = []
  // Realm roles too: without them a live realm and its export would differ by every realm role ("created").
  for (const [name, attributes] of await cli.catalogue.realmRoles()) out.push({ name, attributes })
  for (const client of cli.clients ?? []) {
    const roles = await cli.catalogue.clientRoles(client)
    for (const [name, attributes] of roles ?? []) out.push({ client, name, attributes })
  }
  return out
}

function splitUsers(list: string): string[] {
  const users = list.split(',').map((u) => u.trim()).filter((u) => u !== '')
  if (users.length === 0) throw new UsageError('--users takes a comma-separated list of usernames')
  return [...new Set(users)]
}

/** The users a command reviews: `--users`, the members of `--group` (and its subgroups), or every user of an export. */
function selectUsers(cli: CliSource, flags: { users?: string; group?: string }): string[] {
  if (flags.users !== undefined && flags.group !== undefined) throw new UsageError('use either --users U,… or --group PATH')
  if (flags.users !== undefined) return splitUsers(flags.users)
  const realm = cli.realmExport
  if (!realm) throw new UsageError('a live Keycloak cannot list its users cheaply: give --users U,…')
  if (flags.group === undefined) return realm.usernames()
  const group = flags.group
  if (!realm.groupPaths().includes(group)) throw new UsageError(`unknown group ${JSON.stringify(group)} (group paths are full paths such as /projects/ml)`)
  return realm.usernames().filter((u) => realm.resolveSync(u).groups.some((g) => groupWithAncestors(g).includes(group)))
}

/** Resolves the users through the source, with a progress line on stderr for a live source on a TTY. */
async function principalsOf(cli: CliSource, users: readonly string[], options: { missing: 'throw' | 'skip' }): Promise<Principal[]> {
  const progress = !cli.realmExport && process.stderr.isTTY === true
  const out: Principal[] = []
  for (const [i, user] of users.entries()) {
    if (progress) process.stderr.write(`\rresolving ${i + 1}/${users.length} ${user.slice(0, 40).padEnd(40)}`)
    try {
      out.push(cli.realmExport ? cli.realmExport.resolveSync(user) : await cli.source.resolve(user))
    } catch (err) {
      if (options.missing === 'skip' && err instanceof UserNotFoundError) continue
      throw err
    }
  }
  if (progress) process.stderr.write('\r\u001b[2K')
  return out
}

/**
 * The review options the flags describe: the registry (custom components, JupyterHub version and
 * custom scopes, disabled accounts — the same settings as `check`) over `cli`, and the environment list.
 */
async function matrixOptions(cli: CliSource, settings: RegistrySettings, flags: ReportFlags): Promise<AccessMatrixOptions> {
  const registry = registryFor(cli, settings)
  const environments = flags.environments !== undefined ? await loadEnvironmentFile(flags.environments) : undefined
  return { registry, ...(environments ? { environments } : {}) }
}

async function emit(text: string, out: string | undefined): Promise<void> {
  if (out === undefined) {
    process.stdout.write(text)
    return
  }
  try {
    await writeFile(out, text)
  } catch (err) {
    throw new InvalidInputError('output file', '', `cannot write ${out}: ${(err as Error).message}`, { cause: err })
  }
}

/** Releases what a source holds open (a live source's watchers or connections), when it has anything to release. */
async function release(...sources: (CliSource | undefined)[]): Promise<void> {
  for (const cli of sources) {
    const closable = [cli, cli?.source] as { close?: () => unknown }[]
    for (const c of closable) if (c && typeof c.close === 'function') await Promise.resolve(c.close()).catch(() => undefined)
  }
}

/** `report`: the access matrix of the selected users, rendered; exit 0. */
export async function runReport(flags: ReportFlags, commandSettings: CommandSettings): Promise<number> {
  if (flags.json && flags.format !== undefined && flags.format !== 'json') throw new UsageError(`--json contradicts --format ${flags.format}`)
  const format = (flags.json ? 'json' : flags.format ?? 'json') as ReportFormat
  if (!REPORT_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${REPORT_FORMATS.join(', ')} (got ${flags.format})`)
  // The settings were read first: a bad configuration or definitions file fails before any connection is opened.
  const settings = commandSettings.registry
  const cli = await openSource(commandSettings.config)
  try {
    const options = await matrixOptions(cli, settings, flags)
    const users = selectUsers(cli, flags)
    const input: ReviewInput = { principals: await principalsOf(cli, users, { missing: 'throw' }), ...withRoles(await catalogueOf(cli)) }
    const matrix = accessMatrix(input, options)
    await emit(renderAccessReport(matrix, format, { title: `Access review — ${cli.description}` }), flags.out)
    return EXIT.ok
  } finally {
    await release(cli)
  }
}

function withRoles(roles: ReviewRole[] | undefined): { roles?: ReviewRole[] } {
  return roles ? { roles } : {}
}

/**
 * `diff OLD NEW` (two exports) or `diff --keycloak … NEW` (the live realm against a proposed export):
 * exit 0 without permission changes, 1 with some (or, with `--fail-on-lint`, when lint errors are
 * introduced), 2 on input errors.
 */
export async function runDiff(files: readonly string[], flags: DiffFlags, commandSettings: CommandSettings): Promise<number> {
  const format = (flags.json ? 'json' : flags.format ?? 'text') as DiffFormat
  if (!DIFF_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${DIFF_FORMATS.join(', ')} (got ${flags.format})`)
  if (flags.realm !== undefined) throw new UsageError('diff takes the realm exports as arguments: diff OLD NEW')
  const settings = commandSettings.registry
  const configured = commandSettings.config.source
  // A live Keycloak (from --keycloak or the configuration) is OLD when one export is given; two exports
  // are compared with each other whatever the configured source.
  const live = configured !== undefined && 'keycloak' in configured && (flags.keycloak !== undefined || files.length === 1)
  let before: CliSource
  let after: CliSource
  if (live) {
    if (files.length !== 1) throw new UsageError('with --keycloak, diff takes one realm export: the proposed realm (diff --keycloak URL … NEW)')
    // The proposed export is read first: a broken file then fails before any connection is opened.
    after = await openSource({ source: { realmFile: files[0]! } })
    before = await openSource(commandSettings.config)
  } else {
    if (files.length !== 2) throw new UsageError('diff takes two realm exports: diff OLD NEW (or --keycloak URL … NEW)')
    before = await openSource({ source: { realmFile: files[0]! } })
    after = await openSource({ source: { realmFile: files[1]! } })
  }
  try {
    return await diffSources(before, after, format, settings, flags)
  } finally {
    await release(before, after)
  }
}

async function diffSources(before: CliSource, after: CliSource, format: DiffFormat, settings: RegistrySettings, flags: DiffFlags): Promise<number> {
  // One registry (the same settings) for both sides.
  const options = await matrixOptions(after, settings, flags)
  let users: string[]
  if (flags.users !== undefined) users = splitUsers(flags.users)
  else if (flags.group !== undefined) {
    const group = flags.group
    const sides = [before, after].filter((cli) => !cli.realmExport || cli.realmExport.groupPaths().includes(group))
    if (sides.length === 0) throw new UsageError(`unknown group ${JSON.stringify(group)} in both realm exports`)
    users = [...new Set(sides.flatMap((cli) => selectUsers(cli, flags)))].sort()
  } else users = [...new Set([...(before.realmExport?.usernames() ?? []), ...after.realmExport!.usernames()])].sort()
  const snapshot = async (cli: CliSource): Promise<ReviewInput> => ({
    principals: await principalsOf(cli, users, { missing: 'skip' }),
    ...withRoles(await catalogueOf(cli)),
  })
  const diff = diffAccess(await snapshot(before), await snapshot(after), options)
  await emit(renderAccessDiff(diff, format), flags.out)
  if (diff.changes.length > 0) return EXIT.denied
  if (flags.failOnLint && diff.lint.introduced.some((d) => d.severity === 'error')) return EXIT.denied
  return EXIT.ok
}
