/**
 * `keycloak-permissions/components`: the component registry — the built-in components (conda-store,
 * JupyterHub, shared directories, JupyterLab profiles, workspaces and STAC) and your own, declared with
 * {@link defineComponent}, behind one interface ({@link createRegistry}) — and the segment-wise glob
 * matcher the components share.
 *
 * @module
 */
export { defineComponent, parseItems } from './define.js'
export type {
  Component,
  ComponentDefinition,
  ComponentDecision,
  ComponentGrant,
  ComponentGrammar,
  ComponentReason,
  ParsedItem,
} from './define.js'
export { compileSegmentGlob, matchSegmentGlob } from './glob.js'
export type { SegmentGlob } from './glob.js'
export { createRegistry, registrySettingsSchema, USER_DISABLED } from './registry.js'
export type {
  CheckContext,
  CheckOutcome,
  ComponentCheck,
  ComponentRegistry,
  GrantPath,
  LintableRole,
  RegistryCheck,
  RegistryComponent,
  RegistryExtensions,
  RegistryRoutes,
  RegistrySettings,
  ResourceContext,
  ResourceGrant,
} from './registry.js'
export { HTTP_METHODS, NOT_A_WORKSPACE, routePoliciesFor, routePolicyFor, scopeHighlight } from './builtins.js'
export type { BuiltInSettings } from './builtins.js'
