/**
 * Permission tests for realm-as-code: an expectations file (YAML or JSON) states what must stay true
 * ("alice can read ml/torch", "nobody outside /admin holds admin:users"), and every case is decided
 * by the component registry — the same check `check`, `serve` and the report use — over the users
 * it names, a group's members, everyone outside a group, or every user of the realm.
 *
 * @module
 */
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml'
import * as z from 'zod'
import { InvalidInputError, KeycloakPermissionsError } from '../core/errors.js'
import type { Principal } from '../core/principal.js'
import type { ComponentRegistry, RegistryCheck } from '../components/index.js'

/**
 * The expectations file is unreadable, malformed, or names a user, group, component, permission or
 * scope that does not exist. `line` is the 1-based line of the offending value (0 when unknown).
 *
 * @example
 * ```ts
 * import { ExpectationsInvalidError, parseExpectations } from 'keycloak-permissions/review'
 * try { parseExpectations('cases: []', 'access.yaml') } catch (err) {
 *   if (err instanceof ExpectationsInvalidError) console.error(`${err.file}:${err.line}: ${err.message}`)
 * }
 * ```
 */
export class ExpectationsInvalidError extends InvalidInputError {
  static override code = 'EXPECTATIONS_INVALID'
  override readonly code = ExpectationsInvalidError.code
  /** The expectations file. */
  readonly file: string
  /** 1-based line of the offending value; 0 when the whole file is at fault. */
  readonly line: number

  constructor(file: string, line: number, path: string, problem: string, options?: { cause?: unknown }) {
    super(`expectations ${file}${line > 0 ? ` line ${line}` : ''}`, path, problem, options)
    this.file = file
    this.line = line
  }
}

const name = z.string().min(1)
const caseSchema = z
  .strictObject({
    name: name.optional(),
    user: name.optional(),
    users: z.array(name).min(1).optional(),
    members: name.optional(),
    outside: name.optional(),
    everyone: z.literal(true).optional(),
    except: z.array(name).min(1).optional(),
    route: name.optional(),
    condaStore: name.optional(),
    jupyterhub: name.optional(),
    resource: name.optional(),
    component: name.optional(),
    expect: z.enum(['allow', 'deny']),
    reason: name.optional(),
  })
  .superRefine((c, ctx) => {
    const subjects = (['user', 'users', 'members', 'outside', 'everyone'] as const).filter((k) => c[k] !== undefined)
    if (subjects.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `give exactly one of user, users, members, outside, everyone (got ${subjects.join(', ') || 'none'})` })
    }
    const checks = (['route', 'condaStore', 'jupyterhub', 'component'] as const).filter((k) => c[k] !== undefined)
    if (checks.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `give exactly one check: route, condaStore, jupyterhub or component (got ${checks.join(', ') || 'none'})` })
    }
    if (c.except !== undefined && c.members === undefined && c.outside === undefined && c.everyone === undefined) {
      ctx.addIssue({ code: 'custom', path: ['except'], message: 'except goes with members, outside or everyone' })
    }
    if (c.resource !== undefined && c.jupyterhub === undefined) ctx.addIssue({ code: 'custom', path: ['resource'], message: 'resource goes with a jupyterhub check only' })
  })

/**
 * The expectations file's zod schema; `npm run schemas` publishes it as JSON Schema ({@link expectationsJsonSchema}).
 *
 * @example
 * ```ts
 * import { expectationsSchema } from 'keycloak-permissions/review'
 * expectationsSchema.parse({ cases: [{ user: 'alice', condaStore: 'environment::read ml/torch', expect: 'allow' }] })
 * ```
 */
export const expectationsSchema = z.strictObject({
  $schema: z.string().optional(),
  cases: z.array(caseSchema).min(1),
})

/**
 * The JSON Schema (draft 2020-12) of expectations files, for editors; the package ships it as
 * `keycloak-permissions/expectations.schema.json`. (The rule "exactly one subject and one check" is
 * checked by {@link parseExpectations}; JSON Schema states the keys and their types.)
 *
 * @example
 * ```ts
 * import { expectationsJsonSchema } from 'keycloak-permissions/review'
 * writeFileSync('expectations.schema.json', JSON.stringify(expectationsJsonSchema(), null, 2))
 * ```
 */
export function expectationsJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(expectationsSchema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>
  return { $id: 'https://unpkg.com/keycloak-permissions/expectations.schema.json', title: 'keycloak-permissions permission tests', ...schema }
}

/**
 * One case as written (see the README's "Permission tests" for the file format).
 *
 * @example
 * ```ts
 * import type { ExpectationCase } from 'keycloak-permissions/review'
 * const c: ExpectationCase = { name: 'only admins manage users', outside: '/admin', jupyterhub: 'admin:users', expect: 'deny' }
 * ```
 */
export interface ExpectationCase {
  readonly name?: string | undefined
  /** Who: exactly one of `user`, `users`, `members` (a group and its subgroups), `outside` (not in a group), `everyone`. */
  readonly user?: string | undefined
  readonly users?: string[] | undefined
  readonly members?: string | undefined
  readonly outside?: string | undefined
  readonly everyone?: true | undefined
  /** Users left out of a quantified case. */
  readonly except?: string[] | undefined
  /** The check: exactly one of these, written as the CLI writes it. */
  readonly route?: string | undefined
  readonly condaStore?: string | undefined
  readonly jupyterhub?: string | undefined
  /** With `jupyterhub`: the resource, e.g. `user=alice`. */
  readonly resource?: string | undefined
  readonly component?: string | undefined
  readonly expect: 'allow' | 'deny'
  /** The reason code the decision must carry, when given. */
  readonly reason?: string | undefined
}

// The schema and the interface describe the same object: a drift is a compile error.
type SchemaCase = z.infer<typeof caseSchema>
const sameShape: [SchemaCase, ExpectationCase] extends [ExpectationCase, SchemaCase] ? true : never = true
void sameShape

/**
 * A parsed expectations file: its cases, each with the line it starts on.
 *
 * @example
 * ```ts
 * import type { Expectations } from 'keycloak-permissions/review'
 * const e: Expectations = { file: 'access.yaml', cases: [{ line: 2, case: { user: 'bob', route: 'GET /workspaces/ws-beta', expect: 'deny' } }] }
 * ```
 */
export interface Expectations {
  readonly file: string
  readonly cases: readonly { readonly line: number; readonly case: ExpectationCase }[]
}

/**
 * Parses an expectations file (YAML, or JSON, which is YAML too), validating it with
 * {@link expectationsSchema}; errors name the line.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs'
 * import { parseExpectations } from 'keycloak-permissions/review'
 * const expectations = parseExpectations(readFileSync('access.yaml', 'utf8'), 'access.yaml')
 * expectations.cases.length
 * ```
 */
export function parseExpectations(text: string, file: string): Expectations {
  const lines = new LineCounter()
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true })
  const lineOf = (node: YamlNode | null | undefined): number => (node?.range ? lines.linePos(node.range[0]).line : 0)
  if (document.errors.length > 0) {
    const first = document.errors[0]!
    throw new ExpectationsInvalidError(file, first.linePos?.[0]?.line ?? 0, '', first.message.split('\n')[0]!)
  }
  const json: unknown = document.toJS()
  const parsed = expectationsSchema.safeParse(json)
  if (!parsed.success) {
    // A misspelt key also makes its intended key "missing": name the misspelling first.
    const issue = parsed.error.issues.find((i) => i.code === 'unrecognized_keys') ?? parsed.error.issues[0]!
    const path = issue.path.map(String)
    let line = 0
    for (let n = path.length; n >= 0 && line === 0; n--) line = lineOf(document.getIn(path.slice(0, n), true) as YamlNode | undefined)
    const keys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : ''
    throw new ExpectationsInvalidError(file, line, path.join('.'), `${issue.message}${keys}`)
  }
  const root = document.contents
  const seq = isMap(root) ? root.get('cases', true) : undefined
  return {
    file,
    cases: parsed.data.cases.map((c, i) => ({ line: isSeq(seq) ? lineOf(seq.items[i] as YamlNode) : 0, case: c })),
  }
}

/**
 * One user's answer in a case.
 *
 * @example
 * ```ts
 * import type { ExpectationOutcome } from 'keycloak-permissions/review'
 * const o: ExpectationOutcome = { user: 'bob', allowed: false, reason: 'NO_CLIENT_ENTRY', chain: 'bob → … (denied: NO_CLIENT_ENTRY)', passed: true }
 * ```
 */
export interface ExpectationOutcome {
  readonly user: string
  readonly allowed: boolean
  readonly reason: string
  /** The decision's chain on one line (what `explain` prints). */
  readonly chain: string
  readonly passed: boolean
}

/**
 * A case's result: every user it covered, and whether all of them got the expected answer.
 *
 * @example
 * ```ts
 * import type { CaseResult } from 'keycloak-permissions/review'
 * const failing = (r: CaseResult) => r.outcomes.filter((o) => !o.passed).map((o) => o.chain)
 * ```
 */
export interface CaseResult {
  /** The case's name, or one built from its subject and check. */
  readonly name: string
  readonly line: number
  readonly case: ExpectationCase
  /** Who the case covers, e.g. `user alice`, `members of /admin`, `everyone outside /admin`, `every user`. */
  readonly subject: string
  /** The check, as the CLI writes it, e.g. `--conda-store environment::read ml/torch`. */
  readonly check: string
  readonly outcomes: readonly ExpectationOutcome[]
  readonly passed: boolean
}

/**
 * The results of one expectations file.
 *
 * @example
 * ```ts
 * import type { ExpectationsReport } from 'keycloak-permissions/review'
 * const exitCode = (r: ExpectationsReport) => (r.failed === 0 ? 0 : 1)
 * ```
 */
export interface ExpectationsReport {
  readonly file: string
  readonly cases: readonly CaseResult[]
  readonly passed: number
  readonly failed: number
}

/**
 * What the cases are evaluated over: every user of the realm (resolved principals), the realm's group
 * paths (to tell an unknown group from an empty one), and the component registry that decides.
 *
 * @example
 * ```ts
 * import type { ExpectationsInput } from 'keycloak-permissions/review'
 * const input: ExpectationsInput = { principals: realm.usernames().map((u) => realm.resolveSync(u)), groups: ['/admin', '/projects', '/projects/ml'], registry }
 * ```
 */
export interface ExpectationsInput {
  readonly principals: readonly Principal[]
  /** Every group's full path; when absent, the groups some user belongs to (and their ancestors). */
  readonly groups?: readonly string[]
  readonly registry: ComponentRegistry
}

function toRegistryCheck(c: ExpectationCase): { request: RegistryCheck; text: string } {
  const words = (value: string, count: number, what: string): string[] => {
    const parts = value.trim().split(/\s+/)
    if (parts.length !== count) throw new Error(`${what} takes ${count === 2 ? 'two words' : 'three words'}: ${JSON.stringify(value)}`)
    return parts
  }
  if (c.route !== undefined) {
    const [method, path] = words(c.route, 2, 'route (METHOD PATH)')
    return { request: { component: 'workspaces', action: method!.toUpperCase(), resource: path! }, text: `--route ${method} ${path}` }
  }
  if (c.condaStore !== undefined) {
    const [permission, resource] = words(c.condaStore, 2, 'condaStore (PERMISSION RESOURCE)')
    return { request: { component: 'conda-store', action: permission!, resource: resource! }, text: `--conda-store ${permission} ${resource}` }
  }
  if (c.jupyterhub !== undefined) {
    return {
      request: { component: 'jupyterhub', action: c.jupyterhub, ...(c.resource !== undefined ? { resource: c.resource } : {}) },
      text: `--jupyterhub ${c.jupyterhub}${c.resource !== undefined ? ` --resource ${c.resource}` : ''}`,
    }
  }
  const [component, action, resource] = words(c.component!, 3, 'component (NAME ACTION RESOURCE)')
  return { request: { component: component!, action: action!, resource: resource! }, text: `--component ${component} ${action} ${resource}` }
}

function inGroup(principal: Principal, group: string): boolean {
  return principal.groups.some((g) => g === group || g.startsWith(`${group}/`))
}

function ancestorsOf(path: string): string[] {
  const out: string[] = []
  for (let i = path.indexOf('/', 1); i !== -1; i = path.indexOf('/', i + 1)) out.push(path.slice(0, i))
  out.push(path)
  return out
}

/**
 * Evaluates every case over the realm's users with the registry's checks. Input errors (an unknown
 * user, group, component, permission or scope; a malformed check) throw
 * {@link ExpectationsInvalidError} naming the case's line — they are never reported as failures.
 *
 * @example
 * ```ts
 * import { createRegistry } from 'keycloak-permissions/components'
 * import { RealmExportSource } from 'keycloak-permissions/keycloak'
 * import { parseExpectations, runExpectations } from 'keycloak-permissions/review'
 * const realm = RealmExportSource.example()
 * const report = await runExpectations(parseExpectations(text, 'access.yaml'), {
 *   principals: realm.usernames().map((u) => realm.resolveSync(u)),
 *   registry: createRegistry(),
 * })
 * console.log(`${report.passed} passed, ${report.failed} failed`)
 * ```
 */
export async function runExpectations(expectations: Expectations, input: ExpectationsInput): Promise<ExpectationsReport> {
  const byName = new Map(input.principals.map((p) => [p.username, p]))
  const groups = new Set(input.groups ?? input.principals.flatMap((p) => p.groups.flatMap(ancestorsOf)))
  const results: CaseResult[] = []
  for (const { line, case: c } of expectations.cases) {
    const fail = (path: string, problem: string, cause?: unknown): never => {
      throw new ExpectationsInvalidError(expectations.file, line, path, problem, cause === undefined ? undefined : { cause })
    }
    let subject: string
    let covered: Principal[]
    const userNamed = (u: string, path: string): Principal => byName.get(u.toLowerCase()) ?? fail(path, `unknown user ${JSON.stringify(u)}`)
    const knownGroup = (g: string, path: string) => {
      if (!groups.has(g)) fail(path, `unknown group ${JSON.stringify(g)} (groups are full paths, e.g. /projects/ml)`)
    }
    if (c.user !== undefined) {
      covered = [userNamed(c.user, 'user')]
      subject = `user ${c.user}`
    } else if (c.users !== undefined) {
      covered = c.users.map((u, i) => userNamed(u, `users.${i}`))
      subject = `users ${c.users.join(', ')}`
    } else if (c.members !== undefined) {
      knownGroup(c.members, 'members')
      covered = input.principals.filter((p) => inGroup(p, c.members!))
      subject = `members of ${c.members}`
    } else if (c.outside !== undefined) {
      knownGroup(c.outside, 'outside')
      covered = input.principals.filter((p) => !inGroup(p, c.outside!))
      subject = `everyone outside ${c.outside}`
    } else {
      covered = [...input.principals]
      subject = 'every user'
    }
    if (c.except !== undefined) {
      const excluded = new Set(c.except.map((u, i) => userNamed(u, `except.${i}`).username))
      covered = covered.filter((p) => !excluded.has(p.username))
      subject += ` except ${c.except.join(', ')}`
    }
    let check: { request: RegistryCheck; text: string }
    try {
      check = toRegistryCheck(c)
    } catch (err) {
      fail('', (err as Error).message)
    }
    const outcomes: ExpectationOutcome[] = []
    for (const principal of covered) {
      let outcome
      try {
        outcome = await input.registry.check(principal, check!.request)
      } catch (err) {
        // An unknown name or a malformed check is the file's fault, whoever the user is.
        if (err instanceof KeycloakPermissionsError) fail('', err.message, err)
        throw err
      }
      const { decision, chain } = outcome!
      const passed = decision.allowed === (c.expect === 'allow') && (c.reason === undefined || decision.reason === c.reason)
      outcomes.push({ user: principal.username, allowed: decision.allowed, reason: decision.reason, chain, passed })
    }
    const expectText = `${c.expect}${c.reason !== undefined ? ` (${c.reason})` : ''}`
    results.push({
      name: c.name ?? `${subject}: ${check!.text} → ${expectText}`,
      line,
      case: c,
      subject,
      check: check!.text,
      outcomes,
      passed: outcomes.every((o) => o.passed),
    })
  }
  const failed = results.filter((r) => !r.passed).length
  return { file: expectations.file, cases: results, passed: results.length - failed, failed }
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }

function xml(text: string): string {
  // Characters XML 1.0 cannot carry at all are replaced, not escaped.
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd').replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!)
}

/**
 * Renders reports as JUnit XML (one `<testsuite>` per file, one `<testcase>` per case; a failing case
 * carries a `<failure>` listing each user's wrong answer with its chain), the format CI systems display.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs'
 * import { renderExpectationsJUnit } from 'keycloak-permissions/review'
 * writeFileSync('permission-tests.xml', renderExpectationsJUnit([report]))
 * ```
 */
export function renderExpectationsJUnit(reports: readonly ExpectationsReport[]): string {
  const total = reports.reduce((n, r) => n + r.cases.length, 0)
  const failures = reports.reduce((n, r) => n + r.failed, 0)
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="keycloak-permissions" tests="${total}" failures="${failures}" errors="0">`]
  for (const report of reports) {
    out.push(`  <testsuite name="${xml(report.file)}" tests="${report.cases.length}" failures="${report.failed}" errors="0" skipped="0">`)
    for (const r of report.cases) {
      const attributes = `name="${xml(r.name)}" classname="${xml(report.file)}" file="${xml(report.file)}" line="${r.line}"`
      if (r.passed) {
        out.push(`    <testcase ${attributes}/>`)
        continue
      }
      const wrong = r.outcomes.filter((o) => !o.passed)
      const message = `${wrong.length} of ${r.outcomes.length} users: expected ${r.case.expect}${r.case.reason ? ` (${r.case.reason})` : ''}`
      const body = wrong.map((o) => `${o.user}: ${o.allowed ? 'allowed' : 'denied'} ${o.reason}\n  ${o.chain}`).join('\n')
      out.push(`    <testcase ${attributes}>`, `      <failure message="${xml(message)}" type="${r.case.expect === 'allow' ? 'denied' : 'allowed'}">${xml(body)}</failure>`, '    </testcase>')
    }
    out.push('  </testsuite>')
  }
  out.push('</testsuites>', '')
  return out.join('\n')
}

/**
 * Renders reports for people: one line per case (`ok` / `FAIL`, its line and name); a failing case
 * lists each user with the wrong answer and the chain that made it; then `N passed, M failed`.
 *
 * @example
 * ```ts
 * import { renderExpectationsText } from 'keycloak-permissions/review'
 * process.stdout.write(renderExpectationsText([report]))
 * ```
 */
export function renderExpectationsText(reports: readonly ExpectationsReport[]): string {
  const out: string[] = []
  for (const report of reports) {
    for (const r of report.cases) {
      const covered = r.outcomes.length === 1 ? '' : ` [${r.outcomes.length} users]`
      out.push(`${r.passed ? 'ok  ' : 'FAIL'} ${report.file}:${r.line} ${r.name}${covered}`)
      if (r.outcomes.length === 0) out.push(`       (no user matched: ${r.subject})`)
      for (const o of r.outcomes.filter((x) => !x.passed)) {
        out.push(`       ${o.user}: ${o.allowed ? 'allowed' : 'denied'} ${o.reason}, expected ${r.case.expect}${r.case.reason ? ` (${r.case.reason})` : ''}`)
        out.push(`         ${o.chain}`)
      }
    }
  }
  const passed = reports.reduce((n, r) => n + r.passed, 0)
  const failed = reports.reduce((n, r) => n + r.failed, 0)
  out.push(`${passed} passed, ${failed} failed`, '')
  return out.join('\n')
}
