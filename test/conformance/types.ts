/** One line of a reference vector file (docs/semantics/README.md, "Vector files"). */
export interface Vector {
  id: string
  kind: string
  input: any
  expected: any
  mode?: 'compat'
  ours?: any
  note?: string
  deviation?: string
  error_meaning?: string
  computed_on?: string
  upstream?: unknown
  /** Added by the runner: the file the vector came from. */
  file: string
}

/**
 * The outcome of one vector: `failures` empty means passed; `skip` (with a reason) counts as skipped,
 * which fails the run.
 */
export type VectorOutcome = { failures: string[] } | { skip: string }

/** Runs one vector through the public API and reports what differed. */
export type Adapter = (vector: Vector) => VectorOutcome | Promise<VectorOutcome>

/** kind → adapter. Each component's file exports one of these. */
export type AdapterTable = Record<string, Adapter>
