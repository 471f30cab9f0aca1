/**
 * A TCP proxy on 127.0.0.1 for breaking one link between two nodes in the ways a network does:
 *
 * - `cut()` destroys the connections it carries and then accepts and at once destroys new ones
 *   (a partition the nodes see as resets), until `restore()`;
 * - `setDelay(ms)` holds every chunk `ms` before passing it on, in both directions and in order
 *   (a slow link: the nodes see latency, not errors);
 * - `flap(periodMs)` cuts and restores the link by turns (cut for half of each period) until
 *   `restore()`: a link that keeps dropping and coming back.
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
  /** Forwards new connections again (and stops flapping). */
  restore(): void
  /** Holds each chunk `ms` milliseconds before forwarding it (0: at once). */
  setDelay(ms: number): void
  /** Cuts for half of every `periodMs` and forwards for the other half, until `restore()`. */
  flap(periodMs: number): void
  close(): Promise<void>
}

/**
 * Forwards chunks from `from` to `to`, each `delayMs()` after it arrived and never before the
 * chunk ahead of it: one timer per direction, so order holds whatever the delay does.
 */
function forward(from: Socket, to: Socket, delayMs: () => number): void {
  const queue: { due: number; chunk: Buffer }[] = []
  let timer: NodeJS.Timeout | undefined
  const flush = () => {
    timer = undefined
    const now = performance.now()
    while (queue.length > 0 && (queue[0]?.due ?? Infinity) <= now) {
      const next = queue.shift()
      if (next && !to.destroyed) to.write(next.chunk)
    }
    const head = queue[0]
    if (head) timer = setTimeout(flush, Math.max(0, head.due - now))
  }
  from.on('data', (chunk: Buffer) => {
    const delay = delayMs()
    if (delay <= 0 && queue.length === 0) return void to.write(chunk)
    const due = Math.max(performance.now() + delay, queue.at(-1)?.due ?? 0)
    queue.push({ due, chunk })
    timer ??= setTimeout(flush, Math.max(0, due - performance.now()))
  })
  from.on('close', () => {
    clearTimeout(timer)
    queue.length = 0
  })
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
  let delay = 0
  let flapTimer: NodeJS.Timeout | undefined

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
    forward(inbound, outbound, () => delay)
    forward(outbound, inbound, () => delay)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const bound = (server.address() as AddressInfo).port

  const cut = () => {
    isCut = true
    for (const socket of open) socket.destroy()
  }
  const stopFlapping = () => {
    clearInterval(flapTimer)
    flapTimer = undefined
  }

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
      stopFlapping()
      cut()
    },
    restore() {
      stopFlapping()
      isCut = false
    },
    setDelay(ms) {
      delay = ms
    },
    flap(periodMs) {
      stopFlapping()
      cut()
      flapTimer = setInterval(() => (isCut ? (isCut = false) : cut()), periodMs / 2)
      flapTimer.unref()
    },
    async close() {
      stopFlapping()
      cut()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
