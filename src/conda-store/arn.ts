/**
 * ARNs and matchers (docs/semantics/conda-store.md §4). The default matcher never builds a regular expression:
 * `*` is the only wildcard, everything else is literal, and matching is linear. The compat matcher
 * reproduces upstream's unescaped Python regex with a small dedicated automaton over the subset of
 * regex syntax an ARN can contain (literal, `.`, class-star, `+`, `?`, `^`, `$`), never `new RegExp`.
 *
 * @module
 */
import { CondaArnInvalidError } from './errors.js'

/** conda-store's `ALLOWED_CHARACTERS`, as written upstream (the `-` after `0-9` is literal). */
export const ALLOWED_CHARACTERS = 'A-Za-z0-9-+_@$&?^~.='

const ALLOWED = new Uint8Array(128)
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c)
  if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || '-+_@$&?^~.='.includes(ch)) ALLOWED[c] = 1
}
const STAR = 42
const SLASH = 47
const NEWLINE = 10
const METACHARACTERS = '.+?^$'

/** @internal True when every code unit of `s` from `from` to `to` is an ALLOWED character (or `*` when `star`). */
export function allAllowed(s: string, star = false, from = 0, to = s.length): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    if (c >= 128 || (ALLOWED[c] === 0 && !(star && c === STAR))) return false
  }
  return true
}

/** @internal One part of an ARN, split on `*` once. */
export interface CompiledPart {
  readonly source: string
  /** The literal pieces between `*`s; length 1 means no `*`. */
  readonly pieces: readonly string[]
  /** True when the part consists only of `*`. */
  readonly allStar: boolean
}

/** @internal */
export function compilePart(source: string): CompiledPart {
  const pieces = source.split('*')
  return { source, pieces, allStar: pieces.every((p) => p === '') }
}

/**
 * @internal The literal rule `part(p, t)`: `t` consists only of ALLOWED characters (plus `*` when
 * `starInText`) and matches `p`, where `*` stands for any run of them. Linear: prefix, suffix, then
 * leftmost substring search for each inner piece.
 */
export function matchPart(p: CompiledPart, t: string, starInText = false, from = 0, to = t.length): boolean {
  return allAllowed(t, starInText, from, to) && matchPieces(p, t, from, to)
}

/** @internal {@link matchPart} for text already known to consist of ALLOWED characters. */
export function matchPieces(p: CompiledPart, t: string, from = 0, to = t.length): boolean {
  const pieces = p.pieces
  if (pieces.length === 1) return to - from === pieces[0]!.length && t.startsWith(pieces[0]!, from)
  const first = pieces[0]!
  const last = pieces[pieces.length - 1]!
  if (to - from < first.length + last.length) return false
  if (!t.startsWith(first, from)) return false
  const end = to - last.length
  if (!t.startsWith(last, end)) return false
  let pos = from + first.length
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i]!
    if (piece === '') continue
    const at = t.indexOf(piece, pos)
    if (at < 0 || at + piece.length > end) return false
    pos = at + piece.length
  }
  return true
}

/**
 * A validated binding pattern, ready for matching. Build with {@link compileArn}.
 *
 * @example
 * ```ts
 * import { compileArn } from 'keycloak-permissions/conda-store'
 * const arn = compileArn('analyst/*')
 * arn.namespace // 'analyst'
 * ```
 */
export interface CompiledArn {
  readonly arn: string
  readonly namespace: string
  readonly name: string
  /** The pattern contains `. + ? ^ $` (lint `CONDA_ARN_METACHARACTER`): upstream reads them as regex. */
  readonly hasMetacharacter: boolean
  /** Compat only: upstream's regex cannot be reproduced (`CONDA_ARN_UNSUPPORTED_PATTERN`); it matches nothing. */
  readonly unsupported: boolean
  /** @internal */
  readonly ns: CompiledPart
  /** @internal */
  readonly nm: CompiledPart
  /** @internal Needs the automaton in compat (metacharacters or an accepted trailing newline). */
  readonly complexInCompat: boolean
}

/**
 * Validates and compiles a binding pattern. Throws {@link CondaArnInvalidError} (`CONDA_ARN_INVALID`)
 * when it breaks the grammar. With `compat: 'conda-store'` one trailing `\n` is accepted, as
 * upstream's `re.match(...$)` does.
 *
 * @example
 * ```ts
 * import { compileArn } from 'keycloak-permissions/conda-store'
 * compileArn('a.b/*').hasMetacharacter // true
 * compileArn('ns/') // throws CondaArnInvalidError
 * ```
 */
export function compileArn(arn: string, options: { compat?: 'conda-store' } = {}): CompiledArn {
  if (typeof arn !== 'string') throw new CondaArnInvalidError(String(arn))
  const compat = options.compat === 'conda-store'
  const body = compat && arn.endsWith('\n') ? arn.slice(0, -1) : arn
  const slash = body.indexOf('/')
  if (slash <= 0 || slash === body.length - 1 || body.indexOf('/', slash + 1) >= 0) throw new CondaArnInvalidError(arn)
  if (!allAllowed(body, true, 0, slash) || !allAllowed(body, true, slash + 1)) throw new CondaArnInvalidError(arn)
  const namespace = arn.slice(0, slash)
  const name = arn.slice(slash + 1)
  let hasMetacharacter = false
  for (const ch of METACHARACTERS) if (body.includes(ch)) hasMetacharacter = true
  return {
    arn,
    namespace,
    name,
    hasMetacharacter,
    unsupported: !supportedRegexPart(namespace) || !supportedRegexPart(name),
    ns: compilePart(namespace),
    nm: compilePart(name),
    complexInCompat: hasMetacharacter || name.endsWith('\n'),
  }
}

/**
 * The lint findings for a pattern: `CONDA_ARN_METACHARACTER` and `CONDA_ARN_UNSUPPORTED_PATTERN`.
 *
 * @example
 * ```ts
 * import { lintArn } from 'keycloak-permissions/conda-store'
 * lintArn('a+/*') // ['CONDA_ARN_METACHARACTER']
 * lintArn('+a/*') // ['CONDA_ARN_METACHARACTER', 'CONDA_ARN_UNSUPPORTED_PATTERN']
 * ```
 */
export function lintArn(arn: string): Array<'CONDA_ARN_METACHARACTER' | 'CONDA_ARN_UNSUPPORTED_PATTERN'> {
  const c = compileArn(arn, { compat: 'conda-store' })
  const out: Array<'CONDA_ARN_METACHARACTER' | 'CONDA_ARN_UNSUPPORTED_PATTERN'> = []
  if (c.hasMetacharacter) out.push('CONDA_ARN_METACHARACTER')
  if (c.unsupported) out.push('CONDA_ARN_UNSUPPORTED_PATTERN')
  return out
}

/**
 * upstream's regex source for a pattern (`compile_arn_regex`): `^NS(?:/NAME)?$` with `*` replaced
 * by the ALLOWED class. For parity checks and `explain`; nothing in this library compiles it.
 *
 * @example
 * ```ts
 * import { upstreamArnRegex } from 'keycloak-permissions/conda-store'
 * upstreamArnRegex('default/*') // '^default(?:/[A-Za-z0-9-+_@$&?^~.=]*)?$'
 * ```
 */
export function upstreamArnRegex(arn: string): string {
  const c = compileArn(arn, { compat: 'conda-store' })
  const cls = `[${ALLOWED_CHARACTERS}]*`
  return `^${c.namespace.replaceAll('*', () => cls)}(?:/${c.name.replaceAll('*', () => cls)})?$`
}

/**
 * upstream's listing patterns (`compile_arn_sql_like`): `*` → `%`, used with SQL `LIKE` (no `ESCAPE`).
 *
 * @example
 * ```ts
 * import { upstreamArnSqlLike } from 'keycloak-permissions/conda-store'
 * upstreamArnSqlLike('my_ns/*') // ['my_ns', '%']
 * ```
 */
export function upstreamArnSqlLike(arn: string): [namespace: string, name: string] {
  const c = compileArn(arn, { compat: 'conda-store' })
  return [c.namespace.replaceAll('*', '%'), c.name.replaceAll('*', '%')]
}

// ---------------------------------------------------------------------------------------------
// Compat: a Thompson automaton for the regex subset an ARN can form. O(text × pattern), no backtracking.

const K_CHAR = 0
const K_ANY = 1
const K_CLASS = 2
const K_CLASS_STAR = 3
const K_SPLIT = 4
const K_BOL = 5
const K_EOL = 6
const K_MATCH = 7

/** @internal A compiled compat automaton: parallel typed arrays (kind, argument, next, alternative). */
export interface Automaton {
  readonly kind: Uint8Array
  readonly arg: Int32Array
  readonly next: Int32Array
  readonly alt: Int32Array
  readonly start: number
}

/** Whether a regex part (as upstream compiles it) is in the subset we reproduce. */
function supportedRegexPart(part: string): boolean {
  let prevQuantifiable = false
  for (let i = 0; i < part.length; i++) {
    const ch = part[i]!
    if (ch === '+' || ch === '?') {
      if (!prevQuantifiable) return false
      prevQuantifiable = false
    } else if (ch === '*' || ch === '^' || ch === '$') {
      prevQuantifiable = false
    } else {
      prevQuantifiable = true
    }
  }
  return true
}

class AutomatonBuilder {
  kind: number[] = []
  arg: number[] = []
  next: number[] = []
  alt: number[] = []
  add(kind: number, arg: number, next: number, alt = -1): number {
    this.kind.push(kind)
    this.arg.push(arg)
    this.next.push(next)
    this.alt.push(alt)
    return this.kind.length - 1
  }
  build(start: number): Automaton {
    return { kind: Uint8Array.from(this.kind), arg: Int32Array.from(this.arg), next: Int32Array.from(this.next), alt: Int32Array.from(this.alt), start }
  }
}

/**
 * Adds the states for `source` ending in `next`, right to left so every state knows its successor
 * at creation; returns the first state.
 */
function buildSequence(b: AutomatonBuilder, source: string, next: number, classWithStar: boolean): number {
  const cps: number[] = []
  for (let i = 0; i < source.length; ) {
    const cp = source.codePointAt(i)!
    cps.push(cp)
    i += cp > 0xffff ? 2 : 1
  }
  let cur = next
  for (let i = cps.length - 1; i >= 0; i--) {
    let cp = cps[i]!
    let q = 0 // 0 none, 43 '+', 63 '?'
    if ((cp === 43 || cp === 63) && i > 0) {
      q = cp
      cp = cps[--i]!
    }
    if (cp === 94) cur = b.add(K_BOL, 0, cur)
    else if (cp === 36) cur = b.add(K_EOL, 0, cur)
    else if (cp === STAR) {
      const split = b.add(K_SPLIT, 0, -1, cur)
      b.next[split] = b.add(classWithStar ? K_CLASS_STAR : K_CLASS, 0, split)
      cur = split
    } else {
      const kind = cp === 46 ? K_ANY : K_CHAR
      if (q === 0) cur = b.add(kind, cp, cur)
      else if (q === 63) {
        const atom = b.add(kind, cp, cur)
        cur = b.add(K_SPLIT, 0, atom, cur)
      } else {
        const split = b.add(K_SPLIT, 0, -1, cur)
        const atom = b.add(kind, cp, split)
        b.next[split] = atom
        cur = atom
      }
    }
  }
  return cur
}

/** @internal The automaton of upstream's authorize regex `^NS(?:/NAME)?$` for a compiled ARN. */
export function authorizeAutomaton(arn: CompiledArn): Automaton {
  const b = new AutomatonBuilder()
  const match = b.add(K_MATCH, 0, -1)
  const eol = b.add(K_EOL, 0, match)
  const name = buildSequence(b, arn.name, eol, false)
  const slash = b.add(K_CHAR, SLASH, name)
  const group = b.add(K_SPLIT, 0, slash, eol)
  const ns = buildSequence(b, arn.namespace, group, false)
  return b.build(b.add(K_BOL, 0, ns))
}

/** @internal The automaton of `re.fullmatch(arn with * → [ALLOWED*]*)` (is_arn_subset). */
export function subsetAutomaton(pattern: string): Automaton {
  const b = new AutomatonBuilder()
  const match = b.add(K_MATCH, 0, -1)
  return b.build(buildSequence(b, pattern, match, true))
}

/**
 * @internal Runs an automaton over `text` (Python semantics: `.` is any code point but `\n`; `$`
 * matches at the end or before one final `\n`). `full`: the match must consume all of `text`
 * (fullmatch); otherwise reaching the match state anywhere suffices (re.match with its own `$`).
 * Thompson simulation: O(text × states), no backtracking.
 */
export function runAutomaton(a: Automaton, text: string, full: boolean): boolean {
  const { kind, arg, next, alt } = a
  const n = kind.length
  const mark = new Int32Array(n).fill(-1)
  let current = new Int32Array(n)
  let following = new Int32Array(n)
  let currentLen = 0
  let followingLen = 0
  const stack = new Int32Array(n * 2 + 2)
  const len = text.length
  let matched = false
  // Adds the closure of `s` at `pos` to `following`.
  const closure = (s: number, pos: number, stamp: number) => {
    let sp = 0
    stack[sp++] = s
    while (sp > 0) {
      const i = stack[--sp]!
      if (mark[i] === stamp) continue
      mark[i] = stamp
      switch (kind[i]) {
        case K_SPLIT:
          stack[sp++] = alt[i]!
          stack[sp++] = next[i]!
          break
        case K_BOL:
          if (pos === 0) stack[sp++] = next[i]!
          break
        case K_EOL:
          if (pos === len || (pos === len - 1 && text.charCodeAt(pos) === NEWLINE)) stack[sp++] = next[i]!
          break
        case K_MATCH:
          if (!full || pos === len) matched = true
          break
        default:
          following[followingLen++] = i
      }
    }
  }
  let stamp = 0
  closure(a.start, 0, stamp)
  ;[current, following] = [following, current]
  currentLen = followingLen
  let pos = 0
  while (!matched && currentLen > 0 && pos < len) {
    const cp = text.codePointAt(pos)!
    const nextPos = pos + (cp > 0xffff ? 2 : 1)
    stamp++
    followingLen = 0
    const allowed = cp < 128 && ALLOWED[cp] === 1
    for (let k = 0; k < currentLen; k++) {
      const i = current[k]!
      const kd = kind[i]
      const ok =
        kd === K_CHAR ? arg[i] === cp : kd === K_ANY ? cp !== NEWLINE : kd === K_CLASS ? allowed : allowed || cp === STAR
      if (ok) closure(next[i]!, nextPos, stamp)
    }
    const t = current
    current = following
    following = t
    currentLen = followingLen
    pos = nextPos
  }
  return matched
}

// ---------------------------------------------------------------------------------------------
// Compat listing: SQL LIKE without ESCAPE.

/**
 * The SQL dialect whose `LIKE` the compat listing reproduces (`postgresql`: case-sensitive, as Nebari
 * runs; `sqlite`: ASCII case-insensitive).
 *
 * @example
 * ```ts
 * import { condaStorePermissionsFor, type LikeDialect } from 'keycloak-permissions/conda-store'
 * const likeDialect: LikeDialect = 'sqlite'
 * const parity = condaStorePermissionsFor(principal, { compat: 'nebari', likeDialect })
 * ```
 */
export type LikeDialect = 'postgresql' | 'sqlite'

function asciiLower(s: string): string {
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : s[i]
  }
  return out
}

/** @internal `text LIKE pattern` (`%` any run, `_` one character), iterative with one backtrack point. */
export function sqlLike(pattern: string, text: string, dialect: LikeDialect): boolean {
  const p = dialect === 'sqlite' ? asciiLower(pattern) : pattern
  const t = dialect === 'sqlite' ? asciiLower(text) : text
  const pc = [...p]
  const tc = [...t]
  let i = 0
  let j = 0
  let starP = -1
  let starT = 0
  while (j < tc.length) {
    if (i < pc.length && (pc[i] === '_' || (pc[i] !== '%' && pc[i] === tc[j]))) {
      i++
      j++
    } else if (i < pc.length && pc[i] === '%') {
      starP = i++
      starT = j
    } else if (starP >= 0) {
      i = starP + 1
      j = ++starT
    } else return false
  }
  while (i < pc.length && pc[i] === '%') i++
  return i === pc.length
}

// ---------------------------------------------------------------------------------------------
// is_arn_subset

/**
 * Whether `arn1 ⊆ arn2` for token minting (upstream `is_arn_subset`, docs/semantics/conda-store.md §4.5): `arn2` used
 * as a pattern in which `*` matches any run of ALLOWED characters or `*` full-matches `arn1`. Default:
 * literal non-`*` characters, part by part; `compat: 'conda-store'`: Python regex semantics.
 *
 * @example
 * ```ts
 * import { isArnSubset } from 'keycloak-permissions/conda-store'
 * isArnSubset('ns/env', 'ns/*') // true
 * isArnSubset('*\/*', 'ns/*')   // false
 * ```
 */
export function isArnSubset(arn1: string, arn2: string, options: { compat?: 'conda-store' } = {}): boolean {
  if (options.compat === 'conda-store') {
    if (!supportedRegexPart(arn2)) return false
    return runAutomaton(subsetAutomaton(arn2), arn1, true)
  }
  const pattern = compileArn(arn2)
  const slash = arn1.indexOf('/')
  if (slash < 0 || arn1.indexOf('/', slash + 1) >= 0) return false
  return matchPart(pattern.ns, arn1, true, 0, slash) && matchPart(pattern.nm, arn1, true, slash + 1)
}
