import { afterEach, describe, expect, it } from 'vitest'
import { REPOSITORY, runScript, tempTree } from './helpers.js'

interface Violation {
  file: string
  line: number
  code: string
  specifier?: string
  message: string
}
interface Result {
  violations: Violation[]
  graph: Record<string, string[]>
}

const trees: { remove(): void }[] = []
afterEach(() => {
  for (const t of trees.splice(0)) t.remove()
})

/** A minimal src/ that follows the layers, plus `extra` files. */
function check(extra: Record<string, string>): { status: number | null; result: Result } {
  const tree = tempTree({
    'src/core/principal.ts': 'export interface Principal { username: string }\n',
    'src/keycloak/source.ts': "import type { Principal } from '../core/principal.js'\nexport const p: Principal = { username: 'a' }\n",
    'src/conda-store/index.ts': "import type { Principal } from '../core/principal.js'\nexport const f = (p: Principal) => p.username\n",
    'src/cli/main.ts': "import { p } from '../keycloak/source.js'\nimport { f } from '../conda-store/index.js'\nf(p)\n",
    ...extra,
  })
  trees.push(tree)
  return runScript<Result>('check-layers.mjs', ['--root', tree.root])
}

describe('scripts/check-layers.mjs', () => {
  it('passes a tree that follows the layers', () => {
    const { status, result } = check({})
    expect(result.violations).toEqual([])
    expect(status).toBe(0)
    expect(result.graph).toEqual({ cli: ['conda-store', 'keycloak'], 'conda-store': ['core'], core: [], keycloak: ['core'] })
  })

  it('fails when core imports a source', () => {
    const { status, result } = check({ 'src/core/bad.ts': "import { p } from '../keycloak/source.js'\nexport { p }\n" })
    expect(status).toBe(1)
    expect(result.violations).toEqual([
      expect.objectContaining({ file: 'src/core/bad.ts', line: 1, code: 'LAYER', specifier: '../keycloak/source.js' }),
    ])
  })

  it('fails when a component knows the source, even through a type-only import', () => {
    const { status, result } = check({
      'src/conda-store/bad.ts': "import type { p } from '../keycloak/source.js'\nexport type P = typeof p\n",
    })
    expect(status).toBe(1)
    expect(result.violations.map((v) => [v.file, v.code])).toEqual([['src/conda-store/bad.ts', 'LAYER']])
  })

  it('sees re-exports, dynamic imports and import types, and ignores imports in comments', () => {
    const { result } = check({
      'src/jupyterhub/a.ts': "export { f } from '../conda-store/index.js'\n",
      'src/workspaces/b.ts':
        "/** @example import { p } from '../keycloak/source.js' */\nexport const load = () => import('../keycloak/source.js')\nexport type T = import('../cli/main.js').X\n",
    })
    expect(result.violations.map((v) => `${v.file}:${v.line} ${v.specifier}`).sort()).toEqual([
      'src/jupyterhub/a.ts:1 ../conda-store/index.js',
      'src/workspaces/b.ts:2 ../keycloak/source.js',
      'src/workspaces/b.ts:3 ../cli/main.js',
    ])
  })

  it('refuses a computed import() except in the one file listed with its reason (the CLI executable)', () => {
    const computed = 'export const load = (name: string) => import(name)\n'
    const { status, result } = check({ 'src/cli/main.ts': computed, 'src/cli/other.ts': computed, 'src/keycloak/x.ts': computed })
    expect(status).toBe(1)
    expect(result.violations.map((v) => [v.file, v.code]).sort()).toEqual([
      ['src/cli/other.ts', 'DYNAMIC_SPECIFIER'],
      ['src/keycloak/x.ts', 'DYNAMIC_SPECIFIER'],
    ])
  })

  it('keeps I/O packages in their adapters', () => {
    const { status, result } = check({ 'src/core/http.ts': "import express from 'express'\nexport default express\n" })
    expect(status).toBe(1)
    expect(result.violations).toEqual([expect.objectContaining({ code: 'PACKAGE', specifier: 'express' })])
  })

  it('refuses a directory of src/ that has no layer yet, and imports from outside src/', () => {
    const { result } = check({
      'src/newthing/index.ts': 'export const x = 1\n',
      'src/core/out.ts': "import data from '../../package.json' with { type: 'json' }\nexport { data }\n",
    })
    expect(result.violations.map((v) => v.code).sort()).toEqual(['OUTSIDE_SRC', 'UNKNOWN_UNIT'])
  })

  it('finds no violation in this repository', () => {
    const { status, result } = runScript<Result>('check-layers.mjs', ['--root', REPOSITORY])
    expect(result.violations).toEqual([])
    expect(status).toBe(0)
    expect(result.graph['core']).toEqual([])
  })
})
