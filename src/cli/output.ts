/** Output helpers: JSON for machines, plain text for pipes, colour only on a TTY. */
export interface Output {
  readonly json: boolean
  readonly color: boolean
  print(text: string): void
  printJson(value: unknown): void
}

export function createOutput(json: boolean, stream: NodeJS.WriteStream = process.stdout): Output {
  const color = !json && stream.isTTY === true && !process.env['NO_COLOR']
  return {
    json,
    color,
    print: (text) => void stream.write(text.endsWith('\n') ? text : `${text}\n`),
    printJson: (value) => void stream.write(`${JSON.stringify(value, null, 2)}\n`),
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
