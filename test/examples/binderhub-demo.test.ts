import { describe, expect, it } from 'vitest'
import { runExample } from './run-example.js'

describe('examples/binderhub demo', () => {
  it('prints each decision with its chain, and the strict-grammar diagnostic for the typo role', () => {
    const run = runExample('binderhub/binderhub.ts')
    expect(run.status, run.stderr).toBe(0)
    expect(run.lines).toContain(
      'alice → /team → binderhub:team-builders → "build!repo=gitlab.example.com/team/*" → gitlab.example.com/team/*: build → gitlab.example.com/team/proj (allowed: COMPONENT_GRANT)',
    )
    // Segment-wise globs: team/* does not reach team/sub/proj.
    expect(run.stdout).toMatch(/^alice → gitlab\.example\.com\/team\/sub\/proj \(denied: NO_GRANT\)$/m)
    expect(run.stdout).toMatch(/^alice → .*github\.com\/demos\/intro \(allowed: COMPONENT_GRANT\)$/m)
    expect(run.stdout).toMatch(/^  error COMPONENT_ROLE_REJECTED: binderhub\/typo-role: /m)
    // carol holds no binderhub role: three denials, no diagnostics.
    expect(run.lines.filter((l) => l.startsWith('carol → ') && l.endsWith('(denied: NO_GRANT)'))).toHaveLength(3)
  })
})
