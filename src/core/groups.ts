/**
 * Keycloak group paths (D12). Full paths (`/projects/ml`) are canonical; a `/` inside a group name
 * is written `~/` and belongs to the name, so `/a/b~/c` is group `b/c` under `a`.
 *
 * @module
 */

/**
 * Splits a full group path into its (unescaped) group names; `[]` for anything that is not a path.
 *
 * @example
 * ```ts
 * import { splitGroupPath } from 'keycloak-permissions'
 * splitGroupPath('/projects/ml') // ['projects', 'ml']
 * splitGroupPath('/a/b~/c')      // ['a', 'b/c']
 * ```
 */
export function splitGroupPath(path: string): string[] {
  if (!path.startsWith('/')) return []
  const names: string[] = []
  let current = ''
  for (let i = 1; i < path.length; i++) {
    const ch = path[i]!
    if (ch === '~' && path[i + 1] === '/') {
      current += '/'
      i++
    } else if (ch === '/') {
      names.push(current)
      current = ''
    } else {
      current += ch
    }
  }
  names.push(current)
  return names
}

/**
 * Builds a full path from group names, escaping `/` inside a name as `~/`.
 *
 * @example
 * ```ts
 * import { joinGroupPath } from 'keycloak-permissions'
 * joinGroupPath(['a', 'b/c']) // '/a/b~/c'
 * ```
 */
export function joinGroupPath(names: readonly string[]): string {
  return '/' + names.map((n) => n.replaceAll('/', '~/')).join('/')
}

/**
 * The group's own (unescaped) name: the last path element.
 *
 * @example
 * ```ts
 * import { groupBasename } from 'keycloak-permissions'
 * groupBasename('/projects/ml') // 'ml'
 * groupBasename('/a/b~/c')      // 'b/c'
 * ```
 */
export function groupBasename(path: string): string {
  const names = splitGroupPath(path)
  return names.length === 0 ? path : names[names.length - 1]!
}

/**
 * The path itself and every ancestor path, outermost first.
 *
 * @example
 * ```ts
 * import { groupWithAncestors } from 'keycloak-permissions'
 * groupWithAncestors('/projects/ml') // ['/projects', '/projects/ml']
 * ```
 */
export function groupWithAncestors(path: string): string[] {
  const names = splitGroupPath(path)
  const out: string[] = []
  for (let i = 1; i <= names.length; i++) out.push(joinGroupPath(names.slice(0, i)))
  return out
}
