import { once } from 'node:events'
import type { Server } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'

/** A server started on 127.0.0.1 with an ephemeral port. */
export async function listen(server: Server): Promise<{ port: number; close(): Promise<void> }> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

export interface RawAnswer {
  status: number
  headers: Record<string, string>
  body: string
  json: () => any
}

/** Parses one HTTP/1.1 response (Content-Length framed, as serve always sends). */
export function parseResponse(text: string): RawAnswer | undefined {
  const end = text.indexOf('\r\n\r\n')
  if (end === -1) return undefined
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  const length = Number(headers['content-length'] ?? 0)
  const body = text.slice(end + 4, end + 4 + length)
  if (Buffer.byteLength(body) < length) return undefined
  return { status: Number(statusLine.split(' ')[1]), headers, body, json: () => JSON.parse(body) }
}

/** Sends raw bytes on a fresh connection and resolves with the first response (no client cleans anything). */
export async function rawRequest(port: number, request: string): Promise<RawAnswer> {
  const socket = connect(port, '127.0.0.1')
  let text = ''
  socket.setEncoding('utf8')
  socket.write(request)
  return new Promise((resolve, reject) => {
    socket.on('data', (d: string) => {
      text += d
      const answer = parseResponse(text)
      if (answer) {
        socket.destroy()
        resolve(answer)
      }
    })
    socket.on('error', reject)
    socket.on('close', () => reject(new Error(`closed without a complete response: ${JSON.stringify(text)}`)))
  })
}

/** A connection that records what it received and when it was closed. */
export interface Tracked {
  socket: Socket
  received: () => string
  closed: Promise<void>
  isClosed: () => boolean
}

export async function openTracked(port: number): Promise<Tracked> {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  let text = ''
  let closed = false
  socket.setEncoding('utf8')
  socket.on('data', (d: string) => (text += d))
  socket.on('error', () => {})
  const done = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true
      resolve()
    }),
  )
  return { socket, received: () => text, closed: done, isClosed: () => closed }
}
