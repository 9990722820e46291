import { readFile } from 'node:fs'

/**
 * Reads a UTF-8 text file: the result and the errors of `fs.promises.readFile(path, 'utf8')` (same
 * messages, codes and properties), through Node's callback API. Importing node:fs/promises loads it and
 * the readline and watcher modules it pulls in, about 14 million instructions of every CLI start, while
 * node:fs is loaded before any program runs.
 *
 * @example
 * ```ts
 * const text = await readTextFile('realm.json')
 * ```
 */
export function readTextFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => readFile(path, 'utf8', (err, text) => (err === null ? resolve(text) : reject(err))))
}
