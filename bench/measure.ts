import { spawnSync } from 'node:child_process'
import { GCProfiler, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Bench } from 'tinybench'
import type { Measurement } from './types.js'

/**
 * Measures each task with tinybench (warm-up, then samples) in the same process and returns
 * the median ns/op and its relative median absolute deviation per task name.
 *
 * For sub-microsecond operations, `batch` runs the task up to that many times per timed sample (the
 * timer's own cost and resolution, tens of nanoseconds, would otherwise be most of what is
 * measured), and `rounds` runs every task that many times in turn, each for `time / rounds`, so
 * that a change in machine load during the run hits every task alike; the result is the median of
 * the rounds' medians.
 */
export async function measure(
  tasks: Record<string, () => unknown>,
  options: { quick: boolean; time?: number; batch?: number; rounds?: number },
): Promise<Record<string, Measurement>> {
  const batch = options.batch ?? 1
  const rounds = options.quick ? 1 : (options.rounds ?? 1)
  const time = (options.time ?? (options.quick ? 100 : 1_000)) / rounds
  const perRound: Record<string, { medianNs: number; madNs: number; samples: number }[]> = {}
  const batches: Record<string, number> = {}
  for (let round = 0; round < rounds; round++) {
    const bench = new Bench({
      time,
      warmupTime: round > 0 ? 10 : options.quick ? 20 : 200,
      iterations: options.quick ? 5 : 10,
    })
    for (const [name, fn] of Object.entries(tasks)) {
      const times = (batches[name] ??= batchFor(fn, batch))
      bench.add(
        name,
        times === 1
          ? fn
          : () => {
              for (let i = 0; i < times; i++) fn()
            },
      )
    }
    await bench.run()
    for (const task of bench.tasks) {
      const result = task.result as any
      const latency = result?.latency
      if (!latency) throw new Error(`bench task ${task.name} produced no result${result?.error ? `: ${result.error}` : ''}`)
      const medianMs: number = latency.p50 ?? latency.median
      const madMs: number = latency.mad ?? 0
      const times = batches[task.name]!
      ;(perRound[task.name] ??= []).push({
        medianNs: (medianMs * 1e6) / times,
        madNs: (madMs * 1e6) / times,
        samples: (latency.samplesCount ?? latency.samples?.length ?? 0) * times,
      })
    }
  }
  const out: Record<string, Measurement> = {}
  for (const [name, results] of Object.entries(perRound)) {
    const sorted = [...results].sort((a, b) => a.medianNs - b.medianNs)
    const middle = sorted[sorted.length >> 1]!
    out[name] = {
      medianNs: middle.medianNs,
      spreadPct: middle.medianNs > 0 ? (middle.madNs / middle.medianNs) * 100 : 0,
      samples: results.reduce((sum, r) => sum + r.samples, 0),
    }
  }
  return out
}

/**
 * How many calls of `fn` one timed sample makes: up to `most`, fewer for a slow task, so that a sample
 * stays near 10 µs (a task of 10 µs or more is timed call by call).
 */
function batchFor(fn: () => unknown, most: number): number {
  if (most <= 1) return 1
  const start = process.hrtime.bigint()
  let calls = 0
  while (calls < 1_000 && Number(process.hrtime.bigint() - start) < 5e6) {
    fn()
    calls++
  }
  const perCall = Number(process.hrtime.bigint() - start) / calls
  return Math.max(1, Math.min(most, Math.floor(10_000 / perCall)))
}

/**
 * A full garbage collection, for scenarios that time long single runs: each run then starts from the
 * same heap, not from what the previous run left behind. `global.gc` when node runs with `--expose-gc`;
 * otherwise the flag is set at run time and V8's `gc` taken from a fresh context (the flag only adds
 * that function; it changes nothing else).
 */
export function collectGarbage(): void {
  collector ??= (globalThis as { gc?: () => void }).gc ?? exposeGc()
  collector()
}

let collector: (() => void) | undefined

function exposeGc(): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

/** One timed run of a long task: wall time, this process's CPU time and V8's garbage collection in it. */
export interface CpuRun<T> {
  readonly value: T
  readonly wallNs: number
  /** User + system CPU time of the whole process (every thread, V8's garbage-collection helpers included). */
  readonly cpuNs: number
  /** Time V8's GC profile reports for the collections during the run (their phases' elapsed time: a loaded machine stretches it). */
  readonly gcNs: number
  /** Garbage collections during the run, and how many of them were full (mark-compact) ones. */
  readonly gcs: number
  readonly fullGcs: number
  /** The largest used heap V8 saw before a collection during the run, in bytes. */
  readonly peakHeapBytes: number
}

/**
 * Runs `task` once after a full collection and measures it by the wall clock and by process CPU time
 * (`process.cpuUsage`: a single-threaded task's CPU time is what other jobs on a shared machine
 * disturb least), with V8's GC profile of the run. For tasks of seconds; use {@link measure} for short ones.
 */
export async function cpuRun<T>(task: () => T | Promise<T>): Promise<CpuRun<T>> {
  collectGarbage()
  const profiler = new GCProfiler()
  profiler.start()
  const cpu = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  const value = await task()
  const wallNs = Number(process.hrtime.bigint() - t0)
  const used = process.cpuUsage(cpu)
  const profile = profiler.stop() as unknown as {
    statistics: { gcType: string; cost: number; beforeGC: { heapStatistics: { usedHeapSize: number } } }[]
  }
  let gcUs = 0
  let fullGcs = 0
  let peakHeapBytes = 0
  for (const gc of profile.statistics) {
    gcUs += gc.cost
    if (gc.gcType === 'MarkSweepCompact') fullGcs++
    peakHeapBytes = Math.max(peakHeapBytes, gc.beforeGC.heapStatistics.usedHeapSize)
  }
  return { value, wallNs, cpuNs: (used.user + used.system) * 1_000, gcNs: gcUs * 1_000, gcs: profile.statistics.length, fullGcs, peakHeapBytes }
}

/**
 * The median of repeated single runs and their spread: (largest − smallest) ÷ median, in % (with a handful
 * of runs the range says more than a median absolute deviation would).
 */
export function medianOfRuns(values: readonly number[]): Measurement {
  if (values.length === 0) throw new Error('medianOfRuns: no runs')
  const mid = median(values)
  return { medianNs: mid, spreadPct: mid > 0 ? ((Math.max(...values) - Math.min(...values)) / mid) * 100 : 0, samples: values.length }
}

/**
 * Runs `file` (a bench module) in `count` fresh Node processes, one after the other, and returns what
 * each printed as JSON on its last stdout line. For sub-microsecond rows: a process's JIT decisions
 * (inlining, inline-cache states) can move such a row by 2–3× between two processes on the same code,
 * so one process is one sample, and a verdict is taken over several. The children run with this
 * process's Node flags (the TypeScript loader included) and `--bench-child` plus `args`.
 */
export function acrossProcesses<T>(file: string, args: readonly string[], count: number): T[] {
  const out: T[] = []
  for (let i = 0; i < count; i++) {
    const child = spawnSync(process.execPath, [...process.execArgv, file, '--bench-child', ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    if (child.status !== 0) throw new Error(`bench child ${file} failed (status ${child.status}, signal ${child.signal}): ${child.stderr}`)
    const last = child.stdout.trim().split('\n').pop() ?? ''
    out.push(JSON.parse(last) as T)
  }
  return out
}

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median: no values')
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * Per task, over the processes of {@link acrossProcesses}: the median of the processes' medians, the range
 * over processes as the spread (in %), and the samples of all processes.
 */
export function acrossSamples(samples: readonly Record<string, Measurement>[]): Record<string, Measurement> {
  const out: Record<string, Measurement> = {}
  for (const name of Object.keys(samples[0]!)) {
    const runs = medianOfRuns(samples.map((s) => s[name]!.medianNs))
    out[name] = { ...runs, samples: samples.reduce((a, s) => a + s[name]!.samples, 0) }
  }
  return out
}

/**
 * A target's figure over processes: the median of the per-process ratios `numerator ÷ denominator` (each
 * pair timed in the same process), and every process's ratio for the record.
 */
export function ratioAcross(samples: readonly Record<string, Measurement>[], numerator: string, denominator: string): { mid: number; list: string } {
  const ratios = samples.map((s) => s[numerator]!.medianNs / s[denominator]!.medianNs)
  return { mid: median(ratios), list: ratios.length === 1 ? 'one process' : `median of ${ratios.length} processes: ${ratios.map((r) => r.toFixed(2)).join(', ')}` }
}
