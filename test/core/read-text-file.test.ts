import { readFile } from 'node:fs/promises'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readTextFile } from '../../src/core/read-text-file.js'

/** What a read gave: the text, or the error's message and own properties. */
async function outcome(read: Promise<string>): Promise<unknown> {
  try {
    return { text: await read }
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    return { message: e.message, name: e.name, props: { ...e }, isError: e instanceof Error }
  }
}

describe('readTextFile', () => {
  it('gives what fs.promises.readFile(path, "utf8") gives: the text, and the same errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kp-read-'))
    writeFileSync(join(dir, 'realm.json'), '{"realm":"é"}\n')
    const paths = [join(dir, 'realm.json'), join(dir, 'missing.json'), dir, join(dir, 'realm.json', 'below')]
    for (const path of paths) expect(await outcome(readTextFile(path)), path).toEqual(await outcome(readFile(path, 'utf8')))
    expect(await readTextFile(paths[0]!)).toBe('{"realm":"é"}\n')
    expect(await outcome(readTextFile(paths[1]!))).toMatchObject({ props: { code: 'ENOENT', syscall: 'open' } })
  })
})
