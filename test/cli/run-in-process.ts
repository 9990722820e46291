import { run } from '../../src/cli/program.js'

/** What one in-process CLI run printed, and its exit status. */
export interface InProcessResult {
  readonly status: number
  readonly stdout: string
  readonly stderr: string
  json(): any
}

/**
 * Runs the CLI in this process (the same `run()` as the binary), capturing stdout and stderr.
 * Runs are serialised: the CLI writes to the process streams and sets `process.exitCode`.
 */
let queue: Promise<unknown> = Promise.resolve()

export function runCli(argv: readonly string[], env: Record<string, string | undefined> = {}): Promise<InProcessResult> {
  const next = queue.then(() => runOnce(argv, env))
  queue = next.catch(() => undefined)
  return next
}

async function runOnce(argv: readonly string[], env: Record<string, string | undefined>): Promise<InProcessResult> {
  let stdout = ''
  let stderr = ''
  const writeOut = process.stdout.write.bind(process.stdout)
  const writeErr = process.stderr.write.bind(process.stderr)
  const saved: Record<string, string | undefined> = {}
  for (const [k, v] of Object.entries({ NO_COLOR: '1', ...env })) {
    saved[k] = process.env[k]
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write
  process.exitCode = undefined
  try {
    const status = await run(argv)
    return { status, stdout, stderr, json: () => JSON.parse(stdout) }
  } finally {
    process.stdout.write = writeOut
    process.stderr.write = writeErr
    process.exitCode = undefined
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}
