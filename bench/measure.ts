import { Bench } from 'tinybench'
import type { Measurement } from './types.js'

/**
 * Measures each task with tinybench (warm-up, then samples) in the same process and returns
 * the median ns/op and its relative median absolute deviation per task name.
 */
export async function measure(
  tasks: Record<string, () => unknown>,
  options: { quick: boolean; time?: number },
): Promise<Record<string, Measurement>> {
  const bench = new Bench({
    time: options.time ?? (options.quick ? 100 : 1_000),
    warmupTime: options.quick ? 20 : 200,
    iterations: options.quick ? 5 : 10,
  })
  for (const [name, fn] of Object.entries(tasks)) bench.add(name, fn)
  await bench.run()
  const out: Record<string, Measurement> = {}
  for (const task of bench.tasks) {
    const result = task.result as any
    const latency = result?.latency
    if (!latency) throw new Error(`bench task ${task.name} produced no result${result?.error ? `: ${result.error}` : ''}`)
    const medianMs: number = latency.p50 ?? latency.median
    const madMs: number = latency.mad ?? 0
    out[task.name] = {
      medianNs: medianMs * 1e6,
      spreadPct: medianMs > 0 ? (madMs / medianMs) * 100 : 0,
      samples: latency.samplesCount ?? latency.samples?.length ?? 0,
    }
  }
  return out
}
