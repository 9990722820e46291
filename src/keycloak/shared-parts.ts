/**
 * What principals of different users have in common, shared instead of copied (memory per cached
 * principal): every member of a group holds the group's roles with the same provenance, so the role
 * objects, their `via` lists, the per-client role lists, the group lists and whole `clientRoles`
 * records of users with the same roles are one frozen object each, built from the source's catalogue.
 *
 * @module
 */
import type { EffectiveRole, RoleAttributes, RoleRef, RoleVia } from '../core/principal.js'

/** The empty role list every principal without roles (on a client, or in the realm) shares. */
export const NO_ROLES: readonly EffectiveRole[] = Object.freeze([])
/** The empty list of strings (groups, audience). */
export const NO_GROUPS: readonly string[] = Object.freeze([])
/** The empty `clientRoles` record. */
export const NO_CLIENT_ROLES: Readonly<Record<string, readonly EffectiveRole[]>> = Object.freeze({})

/**
 * A flat copy of `text` for a key the table keeps. Keys are built with `+` and templates (cheap for a
 * lookup, which is most calls), which in V8 makes a chain of the pieces when long; a chain kept as a
 * key keeps the pieces alive besides its flattened text. Only a key that enters the table is copied.
 */
const flatten = (text: string): string => JSON.parse(JSON.stringify(text)) as string

/** Distinct client-id sequences whose `clientRoles` records get hidden classes (see `SharedParts.clientRoles`). */
export const RECORD_SHAPES_MAX = 4_096

const NO_VIA: readonly RoleVia[] = Object.freeze([])
const DIRECT: RoleVia = Object.freeze({ kind: 'direct' })
const DEFAULT: RoleVia = Object.freeze({ kind: 'default' })

/**
 * A table of frozen, shared principal parts, keyed by what they contain. It holds at most `max`
 * values: past that, new values are still built and frozen but no longer shared (`full: 'stop'`, for
 * a source whose users are few and fixed, such as a realm export), or the table starts over
 * (`full: 'restart'`, for parts built from whatever tokens arrive), so it cannot grow with the number
 * of users a long-lived process sees. Principals keep the parts they hold either way.
 *
 * Keys are built from the ids of already shared parts (a role list is the ids of its roles), so
 * two equal parts get the same object and a part built from unshared pieces is simply not shared.
 */
export class SharedParts {
  readonly #max: number
  readonly #restart: boolean
  readonly #values = new Map<string, object>()
  readonly #ids = new Map<object, number>()
  /** The client-id sequences of records built with a hidden class each (see `clientRoles`). */
  readonly #recordShapes = new Set<string>()

  constructor(max: number, full: 'stop' | 'restart' = 'stop') {
    this.#max = max
    this.#restart = full === 'restart'
    this.#start()
  }

  #start(): void {
    this.#values.clear()
    this.#ids.clear()
    // The constant reasons have ids too: lists of them are keyed by ids like any other.
    for (const constant of [DIRECT, DEFAULT, NO_VIA]) this.#ids.set(constant, this.#ids.size)
  }

  /**
   * Whether a new value may enter the table. A full table that restarts starts over, but the value
   * at hand stays out: its key was made of ids from before, which the new table will give to others.
   */
  #room(): boolean {
    if (this.#values.size < this.#max) return true
    if (this.#restart) this.#start()
    return false
  }

  /** How many values the table holds (for tests and the benchmark's notes). */
  get size(): number {
    return this.#values.size
  }

  /** The shared frozen reference of a role (`{ name }` or `{ client, name }`, as the source wrote it). */
  ref(ref: RoleRef): RoleRef {
    const key = ref.client === undefined ? `r${ref.name}` : `c${ref.client.length}:${ref.client}${ref.name}`
    return this.#share<RoleRef>(key, () => (ref.client === undefined ? { name: ref.name } : { client: ref.client, name: ref.name }))
  }

  /** The shared frozen form of one reason a role is effective. */
  via(via: RoleVia): RoleVia {
    switch (via.kind) {
      case 'direct':
        return DIRECT
      case 'default':
        return DEFAULT
      case 'group':
        return this.#share<RoleVia>(`g${via.group.length}:${via.group}${via.member}`, () => ({ kind: 'group', group: via.group, member: via.member }))
      case 'composite': {
        const parent = this.ref(via.parent)
        const id = this.#ids.get(parent)
        return this.#share<RoleVia>(id === undefined ? undefined : `p${id}`, () => ({ kind: 'composite', parent }))
      }
    }
  }

  /**
   * The shared frozen effective role: the role as the source wrote its reference (`client` absent for
   * a realm role), the catalogue's attribute map (frozen by the caller), and the shared `via` list.
   */
  role(ref: RoleRef, attributes: RoleAttributes, via: readonly RoleVia[]): EffectiveRole {
    const vias = via.length === 0 ? NO_VIA : this.#list('V', via.map((v) => this.via(v)))
    const viasId = this.#ids.get(vias)
    const attributesId = this.#idOf(attributes)
    // The reference goes into the key as text (one string built per role, no table lookup for it).
    const key =
      viasId === undefined || attributesId === undefined
        ? undefined
        : ref.client === undefined
          ? `R${viasId},${attributesId}:${ref.name}`
          : `R${viasId},${attributesId},${ref.client.length}:${ref.client}${ref.name}`
    // Literals of one shape each (no spread): the properties live in the object, not in a second array.
    return this.#share<EffectiveRole>(key, () =>
      ref.client === undefined
        ? { name: ref.name, attributes, via: vias }
        : { client: ref.client, name: ref.name, attributes, via: vias },
    )
  }

  /** The shared frozen list of these roles (already shared by {@link SharedParts.role}, in order). */
  roles(roles: readonly EffectiveRole[]): readonly EffectiveRole[] {
    return roles.length === 0 ? NO_ROLES : this.#list('L', roles)
  }

  /** The shared frozen list of these group paths (in order). */
  groups(paths: readonly string[]): readonly string[] {
    return this.strings('groups', paths)
  }

  /** The shared frozen list of these strings (in order); `kind` names what they are (`aud`, `groups`). */
  strings(kind: string, list: readonly string[]): readonly string[] {
    if (list.length === 0) return NO_GROUPS
    // Each string with its length first, so no two lists make the same key.
    let key = `S${kind}`
    for (const text of list) key += `,${text.length}:${text}`
    return this.#share(key, () => [...list])
  }

  /** The shared frozen list of the space-separated words of `text` (a token's `scope`). */
  words(text: string): readonly string[] {
    return this.#share(`W${text}`, () => text.split(' ').filter((word) => word !== ''))
  }

  /**
   * The shared frozen `clientRoles` record of these (client, shared role list) entries, in order.
   *
   * A record built key by key gets a hidden class (V8) for every distinct sequence of client ids, and
   * another once frozen — about 1 KB per sequence, shared by every record with that sequence. On a
   * realm where users name many different clients the sequences are nearly per user, and those
   * classes were most of the bytes of a cached principal. The first {@link RECORD_SHAPES_MAX}
   * sequences get such records (the cheapest while shared); records of further sequences hold their
   * keys in a table of their own (a dictionary-mode object, about 400 bytes for ten clients, no
   * hidden class of its own but the one freezing it copies).
   */
  clientRoles(entries: ReadonlyArray<readonly [string, readonly EffectiveRole[]]>): Readonly<Record<string, readonly EffectiveRole[]>> {
    if (entries.length === 0) return NO_CLIENT_ROLES
    // A list names its client (its roles carry it), so the lists' ids identify the record.
    const key = this.#key('C', entries.map(([, list]) => list))
    return this.#share(key, () => {
      const sequence = entries.map(([client]) => client).join('\u0000')
      const fast = this.#recordShapes.has(sequence) || this.#recordShapes.size < RECORD_SHAPES_MAX
      if (fast) {
        this.#recordShapes.add(sequence)
        const record: Record<string, readonly EffectiveRole[]> = {}
        // Only "__proto__" needs defineProperty: assigning it would set the prototype instead of adding an entry.
        for (const [client, list] of entries) {
          if (client === '__proto__') Object.defineProperty(record, client, { value: list, enumerable: true, writable: true, configurable: true })
          else record[client] = list
        }
        return record
      }
      // Without a prototype, "__proto__" is an ordinary key and the object starts in dictionary mode;
      // the prototype is set once the keys are in (the record stays a dictionary).
      const record = Object.create(null) as Record<string, readonly EffectiveRole[]>
      for (const [client, list] of entries) record[client] = list
      return Object.setPrototypeOf(record, Object.prototype) as Record<string, readonly EffectiveRole[]>
    })
  }

  #list<T extends object>(tag: string, items: readonly T[]): readonly T[] {
    return this.#share(this.#key(tag, items), () => [...items])
  }

  /** `tag` and the ids of `parts`; undefined when one of them is not shared. */
  #key(tag: string, parts: readonly object[]): string | undefined {
    let key = tag
    for (const part of parts) {
      const id = this.#ids.get(part)
      if (id === undefined) return undefined
      key += `,${id}`
    }
    return key
  }

  /** The id of an object supplied by the caller (an attribute map), registered on first sight. */
  #idOf(value: object): number | undefined {
    const id = this.#ids.get(value)
    if (id !== undefined || !this.#room()) return id
    this.#values.set(`A${this.#ids.size}`, value)
    this.#ids.set(value, this.#ids.size)
    return this.#ids.size - 1
  }

  #share<T extends object>(key: string | undefined, make: () => T): T {
    if (key !== undefined) {
      const held = this.#values.get(key)
      if (held !== undefined) return held as T
    }
    const value = Object.freeze(make())
    if (key !== undefined && this.#room()) {
      this.#values.set(flatten(key), value)
      this.#ids.set(value, this.#ids.size)
    }
    return value
  }
}
