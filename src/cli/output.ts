/** Output helpers: JSON for machines, plain text for pipes, colour only on a TTY. */
import { writeSync } from 'node:fs'

export interface Output {
  readonly json: boolean
  readonly color: boolean
  print(text: string): void
  printJson(value: unknown): void
}

export function createOutput(json: boolean, stream?: NodeJS.WriteStream): Output {
  // JSON has no colour, so it never asks the terminal (which would create process.stdout).
  const color = !json && (stream ?? process.stdout).isTTY === true && !process.env['NO_COLOR']
  const write = stream !== undefined ? (text: string) => void stream.write(text) : json && directStdout ? writeStdoutDirectly : (text: string) => void process.stdout.write(text)
  return {
    json,
    color,
    print: (text) => write(text.endsWith('\n') ? text : `${text}\n`),
    printJson: (value) => write(`${JSON.stringify(value, null, 2)}\n`),
  }
}

let directStdout = false

/**
 * The executable's program (start.ts) writes JSON answers straight to file descriptor 1 instead of
 * through `process.stdout`: creating that stream loads Node's stream machinery (on a pipe, about 16
 * million instructions, 4 ms of every start), which one synchronous write does not need. Writes to a pipe,
 * file or terminal are synchronous either way, so the bytes and their order are the same. Not for a
 * process that captures `process.stdout.write` (tests that run the CLI in-process).
 *
 * @example
 * ```ts
 * writeJsonToDescriptor()
 * process.exitCode = await run(argv)
 * ```
 */
export function writeJsonToDescriptor(): void {
  directStdout = true
}

// Set once a write fell back to process.stdout: from then on every write goes through the stream, so
// that a later direct write cannot overtake bytes the stream still holds.
let stdoutTookOver = false

function writeStdoutDirectly(text: string): void {
  if (stdoutTookOver) return void process.stdout.write(text)
  const bytes = Buffer.from(text, 'utf8')
  let offset = 0
  while (offset < bytes.length) {
    try {
      offset += writeSync(1, bytes, offset)
    } catch (err) {
      // A closed pipe (`… | head`): stop quietly, as the executable does for process.stdout (main.ts).
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') process.exit(process.exitCode ?? 0)
      // Anything else (a non-blocking descriptor that is full, …): the stream takes the rest and
      // handles it as it always did.
      stdoutTookOver = true
      process.stdout.write(bytes.subarray(offset))
      return
    }
  }
}

const codes = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39] } as const

/** Wraps text in an ANSI style when the output allows colour. */
export function style(out: Output, name: keyof typeof codes, text: string): string {
  if (!out.color) return text
  const [open, close] = codes[name]
  return `\u001b[${open}m${text}\u001b[${close}m`
}

/** A simple aligned table (columns padded to the widest cell). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)))
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n')
}
