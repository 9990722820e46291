#!/usr/bin/env node
/**
 * Checks that the imports of src/**\/*.ts follow the layers of ARCHITECTURE.md, so data flows one way:
 *
 *   core  ←  sources (keycloak)  ←  glue (cli, serve, middleware, review, redis)
 *   core  ←  components (conda-store, jupyterhub, workspaces, components)  ←  glue
 *
 * core imports nothing of ours; a source makes a principal and knows no component; a component takes a
 * principal and never knows where it came from (no import of src/keycloak); only the glue may combine
 * sources and components. The allowed edges are the table ALLOWED below, one row per top-level
 * directory of src/. Every import counts: `import`, `import type`, `export … from`, `import('…')` (also
 * in type positions) and `require('…')`, found with the TypeScript parser (comments and `@example` code
 * are not imports).
 *
 * Packages are checked too: a package in PACKAGES may be imported only from the directories listed for
 * it (the admin client only by the Keycloak source, each framework only by its adapter, node-redis only
 * by the Redis cache), so the core and the components stay free of I/O dependencies.
 *
 *   node scripts/check-layers.mjs               # this repository's src/
 *   node scripts/check-layers.mjs --root DIR    # DIR/src (used by the tests)
 *   node scripts/check-layers.mjs --json        # machine-readable result
 *   node scripts/check-layers.mjs --graph       # print the directory graph that src/ actually has
 *
 * Exit status: 0 when every import is allowed, 1 when one is not, 2 on a usage error.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const HERE = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const EXTENSIONS = ['.ts', '.mts', '.cts', '.tsx']

/** The layer of each top-level unit of src/ (a directory, or `index` for src/index.ts). */
export const LAYERS = {
  index: 'core',
  core: 'core',
  keycloak: 'sources',
  'conda-store': 'components',
  jupyterhub: 'components',
  workspaces: 'components',
  components: 'components',
  review: 'glue',
  redis: 'glue',
  express: 'glue',
  fastify: 'glue',
  hono: 'glue',
  config: 'glue',
  cli: 'glue',
}

/**
 * Which units each unit may import (besides itself). Components do not import each other, except the
 * component registry (src/components), which wraps the built-ins. Glue may import what is below it;
 * only the CLI (which hosts `serve`) imports other glue.
 */
export const ALLOWED = {
  index: ['core'],
  core: [],
  keycloak: ['core'],
  'conda-store': ['core'],
  jupyterhub: ['core'],
  workspaces: ['core'],
  components: ['core', 'conda-store', 'jupyterhub', 'workspaces'],
  config: ['core', 'keycloak', 'conda-store', 'jupyterhub', 'workspaces', 'components'],
  review: ['core', 'conda-store', 'jupyterhub', 'workspaces', 'components', 'config'],
  redis: ['core', 'keycloak'],
  express: ['core', 'keycloak', 'conda-store', 'jupyterhub', 'workspaces', 'components', 'config'],
  fastify: ['core', 'keycloak', 'conda-store', 'jupyterhub', 'workspaces', 'components', 'config'],
  hono: ['core', 'keycloak', 'conda-store', 'jupyterhub', 'workspaces', 'components', 'config'],
  cli: ['index', 'core', 'keycloak', 'conda-store', 'jupyterhub', 'workspaces', 'components', 'config', 'review', 'redis', 'express', 'fastify', 'hono'],
}

/** Files outside src/ that a unit may import: bundled data that ships in the package. */
export const DATA = {
  'examples/realm/example-realm.json': ['keycloak'],
}

/** Packages that only some units may import (anything not listed here is free: zod, jose, lru-cache, node:*). */
export const PACKAGES = {
  '@keycloak/keycloak-admin-client': ['keycloak'],
  express: ['express'],
  fastify: ['fastify'],
  hono: ['hono'],
  '@hono/node-server': ['hono', 'cli'],
  redis: ['redis'],
  commander: ['cli'],
}

/**
 * Files allowed one computed `import(specifier)`, and why. The specifiers they receive are written, as
 * literals, at the import sites this check reads.
 */
export const COMPUTED_IMPORTS = {
  // The CLI's executable hands the bundled program's imports of external packages (the admin client in
  // src/keycloak, redis in src/redis) to Node: a script compiled with V8's code cache has no loader.
  'src/cli/main.ts': 'the CLI executable loads the program\'s external packages for it',
}

function usage(message) {
  process.stderr.write(`check-layers: ${message}\nusage: node scripts/check-layers.mjs [--root DIR] [--json] [--graph]\n`)
  process.exit(2)
}

function parseArgs(argv) {
  const args = { root: HERE, json: false, graph: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--json') args.json = true
    else if (a === '--graph') args.graph = true
    else if (a === '--root') {
      const dir = argv[++i]
      if (dir === undefined) usage('--root needs a directory')
      args.root = resolve(dir)
    } else usage(`unknown argument ${a}`)
  }
  return args
}

function listSources(srcDir) {
  const out = []
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (EXTENSIONS.some((e) => name.endsWith(e))) out.push(path)
    }
  }
  if (existsSync(srcDir)) walk(srcDir)
  return out.sort()
}

/** Every module specifier a TypeScript file imports, with its line. */
export function importsOf(fileName, text) {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true)
  const found = []
  const add = (literal) => {
    if (literal && ts.isStringLiteralLike(literal)) {
      found.push({ specifier: literal.text, line: source.getLineAndCharacterOfPosition(literal.getStart(source)).line + 1 })
    }
  }
  const visit = (node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier)
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression)
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal)
    else if (ts.isCallExpression(node)) {
      const callee = node.expression
      const isImport = callee.kind === ts.SyntaxKind.ImportKeyword
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require'
      if ((isImport || isRequire) && node.arguments.length > 0) {
        const arg = node.arguments[0]
        if (ts.isStringLiteralLike(arg)) add(arg)
        else found.push({ specifier: undefined, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 })
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

/** The unit of src/ a path inside it belongs to (`core`, `keycloak`, …, `index` for src/index.ts). */
export function unitOf(srcDir, absolutePath) {
  const rel = relative(srcDir, absolutePath)
  if (rel.startsWith('..') || rel === '') return undefined
  const parts = rel.split(sep)
  if (parts.length === 1) return parts[0].replace(/\.[cm]?tsx?$|\.[cm]?js$/, '')
  return parts[0]
}

function packageName(specifier) {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

/** Checks every import of root/src; returns the violations and the directory graph found. */
export function checkTree(root) {
  const srcDir = join(root, 'src')
  const violations = []
  const graph = {}
  for (const file of listSources(srcDir)) {
    const rel = relative(root, file).split(sep).join('/')
    const from = unitOf(srcDir, file)
    const allowed = ALLOWED[from]
    if (allowed === undefined) {
      violations.push({ file: rel, line: 1, code: 'UNKNOWN_UNIT', message: `src/${from} has no layer: add it to ALLOWED and LAYERS in scripts/check-layers.mjs and to ARCHITECTURE.md` })
      continue
    }
    graph[from] ??= new Set()
    for (const { specifier, line } of importsOf(file, readFileSync(file, 'utf8'))) {
      if (specifier === undefined) {
        if (Object.hasOwn(COMPUTED_IMPORTS, rel)) continue
        violations.push({ file: rel, line, code: 'DYNAMIC_SPECIFIER', message: 'import() or require() of a computed specifier: the layers cannot be checked' })
        continue
      }
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier)
        const to = unitOf(srcDir, target)
        if (to === undefined) {
          const data = relative(root, target).split(sep).join('/')
          if (DATA[data]?.includes(from)) continue
          violations.push({ file: rel, line, code: 'OUTSIDE_SRC', specifier, message: `imports ${specifier}, outside src/` })
          continue
        }
        if (to === from) continue
        graph[from].add(to)
        if (!allowed.includes(to)) {
          violations.push({
            file: rel,
            line,
            code: 'LAYER',
            specifier,
            message: `src/${from} (${LAYERS[from]}) may not import src/${to} (${LAYERS[to] ?? 'no layer'}); allowed: ${allowed.length ? allowed.join(', ') : 'nothing of ours'}`,
          })
        }
      } else {
        const name = packageName(specifier.replace(/^node:/, 'node:'))
        const only = PACKAGES[name]
        if (only !== undefined && !only.includes(from)) {
          violations.push({ file: rel, line, code: 'PACKAGE', specifier, message: `${name} may be imported only by src/${only.join(', src/')}` })
        }
      }
    }
  }
  return { violations, graph: Object.fromEntries(Object.entries(graph).map(([k, v]) => [k, [...v].sort()])) }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2))
  const result = checkTree(args.root)
  if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  else {
    if (args.graph) {
      for (const [from, tos] of Object.entries(result.graph).sort()) {
        process.stdout.write(`${from} (${LAYERS[from]}) → ${tos.length ? tos.join(', ') : '—'}\n`)
      }
    }
    for (const v of result.violations) process.stdout.write(`${v.file}:${v.line}: ${v.code} ${v.message}\n`)
    process.stdout.write(`check-layers: ${result.violations.length} violation(s)\n`)
  }
  process.exit(result.violations.length === 0 ? 0 : 1)
}
