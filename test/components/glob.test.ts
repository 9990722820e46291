import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compileSegmentGlob, matchSegmentGlob } from '../../src/components/index.js'

describe('matchSegmentGlob', () => {
  it.each([
    ['gitlab.example.com/team/*', 'gitlab.example.com/team/proj', true],
    ['gitlab.example.com/team/*', 'gitlab.example.com/team/sub/proj', false],
    ['gitlab.example.com/team/*', 'gitlab.example.com/team', false],
    ['gitlab.example.com/team/*', 'gitlab.example.com/team/', true],
    ['gitlab.example.com/team/*', 'gitlab.example.com/Team/proj', false],
    ['gitlab.example.com/team/*', 'gitlabXexample.com/team/proj', false],
    ['gitlab.example.com/*/proj', 'gitlab.example.com/any/proj', true],
    ['gitlab.example.com/team/proj-*', 'gitlab.example.com/team/proj-a', true],
    ['gitlab.example.com/team/proj-*', 'gitlab.example.com/team/proj', false],
    ['gitlab.example.com/team/*-ml-*', 'gitlab.example.com/team/x-ml-y', true],
    ['gitlab.example.com/team/*-ml-*', 'gitlab.example.com/team/-ml-', true],
    ['gitlab.example.com/team/*-ml-*', 'gitlab.example.com/team/x-ml', false],
    ['gitlab.example.com/team/a*a', 'gitlab.example.com/team/a', false],
    ['gitlab.example.com/team/a*a', 'gitlab.example.com/team/aa', true],
    ['*/*', 'a/b', true],
    ['*', 'a/b', false],
    ['a.b/c', 'aXb/c', false],
    ['a+b/c?', 'a+b/c?', true],
    ['a+b/c?', 'aab/c', false],
  ])('%s vs %s → %s', (pattern, resource, expected) => {
    expect(matchSegmentGlob(pattern, resource)).toBe(expected)
    expect(matchSegmentGlob(compileSegmentGlob(pattern), resource)).toBe(expected)
  })

  it('agrees with an independent recursive matcher', () => {
    const model = (p: string, r: string): boolean => {
      const ps = p.split('/')
      const rs = r.split('/')
      if (ps.length !== rs.length) return false
      const seg = (a: string, b: string): boolean => {
        if (a === '') return b === ''
        if (a[0] === '*') return seg(a.slice(1), b) || (b !== '' && seg(a, b.slice(1)))
        return b !== '' && a[0] === b[0] && seg(a.slice(1), b.slice(1))
      }
      return ps.every((x, i) => seg(x, rs[i]!))
    }
    const chars = fc.constantFrom('a', 'b', '*', '/', '.')
    const str = (n: number) => fc.array(chars, { maxLength: n }).map((c) => c.join(''))
    fc.assert(
      fc.property(str(8), str(10).map((s) => s.replaceAll('*', 'a')), (p, r) => {
        expect(matchSegmentGlob(p, r)).toBe(model(p, r))
      }),
      { numRuns: 3000 },
    )
  })

  // Its time is measured in bench/adversarial.ts (linear-time target printed there), not here.
  it('answers adversarial inputs (no backtracking blow-up)', () => {
    const pattern = `${'*a'.repeat(50)}*b`
    const resource = 'a'.repeat(100_000)
    expect(matchSegmentGlob(pattern, resource)).toBe(false)
    expect(matchSegmentGlob(pattern, `${resource}b`)).toBe(true)
  })
})
