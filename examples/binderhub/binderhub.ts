/**
 * A BinderHub component declared with `defineComponent()`: roles of the `binderhub` client whose
 * `component` attribute is `binderhub` grant `build` / `launch` on repositories through their `scopes`
 * attribute, e.g. `build!repo=gitlab.example.com/team/*`. Patterns are segment-wise globs: the example
 * grants `gitlab.example.com/team/proj` but neither `gitlab.example.com/team/sub/proj` nor
 * `gitlab.example.com/team`.
 *
 * In an application, import from the package: `import { defineComponent } from 'keycloak-permissions/components'`.
 * Run the demo with `npx tsx examples/binderhub/binderhub.ts`.
 *
 * @module
 */
import { fileURLToPath } from 'node:url'
import { defineComponent } from '../../src/components/index.js'
import { RealmExportSource } from '../../src/keycloak/index.js'

/**
 * The BinderHub component: "may this user build (or launch) this repository?".
 *
 * @example
 * ```ts
 * import { binderhub } from './binderhub.js'
 * const alice = await RealmExportSource.fromFile('examples/binderhub/realm.json').then((s) => s.resolve('alice'))
 * binderhub.check(alice, 'build', 'gitlab.example.com/team/proj').allowed // true
 * ```
 */
export const binderhub = defineComponent({
  name: 'binderhub',
  actions: ['build', 'launch'],
  resourceKind: 'repo',
  clients: ['binderhub'],
})

/** The realm export next to this file. */
export const realmPath = fileURLToPath(new URL('./realm.json', import.meta.url))

async function demo(): Promise<void> {
  const source = await RealmExportSource.fromFile(realmPath)
  for (const user of ['alice', 'bob', 'carol']) {
    const principal = await source.resolve(user)
    for (const [action, repo] of [
      ['build', 'gitlab.example.com/team/proj'],
      ['build', 'gitlab.example.com/team/sub/proj'],
      ['launch', 'github.com/demos/intro'],
    ] as const) {
      console.log(binderhub.explain(binderhub.check(principal, action, repo)))
    }
    for (const d of binderhub.grants(principal).diagnostics) console.log(`  ${d.severity} ${d.code}: ${d.message}`)
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await demo()
