/**
 * The relative links of the specification and the architecture and CLI docs resolve: the target file
 * exists, and an `#anchor` names a heading of it (GitHub's slug rules: lower-case, punctuation other
 * than `-` and `_` dropped, spaces to `-`).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPOSITORY } from './helpers.js'

const FILES = [
  'README.md',
  'ARCHITECTURE.md',
  'docs/cli.md',
  ...readdirSync(join(REPOSITORY, 'docs', 'semantics'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/semantics/${f}`),
]

function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

function anchorsOf(markdown: string): Set<string> {
  const out = new Set<string>()
  const seen = new Map<string, number>()
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced
    if (fenced) continue
    const m = /^#{1,6}\s+(.*)$/.exec(line)
    if (!m) continue
    const base = slug(m[1]!)
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

function linksOf(markdown: string): string[] {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '')
  return [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/i.test(l))
}

describe.each(FILES)('links of %s', (file) => {
  it('resolve to existing files and headings', () => {
    const source = join(REPOSITORY, file)
    const broken: string[] = []
    for (const link of linksOf(readFileSync(source, 'utf8'))) {
      const [path, anchor] = link.split('#') as [string, string | undefined]
      const target = path === '' ? source : join(dirname(source), path)
      if (!existsSync(target)) {
        // upstream-parity.md is written by another change; its link may land first.
        if (!target.endsWith('upstream-parity.md')) broken.push(`${link} (no ${relative(REPOSITORY, target)})`)
        continue
      }
      if (anchor !== undefined && statSync(target).isFile() && target.endsWith('.md') && !anchorsOf(readFileSync(target, 'utf8')).has(anchor)) {
        broken.push(`${link} (no heading #${anchor})`)
      }
    }
    expect(broken).toEqual([])
  })
})
