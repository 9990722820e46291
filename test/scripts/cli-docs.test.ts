/**
 * docs/cli.md documents every command of the CLI and every flag of each command: a flag counts as
 * documented when it appears in its command's section or in a shared section (Sources, Exit status,
 * Environment variables). The commands and flags are read from the program itself, so a flag added to
 * src/cli/program.ts without documentation fails here.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildProgram } from '../../src/cli/program.js'
import { REPOSITORY } from './helpers.js'

const doc = readFileSync(join(REPOSITORY, 'docs', 'cli.md'), 'utf8')
const program = buildProgram()
const commands = program.commands.map((c) => ({ name: c.name(), flags: c.options.map((o) => o.long).filter((f): f is string => f !== undefined) }))
const names = new Set(commands.map((c) => c.name))

/** The `## ` sections of docs/cli.md, each with the command names its heading shows in backticks. */
const sections = doc
  .split(/^(?=## )/m)
  .slice(1)
  .map((text) => {
    const heading = text.slice(0, text.indexOf('\n'))
    const named = [...heading.matchAll(/`([a-z-]+)`/g)].map((m) => m[1]!).filter((n) => names.has(n))
    return { heading, named, text }
  })
const shared = sections.filter((s) => s.named.length === 0)

/** `--flag` written as a whole word (not a prefix of a longer flag). */
function mentions(text: string, flag: string): boolean {
  return new RegExp(`${flag.replace(/[-]/g, '\\-')}(?![a-z-])`).test(text)
}

describe('docs/cli.md', () => {
  it('reads the commands from the program', () => {
    expect([...names]).toEqual(expect.arrayContaining(['resolve', 'envs', 'check', 'explain', 'lint', 'report', 'diff', 'serve']))
  })

  it.each(commands)('has a section for `$name` that documents each of its flags', ({ name, flags }) => {
    const own = sections.filter((s) => s.named.includes(name))
    expect(own.map((s) => s.heading), `no "## \`${name}\`" section`).not.toHaveLength(0)
    expect(doc, `the command summary at the top lacks ${name}`).toMatch(new RegExp(`^keycloak-permissions ${name}\\b`, 'm'))
    const undocumented = flags.filter((f) => ![...own, ...shared].some((s) => mentions(s.text, f)))
    expect(undocumented, `flags of ${name} missing from docs/cli.md`).toEqual([])
  })

  it('links the access-review examples', () => {
    expect(doc).toContain('(../examples/review/README.md)')
  })
})
