import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { runScript, tempTree } from './helpers.js'

interface Finding {
  file: string
  line: number
  code: string
  cited: string
}
interface Result {
  specFiles: string[]
  findings: Finding[]
  citations: { source: string; file: string; section: string }[]
}

const trees: { remove(): void }[] = []
afterEach(() => {
  for (const t of trees.splice(0)) t.remove()
})

const SPEC = {
  'docs/semantics/keycloak.md': '# Keycloak\n\n## 3. Tokens\n\n### 3.2 Pitfalls\n\n```\n## 9. not a heading (code)\n```\n\n## 6. Sources\n',
  'docs/semantics/workspaces.md': '# Workspaces\n\n## 2. Rule\n\n## 3. STAC\n\n## 4. Tokens\n\n## 5. Reasons\n',
}

function check(files: Record<string, string>, args: string[] = []): { status: number | null; result: Result } {
  const tree = tempTree({ ...SPEC, ...files })
  trees.push(tree)
  return runScript<Result>('check-citations.mjs', ['--root', tree.root, ...args])
}

describe('scripts/check-citations.mjs', () => {
  it('passes citations of existing sections, in every written form', () => {
    const { status, result } = check({
      'src/a.ts': [
        '/** Claims (keycloak.md §3.2 pitfall 3) and sources (docs/semantics/keycloak.md §6). */',
        '// The rules (workspaces.md §2–§4, §5) and again (§3): a bare section refers to the file cited last.',
        "const s = 'keycloak.md §99 in a string is not a citation'",
        '// RFC 6749 §2.3.1 is not ours.',
        'export { s }',
      ].join('\n'),
    })
    expect(result.findings).toEqual([])
    expect(status).toBe(0)
    expect(result.citations.map((c) => `${c.file} §${c.section}`)).toEqual([
      'keycloak.md §3.2',
      'keycloak.md §6',
      'workspaces.md §2',
      'workspaces.md §3',
      'workspaces.md §4',
      'workspaces.md §5',
      'workspaces.md §3',
    ])
  })

  it('fails on a missing section, a missing file, an unanchored section and the shared reference', () => {
    const { status, result } = check({
      'src/b.ts': '/** See keycloak.md §9 (only in a code block there). */\nexport const b = 1\n',
      'src/c.ts': '// As nebari.md §2 says.\nexport const c = 1\n',
      'src/d.ts': '// Order of §5.\nexport const d = 1\n',
      'test/e.test.ts': '/** From ../shared/reference/README.md. */\nexport const e = 1\n',
    })
    expect(status).toBe(1)
    expect(result.findings.map((f) => `${f.file}:${f.line} ${f.code}`)).toEqual([
      'src/b.ts:1 MISSING_SECTION',
      'src/c.ts:1 MISSING_FILE',
      'src/d.ts:1 UNANCHORED_SECTION',
      'test/e.test.ts:1 OUTSIDE_REPOSITORY',
    ])
  })

  it('with --require-prefix, wants the in-repository path', () => {
    const files = { 'src/a.ts': '/** keycloak.md §6 and docs/semantics/keycloak.md §3. */\nexport const a = 1\n' }
    expect(check(files).status).toBe(0)
    const { status, result } = check(files, ['--require-prefix'])
    expect(status).toBe(1)
    expect(result.findings).toEqual([expect.objectContaining({ code: 'NO_PREFIX', cited: 'keycloak.md §6' })])
  })
})

describe('scripts/check-citations.mjs --fix', () => {
  it('writes docs/semantics/ in front of every bare spec file name in comments, and nothing else', () => {
    const tree = tempTree({
      ...SPEC,
      'src/a.ts': [
        '/** Sources (keycloak.md §6) and rules (workspaces.md §2–§3; docs/semantics/keycloak.md §3). */',
        '// The rule of workspaces.md',
        '// §4 continues on the next line; README.md is the project README.',
        "export const s = 'keycloak.md §6'",
      ].join('\n'),
    })
    trees.push(tree)
    const { status } = runScript<Result>('check-citations.mjs', ['--root', tree.root, '--fix'])
    expect(status).toBe(0)
    expect(readFileSync(join(tree.root, 'src/a.ts'), 'utf8').split('\n')).toEqual([
      '/** Sources (docs/semantics/keycloak.md §6) and rules (docs/semantics/workspaces.md §2–§3; docs/semantics/keycloak.md §3). */',
      '// The rule of docs/semantics/workspaces.md',
      '// §4 continues on the next line; README.md is the project README.',
      "export const s = 'keycloak.md §6'",
    ])
    expect(runScript<Result>('check-citations.mjs', ['--root', tree.root, '--require-prefix']).status).toBe(0)
  })
})

describe('this repository', () => {
  it('cites only sections that exist in docs/semantics/', () => {
    const { status, result } = runScript<Result>('check-citations.mjs', [])
    expect(result.findings).toEqual([])
    expect(status).toBe(0)
    expect(result.specFiles).toEqual(expect.arrayContaining(['README.md', 'conda-store.md', 'jupyterhub.md', 'keycloak.md', 'nebari.md', 'performance.md', 'workspaces.md']))
    expect(result.citations.length).toBeGreaterThan(60)
  })
})
