import { describe, expectTypeOf, it } from 'vitest'
import { CondaStorePermissions } from '../../src/conda-store/index.js'
import type { CondaStoreEnvironment, CondaStorePermission, EnvironmentAccess } from '../../src/conda-store/index.js'

describe('conda-store types', () => {
  const perms = CondaStorePermissions.create(null)
  it('checks only known permission strings', () => {
    expectTypeOf(perms.can).parameter(0).toEqualTypeOf<CondaStorePermission | readonly CondaStorePermission[]>()
    // @ts-expect-error 'environment::create' is not conda-store's wire value (it is 'environment:create')
    perms.can('environment::create', 'ns/env')
  })
  it('filterEnvironments keeps the element type', () => {
    const names: string[] = ['a/b']
    expectTypeOf(perms.filterEnvironments(names)).toEqualTypeOf<string[]>()
    expectTypeOf(perms.filterEnvironments([] as CondaStoreEnvironment[])).toEqualTypeOf<CondaStoreEnvironment[]>()
    expectTypeOf(perms.explainEnvironments(names)).toEqualTypeOf<EnvironmentAccess<string>[]>()
    // @ts-expect-error visibility is 'readable' | 'listed'
    perms.filterEnvironments(['a/b'], { visibility: 'all' })
  })
})
