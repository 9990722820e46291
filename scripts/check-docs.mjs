#!/usr/bin/env node
/**
 * Checks that every exported declaration of the public entry points carries an `@example` block.
 *
 * Runs TypeDoc (the project's typedoc.json) with `--json` into a temporary directory, walks each
 * entry point's exports — functions, classes, interfaces, type aliases, variables, enums; re-exports
 * are checked where they are declared — and lists those whose comment (or, for functions, every
 * signature's comment) has no non-empty `@example`. TypeDoc's own warnings (missing documentation,
 * broken links) are listed too and fail the check: the project builds its docs with
 * `treatWarningsAsErrors`.
 *
 *   node scripts/check-docs.mjs                 # run TypeDoc, then check
 *   node scripts/check-docs.mjs --from FILE     # check an existing `typedoc --json` output
 *   node scripts/check-docs.mjs --json          # print the result as JSON
 *
 * Exit status: 0 when every declaration passes and TypeDoc printed no warning, 1 otherwise, 2 when
 * TypeDoc could not run or its output cannot be read.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const PACKAGE = 'keycloak-permissions'

// TypeDoc's ReflectionKind values (stable across 0.2x).
const KIND = {
  Project: 1,
  Module: 2,
  Namespace: 4,
  Enum: 8,
  Variable: 32,
  Function: 64,
  Class: 128,
  Interface: 256,
  TypeAlias: 2097152,
  Reference: 4194304,
}
const CHECKED = new Map([
  [KIND.Function, 'function'],
  [KIND.Class, 'class'],
  [KIND.Interface, 'interface'],
  [KIND.TypeAlias, 'type'],
  [KIND.Variable, 'variable'],
  [KIND.Enum, 'enum'],
])

function usage(message) {
  process.stderr.write(`check-docs: ${message}\nusage: node scripts/check-docs.mjs [--from TYPEDOC_JSON] [--json]\n`)
  process.exit(2)
}

function parseArgs(argv) {
  const args = { from: undefined, json: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--json') args.json = true
    else if (a === '--from') {
      const file = argv[++i]
      if (file === undefined) usage('--from needs a file')
      args.from = file
    } else usage(`unknown argument ${a}`)
  }
  return args
}

/** Runs TypeDoc with JSON output; returns the parsed project and the warning lines it printed. */
function runTypedoc() {
  const dir = mkdtempSync(join(tmpdir(), 'kp-check-docs-'))
  const jsonFile = join(dir, 'project.json')
  try {
    const res = spawnSync(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc'),
        '--json', jsonFile,
        // HTML goes to the temporary directory too, never over the project's docs-site/.
        '--out', join(dir, 'html'),
        // Warnings are collected and reported below, so the JSON is written even when there are some.
        '--treatWarningsAsErrors', 'false',
        '--treatValidationWarningsAsErrors', 'false',
        // File names for the report (typedoc.json disables them for the published site).
        '--disableSources', 'false',
        // …without asking git for a remote to link to (a checkout without one would warn).
        '--disableGit',
        '--sourceLinkTemplate', '{path}#L{line}',
        // Type errors are the typecheck step's job; a broken test file elsewhere must not hide the report.
        '--skipErrorChecking',
        '--logLevel', 'Warn',
      ],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }, maxBuffer: 64 * 1024 * 1024 },
    )
    const output = `${res.stdout ?? ''}${res.stderr ?? ''}`.replace(/\x1b\[[0-9;]*m/g, '')
    const warnings = output.split('\n').filter((line) => line.startsWith('[warning]') && !/^\[warning\] Found \d+ errors? and \d+ warnings?/.test(line))
    if (res.error) {
      process.stderr.write(`check-docs: cannot run typedoc: ${res.error.message}\n`)
      process.exit(2)
    }
    let project
    try {
      project = JSON.parse(readFileSync(jsonFile, 'utf8'))
    } catch {
      process.stderr.write(`check-docs: typedoc exited with ${res.status} and wrote no JSON:\n${output}`)
      process.exit(2)
    }
    return { project, warnings }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function hasExample(comment) {
  if (!comment || !Array.isArray(comment.blockTags)) return false
  return comment.blockTags.some(
    (tag) => tag.tag === '@example' && Array.isArray(tag.content) && tag.content.some((part) => typeof part.text === 'string' && part.text.trim() !== ''),
  )
}

/** A declaration's comments: its own, and for callables each signature's. */
function documented(reflection) {
  if (hasExample(reflection.comment)) return true
  const signatures = reflection.signatures ?? []
  return signatures.some((s) => hasExample(s.comment))
}

function entryName(module) {
  return module.name === 'index' ? PACKAGE : `${PACKAGE}/${module.name}`
}

function location(reflection) {
  const source = reflection.sources?.[0] ?? reflection.signatures?.[0]?.sources?.[0]
  return source ? `${source.fileName}:${source.line}` : undefined
}

/** Every checked declaration of the project: `{ entry, name, kind, file, ok }`. */
export function collect(project) {
  const modules = project.kind === KIND.Project && Array.isArray(project.children) && project.children.every((c) => c.kind === KIND.Module)
    ? project.children
    : [{ ...project, name: 'index' }]
  const results = []
  const visit = (entry, prefix, children) => {
    for (const child of children ?? []) {
      if (child.kind === KIND.Namespace) {
        visit(entry, `${prefix}${child.name}.`, child.children)
        continue
      }
      const kind = CHECKED.get(child.kind)
      if (kind === undefined) continue // references are checked where they are declared
      results.push({ entry, name: `${prefix}${child.name}`, kind, file: location(child), ok: documented(child) })
    }
  }
  for (const module of modules) visit(entryName(module), '', module.children)
  return results
}

function main() {
  const args = parseArgs(process.argv.slice(2))
  let project
  let warnings = []
  if (args.from !== undefined) {
    try {
      project = JSON.parse(readFileSync(args.from, 'utf8'))
    } catch (err) {
      process.stderr.write(`check-docs: cannot read ${args.from}: ${err.message}\n`)
      process.exit(2)
    }
  } else {
    ;({ project, warnings } = runTypedoc())
  }
  const results = collect(project)
  const failed = results.filter((r) => !r.ok)
  const passed = results.length - failed.length
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ passed, failed: failed.length, missingExample: failed, typedocWarnings: warnings }, null, 2)}\n`)
  } else {
    if (failed.length > 0) {
      process.stdout.write('exported declarations without an @example:\n')
      for (const r of failed) process.stdout.write(`  ${r.entry}: ${r.name} (${r.kind})${r.file ? `  ${r.file}` : ''}\n`)
    }
    if (warnings.length > 0) {
      process.stdout.write(`typedoc warnings (${warnings.length}):\n`)
      for (const w of warnings) process.stdout.write(`  ${w}\n`)
    }
    process.stdout.write(`${passed} passed, ${failed.length} failed${warnings.length > 0 ? `, ${warnings.length} typedoc warnings` : ''}\n`)
  }
  process.exitCode = failed.length > 0 || warnings.length > 0 ? 1 : 0
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main()
