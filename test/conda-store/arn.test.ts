import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CondaArnInvalidError, CondaStorePermissions, compileArn, isArnSubset, lintArn, upstreamArnRegex, upstreamArnSqlLike } from '../../src/conda-store/index.js'

const ALLOWED = 'ABCXYZabcxyz0189-+_@$&?^~.='

const single = (arn: string, compat: boolean) =>
  CondaStorePermissions.create({ primaryNamespace: 'p', roleBindings: { [arn]: ['viewer'] } }, { authenticatedRoleBindings: {}, ...(compat ? { compat: 'conda-store' as const } : {}) })
const matches = (arn: string, resource: string, compat = false) => single(arn, compat).can('environment::read', resource)

describe('ARN grammar', () => {
  it.each(['a/b/c', 'ns/', '/x', '', 'ns name/*', 'ns,x/*', 'ns/*\n', 'nä/*'])('rejects %j with CONDA_ARN_INVALID', (arn) => {
    expect(() => compileArn(arn)).toThrow(CondaArnInvalidError)
    try {
      compileArn(arn)
    } catch (err) {
      expect((err as CondaArnInvalidError).code).toBe('CONDA_ARN_INVALID')
      expect((err as CondaArnInvalidError).arn).toBe(arn)
    }
  })
  it('accepts a trailing newline only in compat, as Python re.match(...$) does', () => {
    expect(() => compileArn('ns/*\n', { compat: 'conda-store' })).not.toThrow()
    expect(matches('ns/*\n', 'ns/e', true)).toBe(false) // the literal "\n" is part of the name pattern
    expect(matches('ns/e*', 'ns/e', true)).toBe(true)
  })
  it('lints metacharacters and unsupported patterns', () => {
    expect(lintArn('analyst/*')).toEqual([])
    expect(lintArn('a.b/*')).toEqual(['CONDA_ARN_METACHARACTER'])
    expect(lintArn('+a/*')).toEqual(['CONDA_ARN_METACHARACTER', 'CONDA_ARN_UNSUPPORTED_PATTERN'])
    expect(lintArn('a*+/*')).toEqual(['CONDA_ARN_METACHARACTER', 'CONDA_ARN_UNSUPPORTED_PATTERN'])
  })
  it('renders upstream regex and LIKE sources without interpreting $& in the class', () => {
    expect(upstreamArnRegex('*/x')).toBe('^[A-Za-z0-9-+_@$&?^~.=]*(?:/x)?$')
    expect(upstreamArnSqlLike('a_*/*')).toEqual(['a_%', '%'])
  })
})

describe('default matcher (D2, D3)', () => {
  it('treats * as the only wildcard and everything else literally', () => {
    expect(matches('t.x/*', 't.x/e')).toBe(true)
    expect(matches('t.x/*', 'tXx/e')).toBe(false)
    expect(matches('a*b*c/*', 'aXbYc/e')).toBe(true)
    expect(matches('a*b*c/*', 'aXcYb/e')).toBe(false)
    expect(matches('ab*ba/*', 'aba/e')).toBe(false) // prefix and suffix may not overlap
    expect(matches('*/*', 'a b/e')).toBe(false)
  })
  it('namespace-level checks honour only all-* name parts and report what upstream would use', () => {
    const perms = CondaStorePermissions.create({ primaryNamespace: 'p', roleBindings: { 'team/lab': ['admin'] } }, { authenticatedRoleBindings: {} })
    const d = perms.check('namespace::delete', 'team')
    expect(d.allowed).toBe(false)
    expect(d.diagnostics?.map((x) => x.code)).toEqual(['CONDA_NAMESPACE_GRANT_IGNORED'])
    const compat = CondaStorePermissions.create({ primaryNamespace: 'p', roleBindings: { 'team/lab': ['admin'] } }, { authenticatedRoleBindings: {}, compat: 'conda-store' })
    expect(compat.check('namespace::delete', 'team').allowed).toBe(true)
  })
  it('reports CONDA_ARN_UPSTREAM_DIVERGENCE when upstream regex would decide differently', () => {
    const perms = CondaStorePermissions.create({ primaryNamespace: 'p', roleBindings: { 'a.b/*': ['viewer'] } }, { authenticatedRoleBindings: {} })
    const d = perms.check('environment::read', 'axb/e')
    expect(d.allowed).toBe(false)
    expect(d.diagnostics?.[0]).toMatchObject({ code: 'CONDA_ARN_UPSTREAM_DIVERGENCE', details: { arn: 'a.b/*', upstream: true, ours: false } })
    expect(perms.check('environment::read', 'a.b/e').allowed).toBe(true)
  })
  it('compat reproduces upstream regex quirks: . crosses /, + and ? quantify, $ before a final newline', () => {
    expect(matches('a.b/*', 'a/b/x', true)).toBe(true) // '.' matches the '/'
    expect(matches('a+/*', 'aaa/e', true)).toBe(true)
    expect(matches('ab?c/*', 'ac/e', true)).toBe(true)
    expect(matches('^a/*', 'a/e', true)).toBe(true)
    expect(matches('a$/*', 'a/e', true)).toBe(false)
    expect(matches('ns/*', 'ns/env\n', true)).toBe(true)
    expect(matches('ns/*', 'ns/env\n\n', true)).toBe(false)
    expect(matches('+a/*', '+a/e', true)).toBe(false) // unsupported: matches nothing
  })
  it('isArnSubset: default literal, compat regex', () => {
    expect(isArnSubset('a.b/*', 'a.b/*')).toBe(true)
    expect(isArnSubset('axb/*', 'a.b/*')).toBe(false)
    expect(isArnSubset('axb/*', 'a.b/*', { compat: 'conda-store' })).toBe(true)
    expect(isArnSubset('ns/e*', 'ns/*')).toBe(true)
    expect(isArnSubset('ns/*', 'ns/e*')).toBe(false)
  })
})

const part = (meta: boolean) => fc.stringMatching(meta ? /^[ab.+?^$*]{1,6}$/ : /^[ab*]{1,6}$/)
const text = fc.stringMatching(/^[ab.+?^$]{0,6}$/)

describe('properties', () => {
  it('the default matcher never matches what the compat matcher does not (never more than upstream)', () => {
    fc.assert(
      fc.property(part(true), part(true), text, fc.option(text, { nil: undefined }), fc.boolean(), (ns, name, tns, tname, bare) => {
        const arn = `${ns}/${name}`
        const resource = bare || tname === undefined ? tns : `${tns}/${tname}`
        const ours = single(arn, false)
        const upstream = single(arn, true)
        for (const p of ['environment::read', 'namespace::read'] as const) {
          if (ours.can(p, resource)) expect(upstream.can(p, resource)).toBe(true)
        }
      }),
      { numRuns: 3000 },
    )
  })
  it('without metacharacters, default and compat agree on environments', () => {
    fc.assert(
      fc.property(part(false), part(false), fc.stringMatching(/^[ab]{0,5}$/), fc.stringMatching(/^[ab]{0,5}$/), (ns, name, tns, tname) => {
        expect(matches(`${ns}/${name}`, `${tns}/${tname}`)).toBe(matches(`${ns}/${name}`, `${tns}/${tname}`, true))
      }),
      { numRuns: 2000 },
    )
  })
  // The time of these inputs is measured in bench/adversarial.ts (target printed there), not asserted here.
  it('answers 1 MB patterns and names in both modes', () => {
    const big = 'a'.repeat(1 << 20)
    const cases: [string, string, boolean, boolean][] = [
      // [pattern, resource, default answer, compat answer]
      [`${big}/*`, `${big}/e`, true, true],
      [`*/${'a*'.repeat(1 << 19)}b`, `ns/${big}`, false, false],
      [`*${'ab'.repeat(1 << 18)}*c/*`, `${'ab'.repeat(1 << 19)}/e`, false, false],
      ['n*/*', `n${big}/e`, true, true],
      ['a.*/*', `a.${big}/e`, true, true],
      ['*/*', `ns/${ALLOWED.repeat(40000)}`, true, true],
      [`${'a?'.repeat(1 << 19)}/*`, 'aaaa/e', false, true],
      ['a.*?b/*', `a${'x'.repeat(1 << 20)}/e`, false, false],
      [`${'a.'.repeat(1 << 19)}/*`, `${'ab'.repeat(1 << 19)}/e`, false, true],
    ]
    for (const [arn, resource, ours, upstream] of cases) {
      for (const compat of [false, true]) {
        expect(matches(arn, resource, compat)).toBe(compat ? upstream : ours)
      }
    }
  })
})
