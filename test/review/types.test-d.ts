import { describe, expectTypeOf, it } from 'vitest'
import type { Principal } from '../../src/core/principal.js'
import {
  accessMatrix,
  diffAccess,
  renderAccessDiff,
  renderAccessReport,
  type AccessChange,
  type AccessDiff,
  type AccessGrant,
  type AccessMatrix,
  type RealmChange,
  type ReviewInput,
} from '../../src/review/index.js'

declare const principals: Principal[]

describe('review types', () => {
  it('accessMatrix and diffAccess return typed values', () => {
    const input: ReviewInput = { principals }
    expectTypeOf(accessMatrix(input)).toEqualTypeOf<AccessMatrix>()
    expectTypeOf(accessMatrix(input).users[0]!.grants[0]!).toEqualTypeOf<AccessGrant>()
    expectTypeOf(diffAccess(input, input)).toEqualTypeOf<AccessDiff>()
    expectTypeOf<AccessChange['change']>().toEqualTypeOf<'gained' | 'lost' | 'changed'>()
    expectTypeOf<AccessGrant['highlight']>().toEqualTypeOf<'admin' | 'unfiltered-share' | undefined>()
  })

  it('realm changes narrow on kind', () => {
    const describeChange = (c: RealmChange): string => {
      if (c.kind === 'group-role') return `${c.group} ${c.role}`
      if (c.kind === 'attribute') {
        expectTypeOf(c.before).toEqualTypeOf<readonly string[] | null>()
        return c.attribute
      }
      // @ts-expect-error a user change has no group
      if (c.kind === 'user') return c.group
      return c.description
    }
    expectTypeOf(describeChange).returns.toBeString()
  })

  it('formats are closed unions', () => {
    const matrix = accessMatrix({ principals })
    expectTypeOf(renderAccessReport(matrix, 'html')).toBeString()
    // @ts-expect-error not a report format
    renderAccessReport(matrix, 'pdf')
    // @ts-expect-error csv is a report format, not a diff format
    renderAccessDiff(diffAccess({ principals }, { principals }), 'csv')
  })
})
