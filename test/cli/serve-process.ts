import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { request, type IncomingHttpHeaders } from 'node:http'
import { BIN } from './helpers.js'

/** A `keycloak-permissions serve` child process on 127.0.0.1 with an ephemeral port. */
export interface ServeProcess {
  readonly url: string
  readonly child: ChildProcess
  /** What the process wrote to stderr so far. */
  stderr(): string
  /**
   * One request on a connection of its own (no keep-alive pool). Tests that run the CLI synchronously
   * (`cli()`, spawnSync) between requests must use this, not `fetch`: while spawnSync blocks the event
   * loop, the client's idle-socket timer cannot run, the server closes the idle socket at its keep-alive
   * timeout, and the next `fetch` is written to a socket the server has closed ("other side closed";
   * seen in `npm test` with the machine loaded, where one CLI run took longer than that timeout).
   */
  request(path: string, init?: { method?: string; headers?: Record<string, string>; body?: string }): Promise<ServeAnswer>
  stop(): Promise<void>
}

/** An answer of {@link ServeProcess.request}. */
export interface ServeAnswer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly text: string
  json(): any
}

function requestOnce(base: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<ServeAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method: init.method ?? 'GET', headers: init.headers ?? {}, agent: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(init.body)
  })
}

export async function startServe(args: readonly string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 30_000)
    child.stdout!.on('data', (d) => {
      out += d
      const m = /listening on (http:\/\/[^\s]+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`serve exited with ${code}: ${stderr}`))
    })
  })
  return {
    url,
    child,
    stderr: () => stderr,
    request: (path, init) => requestOnce(url, path, init),
    async stop() {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    },
  }
}
