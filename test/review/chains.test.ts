import { describe, expect, it } from 'vitest'
import { roleChains, type Chain } from '../../src/core/chain.js'
import type { Principal } from '../../src/core/principal.js'
import { condaStorePermissionsFor } from '../../src/conda-store/index.js'
import { jupyterhubPrincipal, sharedDirectories } from '../../src/jupyterhub/index.js'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { generateRealm } from './generate-realm.js'
import {
  accessMatrix,
  chainContext,
  chainLine,
  chainsJson,
  condaStoreBindingChains,
  jupyterhubContributions,
  jupyterhubScopeChains,
  renderAccessReport,
  renderChainsHtml,
  renderChainsMarkdown,
  renderChainsText,
  sharedDirectoryChains,
} from '../../src/review/index.js'

const realm = RealmExportSource.example()
const principal = (user: string) => realm.resolveSync(user)
const lines = (chains: readonly Chain[]) => chains.map(chainLine)
type Path = { kind: string; label: string }[]

// ---- parsers: each format read back into paths, independently of the renderers ----

/** Text tree: every root-to-leaf path. Lines are `<prefix><connector>kind label`, 3 columns per level. */
function parseTextTree(text: string): Path[] {
  const out: Path[] = []
  const stack: Path = []
  const rows = text.split('\n').filter((l) => l !== '')
  const parsed = rows.map((row) => {
    const m = /^((?:│  |   )*)(├─ |└─ )?(\S+) (.*)$/u.exec(row)
    if (!m) throw new Error(`not a tree line: ${row}`)
    const depth = m[2] ? m[1]!.length / 3 + 1 : 0
    return { depth, kind: m[3]!, label: m[4]! }
  })
  parsed.forEach((p, i) => {
    stack.length = p.depth
    stack.push({ kind: p.kind, label: p.label })
    const next = parsed[i + 1]
    if (!next || next.depth <= p.depth) out.push([...stack])
  })
  return out
}

const unescapeMd = (s: string) => s.replace(/\\(.)/gu, '$1')

/** One inline Markdown chain: `_kind_ label → _kind_ label`. */
function parseMarkdownChain(text: string): Path {
  return text.split(' → ').map((step) => {
    const m = /^_(.+?)_ (.*)$/u.exec(step)
    if (!m) throw new Error(`not a markdown step: ${step}`)
    return { kind: unescapeMd(m[1]!), label: unescapeMd(m[2]!) }
  })
}

function parseMarkdownList(md: string): Path[] {
  return md
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const m = /^\d+\. (.*)$/u.exec(l)
      if (!m) throw new Error(`not a list item: ${l}`)
      return parseMarkdownChain(m[1]!)
    })
}

const unescapeHtml = (s: string) => s.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&amp;', '&')

/** One inline HTML chain: `<span class="step" data-kind="K" …>label</span>` per step. */
function parseHtmlChain(html: string): Path {
  return [...html.matchAll(/<span class="step" data-kind="([^"]*)"[^>]*>([^<]*)<\/span>/gu)].map((m) => ({ kind: unescapeHtml(m[1]!), label: unescapeHtml(m[2]!) }))
}

function parseHtmlList(html: string): Path[] {
  return [...html.matchAll(/<li>(.*?)<\/li>/gu)].map((m) => parseHtmlChain(m[1]!))
}

describe('roleChains: one chain per provenance entry', () => {
  it('a role held directly is never drawn under another role (dave: conda_store_viewer)', () => {
    expect(lines(roleChains(principal('dave'), { client: 'conda_store', name: 'conda_store_viewer' }))).toEqual(['dave → conda_store/conda_store_viewer'])
    expect(roleChains(principal('dave'), { client: 'conda_store', name: 'conda_store_developer' })).toEqual([
      [
        { kind: 'user', label: 'dave' },
        { kind: 'group', label: '/developer' },
        { kind: 'role', label: 'conda_store/conda_store_developer' },
      ],
    ])
  })

  it('group → parent group → role; default role; composite', () => {
    expect(roleChains(principal('bob'), { client: 'ws-alpha', name: 'ws_access' })).toEqual([
      [
        { kind: 'user', label: 'bob' },
        { kind: 'group', label: '/projects/ml' },
        { kind: 'parent-group', label: '/projects' },
        { kind: 'role', label: 'ws-alpha/ws_access' },
      ],
    ])
    expect(roleChains(principal('dave'), { client: 'account', name: 'manage-account-links' })).toEqual([
      [
        { kind: 'user', label: 'dave' },
        { kind: 'default-role', label: 'default-roles-example' },
        { kind: 'composite', label: 'account/manage-account' },
        { kind: 'composite', label: 'account/manage-account-links' },
      ],
    ])
    expect(lines(roleChains(principal('erin'), { client: 'jupyterhub', name: 'jupyterhub_developer' }))).toEqual(['erin → /admin → jupyterhub/jupyterhub_admin → jupyterhub/jupyterhub_developer'])
  })

  it('a role held in two ways yields two chains; a composite cycle ends', () => {
    const base = principal('dave')
    const p: Principal = {
      ...base,
      realmRoles: [
        { name: 'a', attributes: {}, via: [{ kind: 'composite', parent: { name: 'b' } }, { kind: 'direct' }] },
        { name: 'b', attributes: {}, via: [{ kind: 'composite', parent: { name: 'a' } }, { kind: 'group', group: '/g', member: '/g/h/i' }] },
      ],
      clientRoles: {},
    }
    expect(lines(roleChains(p, { name: 'a' }))).toEqual(['dave → /g/h/i → /g/h → /g → b → a', 'dave → a'])
    expect(roleChains(p, { name: 'a' })[0]!.map((s) => s.kind)).toEqual(['user', 'group', 'parent-group', 'parent-group', 'role', 'composite'])
    expect(lines(roleChains(p, { name: 'b' }))).toEqual(['dave → a → b', 'dave → /g/h/i → /g/h → /g → b'])
    // A source without provenance: the role alone.
    expect(lines(roleChains({ ...p, realmRoles: [{ name: 'a', attributes: {}, via: [] }] }, { name: 'a' }))).toEqual(['dave → a'])
  })
})

describe('the wrong chains of issue 14 are separate paths now', () => {
  it('dave: global/* through conda_store_developer (group) and conda_store_viewer (direct), side by side', () => {
    const dave = principal('dave')
    const binding = condaStorePermissionsFor(dave).bindings.find((b) => b.arn === 'global/*')!
    expect(lines(condaStoreBindingChains(chainContext(dave), binding))).toEqual([
      'dave → /developer → conda_store/conda_store_developer → nebari login: global-namespace → global/*: developer',
      'dave → conda_store/conda_store_viewer → nebari login: global-namespace → global/*: developer',
    ])
  })

  it('erin: the superadmin binding and the default bindings are two chains', () => {
    const erin = principal('erin')
    const ctx = chainContext(erin)
    const perms = condaStorePermissionsFor(erin)
    const granting = perms.explain('environment::read', 'default/x').grant ?? []
    expect(granting.flatMap((b) => lines(condaStoreBindingChains(ctx, b)))).toEqual([
      'erin → conda-store default bindings → default/*: viewer',
      'erin → conda_store/conda_store_superadmin → nebari login: superadmin → */*: admin',
    ])
  })

  it('alice: access:servers!server=alice/ from each JupyterHub role that holds it, never one role under another', () => {
    const alice = principal('alice')
    const contributions = jupyterhubContributions(chainContext(alice), jupyterhubPrincipal(alice))
    const chains = jupyterhubScopeChains(contributions, 'access:servers!server=alice/')
    expect(lines(chains)).toContain('alice → /analyst → JupyterHub role user → access:servers!server=alice/')
    for (const chain of chains) {
      expect(chain[0]).toEqual({ kind: 'user', label: 'alice' })
      // Exactly one JupyterHub role (a Keycloak role's item or a default role's rule) per chain.
      expect(chain.filter((s) => s.kind === 'item' || s.kind === 'rule')).toHaveLength(1)
    }
  })

  it('shared directories: the path through the mount group only', () => {
    const dave = principal('dave')
    const ctx = chainContext(dave)
    expect(sharedDirectories(dave).mounts.map((m) => lines(sharedDirectoryChains(ctx, m)))).toEqual([
      ['dave → /developer → jupyterhub/allow-group-directory-creation-role → write:shared-mount → /shared/developer'],
      ['dave → /projects/ml → jupyterhub/allow-group-directory-creation-role → write:shared-mount → /shared/ml'],
    ])
  })
})

describe('one grant held by two paths: two separate paths, identical across text, JSON, Markdown and HTML', () => {
  const dave = principal('dave')
  const binding = condaStorePermissionsFor(dave).bindings.find((b) => b.arn === 'global/*')!
  const chains: Chain[] = condaStoreBindingChains(chainContext(dave), binding).map((c) => [...c, { kind: 'resource', label: 'global/r-base' }])
  const expected = chainsJson(chains)

  it('the model has two paths that share only the user and what they grant', () => {
    expect(expected).toHaveLength(2)
    const [a, b] = expected.map((c) => c.map((s) => s.label))
    expect(a!.slice(1, 3)).toEqual(['/developer', 'conda_store/conda_store_developer'])
    expect(b![1]).toBe('conda_store/conda_store_viewer')
    expect(a).not.toContain('conda_store/conda_store_viewer')
    expect(b).not.toContain('conda_store/conda_store_developer')
  })

  it('text tree', () => {
    const text = renderChainsText(chains)
    expect(text).toBe(
      [
        'user dave',
        '├─ group /developer',
        '│  └─ role conda_store/conda_store_developer',
        '│     └─ rule nebari login: global-namespace',
        '│        └─ grant global/*: developer',
        '│           └─ resource global/r-base',
        '└─ role conda_store/conda_store_viewer',
        '   └─ rule nebari login: global-namespace',
        '      └─ grant global/*: developer',
        '         └─ resource global/r-base',
        '',
      ].join('\n'),
    )
    expect(parseTextTree(text)).toEqual(expected)
  })

  it('JSON', () => {
    expect(JSON.parse(JSON.stringify({ chains: chainsJson(chains) })).chains).toEqual(expected)
  })

  it('Markdown', () => {
    const md = renderChainsMarkdown(chains)
    expect(md.split('\n')[0]).toBe('1. _user_ dave → _group_ /developer → _role_ conda\\_store/conda\\_store\\_developer → _rule_ nebari login: global-namespace → _grant_ global/\\*: developer → _resource_ global/r-base')
    expect(parseMarkdownList(md)).toEqual(expected)
  })

  it('HTML', () => {
    const html = renderChainsHtml(chains)
    expect(html.startsWith('<ol class="chains"><li><span class="step" data-kind="user" title="user">dave</span><span class="arrow"> → </span>')).toBe(true)
    expect(parseHtmlList(html)).toEqual(expected)
  })

  it('labels with markup characters survive every format', () => {
    const odd: Chain[] = [
      [
        { kind: 'user', label: 'x' },
        { kind: 'group', label: '/a|b <i>_c_ *d* `e` [f](g) &amp; \\h' },
        { kind: 'item', label: 'admin!namespace=*' },
      ],
      [
        { kind: 'user', label: 'x' },
        { kind: 'role', label: "r'\"" },
        { kind: 'item', label: 'admin!namespace=*' },
      ],
    ]
    const want = chainsJson(odd)
    expect(parseTextTree(renderChainsText(odd))).toEqual(want)
    expect(parseMarkdownList(renderChainsMarkdown(odd))).toEqual(want)
    expect(parseHtmlList(renderChainsHtml(odd))).toEqual(want)
    expect(renderChainsHtml(odd)).not.toContain('<i>')
  })

  it('the report draws the same two paths in JSON, CSV, Markdown and HTML', () => {
    const matrix = accessMatrix({ principals: [dave] })
    const grant = matrix.users[0]!.grants.find((g) => g.component === 'conda-store' && g.resource === 'global/*')!
    const want = chainsJson(grant.chains)
    expect(want).toHaveLength(2)
    expect(want).toEqual(chainsJson(condaStoreBindingChains(chainContext(dave), binding)))

    const json = JSON.parse(renderAccessReport(matrix, 'json'))
    expect(json.users[0].grants.find((g: { resource: string }) => g.resource === 'global/*').chains).toEqual(want)

    const csvRow = renderAccessReport(matrix, 'csv').split('\r\n').find((l) => l.startsWith('dave,conda-store,namespace,global/*,'))!
    expect(csvRow.slice(csvRow.indexOf(',,') + 2).split(' | ')).toEqual(want.map((c) => c.map((s) => s.label).join(' → ')))

    const mdRow = renderAccessReport(matrix, 'md').split('\n').find((l) => l.startsWith('| conda-store | global/\\* |') || l.startsWith('| conda-store | global/* |'))!
    const cells = mdRow.split(/(?<!\\)\|/u).map((c) => c.trim())
    expect(cells[4]!.split('<br>').map(parseMarkdownChain)).toEqual(want)

    const html = renderAccessReport(matrix, 'html')
    const data = JSON.parse(/<script type="application\/json" id="review-data">(.*?)<\/script>/su.exec(html)![1]!)
    const column = data.columns.findIndex((c: [number, string]) => data.components[c[0]] === 'conda-store' && c[1] === 'global/*')
    const cell = data.cells[0].find((c: unknown[]) => c[0] === column)
    // Index i: the row's user, then chains[i] (the page draws the user step back); ~i: chains[i] whole.
    const drawn = (i: number) => (i >= 0 ? [{ kind: 'user', label: 'dave' }, ...parseHtmlChain(data.chains[i])] : parseHtmlChain(data.chains[~i]))
    expect((cell[4] as number[]).map(drawn)).toEqual(want)
  })

  it('the HTML stores a chain shared by many users once: its size grows with cells, not users × chains', () => {
    const data = (users: number) => {
      const source = new RealmExportSource(generateRealm({ users, groups: 10, namespaces: 20, workspaces: 10 }))
      const html = renderAccessReport(accessMatrix({ principals: source.usernames().map((u) => source.resolveSync(u)) }), 'html')
      return JSON.parse(/<script type="application\/json" id="review-data">(.*?)<\/script>/su.exec(html)![1]!)
    }
    const small = data(40)
    const large = data(160)
    const references = (d: { cells: [number, string, number, string, number[]][][] }) => d.cells.flat().reduce((n, c) => n + c[4].length, 0)
    expect(references(large)).toBeGreaterThan(3 * references(small))
    // Chains through groups and roles are shared by the users holding them; only the chains that name
    // their user (the Nebari user namespace, JupyterHub's !user= scopes) are added per user. With the
    // user step kept, every reference would be a chain of its own (growth 1.0 per reference).
    expect(large.chains.length - small.chains.length).toBeLessThan(0.6 * (references(large) - references(small)))
    expect(large.chains.every((c: string) => !c.startsWith('<span class="step" data-kind="user"'))).toBe(true)
  })
})

describe('grantPathChains: a component path with its role expanded from provenance', () => {
  it('user → lead → the role\'s paths → tail', async () => {
    const { grantPathChains, rolesByKey } = await import('../../src/core/chain.js')
    const bob = principal('bob')
    expect(lines(grantPathChains(rolesByKey(bob), 'bob', { role: { client: 'ws-alpha', name: 'ws_access' }, tail: [{ kind: 'rule', label: '/workspaces/{workspace}/**' }] }))).toEqual([
      'bob → /projects/ml → /projects → ws-alpha/ws_access → /workspaces/{workspace}/**',
    ])
    expect(lines(grantPathChains(rolesByKey(bob), 'bob', { lead: [{ kind: 'source', label: 'conda-store default bindings' }], tail: [{ kind: 'grant', label: 'default/*: viewer' }] }))).toEqual([
      'bob → conda-store default bindings → default/*: viewer',
    ])
  })
})

describe('decisionChains: the chains explain draws for one decision', () => {
  it('conda-store (dave, erin): one chain per path, each ending with the resource', async () => {
    const { decisionChains } = await import('../../src/review/index.js')
    const dave = principal('dave')
    const d = condaStorePermissionsFor(dave).explain('environment::update', 'global/r-base')
    expect(lines(decisionChains(dave, d, { component: 'conda-store', resource: 'global/r-base' }))).toEqual([
      'dave → /developer → conda_store/conda_store_developer → nebari login: global-namespace → global/*: developer → global/r-base',
      'dave → conda_store/conda_store_viewer → nebari login: global-namespace → global/*: developer → global/r-base',
    ])
    const erin = principal('erin')
    const e = condaStorePermissionsFor(erin).explain('environment::read', 'default/x')
    expect(lines(decisionChains(erin, e, { component: 'conda-store', resource: 'default/x' }))).toEqual([
      'erin → conda-store default bindings → default/*: viewer → default/x',
      'erin → conda_store/conda_store_superadmin → nebari login: superadmin → */*: admin → default/x',
    ])
    const denied = condaStorePermissionsFor(dave).explain('environment::delete', 'global/r-base')
    expect(decisionChains(dave, denied, { component: 'conda-store', resource: 'global/r-base' })).toEqual([])
  })

  it('workspaces route and profiles', async () => {
    const { decisionChains } = await import('../../src/review/index.js')
    const { workspaceApiPolicy } = await import('../../src/workspaces/index.js')
    const bob = principal('bob')
    const d = workspaceApiPolicy().check({ method: 'GET', path: '/workspaces/ws-alpha/files' }, bob)
    expect(lines(decisionChains(bob, d, { component: 'workspaces', resource: 'GET /workspaces/ws-alpha/files' }))).toEqual([
      'bob → /projects/ml → /projects → ws-alpha/ws_access → /workspaces/{workspace}/** → GET /workspaces/ws-alpha/files',
    ])
    const dave = principal('dave')
    expect(lines(decisionChains(dave, { allowed: true, reason: 'PROFILE_GRANTED', trace: [] }, { component: 'jupyterlab-profiles', resource: 'gpu' }))).toEqual([
      'dave → /developer → jupyterhub/jupyterlab-profiles → profiles=gpu → gpu',
    ])
  })
})
