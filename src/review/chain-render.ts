/**
 * The renderers of grant chains, one per format: a text tree (and its one-line form), JSON, Markdown
 * and HTML. Every surface that shows why a user holds something (`explain`, `envs`, `resolve`,
 * `report`, `diff`) draws the same chain values with these functions, so the formats cannot disagree.
 *
 * @module
 */
import type { Chain, ChainStep } from '../core/chain.js'

/**
 * One chain on one line, labels only: `bob → /projects/ml → conda_store/ml-team-scopes → admin!namespace=ml → ml/*: admin`
 * (CSV cells, `via` strings, `envs` reasons).
 *
 * @example
 * ```ts
 * import { chainLine } from 'keycloak-permissions/review'
 * chainLine([{ kind: 'user', label: 'dave' }, { kind: 'role', label: 'conda_store/conda_store_viewer' }]) // 'dave → conda_store/conda_store_viewer'
 * ```
 */
export function chainLine(chain: Chain): string {
  return chain.map((s) => s.label).join(' → ')
}

/**
 * Options of {@link renderChainsText}.
 *
 * @example
 * ```ts
 * import type { ChainTextOptions } from 'keycloak-permissions/review'
 * const o: ChainTextOptions = { indent: '  ', kind: (k) => `\u001b[2m${k}\u001b[22m` }
 * ```
 */
export interface ChainTextOptions {
  /** Prepended to every line (default none). */
  readonly indent?: string
  /** Decorates a step kind (e.g. dims it on a terminal); default: as is. */
  readonly kind?: (kind: string) => string
}

interface TreeNode {
  readonly step: ChainStep
  readonly children: TreeNode[]
}

function tree(chains: readonly Chain[]): TreeNode[] {
  const roots: TreeNode[] = []
  for (const chain of chains) {
    let level = roots
    for (const step of chain) {
      let node = level.find((n) => n.step.kind === step.kind && n.step.label === step.label)
      if (!node) {
        node = { step: { kind: step.kind, label: step.label }, children: [] }
        level.push(node)
      }
      level = node.children
    }
  }
  return roots
}

/**
 * The chains as a text tree: steps shared by the start of several chains are drawn once, and every
 * path from the root to a leaf is exactly one chain — two ways to hold a grant are two branches.
 * Each line is `kind label`.
 *
 * ```text
 * user dave
 * ├─ group /developer
 * │  └─ role conda_store/conda_store_developer
 * │     └─ rule nebari login: global-namespace
 * │        └─ grant global/*: developer
 * └─ role conda_store/conda_store_viewer
 *    └─ rule nebari login: global-namespace
 *       └─ grant global/*: developer
 * ```
 *
 * @example
 * ```ts
 * import { renderChainsText } from 'keycloak-permissions/review'
 * process.stdout.write(renderChainsText(chains))
 * ```
 */
export function renderChainsText(chains: readonly Chain[], options: ChainTextOptions = {}): string {
  const indent = options.indent ?? ''
  const kind = options.kind ?? ((k: string) => k)
  const lines: string[] = []
  const walk = (nodes: readonly TreeNode[], prefix: string, root: boolean) => {
    nodes.forEach((node, i) => {
      const last = i === nodes.length - 1
      const connector = root ? '' : last ? '└─ ' : '├─ '
      lines.push(`${indent}${prefix}${connector}${kind(node.step.kind)} ${oneLine(node.step.label)}`)
      walk(node.children, root ? '' : `${prefix}${last ? '   ' : '│  '}`, false)
    })
  }
  walk(tree(chains), '', true)
  return lines.length > 0 ? `${lines.join('\n')}\n` : ''
}

function oneLine(text: string): string {
  return text.replaceAll('\r', '\\r').replaceAll('\n', '\\n')
}

/**
 * The chains as JSON values: an array of chains, each an array of `{ kind, label }`.
 *
 * @example
 * ```ts
 * import { chainsJson } from 'keycloak-permissions/review'
 * JSON.stringify({ chains: chainsJson(chains) })
 * ```
 */
export function chainsJson(chains: readonly Chain[]): { kind: string; label: string }[][] {
  return chains.map((c) => c.map((s) => ({ kind: s.kind, label: s.label })))
}

// Inside a line that starts with `_kind_`, these are the characters Markdown could read as markup.
const MD_SPECIAL = /[\\`*_[\]<>|~&]/g

function mdText(text: string): string {
  return oneLine(text).replace(MD_SPECIAL, (c) => `\\${c}`)
}

/**
 * One chain as inline Markdown (a table cell or a list item): `_kind_ label → _kind_ label …`, labels
 * escaped so that no character is read as Markdown or breaks a table.
 *
 * @example
 * ```ts
 * import { renderChainMarkdown } from 'keycloak-permissions/review'
 * renderChainMarkdown([{ kind: 'user', label: 'dave' }, { kind: 'role', label: 'conda_store/conda_store_viewer' }])
 * // '_user_ dave → _role_ conda\\_store/conda\\_store\\_viewer'
 * ```
 */
export function renderChainMarkdown(chain: Chain): string {
  return chain.map((s) => `_${mdText(s.kind)}_ ${mdText(s.label)}`).join(' → ')
}

/**
 * The chains as a Markdown ordered list, one chain per item.
 *
 * @example
 * ```ts
 * import { renderChainsMarkdown } from 'keycloak-permissions/review'
 * const md = `## Why\n\n${renderChainsMarkdown(chains)}`
 * ```
 */
export function renderChainsMarkdown(chains: readonly Chain[]): string {
  return chains.map((c, i) => `${i + 1}. ${renderChainMarkdown(c)}\n`).join('')
}

/**
 * Escapes text for HTML element content and attribute values.
 *
 * @example
 * ```ts
 * import { htmlEscape } from 'keycloak-permissions/review'
 * htmlEscape('<b>') // '&lt;b&gt;'
 * ```
 */
export function htmlEscape(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;')
}

/**
 * One chain as inline HTML: a `<span class="step" data-kind="…">label</span>` per step, separated by
 * `<span class="arrow"> → </span>` (its text content is {@link chainLine}).
 *
 * @example
 * ```ts
 * import { renderChainHtml } from 'keycloak-permissions/review'
 * `<li>${renderChainHtml(chain)}</li>`
 * ```
 */
export function renderChainHtml(chain: Chain): string {
  return chain
    .map((s) => `<span class="step" data-kind="${htmlEscape(s.kind)}" title="${htmlEscape(s.kind)}">${htmlEscape(s.label)}</span>`)
    .join('<span class="arrow"> → </span>')
}

/**
 * The chains as an HTML ordered list (`<ol class="chains">`), one chain per item.
 *
 * @example
 * ```ts
 * import { renderChainsHtml } from 'keycloak-permissions/review'
 * const panel = `<h2>Why</h2>${renderChainsHtml(chains)}`
 * ```
 */
export function renderChainsHtml(chains: readonly Chain[]): string {
  return `<ol class="chains">${chains.map((c) => `<li>${renderChainHtml(c)}</li>`).join('')}</ol>`
}
