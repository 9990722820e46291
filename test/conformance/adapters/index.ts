import type { AdapterTable } from '../types.js'
import { condaStoreAdapters } from './conda-store.js'
import { workspaceAdapters } from './workspaces.js'
import { jupyterhubAdapters } from './jupyterhub.js'

/**
 * Every kind the runner knows. Each component contributes a table from its own file
 * (./conda-store.ts, ./jupyterhub.ts, ./workspaces.ts); a kind may appear in one table only.
 */
export const adapters: AdapterTable = mergeTables(workspaceAdapters, jupyterhubAdapters, condaStoreAdapters)

function mergeTables(...tables: AdapterTable[]): AdapterTable {
  const out: AdapterTable = {}
  for (const table of tables) {
    for (const [kind, adapter] of Object.entries(table)) {
      if (Object.hasOwn(out, kind)) throw new Error(`conformance: kind ${kind} has two adapters`)
      out[kind] = adapter
    }
  }
  return out
}
