/**
 * Renderings of an access review and of a diff: JSON, CSV, Markdown and one self-contained HTML file
 * (inline styles and script, no network access) with a users × resources matrix, a filter box and the
 * grant chain of a cell on click.
 *
 * @module
 */
import type { Chain } from '../core/chain.js'
import type { Diagnostic } from '../core/diagnostics.js'
import { InvalidOptionsError } from '../core/errors.js'
import { htmlEscape, renderChainHtml, renderChainMarkdown, renderChainsText } from './chain-render.js'
import type { AccessDiff } from './diff.js'
import { BUILT_IN_COMPONENTS, type AccessGrant, type AccessMatrix } from './matrix.js'

/**
 * The formats of {@link renderAccessReport}.
 *
 * @example
 * ```ts
 * import type { ReportFormat } from 'keycloak-permissions/review'
 * const f: ReportFormat = 'html'
 * ```
 */
export type ReportFormat = 'json' | 'csv' | 'md' | 'html'

/**
 * The formats of {@link renderAccessDiff}.
 *
 * @example
 * ```ts
 * import type { DiffFormat } from 'keycloak-permissions/review'
 * const f: DiffFormat = 'md'
 * ```
 */
export type DiffFormat = 'json' | 'md' | 'text'

/**
 * Options of {@link renderAccessReport}.
 *
 * @example
 * ```ts
 * import type { ReportOptions } from 'keycloak-permissions/review'
 * const o: ReportOptions = { title: 'Access review — realm example', generatedAt: new Date(0) }
 * ```
 */
export interface ReportOptions {
  /** The HTML and Markdown title (default `Access review`). */
  readonly title?: string
  /** Printed in the HTML and Markdown header when given (inject it: the output stays reproducible). */
  readonly generatedAt?: Date
}

/**
 * The JSON document of a report: `{ users: [{ user, grants: [{ component, resource, level, via, … }], diagnostics }], diagnostics }`.
 *
 * @example
 * ```ts
 * import { accessReportJson } from 'keycloak-permissions/review'
 * JSON.stringify(accessReportJson(matrix))
 * ```
 */
export function accessReportJson(matrix: AccessMatrix): { users: AccessMatrix['users']; diagnostics: readonly Diagnostic[] } {
  return { users: matrix.users, diagnostics: matrix.diagnostics }
}

const FORMULA_START = new Set(['=', '+', '-', '@', '\t', '\r'])

/** One CSV field: quoted when needed, and neutralised when a spreadsheet would read it as a formula. */
function csvField(value: string): string {
  const safe = value.length > 0 && FORMULA_START.has(value[0]!) ? `'${value}` : value
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe
}

function mdCell(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('|', '\\|').replaceAll('`', '\\`').replaceAll('\n', ' ')
}

/**
 * Renders an access review. `json`: {@link accessReportJson}; `csv`: one row per grant
 * (`user,component,kind,resource,level,highlight,via`, chains joined by ` | `; fields a spreadsheet
 * would evaluate are prefixed with `'`); `md`: a section per user and the diagnostics; `html`: one
 * self-contained file (see the module comment).
 *
 * @example
 * ```ts
 * import { accessMatrix, renderAccessReport } from 'keycloak-permissions/review'
 * import { writeFileSync } from 'node:fs'
 * writeFileSync('access.html', renderAccessReport(accessMatrix({ principals, roles }), 'html', { title: 'Access review' }))
 * ```
 */
export function renderAccessReport(matrix: AccessMatrix, format: ReportFormat, options: ReportOptions = {}): string {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', 'must be an object')
  if (options.generatedAt !== undefined && !(options.generatedAt instanceof Date)) throw new InvalidOptionsError('generatedAt', 'must be a Date')
  switch (format) {
    case 'json':
      return `${JSON.stringify(accessReportJson(matrix), null, 2)}\n`
    case 'csv':
      return reportCsv(matrix)
    case 'md':
      return reportMarkdown(matrix, options)
    case 'html':
      return reportHtml(matrix, options)
    default:
      throw new InvalidOptionsError('format', `must be json, csv, md or html, got ${JSON.stringify(format)}`)
  }
}

function reportCsv(matrix: AccessMatrix): string {
  const rows = ['user,component,kind,resource,level,highlight,via']
  for (const u of matrix.users) {
    for (const g of u.grants) rows.push([u.user, g.component, g.kind, g.resource, g.level, g.highlight ?? '', g.via.join(' | ')].map(csvField).join(','))
  }
  return `${rows.join('\r\n')}\r\n`
}

function diagnosticLine(d: Diagnostic): string {
  return `**${d.severity}** \`${d.code}\` ${mdCell(d.message)}${d.fix ? ` — fix: ${mdCell(d.fix)}` : ''}`
}

function reportMarkdown(matrix: AccessMatrix, options: ReportOptions): string {
  const lines = [`# ${mdCell(options.title ?? 'Access review')}`, '']
  if (options.generatedAt) lines.push(`Generated ${options.generatedAt.toISOString()}.`, '')
  const total = matrix.users.reduce((n, u) => n + u.grants.length, 0)
  const disabled = matrix.users.reduce((n, u) => n + (u.disabled === true ? 1 : 0), 0)
  lines.push(`${matrix.users.length} users${disabled > 0 ? ` (${disabled} disabled)` : ''}, ${total} grants, ${matrix.diagnostics.length} lint diagnostics.`, '')
  for (const u of matrix.users) {
    lines.push(`## ${mdCell(u.user)}${u.disabled === true ? ' (disabled)' : ''}`, '')
    if (u.disabled === true) lines.push('Account disabled in Keycloak.', '')
    if (u.grants.length === 0) lines.push('No grants.', '')
    else {
      lines.push('| component | resource | level | via |', '|---|---|---|---|')
      for (const g of u.grants) {
        const level = g.highlight ? `**${mdCell(g.level)}** (${g.highlight})` : mdCell(g.level)
        lines.push(`| ${mdCell(g.component)} | ${mdCell(g.resource)} | ${level} | ${g.chains.map(renderChainMarkdown).join('<br>')} |`)
      }
      lines.push('')
    }
    for (const d of u.diagnostics) lines.push(`- ${diagnosticLine(d)}`)
    if (u.diagnostics.length > 0) lines.push('')
  }
  lines.push('## Lint diagnostics', '')
  if (matrix.diagnostics.length === 0) lines.push('None.')
  for (const d of matrix.diagnostics) lines.push(`- ${diagnosticLine(d)}`)
  return `${lines.join('\n')}\n`
}

/**
 * The matrix column a grant falls in: the user's own conda-store namespace and JupyterHub `!user=` /
 * `!server=` filters on the user themself collapse to `{self}`, so 1,000 users share one column.
 *
 * @example
 * ```ts
 * import { matrixColumn } from 'keycloak-permissions/review'
 * matrixColumn('bob', { component: 'jupyterhub', resource: 'access:servers!user=bob' }) // 'access:servers!user={self}'
 * matrixColumn('bob', { component: 'conda-store', resource: 'bob/*' })                  // '{self}/*'
 * ```
 */
export function matrixColumn(user: string, grant: Pick<AccessGrant, 'component' | 'resource'>): string {
  const r = grant.resource
  if (grant.component === 'conda-store' && r === `${user}/*`) return '{self}/*'
  if (grant.component === 'jupyterhub') {
    const bang = r.indexOf('!')
    if (bang >= 0) {
      const filter = r.slice(bang + 1)
      if (filter === `user=${user}`) return `${r.slice(0, bang)}!user={self}`
      if (filter.startsWith(`server=${user}/`)) return `${r.slice(0, bang)}!server={self}/${filter.slice(`server=${user}/`.length)}`
    }
  }
  return r
}

interface HtmlData {
  title: string
  generated: string | null
  components: string[]
  /** [component index, label] */
  columns: [number, string][]
  users: string[]
  /** The indexes in `users` of accounts disabled in Keycloak (their rows are marked). */
  disabled: number[]
  /** Per user: [column, level, highlight (0 none, 1 admin, 2 unfiltered-share), resource, chain indexes (i: the user, then chains[i]; ~i: chains[i])]. */
  cells: [number, string, number, string, number[]][][]
  /** Each distinct chain after its user step (or, for a chain not led by the row's user, whole), rendered once by the HTML chain renderer (escaped). */
  chains: string[]
  diagnostics: { severity: string; code: string; message: string; role: string; fix: string }[]
  userDiagnostics: string[][]
}

/** A collision-free key of a chain's steps (each label length-prefixed), cheaper than JSON. */
function stepsKey(steps: Chain): string {
  let key = ''
  for (const s of steps) key += `${s.kind}:${s.label.length}:${s.label}|`
  return key
}

function htmlData(matrix: AccessMatrix, options: ReportOptions): HtmlData {
  const order = new Map<string, number>(BUILT_IN_COMPONENTS.map(([name], i) => [name, i]))
  const componentNames = [...new Set(matrix.users.flatMap((u) => u.grants.map((g) => g.component)))].sort(
    (a, b) => (order.get(a) ?? 99) - (order.get(b) ?? 99) || (a < b ? -1 : a > b ? 1 : 0),
  )
  const componentIndex = new Map(componentNames.map((c, i) => [c, i]))
  const columnKeys = new Map<string, [number, string]>()
  for (const u of matrix.users) {
    for (const g of u.grants) {
      const label = matrixColumn(u.user, g)
      const key = `${g.component}\u0000${label}`
      if (!columnKeys.has(key)) columnKeys.set(key, [componentIndex.get(g.component)!, label])
    }
  }
  const columns = [...columnKeys.values()].sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
  const columnIndex = new Map(columns.map(([c, label], i) => [`${componentNames[c]}\u0000${label}`, i]))
  // Chains are interned without their leading user step (the row's user; the page draws it back), so
  // a chain shared by many users is stored once and the page grows with the users' cells, not with
  // users × chains. Index i: the row's user, then chains[i]; index ~i (negative): chains[i] as it is.
  const chains: string[] = []
  const chainIndex = new Map<string, number>()
  const internSteps = (steps: Chain) => {
    const key = stepsKey(steps)
    let i = chainIndex.get(key)
    if (i === undefined) {
      i = chains.length
      chains.push(renderChainHtml(steps))
      chainIndex.set(key, i)
    }
    return i
  }
  const intern = (user: string, chain: Chain) =>
    chain.length > 1 && chain[0]!.kind === 'user' && chain[0]!.label === user ? internSteps(chain.slice(1)) : ~internSteps(chain)
  const cells = matrix.users.map((u) =>
    u.grants.map((g): [number, string, number, string, number[]] => [
      columnIndex.get(`${g.component}\u0000${matrixColumn(u.user, g)}`)!,
      g.level,
      g.highlight === 'admin' ? 1 : g.highlight === 'unfiltered-share' ? 2 : 0,
      g.resource,
      g.chains.map((c) => intern(u.user, c)),
    ]),
  )
  return {
    title: options.title ?? 'Access review',
    generated: options.generatedAt ? options.generatedAt.toISOString() : null,
    components: componentNames,
    columns,
    users: matrix.users.map((u) => u.user),
    disabled: matrix.users.flatMap((u, i) => (u.disabled === true ? [i] : [])),
    cells,
    chains,
    diagnostics: matrix.diagnostics.map((d) => ({
      severity: d.severity,
      code: d.code,
      message: d.message,
      role: d.subject.role ? (d.subject.role.client === undefined ? d.subject.role.name : `${d.subject.role.client}/${d.subject.role.name}`) : '',
      fix: d.fix ?? '',
    })),
    userDiagnostics: matrix.users.map((u) => u.diagnostics.map((d) => `${d.severity} ${d.code}: ${d.message}`)),
  }
}

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:13px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;background:#fff}
header{padding:10px 16px;border-bottom:1px solid #d0d7de;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
h1{font-size:17px;margin:0}#summary{color:#57606a}#filter{padding:5px 8px;width:320px;border:1px solid #8c959f;border-radius:6px;font:inherit}
.legend span{display:inline-block;padding:0 6px;margin-right:4px;border-radius:4px}
main{display:flex;height:calc(100vh - 56px)}#wrap{overflow:auto;flex:1;position:relative}
table{border-collapse:separate;border-spacing:0}th,td{border-right:1px solid #eaeef2;border-bottom:1px solid #eaeef2;padding:0;white-space:nowrap}
thead th{position:sticky;background:#f6f8fa;z-index:2}thead tr.groups th{top:0;height:24px;padding:2px 6px;text-align:left;border-bottom:1px solid #d0d7de;font-weight:600}
thead tr.cols th{top:24px;height:150px;vertical-align:bottom;padding:4px 2px;font-weight:400}
thead tr.cols th div{writing-mode:vertical-rl;transform:rotate(180deg);max-height:142px;overflow:hidden;text-overflow:ellipsis}
th.user{position:sticky;left:0;z-index:3;background:#f6f8fa;text-align:left;padding:2px 8px;min-width:140px;font-weight:500}
thead th.user{z-index:4}td{min-width:26px;height:22px;max-height:22px;text-align:center;font-size:11px;cursor:default}
td.g{background:#ddf4ff;cursor:pointer}td.g.admin{background:#ffd8b5;font-weight:600}td.g.share{background:#ffebe9;font-weight:600}
td.g:hover,td.sel{outline:2px solid #0969da;outline-offset:-2px}tr.sp td{border:0}
aside{width:380px;border-left:1px solid #d0d7de;padding:12px;overflow:auto;background:#fbfcfd}aside h2{font-size:14px;margin:0 0 8px}
#details ol{padding-left:18px}#details li{margin-bottom:6px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-word}
.step[data-kind=user]{font-weight:600}.step[data-kind=group],.step[data-kind=parent-group]{color:#0550ae}.step[data-kind=role],.step[data-kind=default-role],.step[data-kind=composite]{color:#8250df}
.step[data-kind=grant]{font-weight:600}.arrow{color:#57606a}
tr.disabled th.user{color:#57606a;text-decoration:line-through}tr.disabled th.user .off{text-decoration:none;font-weight:400}
.diag{margin-top:14px}.diag li{margin-bottom:4px}.sev-error{color:#cf222e}.sev-warning{color:#9a6700}.sev-info{color:#57606a}
`

const SCRIPT = `
(function(){
var D=JSON.parse(document.getElementById('review-data').textContent);
var esc=function(s){return String(s).replace(/[&<>"']/g,function(c){return {'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]})};
var lv=function(l){var m={admin:'A',developer:'D',viewer:'V',listed:'L',granted:'\\u25CF',write:'W',select:'\\u25CF','platform-admin':'PA'};return m[l]||(l.length<=3?l:l.charAt(0).toUpperCase())};
var off={};D.disabled.forEach(function(u){off[u]=1});
var byUser=D.cells.map(function(row){var m={};row.forEach(function(c){m[c[0]]=c});return m});
var total=D.cells.reduce(function(n,r){return n+r.length},0);
document.getElementById('summary').textContent=D.users.length+' users \\u00d7 '+D.columns.length+' resources, '+total+' grants, '+D.diagnostics.length+' lint diagnostics'+(D.generated?' \\u2014 generated '+D.generated:'');
var table=document.getElementById('matrix'),wrap=document.getElementById('wrap');
// Only the rows in view are in the DOM (1,000 users x hundreds of resources would be ~10^6 cells).
var view={cols:[],rows:[],first:-1,last:-1},rowH=23,BUF=30;
function head(cols){
  var h=['<thead><tr class="groups"><th class="user">component</th>'];var i=0;
  while(i<cols.length){var c=D.columns[cols[i]][0],n=0;while(i<cols.length&&D.columns[cols[i]][0]===c){n++;i++}h.push('<th colspan="'+n+'">'+esc(D.components[c])+'</th>')}
  h.push('</tr><tr class="cols"><th class="user">user</th>');
  cols.forEach(function(k){h.push('<th title="'+esc(D.components[D.columns[k][0]]+' '+D.columns[k][1])+'"><div>'+esc(D.columns[k][1])+'</div></th>')});
  h.push('</tr></thead><tbody></tbody>');return h.join('');
}
function body(force){
  var rows=view.rows,cols=view.cols,thead=table.tHead;
  var top=Math.max(0,wrap.scrollTop-(thead?thead.offsetHeight:0));
  var first=Math.max(0,Math.floor(top/rowH)-BUF),last=Math.min(rows.length,first+Math.ceil(wrap.clientHeight/rowH)+2*BUF);
  if(!force&&first===view.first&&last===view.last)return;view.first=first;view.last=last;
  var span=cols.length+1,h=[];
  if(first>0)h.push('<tr class="sp" style="height:'+(first*rowH)+'px"><td colspan="'+span+'"></td></tr>');
  for(var r=first;r<last;r++){var u=rows[r],m=byUser[u];h.push(off[u]?'<tr data-u="'+u+'" class="disabled"><th class="user" title="disabled in Keycloak">'+esc(D.users[u])+' <span class="off">(disabled)</span></th>':'<tr data-u="'+u+'"><th class="user">'+esc(D.users[u])+'</th>');
    for(var j=0;j<cols.length;j++){var k=cols[j],c=m[k];if(!c){h.push('<td></td>');continue}
      h.push('<td class="g'+(c[2]===1?' admin':c[2]===2?' share':'')+'" data-c="'+k+'" title="'+esc(c[1])+'">'+esc(lv(c[1]))+'</td>')}
    h.push('</tr>')}
  if(last<rows.length)h.push('<tr class="sp" style="height:'+((rows.length-last)*rowH)+'px"><td colspan="'+span+'"></td></tr>');
  table.tBodies[0].innerHTML=h.join('');
  var probe=table.querySelector('tbody tr[data-u]');if(probe&&probe.offsetHeight>0&&probe.offsetHeight!==rowH){rowH=probe.offsetHeight;body(true)}
}
function render(cols,rows){
  view.cols=cols;view.rows=rows;view.first=view.last=-1;table.innerHTML=head(cols);wrap.scrollTop=0;body(true);
  table.setAttribute('data-rows',String(rows.length));table.setAttribute('data-columns',String(cols.length));
  document.getElementById('shown').textContent=rows.length+' of '+D.users.length+' users, '+cols.length+' of '+D.columns.length+' resources';
}
var ticking=false;wrap.addEventListener('scroll',function(){if(ticking)return;ticking=true;requestAnimationFrame(function(){ticking=false;body(false)})});
function all(n){var a=new Array(n);for(var i=0;i<n;i++)a[i]=i;return a}
function apply(q){
  q=q.trim().toLowerCase();table.setAttribute('data-filter',q);if(!q){render(all(D.columns.length),all(D.users.length));return}
  var cm=all(D.columns.length).filter(function(k){var c=D.columns[k];return (D.components[c[0]]+' '+c[1]).toLowerCase().indexOf(q)>=0});
  var um=all(D.users.length).filter(function(u){return D.users[u].toLowerCase().indexOf(q)>=0});
  var cols,rows;
  if(um.length>0){rows=um;var used={};um.forEach(function(u){D.cells[u].forEach(function(c){used[c[0]]=1})});cols=cm.length>0?cm:all(D.columns.length).filter(function(k){return used[k]})}
  else{cols=cm;rows=all(D.users.length).filter(function(u){return cm.some(function(k){return byUser[u][k]})})}
  render(cols,rows);
}
var timer;document.getElementById('filter').addEventListener('input',function(e){clearTimeout(timer);var v=e.target.value;timer=setTimeout(function(){apply(v)},120)});
var selected;
table.addEventListener('click',function(e){var td=e.target.closest('td.g');if(!td)return;
  if(selected)selected.classList.remove('sel');selected=td;td.classList.add('sel');
  var u=+td.parentNode.getAttribute('data-u'),k=+td.getAttribute('data-c'),c=byUser[u][k];
  var h=['<h2>'+esc(D.users[u])+(off[u]?' (disabled)':'')+' \\u2014 '+esc(D.components[D.columns[k][0]])+'</h2><p><b>resource</b> '+esc(c[3])+'<br><b>level</b> '+esc(c[1])+(c[2]===1?' (admin-level)':c[2]===2?' (unfiltered sharing)':'')+'</p><p><b>granted by</b></p><ol class="chains">'];
  var who='<span class="step" data-kind="user" title="user">'+esc(D.users[u])+'</span><span class="arrow"> \u2192 </span>';
  c[4].forEach(function(i){h.push('<li>'+(i>=0?who+D.chains[i]:D.chains[~i])+'</li>')});h.push('</ol>');
  var ud=D.userDiagnostics[u];if(ud.length){h.push('<p><b>diagnostics of '+esc(D.users[u])+'</b></p><ul>');ud.forEach(function(d){h.push('<li>'+esc(d)+'</li>')});h.push('</ul>')}
  document.getElementById('details').innerHTML=h.join('');
});
var dl=document.getElementById('diagnostics');
if(D.diagnostics.length===0)dl.innerHTML='<li>none</li>';
else dl.innerHTML=D.diagnostics.map(function(d){return '<li><span class="sev-'+esc(d.severity)+'">'+esc(d.severity)+'</span> <code>'+esc(d.code)+'</code> '+(d.role?'<b>'+esc(d.role)+'</b> ':'')+esc(d.message)+(d.fix?' <i>fix: '+esc(d.fix)+'</i>':'')+'</li>'}).join('');
render(all(D.columns.length),all(D.users.length));
})();
`

function reportHtml(matrix: AccessMatrix, options: ReportOptions): string {
  const data = htmlData(matrix, options)
  // Inside <script>, "<" must not appear raw: "</script>" or "<!--" in a name would end or corrupt the block.
  const json = JSON.stringify(data).replaceAll('<', '\\u003c').replaceAll('\u2028', '\\u2028').replaceAll('\u2029', '\\u2029')
  const title = htmlEscape(data.title)
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title><style>${STYLE}</style></head>
<body><header><h1>${title}</h1><input id="filter" type="search" placeholder="Filter users or resources (e.g. bob, ml/*, shares)" aria-label="filter">
<span id="shown"></span><span id="summary"></span>
<span class="legend"><span style="background:#ddf4ff">grant</span><span style="background:#ffd8b5">admin-level</span><span style="background:#ffebe9">unfiltered sharing</span></span></header>
<main><div id="wrap"><table id="matrix"></table></div>
<aside><div id="details"><h2>Grant chain</h2><p>Click a cell to see the chain that grants it.</p></div>
<div class="diag"><h2>Lint diagnostics</h2><ul id="diagnostics"></ul></div></aside></main>
<script type="application/json" id="review-data">${json}</script>
<script>${SCRIPT}</script>
</body></html>
`
}

/**
 * Renders a diff: `json` — `{ changes, lint: { introduced, fixed }, realmChanges }`; `md` — tables of
 * the permission changes and lint changes; `text` — one line per change, for a terminal or a CI log.
 *
 * @example
 * ```ts
 * import { diffAccess, renderAccessDiff } from 'keycloak-permissions/review'
 * console.log(renderAccessDiff(diffAccess(before, after), 'text'))
 * // bob gained workspaces ws-beta (ws_access) ← role ws-beta/ws_access added to group /projects/ml
 * ```
 */
export function renderAccessDiff(diff: AccessDiff, format: DiffFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(diff, null, 2)}\n`
    case 'md':
      return diffMarkdown(diff)
    case 'text':
      return diffText(diff)
    default:
      throw new InvalidOptionsError('format', `must be json, md or text, got ${JSON.stringify(format)}`)
  }
}

function levels(c: AccessDiff['changes'][number]): string {
  if (c.change === 'changed') return `${c.before!.level} → ${c.after!.level}`
  return (c.after ?? c.before)!.level
}

/** The chains to show for a change: how the grant is held now, or (lost) how it was held. */
function changeChains(c: AccessDiff['changes'][number]) {
  return (c.after ?? c.before)?.chains ?? []
}

function diffText(diff: AccessDiff): string {
  const lines: string[] = []
  if (diff.changes.length === 0) lines.push('no permission changes')
  for (const c of diff.changes) {
    lines.push(`${c.user} ${c.change} ${c.component} ${c.resource} (${levels(c)})${c.causes.length ? ` ← ${c.causes.map((x) => x.description).join('; ')}` : ''}`)
    const chains = changeChains(c)
    if (chains.length > 0) lines.push(`  ${c.after ? 'held through' : 'was held through'}:`, renderChainsText(chains, { indent: '    ' }).trimEnd())
  }
  for (const d of diff.lint.introduced) lines.push(`lint introduced: ${d.severity} ${d.code}: ${d.message}`)
  for (const d of diff.lint.fixed) lines.push(`lint fixed: ${d.severity} ${d.code}: ${d.message}`)
  return `${lines.join('\n')}\n`
}

function diffMarkdown(diff: AccessDiff): string {
  const lines = ['# Access diff', '']
  const count = (k: string) => diff.changes.filter((c) => c.change === k).length
  lines.push(`${diff.changes.length} permission changes (${count('gained')} gained, ${count('lost')} lost, ${count('changed')} changed); lint: ${diff.lint.introduced.length} introduced, ${diff.lint.fixed.length} fixed.`, '')
  if (diff.changes.length > 0) {
    lines.push('| user | change | component | resource | level | caused by | held through (was, when lost) |', '|---|---|---|---|---|---|---|')
    for (const c of diff.changes) {
      lines.push(
        `| ${mdCell(c.user)} | ${c.change} | ${mdCell(c.component)} | ${mdCell(c.resource)} | ${mdCell(levels(c))} | ${c.causes.map((x) => mdCell(x.description)).join('<br>')} | ${changeChains(c).map(renderChainMarkdown).join('<br>')} |`,
      )
    }
    lines.push('')
  }
  if (diff.lint.introduced.length + diff.lint.fixed.length > 0) {
    lines.push('## Lint', '')
    for (const d of diff.lint.introduced) lines.push(`- introduced: ${diagnosticLine(d)}`)
    for (const d of diff.lint.fixed) lines.push(`- fixed: ${diagnosticLine(d)}`)
    lines.push('')
  }
  return `${lines.join('\n')}\n`
}
