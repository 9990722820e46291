/**
 * `keycloak-permissions/review`: access reviews — who can reach what, and what a realm change would
 * grant or revoke. {@link accessMatrix} lists every effective grant of every user with the chain that
 * grants it (the same component functions `resolve` uses) plus the lint diagnostics;
 * {@link diffAccess} compares two realm snapshots per user, with the realm changes that caused each
 * permission change; the renderers turn either into JSON, CSV, Markdown or a self-contained HTML page.
 *
 * @example
 * ```ts
 * import { RealmExportSource } from 'keycloak-permissions/keycloak'
 * import { accessMatrix, diffAccess, renderAccessReport } from 'keycloak-permissions/review'
 * const snapshot = (s: RealmExportSource) => ({ principals: s.usernames().map((u) => s.resolveSync(u)), roles: s.roles() })
 * const html = renderAccessReport(accessMatrix(snapshot(RealmExportSource.example())), 'html')
 * const diff = diffAccess(snapshot(await RealmExportSource.fromFile('old.json')), snapshot(await RealmExportSource.fromFile('new.json')))
 * ```
 *
 * @module
 */
export { accessMatrix, lintRoles, scopeHighlight, userAccess, BUILT_IN_COMPONENTS } from './matrix.js'
export type { AccessGrant, AccessMatrix, AccessMatrixOptions, GrantHighlight, ReviewInput, ReviewRole, UserAccess } from './matrix.js'
export { diffAccess, isKeycloakBuiltInRole, realmChanges } from './diff.js'
export type { AccessChange, AccessDiff, DiffOptions, GrantState, RealmChange } from './diff.js'
export {
  chainContext,
  componentGrantChains,
  condaStoreBindingChains,
  condaStoreLevel,
  decisionChains,
  extendChains,
  jupyterhubContributions,
  jupyterhubScopeChains,
  profileChains,
  roleGrantChains,
  routeChains,
  sharedDirectoryChains,
} from './chains.js'
export type { ChainContext, CheckedRequest, JupyterHubChainOptions, JupyterHubContribution } from './chains.js'
export { chainLine, chainsJson, htmlEscape, renderChainHtml, renderChainMarkdown, renderChainsHtml, renderChainsMarkdown, renderChainsText } from './chain-render.js'
export type { ChainTextOptions } from './chain-render.js'
export { accessReportJson, matrixColumn, renderAccessDiff, renderAccessReport } from './render.js'
export type { DiffFormat, ReportFormat, ReportOptions } from './render.js'
export {
  ExpectationsInvalidError,
  expectationsJsonSchema,
  expectationsSchema,
  parseExpectations,
  renderExpectationsJUnit,
  renderExpectationsText,
  runExpectations,
} from './expectations.js'
export type { CaseResult, ExpectationCase, ExpectationOutcome, Expectations, ExpectationsInput, ExpectationsReport } from './expectations.js'
