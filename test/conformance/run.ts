/**
 * The conformance runner: `npm run conformance -- [files or directories of .jsonl] [--kinds a,b]`.
 * Runs each reference vector through the public API via the per-kind adapters in ./adapters/,
 * prints one line per failure (with the vector id) and ends with `N passed, M failed, K skipped`.
 * Exit status is non-zero on any failure, unknown kind or skip.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { adapters } from './adapters/index.js'
import type { Vector } from './types.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const sharedVectors = resolve(root, '../shared/reference/vectors')
const bundledVectors = resolve(root, 'test/fixtures/reference-vectors')

function usage(message?: string): never {
  if (message) console.error(`conformance: ${message}`)
  console.error('usage: npm run conformance -- [FILE.jsonl|DIR ...] [--kinds kind1,kind2]')
  process.exit(2)
}

function parseArgs(argv: string[]): { paths: string[]; kinds: Set<string> | undefined } {
  const paths: string[] = []
  let kinds: Set<string> | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--kinds' || arg.startsWith('--kinds=')) {
      const value = arg === '--kinds' ? argv[++i] : arg.slice('--kinds='.length)
      if (!value) usage('--kinds needs a comma-separated list')
      kinds = new Set(value.split(',').map((k) => k.trim()).filter(Boolean))
    } else if (arg === '--help' || arg === '-h') {
      usage()
    } else if (arg.startsWith('-')) {
      usage(`unknown option ${arg}`)
    } else {
      paths.push(arg)
    }
  }
  return { paths, kinds }
}

function vectorFiles(paths: string[]): string[] {
  const files: string[] = []
  for (const p of paths) {
    const full = resolve(p)
    if (!existsSync(full)) usage(`no such file or directory: ${p}`)
    if (statSync(full).isDirectory()) {
      for (const name of readdirSync(full).sort()) if (name.endsWith('.jsonl')) files.push(join(full, name))
    } else {
      files.push(full)
    }
  }
  return files
}

function readVectors(file: string): Vector[] {
  const out: Vector[] = []
  const lines = readFileSync(file, 'utf8').split('\n')
  lines.forEach((line, index) => {
    if (line.trim() === '') return
    try {
      out.push({ ...JSON.parse(line), file })
    } catch (err) {
      console.error(`conformance: ${relative(process.cwd(), file)}:${index + 1}: invalid JSON (${(err as Error).message})`)
      process.exit(2)
    }
  })
  return out
}

async function main(): Promise<void> {
  const { paths, kinds } = parseArgs(process.argv.slice(2))
  let inputs = paths
  if (inputs.length === 0) {
    if (existsSync(sharedVectors)) inputs = [sharedVectors]
    else {
      console.error(`conformance: ${sharedVectors} not found; using the bundled copy in test/fixtures/reference-vectors`)
      inputs = [bundledVectors]
    }
  }
  if (kinds) for (const k of kinds) if (!Object.hasOwn(adapters, k)) console.error(`conformance: note: no adapter for requested kind ${k}`)
  let passed = 0
  let failed = 0
  let skipped = 0
  for (const file of vectorFiles(inputs)) {
    for (const vector of readVectors(file)) {
      if (kinds && !kinds.has(vector.kind)) continue
      const adapter = Object.hasOwn(adapters, vector.kind) ? adapters[vector.kind] : undefined
      if (!adapter) {
        failed++
        console.log(`FAIL ${vector.id} (${vector.kind}): unknown kind, no adapter`)
        continue
      }
      try {
        const outcome = await adapter(vector)
        if ('skip' in outcome) {
          skipped++
          console.log(`SKIP ${vector.id} (${vector.kind}): ${outcome.skip}`)
        } else if (outcome.failures.length > 0) {
          failed++
          console.log(`FAIL ${vector.id} (${vector.kind}): ${outcome.failures.join('; ')}`)
        } else {
          passed++
        }
      } catch (err) {
        failed++
        console.log(`FAIL ${vector.id} (${vector.kind}): adapter threw ${(err as Error)?.stack ?? String(err)}`)
      }
    }
  }
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
  process.exitCode = failed > 0 || skipped > 0 || passed === 0 ? 1 : 0
}

await main()
