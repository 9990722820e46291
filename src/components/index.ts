/**
 * `keycloak-permissions/components`: declare your own Keycloak-attribute component with
 * {@link defineComponent}, and the segment-wise glob matcher the components share.
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
