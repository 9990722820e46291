import { expectTypeOf, test } from 'vitest'
import { defineComponent, type ComponentDecision } from '../../src/components/index.js'
import type { Principal } from '../../src/index.js'

test('actions are typed from the definition', () => {
  const c = defineComponent({ name: 'binderhub', actions: ['build', 'launch'], resourceKind: 'repo' })
  expectTypeOf(c.actions).toEqualTypeOf<readonly ('build' | 'launch')[]>()
  expectTypeOf(c.resourceKind).toEqualTypeOf<'repo'>()
  const p = {} as Principal
  expectTypeOf(c.check(p, 'build', 'x')).toEqualTypeOf<ComponentDecision<'build' | 'launch'>>()
  // @ts-expect-error 'delete' is not an action of the component
  c.check(p, 'delete', 'x')
})
