/**
 * A WebSocket proxy on 127.0.0.1 between a chat client and a node, frame by frame: a test sees
 * each JSON frame going either way, can drop it, and can cut every session at an exact point
 * of the conversation (say, right after a `send` passed and before its `ack` comes back), which
 * a TCP proxy cannot, since it does not see frame boundaries.
 */
import type { AddressInfo } from 'node:net'
import WebSocket, { WebSocketServer } from 'ws'

/** What to do with one frame: pass it on, drop it, or drop it and cut every session. */
export type Verdict = 'pass' | 'drop' | 'cut'

/** A frame as it went through, parsed (or the raw text when it is not JSON). */
export type ProxiedFrame = Record<string, unknown>

export interface WsProxy {
  /** `ws://127.0.0.1:PORT/`, to give a client instead of the node's URL. */
  readonly url: string
  /** Sessions accepted so far (each accepted while not cut). */
  readonly accepted: number
  /** Every frame a client sent, in order, whatever its verdict. */
  readonly toNode: ProxiedFrame[]
  /** Every frame the node sent, in order, whatever its verdict. */
  readonly toClient: ProxiedFrame[]
  /** Decides each frame from a client; every frame passes when unset. */
  onToNode: ((frame: ProxiedFrame) => Verdict) | undefined
  /** Decides each frame from the node; every frame passes when unset. */
  onToClient: ((frame: ProxiedFrame) => Verdict) | undefined
  /**
   * Ends every session abruptly (no close frame: the client sees 1006, as on a lost link) and
   * refuses new ones until `restore()`.
   */
  cut(): void
  /** Accepts sessions again. */
  restore(): void
  close(): Promise<void>
}

function parse(data: string): ProxiedFrame {
  try {
    const value: unknown = JSON.parse(data)
    if (value && typeof value === 'object') return value as ProxiedFrame
  } catch {
    // kept raw below
  }
  return { raw: data }
}

/** Close codes a peer may send in a close frame (1005 and 1006 only describe what happened). */
function sendable(code: number): boolean {
  return (
    code === 1000 ||
    (code >= 3000 && code <= 4999) ||
    (code >= 1001 && code <= 1014 && code !== 1005 && code !== 1006)
  )
}

/** Starts a proxy on a free port of 127.0.0.1 that forwards each session to `target` (a ws URL). */
export async function startWsProxy(target: string): Promise<WsProxy> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
  })
  const sockets = new Set<WebSocket>()
  let isCut = false
  let accepted = 0

  const proxy: WsProxy = {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    get accepted() {
      return accepted
    },
    toNode: [],
    toClient: [],
    onToNode: undefined,
    onToClient: undefined,
    cut() {
      isCut = true
      for (const socket of sockets) socket.terminate()
    },
    restore() {
      isCut = false
    },
    async close() {
      proxy.cut()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }

  server.on('connection', (client) => {
    if (isCut) return void client.terminate()
    accepted++
    const upstream = new WebSocket(target)
    const early: string[] = []
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      // The other side going away ends this one too; the error itself is expected.
      socket.on('error', () => {})
    }
    upstream.on('open', () => {
      for (const data of early.splice(0)) upstream.send(data)
    })
    client.on('message', (data) => {
      const text = data.toString()
      const frame = parse(text)
      proxy.toNode.push(frame)
      const verdict = proxy.onToNode?.(frame) ?? 'pass'
      if (verdict === 'cut') return proxy.cut()
      if (verdict === 'drop') return
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text)
      else early.push(text)
    })
    upstream.on('message', (data) => {
      const text = data.toString()
      const frame = parse(text)
      proxy.toClient.push(frame)
      const verdict = proxy.onToClient?.(frame) ?? 'pass'
      if (verdict === 'cut') return proxy.cut()
      if (verdict === 'pass' && client.readyState === WebSocket.OPEN) client.send(text)
    })
    // Pass a close on with its code (the node's 4001 matters to a client), else just end.
    client.on('close', (code, reason) => {
      if (upstream.readyState === WebSocket.CONNECTING) upstream.terminate()
      else if (sendable(code)) upstream.close(code, reason)
      else upstream.terminate()
    })
    upstream.on('close', (code, reason) => {
      if (sendable(code)) client.close(code, reason)
      else client.terminate()
    })
  })
  return proxy
}
