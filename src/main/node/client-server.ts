/**
 * The node's client port: one HTTP server for the web UI (`/`), `/health`, `/metrics`, and the
 * WebSocket upgrade that opens a chat session.
 *
 * Bounded against clients that hold sockets: at most `maxPendingPerAddress` connections per
 * address that are not welcomed sessions (closed at once past it), at most `maxClients`
 * sessions (HTTP 503 past it), HTTP timeouts for slow requests, and a session's own limit for
 * `hello`. A failure while serving a request or upgrade is contained to that connection.
 *
 * Who may see what: a browser page opens a session only from an allowed origin (./origins.ts);
 * on a node with an access token, a session needs it at `hello`, `/health` shows only
 * `{status, node}` and `/metrics` answers 401 without it in an `Authorization: Bearer` header,
 * and one token gate (./access.ts) slows down every address that keeps giving wrong ones.
 */
import { existsSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import sirv from 'sirv'
import { type Server as WebSocketServerOf, WebSocketServer } from 'ws'
import { CLOSE_GOING_AWAY, MAX_CLIENT_FRAME_BYTES } from '../../shared/protocol.ts'
import { bearerToken, type TokenCheck, TokenGate, TokenThrottle } from './access.ts'
import { contain } from './containment.ts'
import type { NodeCore } from './node-core.ts'
import {
  CLIENT_HEARTBEAT_MS,
  HTTP_HEADERS_TIMEOUT_MS,
  HTTP_KEEP_ALIVE_TIMEOUT_MS,
  HTTP_REQUEST_TIMEOUT_MS,
  HTTP_TIMEOUT_CHECK_MS,
  STOP_GRACE_MS,
} from './options.ts'
import { originAllowed, ownOrigins } from './origins.ts'
import { PendingConnections } from './pending-connections.ts'
import { Session, type SessionHost, SessionSocket } from './session.ts'

/**
 * The web UI's policy: its own scripts and styles only, and WebSockets to any node (a tab
 * fails over to other nodes of the mesh, which live at other addresses).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self' ws: wss:",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

export class ClientServer {
  readonly #core: NodeCore
  readonly #http: Server
  readonly #wss: WebSocketServerOf<typeof SessionSocket>
  readonly #static: ReturnType<typeof sirv> | undefined
  readonly #health: () => object
  readonly #pending: PendingConnections<Duplex>
  readonly #tokens: TokenGate
  /** What every session of this port is given (one object, not one per session). */
  readonly #sessionHost: SessionHost
  /**
   * The 'close' listener of every counted connection: one function, not a closure per socket
   * (an EventEmitter calls its listeners with the emitter as `this`).
   */
  readonly #releaseOnClose: (this: Duplex) => void
  #heartbeat: NodeJS.Timeout | undefined
  /** The bound port, once listening (own pages are at it). */
  #port = 0

  /** @param health builds the `/health` document (the node knows its peers; this server does not) */
  constructor(core: NodeCore, health: () => object) {
    this.#core = core
    this.#health = health
    const dir = core.options.staticDir
    this.#static =
      dir && existsSync(dir)
        ? sirv(dir, {
            etag: true,
            single: false,
            setHeaders: (res) => securityHeaders(res),
          })
        : undefined
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_CLIENT_FRAME_BYTES,
      perMessageDeflate: false,
      WebSocket: SessionSocket,
      // The node keeps its own set of sessions (NodeCore.sessions); ws's would cost each session
      // a Set entry and a listener.
      clientTracking: false,
    })
    const pending = new PendingConnections<Duplex>(core.options.maxPendingPerAddress)
    this.#pending = pending
    this.#releaseOnClose = function (this: Duplex) {
      pending.release(this)
    }
    this.#tokens = new TokenGate(core.options.token, new TokenThrottle(core.options.tokenThrottle))
    this.#sessionHost = {
      nodeId: core.nodeId,
      limits: core.options,
      sink: core,
      rooms: core.rooms,
      store: core.store,
      write: (...args) => core.log.send(...args),
      roomUsers: (room) => core.roomUsers(room),
      meshNodes: () => core.meshNodes(),
      presenceChanged: (room) => core.presenceChanged(room),
      typing: (room, user) => core.typing(room, user),
      welcomed: (session) => {
        this.#pending.release(session.socket)
        session.socket.off('close', this.#releaseOnClose)
      },
      closed: (session) => core.sessionClosed(session),
      checkToken: (session, given) => this.#checkToken(session.socket.remoteAddress ?? '', given),
    }
    this.#http = createServer(
      {
        headersTimeout: HTTP_HEADERS_TIMEOUT_MS,
        requestTimeout: HTTP_REQUEST_TIMEOUT_MS,
        keepAliveTimeout: HTTP_KEEP_ALIVE_TIMEOUT_MS,
        connectionsCheckingInterval: HTTP_TIMEOUT_CHECK_MS,
      },
      (req, res) =>
        contain(
          core,
          'http',
          'an HTTP request',
          () => this.#request(req, res),
          () => {
            if (!res.headersSent) res.writeHead(500)
            res.end()
          },
        ),
    )
    this.#http.on('connection', (socket: Socket) => this.#connection(socket))
    this.#http.on('upgrade', (req, socket, head) =>
      contain(
        core,
        'http',
        'a WebSocket upgrade',
        () => this.#upgrade(req, socket, head),
        () => socket.destroy(),
      ),
    )
    this.#http.on('clientError', (_error, socket) => socket.destroy())
  }

  /** Counts a new connection against its address's bound, or closes it at once past it. */
  #connection(socket: Socket): void {
    const address = socket.remoteAddress ?? ''
    if (!this.#pending.admit(socket, address)) {
      this.#core.logger.debug({ address }, 'closed a connection: its address holds too many')
      socket.destroy()
      return
    }
    socket.on('close', this.#releaseOnClose)
  }

  /** Listens on `host:port` (0 picks a port); resolves with the bound port. */
  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error)
      this.#http.once('error', onError)
      this.#http.listen(port, host, () => {
        this.#http.off('error', onError)
        resolve()
      })
    })
    // Past listening, an error is one accept that failed (out of descriptors, say): the
    // server keeps serving the connections it has and accepts again when it can.
    this.#http.on('error', (error) =>
      this.#core.logger.error({ err: error }, 'the client port failed to accept a connection'),
    )
    this.#heartbeat = setInterval(
      () => contain(this.#core, 'timer', 'the chat heartbeat', () => this.#beat()),
      CLIENT_HEARTBEAT_MS,
    )
    this.#heartbeat.unref()
    this.#port = (this.#http.address() as AddressInfo).port
    return this.#port
  }

  /**
   * Drops sessions that did not answer the last ping, and pings the rest; one sweep over the
   * sessions, which also lets each drop the token buckets it no longer needs.
   */
  #beat(): void {
    for (const session of this.#core.sessions) {
      if (session.awaitingPong) {
        session.terminate()
        continue
      }
      session.ping()
      session.dropFullBudgets()
    }
  }

  #request(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/health' || path === '/metrics') return this.#monitoring(path, req, res)
    const notFound = () => {
      securityHeaders(res)
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
      res.end(this.#static ? 'not found\n' : 'This node serves no web UI (it was not built).\n')
    }
    if (this.#static) this.#static(req, res, notFound)
    else notFound()
  }

  /**
   * `/health` and `/metrics`. On a node with an access token, a request without it in an
   * `Authorization: Bearer` header gets only `{status, node}` from `/health` and 401 from
   * `/metrics`; one from an address that must wait after wrong tokens gets 429.
   */
  #monitoring(path: '/health' | '/metrics', req: IncomingMessage, res: ServerResponse): void {
    const address = req.socket.remoteAddress ?? ''
    const access = this.#checkToken(address, bearerToken(req.headers.authorization))
    if (!access.ok && access.reason === 'wait') {
      res.writeHead(429, { 'retry-after': String(Math.ceil(access.retryAfterMs / 1000)) }).end()
      return
    }
    if (path === '/health') return json(res, access.ok ? this.#health() : this.#publicHealth())
    if (!access.ok) {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="palaver"' }).end()
      return
    }
    this.#core.metrics.text().then(
      (text) =>
        res.writeHead(200, { 'content-type': this.#core.metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    )
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', destroySocket)
    const path = (req.url ?? '/').split('?')[0]
    if (path !== '/') return refuse(socket, 404, 'Not Found')
    if (!this.#originAllowed(req)) {
      this.#core.logger.info(
        { origin: req.headers.origin },
        'refused a chat session from a foreign origin',
      )
      return refuse(socket, 403, 'Forbidden')
    }
    if (this.#core.sessions.size >= this.#core.options.maxClients) {
      this.#core.logger.warn('refused a chat session: the node has all the sessions it takes')
      return refuse(socket, 503, 'Service Unavailable')
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      // From here on ws handles the socket's errors.
      socket.off('error', destroySocket)
      // The upgrade's socket is the request's: a net.Socket, as `req.socket` is typed.
      this.#core.sessionOpened(new Session(ws, req.socket, this.#sessionHost))
    })
  }

  /**
   * A browser page can open a WebSocket to any address, so a session is refused unless its
   * page is this node's own, another node's of the mesh, the desktop app or on the allow list
   * (never judged by the Host header: see ./origins.ts). A request with no Origin comes from a
   * program, not a browser page, and is let through.
   */
  #originAllowed(req: IncomingMessage): boolean {
    return originAllowed(
      req.headers.origin,
      () => ownOrigins(this.#core.options.host, this.#port),
      () => this.#core.allowedOrigins(),
    )
  }

  /** Checks a token from `address`, at `hello` or in a header; wrong ones are logged. */
  #checkToken(address: string, given: string | undefined): TokenCheck {
    const check = this.#tokens.check(address, given)
    if (!check.ok && check.reason !== 'missing') {
      this.#core.logger.info({ address, reason: check.reason }, 'refused an access token')
    }
    return check
  }

  /** What anyone may read of `/health` on a node with an access token. */
  #publicHealth(): object {
    return { status: 'ok', node: { id: this.#core.nodeId, name: this.#core.options.name } }
  }

  /** Closes every session with 1001 and stops listening; bounded by STOP_GRACE_MS. */
  async close(): Promise<void> {
    clearInterval(this.#heartbeat)
    const closed = new Promise<void>((resolve) => this.#http.close(() => resolve()))
    for (const session of this.#core.sessions) session.close(CLOSE_GOING_AWAY, 'node stopping')
    const grace = setTimeout(() => {
      for (const session of this.#core.sessions) session.terminate()
      this.#http.closeAllConnections()
    }, STOP_GRACE_MS)
    this.#http.closeIdleConnections()
    await closed
    clearTimeout(grace)
    this.#wss.close()
  }
}

function json(res: ServerResponse, body: object): void {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}

function securityHeaders(res: ServerResponse): void {
  res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY)
  res.setHeader('x-content-type-options', 'nosniff')
  res.setHeader('referrer-policy', 'no-referrer')
}

/** An 'error' listener for a socket that has no other (one function for every socket). */
function destroySocket(this: Duplex): void {
  this.destroy()
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}
