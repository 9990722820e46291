import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { BIN } from './helpers.js'

/** A `keycloak-permissions serve` child process on 127.0.0.1 with an ephemeral port. */
export interface ServeProcess {
  readonly url: string
  readonly child: ChildProcess
  /** What the process wrote to stderr so far. */
  stderr(): string
  stop(): Promise<void>
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
    async stop() {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    },
  }
}
