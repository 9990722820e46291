/**
 * Offline policy review of a realm export with the built CLI — what a CI job runs on every change to
 * the realm configuration, before it is imported into Keycloak:
 *
 * 1. `keycloak-permissions lint --realm FILE [--components DEFS] --json`: every malformed role
 *    attribute (conda-store `scopes`, JupyterHub scopes, custom components), grouped by role, with the
 *    fix; exit status 1 when any is an error;
 * 2. `keycloak-permissions explain --realm FILE --user U <check> --json`: the decisions the reviewers
 *    care about, each with its chain user → group → role → attribute item → grant → resource; exit
 *    status 0 allowed, 1 denied.
 *
 * Nothing here imports the library: it drives the command line exactly as a shell script would, e.g.
 *
 * ```sh
 * npx keycloak-permissions lint --realm realm-export.json --json > lint.json || echo "lint found errors"
 * npx keycloak-permissions explain --realm realm-export.json --user bob --conda-store environment::update ml/torch
 * ```
 *
 * (from the package: `npx keycloak-permissions …`; in this repository: `node dist/cli/main.cjs …` after
 * `npx tsup`). Run the demo with `npx tsx examples/policy-review/review.ts [--strict]`; `--strict`
 * exits 1 when lint reports an error (the CI gate), otherwise the review only reports.
 *
 * @module
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

/** The built CLI (`npx tsup` builds it). */
export const CLI = here('../../dist/cli/main.cjs')
/** The realms reviewed by the demo: the bundled example realm and the BinderHub example's realm. */
export const EXAMPLE_REALM = here('../realm/example-realm.json')
export const BINDERHUB_REALM = here('../binderhub/realm.json')
/** The BinderHub component definition (`--components`, a JSON array of `defineComponent()` options). */
export const BINDERHUB_COMPONENT = here('./binderhub-component.json')

/** One CLI run: its exit status and parsed `--json` output. */
export interface CliRun<T> {
  readonly status: number
  readonly json: T
  readonly stderr: string
}

/** Runs the built CLI with `--json` and parses what it prints. Exit status 2 (usage or input error) throws. */
export function runCli<T>(args: readonly string[]): CliRun<T> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build it first with \`npx tsup\``)
  const res = spawnSync(process.execPath, [CLI, ...args, '--json'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } })
  if (res.status === 2 || res.status === null) throw new Error(`keycloak-permissions ${args.join(' ')} failed (${res.status}): ${res.stderr.trim()}`)
  return { status: res.status, json: JSON.parse(res.stdout) as T, stderr: res.stderr }
}

/** The parts of a lint diagnostic the review prints (`lint --json` → `{ diagnostics: [...] }`). */
export interface LintDiagnostic {
  readonly severity: 'error' | 'warning' | 'info'
  readonly code: string
  readonly message: string
  readonly subject: { readonly role?: { readonly client?: string; readonly name: string }; readonly attribute?: string; readonly item?: string }
  readonly fix?: string
}

/** The parts of a decision the review prints (`explain --json`). */
export interface ExplainedDecision {
  readonly allowed: boolean
  readonly reason: string
  readonly chain: string
  readonly trace: readonly { readonly kind: string; readonly label: string }[]
}

/** The review's findings for one realm. */
export interface RealmReview {
  readonly realm: string
  readonly lintStatus: number
  readonly errors: number
  readonly warnings: number
  readonly byRole: Readonly<Record<string, readonly LintDiagnostic[]>>
  readonly decisions: readonly { readonly question: string; readonly status: number; readonly decision: ExplainedDecision }[]
}

/** A question for `explain`: the words, and the CLI arguments after `--realm FILE`. */
export interface Question {
  readonly question: string
  readonly args: readonly string[]
}

/** Lints one realm and explains the given questions on it. */
export function reviewRealm(realm: string, questions: readonly Question[], extra: readonly string[] = []): RealmReview {
  const lint = runCli<{ diagnostics: LintDiagnostic[] }>(['lint', '--realm', realm, ...extra])
  const byRole: Record<string, LintDiagnostic[]> = {}
  for (const d of lint.json.diagnostics) {
    const role = d.subject.role ? `${d.subject.role.client ?? '(realm)'}/${d.subject.role.name}` : '(realm)'
    ;(byRole[role] ??= []).push(d)
  }
  const decisions = questions.map(({ question, args }) => {
    const run = runCli<ExplainedDecision>(['explain', '--realm', realm, ...extra, ...args])
    return { question, status: run.status, decision: run.json }
  })
  return {
    realm,
    lintStatus: lint.status,
    errors: lint.json.diagnostics.filter((d) => d.severity === 'error').length,
    warnings: lint.json.diagnostics.filter((d) => d.severity === 'warning').length,
    byRole,
    decisions,
  }
}

/** The demo's questions on the example realm. */
export const EXAMPLE_QUESTIONS: readonly Question[] = [
  { question: 'may bob update ml/torch?', args: ['--user', 'bob', '--conda-store', 'environment::update', 'ml/torch'] },
  { question: 'may alice update global/shared-tools?', args: ['--user', 'alice', '--conda-store', 'environment::update', 'global/shared-tools'] },
  { question: 'may bob call GET /workspaces/ws-alpha/files?', args: ['--user', 'bob', '--route', 'GET', '/workspaces/ws-alpha/files'] },
  { question: 'may alice call GET /workspaces/ws-alpha?', args: ['--user', 'alice', '--route', 'GET', '/workspaces/ws-alpha'] },
]

/** The demo's questions on the BinderHub realm (with the component definition). */
export const BINDERHUB_QUESTIONS: readonly Question[] = [
  { question: 'may alice build gitlab.example.com/team/proj?', args: ['--user', 'alice', '--component', 'binderhub', 'build', 'gitlab.example.com/team/proj'] },
  { question: 'may bob build gitlab.example.com/lab/proj (his role has a typo)?', args: ['--user', 'bob', '--component', 'binderhub', 'build', 'gitlab.example.com/lab/proj'] },
]

function print(review: RealmReview): void {
  console.log(`# ${relative(process.cwd(), review.realm)}`)
  console.log(`lint: ${review.errors} error(s), ${review.warnings} warning(s) (exit ${review.lintStatus})`)
  for (const [role, found] of Object.entries(review.byRole)) {
    console.log(`  ${role}`)
    for (const d of found) {
      console.log(`    ${d.severity} ${d.code}: ${d.message}`)
      if (d.fix) console.log(`      fix: ${d.fix}`)
    }
  }
  for (const { question, status, decision } of review.decisions) {
    console.log(`${question} ${decision.allowed ? 'allowed' : 'denied'} (exit ${status})`)
    console.log(`  ${decision.chain}`)
  }
}

function demo(argv: readonly string[]): void {
  const reviews = [
    reviewRealm(EXAMPLE_REALM, EXAMPLE_QUESTIONS),
    reviewRealm(BINDERHUB_REALM, BINDERHUB_QUESTIONS, ['--components', BINDERHUB_COMPONENT]),
  ]
  for (const review of reviews) print(review)
  const errors = reviews.reduce((n, r) => n + r.errors, 0)
  console.log(`${errors} lint error(s) in ${reviews.length} realm(s)`)
  if (argv.includes('--strict') && errors > 0) process.exitCode = 1
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) demo(process.argv.slice(2))
