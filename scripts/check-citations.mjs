#!/usr/bin/env node
/**
 * Checks that every specification citation in a code comment points at a section that exists in the
 * repository's own specification, docs/semantics/.
 *
 * A citation is a spec file name followed by section numbers: `docs/semantics/keycloak.md §6`,
 * `nebari.md §2–§4, §9`, `jupyterhub.md §3.2`. A bare `§6` later in a comment refers to the spec file
 * cited last before it in the same source file (`(jupyterhub.md §3) and parse (§6)`). Only comments
 * are read (found by the TypeScript parser, so a `§` inside a string literal is not a citation).
 *
 * Fails on:
 *   - a cited file that is not in docs/semantics/ (`MISSING_FILE`);
 *   - a cited section number that is not a heading of that file (`MISSING_SECTION`);
 *   - a bare `§N` with no spec file cited before it in the source file (`UNANCHORED_SECTION`;
 *     `RFC 6749 §2.3.1` and other standards' sections are not citations);
 *   - a comment pointing outside the repository at the read-only reference (`../shared`,
 *     or the absolute path of the shared folder on a development machine) (`OUTSIDE_REPOSITORY`);
 *   - with --require-prefix: a citation without the `docs/semantics/` prefix (`NO_PREFIX`).
 *
 *   node scripts/check-citations.mjs                       # src/ and test/ of this repository
 *   node scripts/check-citations.mjs --root DIR            # another tree (used by the tests)
 *   node scripts/check-citations.mjs --require-prefix      # also require docs/semantics/ in every citation
 *   node scripts/check-citations.mjs --fix                 # write docs/semantics/ in front of bare spec file names
 *   node scripts/check-citations.mjs --json                # machine-readable result
 *
 * Exit status: 0 when every citation resolves, 1 when one does not, 2 on a usage error.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const HERE = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const SPEC_DIR = join('docs', 'semantics')
const SCANNED = ['src', 'test']
const EXTENSIONS = ['.ts', '.mts', '.cts', '.tsx']

function usage(message) {
  process.stderr.write(
    `check-citations: ${message}\nusage: node scripts/check-citations.mjs [--root DIR] [--require-prefix] [--fix] [--json]\n`,
  )
  process.exit(2)
}

function parseArgs(argv) {
  const args = { root: HERE, requirePrefix: false, json: false, fix: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--json') args.json = true
    else if (a === '--require-prefix') args.requirePrefix = true
    else if (a === '--fix') args.fix = true
    else if (a === '--root') {
      const dir = argv[++i]
      if (dir === undefined) usage('--root needs a directory')
      args.root = resolve(dir)
    } else usage(`unknown argument ${a}`)
  }
  return args
}

/** Section numbers (`6`, `3.2`, `4.5`) of every numbered heading of a Markdown file. */
export function sectionsOf(markdown) {
  const sections = new Set()
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced
    if (fenced) continue
    const m = /^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s/.exec(line)
    if (m) sections.add(m[1])
  }
  return sections
}

/** The spec files of docs/semantics/ and their section numbers. */
export function loadSpec(root) {
  const dir = join(root, SPEC_DIR)
  const files = new Map()
  if (!existsSync(dir)) return files
  for (const name of readdirSync(dir)) {
    if (name.endsWith('.md')) files.set(name, sectionsOf(readFileSync(join(dir, name), 'utf8')))
  }
  return files
}

function listSources(root) {
  const out = []
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name.startsWith('.')) continue
      const path = join(dir, name)
      const st = statSync(path)
      if (st.isDirectory()) walk(path)
      else if (EXTENSIONS.some((e) => name.endsWith(e))) out.push(path)
    }
  }
  for (const top of SCANNED) if (existsSync(join(root, top))) walk(join(root, top))
  return out.sort()
}

/** Every comment of a TypeScript file, in source order, as `{ pos, text }`. */
export function commentsOf(fileName, text) {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false)
  const seen = new Map()
  const collect = (ranges) => {
    for (const r of ranges ?? []) if (!seen.has(r.pos)) seen.set(r.pos, text.slice(r.pos, r.end))
  }
  const visit = (node) => {
    collect(ts.getLeadingCommentRanges(text, node.pos))
    collect(ts.getTrailingCommentRanges(text, node.end))
    ts.forEachChild(node, visit)
  }
  visit(source)
  collect(ts.getLeadingCommentRanges(text, source.endOfFileToken.pos))
  return [...seen.entries()].sort((a, b) => a[0] - b[0]).map(([pos, comment]) => ({ pos, text: comment }))
}

// A spec file name, with or without a directory, then optionally its section list:
// `§6`, `§3.2`, `§5–§9`, `§4–5`, `§2, §11`, `§2 and §3`.
const SECTION = String.raw`§\s?\d+(?:\.\d+)*`
const SECTION_LIST = String.raw`${SECTION}(?:\s*[–-]\s*§?\s?\d+(?:\.\d+)*)?(?:\s*(?:,|and|&)\s*${SECTION}(?:\s*[–-]\s*§?\s?\d+(?:\.\d+)*)?)*`
const CITATION = new RegExp(String.raw`((?:[\w.-]+/)*)([\w-]+\.md)\b(?:\s*(${SECTION_LIST}))?|(${SECTION_LIST})`, 'g')
const SPEC_NAMES = /^(README|conda-store|nebari|jupyterhub|keycloak|workspaces|performance|upstream-parity)\.md$/

/** Expands a section list into the section numbers it names (`§5–§7` → 5, 6, 7). */
export function expandSections(list) {
  const out = []
  for (const part of list.split(/\s*(?:,|\band\b|&)\s*/)) {
    const m = /§\s?(\d+(?:\.\d+)*)(?:\s*[–-]\s*§?\s?(\d+(?:\.\d+)*))?/.exec(part)
    if (!m) continue
    const [, from, to] = m
    out.push(from)
    if (to !== undefined) {
      if (/^\d+$/.test(from) && /^\d+$/.test(to) && Number(to) > Number(from)) {
        for (let n = Number(from) + 1; n <= Number(to); n++) out.push(String(n))
      } else out.push(to)
    }
  }
  return out
}

function lineOf(text, pos) {
  let line = 1
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) line++
  return line
}

/** Checks one source text against the spec; returns the findings and the citations it saw. */
export function checkText(fileName, text, spec, { requirePrefix = false } = {}) {
  const findings = []
  const citations = []
  const fixes = [] // offsets where `docs/semantics/` belongs in front of a bare spec file name
  let current // the spec file cited last in this source file
  for (const comment of commentsOf(fileName, text)) {
    const at = (offset) => lineOf(text, comment.pos + offset)
    for (const m of comment.text.matchAll(/(?:\.\.\/)+shared\b|\/work\/shared\b/g)) {
      findings.push({ code: 'OUTSIDE_REPOSITORY', line: at(m.index), cited: m[0], message: `cites ${m[0]}: cite docs/semantics/ instead` })
    }
    for (const m of comment.text.matchAll(CITATION)) {
      const [, dir, name, list, bare] = m
      if (name !== undefined) {
        const isSpecName = SPEC_NAMES.test(name)
        const inSpecDir = dir === 'docs/semantics/' || dir === '' || /(^|\/)semantics\/$/.test(dir)
        // A Markdown file that is not a spec (docs/cli.md, CHANGELOG.md) is not a citation, unless it
        // carries a section number, which only spec files have.
        if (list === undefined && !(isSpecName && dir === 'docs/semantics/')) {
          if (isSpecName && inSpecDir) {
            current = name
            // A spec file named without a section (`(jupyterhub.md` at a line end, its `§14` on the next
            // line) is a citation too; README.md without a section usually means the project's README.
            if (dir === '' && !/^(README|upstream-parity)\.md$/.test(name)) {
              fixes.push(comment.pos + m.index)
              if (requirePrefix) findings.push({ code: 'NO_PREFIX', line: at(m.index), cited: name, message: `cite it as docs/semantics/${name}` })
            }
          }
          continue
        }
        if (!isSpecName && list === undefined) continue
        const cited = `${dir}${name}${list ? ` ${list}` : ''}`
        if (!inSpecDir || !spec.has(name)) {
          findings.push({ code: 'MISSING_FILE', line: at(m.index), cited, message: `${dir}${name} is not a file of docs/semantics/` })
          continue
        }
        current = name
        if (dir === '') fixes.push(comment.pos + m.index)
        if (requirePrefix && dir !== 'docs/semantics/') {
          findings.push({ code: 'NO_PREFIX', line: at(m.index), cited, message: `cite it as docs/semantics/${name}` })
        }
        if (list !== undefined) {
          for (const section of expandSections(list)) {
            citations.push({ file: name, section, line: at(m.index) })
            if (!spec.get(name).has(section)) {
              findings.push({ code: 'MISSING_SECTION', line: at(m.index), cited, message: `${name} has no section ${section}` })
            }
          }
        }
      } else if (bare !== undefined) {
        // Sections of external standards (`RFC 6749 §2.3.1`) are not ours.
        if (/\b(?:RFC|ECMA-?)\s*\d+\s*$/i.test(comment.text.slice(Math.max(0, m.index - 16), m.index))) continue
        if (current === undefined) {
          findings.push({ code: 'UNANCHORED_SECTION', line: at(m.index), cited: bare, message: `${bare} with no spec file cited before it` })
          continue
        }
        for (const section of expandSections(bare)) {
          citations.push({ file: current, section, line: at(m.index) })
          if (!spec.get(current).has(section)) {
            findings.push({ code: 'MISSING_SECTION', line: at(m.index), cited: bare, message: `${current} (cited earlier in this file) has no section ${section}` })
          }
        }
      }
    }
  }
  return { findings, citations, fixes }
}

/** `text` with `docs/semantics/` inserted at each offset of `fixes`. */
export function applyFixes(text, fixes) {
  let out = text
  for (const at of [...fixes].sort((a, b) => b - a)) out = `${out.slice(0, at)}docs/semantics/${out.slice(at)}`
  return out
}

/** Checks every source file under root/src and root/test. */
export function checkTree(root, options = {}) {
  const spec = loadSpec(root)
  const findings = []
  const citations = []
  const fixed = []
  for (const file of listSources(root)) {
    const rel = relative(root, file).split(sep).join('/')
    const text = readFileSync(file, 'utf8')
    const result = checkText(rel, text, spec, options)
    if (options.fix && result.fixes.length > 0) {
      writeFileSync(file, applyFixes(text, result.fixes))
      fixed.push({ file: rel, count: result.fixes.length })
      // Report what remains after the rewrite.
      const again = checkText(rel, readFileSync(file, 'utf8'), spec, options)
      result.findings = again.findings
      result.citations = again.citations
    }
    for (const f of result.findings) findings.push({ file: rel, ...f })
    for (const c of result.citations) citations.push({ source: rel, ...c })
  }
  return { specFiles: [...spec.keys()].sort(), findings, citations, fixed }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2))
  const result = checkTree(args.root, { requirePrefix: args.requirePrefix, fix: args.fix })
  if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  else {
    for (const f of result.fixed) process.stdout.write(`${f.file}: ${f.count} citation(s) rewritten to docs/semantics/\n`)
    for (const f of result.findings) process.stdout.write(`${f.file}:${f.line}: ${f.code} ${f.message} (${f.cited})\n`)
    process.stdout.write(
      `check-citations: ${result.citations.length} section citations in src/ and test/, ${result.findings.length} problem(s)\n`,
    )
  }
  process.exit(result.findings.length === 0 ? 0 : 1)
}
