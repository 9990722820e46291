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
