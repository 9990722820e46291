/**
 * `keycloak-permissions test FILE…`: permission tests for realm-as-code. The cases are decided by the
 * engine's registry (the same checks as `check` and `serve`) over the users of the source: a realm
 * export, or a live Keycloak listed through the Admin API.
 */
import { readFile, writeFile } from 'node:fs/promises'
import type { Principal } from '../core/principal.js'
import { AdminApiSource } from '../keycloak/admin-api-source.js'
import {
  parseExpectations,
  renderExpectationsJUnit,
  renderExpectationsText,
  runExpectations,
  ExpectationsInvalidError,
  type ExpectationsReport,
} from '../review/expectations.js'
import type { Engine } from './engine.js'
import { EXIT, UsageError } from './errors.js'

/** Flags of `test`. */
export interface TestFlags {
  format?: string
  json?: boolean
  out?: string
}

// Keycloak names a client's service-account user `service-account-<clientId>` and leaves it out of
// its user listing: "every user" means the accounts people log in with, from either source.
const SERVICE_ACCOUNT_PREFIX = 'service-account-'

async function realmUsers(engine: Engine): Promise<{ principals: Principal[]; groups: string[] }> {
  const exported = engine.source.realmExport
  if (exported) {
    const names = exported.usernames().filter((u) => !u.startsWith(SERVICE_ACCOUNT_PREFIX))
    return { principals: names.map((u) => exported.resolveSync(u)), groups: exported.groupPaths() }
  }
  const live = engine.source.source
  if (!(live instanceof AdminApiSource)) throw new UsageError('test needs a realm export (--realm FILE) or a live Keycloak (--keycloak URL)')
  const names = (await live.usernames()).filter((u) => !u.startsWith(SERVICE_ACCOUNT_PREFIX))
  const principals: Principal[] = []
  // A few at a time: the source caches and single-flights, and the Admin API is not flooded.
  for (let i = 0; i < names.length; i += 8) principals.push(...(await Promise.all(names.slice(i, i + 8).map((u) => live.resolve(u)))))
  return { principals, groups: await live.groupPaths() }
}

/** Runs every expectations file; resolves with the exit status (0 all pass, 1 some fail). */
export async function runTest(files: readonly string[], flags: TestFlags, engine: Engine): Promise<number> {
  if (files.length === 0) throw new UsageError('test needs at least one expectations file (YAML or JSON)')
  const format = flags.json === true ? 'json' : (flags.format ?? 'text')
  if (format !== 'text' && format !== 'junit' && format !== 'json') throw new UsageError(`--format must be text, junit or json, got ${format}`)
  // Every file is read and checked before any case runs: an input error never yields a partial report.
  const parsed = []
  for (const file of files) {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      throw new ExpectationsInvalidError(file, 0, '', `cannot read it: ${(err as Error).message}`, { cause: err })
    }
    parsed.push(parseExpectations(text, file))
  }
  const { principals, groups } = await realmUsers(engine)
  const reports: ExpectationsReport[] = []
  for (const expectations of parsed) reports.push(await runExpectations(expectations, { principals, groups, registry: engine.registry }))
  const output =
    format === 'junit'
      ? renderExpectationsJUnit(reports)
      : format === 'json'
        ? `${JSON.stringify({ source: engine.description, files: reports, passed: sum(reports, 'passed'), failed: sum(reports, 'failed') }, null, 2)}\n`
        : renderExpectationsText(reports)
  if (flags.out !== undefined) await writeFile(flags.out, output)
  else process.stdout.write(output)
  return sum(reports, 'failed') === 0 ? EXIT.ok : EXIT.denied
}

function sum(reports: readonly ExpectationsReport[], key: 'passed' | 'failed'): number {
  return reports.reduce((n, r) => n + r[key], 0)
}
