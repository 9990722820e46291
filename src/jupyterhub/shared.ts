/**
 * Shared-directory mounts (docs/semantics/nebari.md §7) and JupyterLab profiles (§8), classic Nebari and its
 * successor pack.
 *
 * @module
 */
import { diagnostic, type Diagnostic } from '../core/diagnostics.js'
import { InvalidOptionsError } from '../core/errors.js'
import { groupBasename } from '../core/groups.js'
import { clientRolesOf, type EffectiveRole, type Principal, type RoleRef } from '../core/principal.js'

/**
 * Which Nebari generation's rules apply: `classic` (nebari-dev/nebari) or `successor`
 * (nebari-data-science-pack).
 *
 * @example
 * ```ts
 * import type { NebariFlavour } from 'keycloak-permissions/jupyterhub'
 * const f: NebariFlavour = 'successor'
 * ```
 */
export type NebariFlavour = 'classic' | 'successor'

/**
 * Options of {@link sharedDirectories}.
 *
 * @example
 * ```ts
 * import type { SharedDirectoryOptions } from 'keycloak-permissions/jupyterhub'
 * const o: SharedDirectoryOptions = { flavour: 'successor', allowlist: ['/projects/ml'] }
 * ```
 */
export interface SharedDirectoryOptions {
  /** Default `classic`. */
  readonly flavour?: NebariFlavour
  /** Default `jupyterhub`. */
  readonly clientId?: string
  /** Successor: the one mount role (default `allow-group-directory-creation-role`). */
  readonly roleName?: string
  /**
   * Role name → full paths of the groups holding it directly (Keycloak's `…/roles/{name}/groups`).
   * Without it, the principal's provenance decides (a role mapped to one of the user's direct groups).
   */
  readonly groupsHoldingRole?: Readonly<Record<string, readonly string[]>>
  /** Successor: only these groups (full paths) may get a mount. */
  readonly allowlist?: readonly string[]
}

/**
 * One mount: the group, the directory name (its basename) and where it appears.
 *
 * @example
 * ```ts
 * import type { SharedMount } from 'keycloak-permissions/jupyterhub'
 * const m: SharedMount = { group: '/projects/ml', name: 'ml', mountPath: '/shared/ml', subPath: 'shared/ml' }
 * ```
 */
export interface SharedMount {
  readonly group: string
  readonly name: string
  readonly mountPath: string
  readonly subPath: string
}

/**
 * The shared directories a user may mount.
 *
 * @example
 * ```ts
 * import { sharedDirectories } from 'keycloak-permissions/jupyterhub'
 * const { groups, mounts } = sharedDirectories(principal)
 * ```
 */
export interface SharedDirectories {
  /** Full paths of the groups whose directory the user mounts, sorted. */
  readonly groups: readonly string[]
  readonly mounts: readonly SharedMount[]
  readonly diagnostics: readonly Diagnostic[]
}

function attr(role: EffectiveRole, key: string): readonly string[] | undefined {
  return Object.hasOwn(role.attributes, key) ? role.attributes[key] : undefined
}

function resolveFlavour(flavour: unknown): NebariFlavour {
  if (flavour === undefined || flavour === 'classic' || flavour === 'successor') return flavour ?? 'classic'
  throw new InvalidOptionsError('flavour', `must be 'classic' or 'successor', got ${JSON.stringify(flavour)}`)
}

function holders(principal: Principal, role: EffectiveRole, ref: RoleRef, options: SharedDirectoryOptions, diagnostics: Diagnostic[]): string[] {
  if (options.groupsHoldingRole && Object.hasOwn(options.groupsHoldingRole, role.name)) return [...options.groupsHoldingRole[role.name]!]
  if (!principal.complete.provenance) {
    diagnostics.push(
      diagnostic('warning', 'SHARED_DIRECTORY_HOLDERS_UNKNOWN', `The source cannot tell which groups hold ${role.name} directly; no mount from it`, { role: ref, component: 'shared-directory' }, {
        fix: 'Pass groupsHoldingRole (the role\'s direct groups) or use a source with provenance',
      }),
    )
    return []
  }
  const out: string[] = []
  for (const via of role.via) if (via.kind === 'group' && via.group === via.member) out.push(via.group)
  return out
}

/**
 * The groups whose shared directory a user may mount (`component = shared-directory`, grant
 * `write:shared-mount`): classic — every effective `jupyterhub`-client role with `component[0]` and
 * `scopes[0]` exactly those, its direct groups ∩ the user's direct groups; successor — the one named
 * role, attributes containing those values. Mounts are `/shared/{basename}`.
 *
 * @example
 * ```ts
 * import { RealmExportSource } from 'keycloak-permissions/keycloak'
 * import { sharedDirectories } from 'keycloak-permissions/jupyterhub'
 * const dave = await RealmExportSource.example().resolve('dave')
 * sharedDirectories(dave).mounts.map((m) => m.mountPath) // ['/shared/developer', '/shared/ml']
 * ```
 */
export function sharedDirectories(principal: Principal, options: SharedDirectoryOptions = {}): SharedDirectories {
  const flavour = resolveFlavour(options.flavour)
  const clientId = options.clientId ?? 'jupyterhub'
  const roleName = options.roleName ?? 'allow-group-directory-creation-role'
  const diagnostics: Diagnostic[] = []
  const granted = new Set<string>()
  for (const role of clientRolesOf(principal, clientId)) {
    const ref: RoleRef = { client: clientId, name: role.name }
    const component = attr(role, 'component')
    const scopes = attr(role, 'scopes')
    let grants: boolean
    if (flavour === 'classic') {
      if ((component !== undefined && component.length === 0) || (scopes !== undefined && scopes.length === 0)) {
        if (component?.[0] === 'shared-directory' || scopes?.[0] === 'write:shared-mount') {
          diagnostics.push(
            diagnostic('warning', 'SHARED_DIRECTORY_ATTRIBUTE_EMPTY', `${role.name}: an empty component or scopes list (upstream raises); no mount`, { role: ref, component: 'shared-directory' }),
          )
        }
      }
      grants = component?.[0] === 'shared-directory' && scopes?.[0] === 'write:shared-mount'
    } else {
      grants = role.name === roleName && (component ?? []).includes('shared-directory') && (scopes ?? []).includes('write:shared-mount')
    }
    if (!grants) continue
    for (const group of holders(principal, role, ref, options, diagnostics)) granted.add(group)
  }
  const userGroups = new Set(principal.groups)
  const allow = flavour === 'successor' && options.allowlist ? new Set(options.allowlist) : undefined
  const groups = [...granted].filter((g) => userGroups.has(g) && (!allow || allow.has(g))).sort()
  const byName = new Map<string, string>()
  const mounts: SharedMount[] = []
  for (const group of groups) {
    const name = groupBasename(group)
    const first = byName.get(name)
    if (first !== undefined) {
      diagnostics.push(
        diagnostic('warning', 'NEBARI_GROUP_BASENAME_COLLISION', `${group} and ${first} share the directory /shared/${name}`, { group, component: 'shared-directory' }, { details: { groups: [first, group], name } }),
      )
      continue
    }
    byName.set(name, group)
    mounts.push({ group, name, mountPath: `/shared/${name}`, subPath: `shared/${name}` })
  }
  return Object.freeze({ groups, mounts, diagnostics })
}

/**
 * A KubeSpawner profile as configured in Nebari (`access`: `all` | `yaml` | `keycloak`).
 *
 * @example
 * ```ts
 * import type { ProfileDefinition } from 'keycloak-permissions/jupyterhub'
 * const gpu: ProfileDefinition = { display_name: 'GPU', slug: 'gpu', access: 'yaml', groups: ['ml'] }
 * ```
 */
export interface ProfileDefinition {
  readonly display_name: string
  readonly slug?: string
  readonly access?: string
  readonly groups?: readonly string[]
  readonly users?: readonly string[]
  readonly [key: string]: unknown
}

/**
 * Options of {@link visibleProfiles}.
 *
 * @example
 * ```ts
 * import type { ProfileOptions } from 'keycloak-permissions/jupyterhub'
 * const o: ProfileOptions = { flavour: 'classic', profilesClaim: ['Special'] }
 * ```
 */
export interface ProfileOptions extends SharedDirectoryOptions {
  /** Classic `access: keycloak`: the user's `jupyterlab_profiles` claim (default: the token's claim). */
  readonly profilesClaim?: readonly string[]
  /** Successor: the role listing selectable slugs (default `jupyterlab-profiles`). */
  readonly profilesRoleName?: string
  /** Show profiles with an unknown `access` value (classic upstream). Default: hidden (D1). */
  readonly compat?: boolean
  /** Classic conda-store mounts: the default namespace (default `nebari-git`). */
  readonly defaultNamespace?: string
  /** The mount groups (full paths, in mount order); default: {@link sharedDirectories}. */
  readonly sharedMountGroups?: readonly string[]
}

/**
 * A profile the user may see, with the mounts its server gets.
 *
 * @example
 * ```ts
 * import { visibleProfiles } from 'keycloak-permissions/jupyterhub'
 * visibleProfiles(principal, profiles).profiles.map((p) => p.profile.display_name)
 * ```
 */
export interface VisibleProfile {
  readonly profile: ProfileDefinition
  readonly sharedMounts: readonly string[]
  /** Classic only: `/home/conda/{ns}` for the user, default and global namespaces and group basenames. */
  readonly condaStoreMounts: readonly string[]
}

/**
 * The profile slugs a user may select under the successor's `access: keycloak`: the `profiles`
 * attribute of the `jupyterlab-profiles` client role (`component ∋ jupyterhub-profiles`), held
 * directly or via a group.
 *
 * @example
 * ```ts
 * import { RealmExportSource } from 'keycloak-permissions/keycloak'
 * import { profileSlugs } from 'keycloak-permissions/jupyterhub'
 * profileSlugs(await RealmExportSource.example().resolve('dave')) // ['small', 'gpu']
 * ```
 */
export function profileSlugs(principal: Principal, options: { readonly clientId?: string; readonly profilesRoleName?: string } = {}): string[] {
  const clientId = options.clientId ?? 'jupyterhub'
  const name = options.profilesRoleName ?? 'jupyterlab-profiles'
  const role = clientRolesOf(principal, clientId).find((r) => r.name === name)
  if (!role || !(attr(role, 'component') ?? []).includes('jupyterhub-profiles')) return []
  const slugs: string[] = []
  for (const slug of attr(role, 'profiles') ?? []) if (!slugs.includes(slug)) slugs.push(slug)
  return slugs
}

/**
 * The profiles a user may see (docs/semantics/nebari.md §8) and each one's mounts. `access` missing or `all`:
 * visible; `yaml`: username in `users` or a group basename in `groups`; `keycloak`: classic — the
 * display name in the `jupyterlab_profiles` claim, successor — the slug in {@link profileSlugs}; any
 * other value hidden (`NEBARI_PROFILE_ACCESS_UNKNOWN`) unless `compat`.
 *
 * @example
 * ```ts
 * import { visibleProfiles } from 'keycloak-permissions/jupyterhub'
 * const { profiles } = visibleProfiles(dave, [{ display_name: 'GPU', slug: 'gpu', access: 'keycloak' }], { flavour: 'successor' })
 * ```
 */
export function visibleProfiles(
  principal: Principal,
  profiles: readonly ProfileDefinition[],
  options: ProfileOptions = {},
): { readonly profiles: readonly VisibleProfile[]; readonly diagnostics: readonly Diagnostic[] } {
  const flavour = resolveFlavour(options.flavour)
  const diagnostics: Diagnostic[] = []
  let mountGroups = options.sharedMountGroups
  if (mountGroups === undefined) {
    const shared = sharedDirectories(principal, options)
    diagnostics.push(...shared.diagnostics)
    mountGroups = shared.groups
  }
  const sharedMounts: string[] = []
  for (const g of mountGroups) {
    const path = `/shared/${groupBasename(g)}`
    if (flavour === 'classic' || !sharedMounts.includes(path)) sharedMounts.push(path)
  }
  const basenames = principal.groups.map(groupBasename)
  const userBasenames = new Set(basenames)
  const defaultNamespace = options.defaultNamespace ?? 'nebari-git'
  const condaStoreMounts =
    flavour === 'classic' ? [principal.username, defaultNamespace, 'global', ...basenames].map((ns) => `/home/conda/${ns}`) : []
  const claim = options.profilesClaim ?? claimList(principal.token?.claims?.['jupyterlab_profiles'])
  const slugs = flavour === 'successor' ? new Set(profileSlugs(principal, options)) : new Set<string>()
  const out: VisibleProfile[] = []
  for (const profile of profiles) {
    for (const g of profile.groups ?? []) {
      if (g.includes('/')) {
        diagnostics.push(
          diagnostic('warning', 'NEBARI_PROFILE_GROUP_IS_PATH', `profile ${profile.display_name}: group ${JSON.stringify(g)} is compared with group basenames and never matches`, { item: g, component: 'jupyterlab-profiles' }, {
            fix: `Write the group's basename (${groupBasename(g)})`,
          }),
        )
      }
    }
    const access = profile.access ?? 'all'
    let visible: boolean
    if (access === 'all') visible = true
    else if (access === 'yaml') {
      visible = (profile.users ?? []).includes(principal.username) || (profile.groups ?? []).some((g) => userBasenames.has(g))
    } else if (access === 'keycloak') {
      visible = flavour === 'classic' ? claim.includes(profile.display_name) : profile.slug !== undefined && slugs.has(profile.slug)
    } else {
      visible = options.compat === true
      diagnostics.push(
        diagnostic('warning', 'NEBARI_PROFILE_ACCESS_UNKNOWN', `profile ${profile.display_name}: unknown access ${JSON.stringify(access)}${visible ? ' (shown: compat)' : '; hidden'}`, { item: access, component: 'jupyterlab-profiles' }),
      )
    }
    if (visible) out.push({ profile, sharedMounts: [...sharedMounts], condaStoreMounts: [...condaStoreMounts] })
  }
  return Object.freeze({ profiles: out, diagnostics })
}

function claimList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string')
  if (typeof value === 'string') return [value]
  return []
}
