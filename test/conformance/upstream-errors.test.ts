import { describe, expect, it } from 'vitest'
import { adapters } from './adapters/index.js'
import { UPSTREAM_EXCEPTION, asUpstreamError, raises } from './adapters/upstream-errors.js'
import { CondaArnInvalidError, CondaRoleError } from '../../src/conda-store/index.js'
import { ScopeNotFoundError, UnexpandedFilterError } from '../../src/jupyterhub/index.js'
import type { Vector } from './types.js'

const run = async (v: Omit<Vector, 'file'>) => adapters[v.kind]!({ ...v, file: 'inline' })

describe('conformance adapters map every typed error to upstream’s exception kind', () => {
  it('a ScopeNotFoundError from expansion matches an upstream ScopeNotFound with the same message', async () => {
    const message = "Scope 'read:nothing'  does not exist"
    expect(await run({ id: 'x', kind: 'expand', input: { scopes: ['read:nothing'] }, expected: { scopes: { error: 'ScopeNotFound', message } } })).toEqual({ failures: [] })
    // …and still fails on a different message or class
    const wrong = await run({ id: 'x', kind: 'expand', input: { scopes: ['read:nothing'] }, expected: { scopes: { error: 'ValueError', message } } })
    expect('failures' in wrong && wrong.failures.length).toBe(2)
  })
  it('an UnexpandedFilterError from has_scope matches upstream’s ValueError', async () => {
    const message = new UnexpandedFilterError('read:users!user').message
    expect(await run({ id: 'x', kind: 'has_scope', input: { scope: 'read:users!user', have: ['read:users'] }, expected: { error: 'ValueError', message } })).toEqual({ failures: [] })
  })
  it('a conda-store role error matches KeyError / ValueError by kind', async () => {
    expect(await run({ id: 'x', kind: 'entity_permissions', input: { primary_namespace: 'a', token_role_bindings: { 'a/*': ['superuser'] }, arn: 'a/b' }, expected: { error: 'KeyError', message: "'superuser'" } })).toEqual({ failures: [] })
  })
  it('every typed error class has an upstream kind; subclasses raise their bases', () => {
    for (const err of [new ScopeNotFoundError('x', 'm'), new UnexpandedFilterError('x!user'), new CondaArnInvalidError('a'), new CondaRoleError('editor', 'a/*')]) {
      expect(asUpstreamError(err)?.error).toBe(UPSTREAM_EXCEPTION[err.code])
    }
    expect(raises('ScopeNotFound', 'KeyError')).toBe(true)
    expect(raises('InvalidNameError', 'ValueError')).toBe(true)
    expect(raises('KeyError', 'ValueError')).toBe(false)
  })
})
