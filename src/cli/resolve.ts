import type { Principal, RoleVia } from '../core/principal.js'
import { formatRole } from '../core/principal.js'
import type { Output } from './output.js'
import { style } from './output.js'

/** One line per provenance entry: `direct`, `group /projects (member /projects/ml)`, `composite of platform-admin`. */
export function describeVia(via: RoleVia): string {
  switch (via.kind) {
    case 'direct':
      return 'direct'
    case 'default':
      return 'default role'
    case 'group':
      return via.group === via.member ? `group ${via.group}` : `group ${via.group} (inherited by ${via.member})`
    case 'composite':
      return `composite of ${formatRole(via.parent)}`
  }
}

export function printPrincipal(out: Output, principal: Principal): void {
  out.print(`${style(out, 'bold', principal.username)} in realm ${principal.realm}${principal.userId ? ` (id ${principal.userId})` : ''}`)
  out.print(`groups: ${principal.groups.length ? principal.groups.join(', ') : '(none)'}`)
  const { origin } = principal
  const age = Math.max(0, Date.now() - origin.resolvedAt)
  out.print(
    style(out, 'dim', `answered by ${origin.kind}${origin.tier ? ` (${origin.tier === 'source' ? 'fetched now' : `${origin.tier} cache`})` : ''}, ${age} ms old${origin.stale ? ', STALE (source unavailable)' : ''}`),
  )
  const section = (title: string, roles: Principal['realmRoles']) => {
    out.print(style(out, 'bold', title))
    for (const role of roles) {
      const via = role.via.length ? role.via.map(describeVia).join('; ') : 'provenance not available from this source'
      out.print(`  ${role.name}  ${style(out, 'dim', `← ${via}`)}`)
      for (const [key, values] of Object.entries(role.attributes)) out.print(`      ${key} = ${values.map((v) => JSON.stringify(v)).join(', ')}`)
    }
  }
  section('realm roles', principal.realmRoles)
  for (const [client, roles] of Object.entries(principal.clientRoles)) section(`client ${client}`, roles)
}
