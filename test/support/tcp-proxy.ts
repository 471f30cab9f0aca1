/**
 * A TCP proxy on 127.0.0.1 for cutting one link between two nodes: it forwards every connection
 * to a target until `cut()`, which destroys the connections it carries and then accepts and at
 * once destroys new ones (a partition the nodes see as resets), until `restore()`.
 */
import { connect, createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

export interface TcpProxy {
  /** `127.0.0.1:PORT`, to give a node as `--peer`. */
  readonly addr: string
  readonly port: number
  /** Connections forwarded so far (each accepted while not cut). */
  readonly forwarded: number
  /** Connections refused so far (each accepted while cut, and destroyed). */
  readonly refused: number
  /** Destroys every connection it carries and refuses new ones until `restore()`. */
  cut(): void
  /** Forwards new connections again. */
  restore(): void
  close(): Promise<void>
}

/**
 * Starts a proxy on 127.0.0.1 (a free port) that forwards to `target` (`host:port`), or to
 * what `target()` says at each connection (for a ring, whose last proxy is made before its
 * target exists); a connection while it says undefined is refused.
 */
export async function startTcpProxy(
  target: string | (() => string | undefined),
): Promise<TcpProxy> {
  const targetNow = typeof target === 'string' ? () => target : target
  const open = new Set<Socket>()
  let isCut = false
  let forwarded = 0
  let refused = 0

  const server = createServer((inbound) => {
    const to = targetNow()
    if (isCut || to === undefined) {
      if (isCut) refused++
      return void inbound.destroy()
    }
    forwarded++
    const at = to.lastIndexOf(':')
    const outbound = connect({ host: to.slice(0, at), port: Number(to.slice(at + 1)) })
    for (const socket of [inbound, outbound]) {
      open.add(socket)
      socket.on('close', () => open.delete(socket))
      // A reset on one side ends both; the error itself is the partition doing its work.
      socket.on('error', () => {})
    }
    inbound.on('close', () => outbound.destroy())
    outbound.on('close', () => inbound.destroy())
    inbound.pipe(outbound)
    outbound.pipe(inbound)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const bound = (server.address() as AddressInfo).port

  return {
    addr: `127.0.0.1:${bound}`,
    port: bound,
    get forwarded() {
      return forwarded
    },
    get refused() {
      return refused
    },
    cut() {
      isCut = true
      for (const socket of open) socket.destroy()
    },
    restore() {
      isCut = false
    },
    async close() {
      isCut = true
      for (const socket of open) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
