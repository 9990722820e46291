/**
 * One measured comparison: ours and a peer, measured in the same process run (tinybench), with the
 * median and spread of several samples.
 */
export interface BenchResult {
  /** e.g. `conda-store filter` */
  scenario: string
  /** e.g. `100000 envs x 1000 bindings` */
  size: string
  ours: Measurement
  comparison?: { name: string } & Measurement
  /** comparison median / ours median (> 1 means ours is faster) */
  ratio?: number
  notes?: string
  /** The issue-15 target this row is judged against, in words (e.g. `ours ≤ 1.5× bare lookup`). */
  target?: string
  /** Whether the measured figure meets `target` (set only together with `target`). */
  met?: boolean
  /** For the README's short table: the figure the target is about, in words (e.g. `1.8× bare`). */
  measured?: string
}

export interface Measurement {
  /** median ns per operation */
  medianNs: number
  /** relative median absolute deviation, in % */
  spreadPct: number
  samples: number
}

/** A scenario module exports `run`; bench/run.ts collects every module's results. */
export type Scenario = (options: { quick: boolean }) => Promise<BenchResult[]>
