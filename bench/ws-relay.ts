/**
 * The plain `ws` relay that `npm run bench -- --compare` measures Palaver against: a chat server
 * without persistence, signatures, presence or a mesh. It speaks just enough of the client
 * protocol (docs/protocol.md) for the bench's sessions:
 *
 * - `hello` → `welcome`, a keyed user's too: it sends no `challenge` and checks no key;
 * - `join` → `joined` (with no list of users: the relay keeps no presence);
 * - `send` → the message to every member of the room, the sender included, then `ack`.
 *
 * Each message is encoded once and each delivery is one `ws.send`, so one socket write: nothing
 * is stored, batched or corked. Frames are checked with the same parser as a node's, and the
 * relay keeps a node's default bounds (frames per second, rooms, rooms per session, unsent bytes
 * per session), so that the two differ in what a node does with a message, not in what they let
 * a session do.
 *
 * It runs as its own process, so that the bench measures its CPU and memory as it does a node's,
 * and listens on 127.0.0.1 only:
 *
 *   node bench/ws-relay.ts [--port N]     # prints "relay ready: ws://127.0.0.1:PORT/"
 *
 * An error while handling one session's frame closes that session (1011), never the relay.
 */
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { type WebSocket, WebSocketServer } from 'ws'
import {
  CLOSE_INTERNAL_ERROR,
  CLOSE_TOO_SLOW,
  type ErrorCode,
  MAX_CLIENT_FRAME_BYTES,
  parseClientFrame,
  PROTOCOL_VERSION,
  type User,
} from '../src/shared/protocol.ts'
import { shownUser } from '../src/shared/signed-frames.ts'
import {
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_ROOMS,
  DEFAULT_MAX_ROOMS_PER_SESSION,
  DEFAULT_RATE_BURST,
  DEFAULT_RATE_PER_SECOND,
} from '../src/main/node/options.ts'
import { RateLimiter } from '../src/main/node/rate-limiter.ts'

/** Sessions open at once; one more is closed at once (1013). The bench opens at most 20,000. */
const MAX_SESSIONS = 20_000
const HOST = '127.0.0.1'
/** The relay's id in `welcome` and in the ids of the messages it relays. */
const RELAY_ID = 'relay'

interface RelaySession {
  readonly ws: WebSocket
  /** Frames per second, as a node's default `rateLimit`. */
  readonly limiter: RateLimiter
  /** Who said `hello`; undefined before. */
  user: (User & { key?: string }) | undefined
  readonly rooms: Set<string>
}

/** Members of each room; a room is dropped when its last member leaves. Keys come from the wire. */
const rooms = new Map<string, Set<RelaySession>>()
let lastSeq = 0

function send(session: RelaySession, frame: object): void {
  session.ws.send(JSON.stringify(frame))
}

function error(session: RelaySession, code: ErrorCode, message: string, ref?: string): void {
  send(
    session,
    ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref },
  )
}

function onFrame(session: RelaySession, data: Buffer, isBinary: boolean): void {
  if (session.ws.readyState !== session.ws.OPEN) return
  if (isBinary) return error(session, 'bad_request', 'frames are JSON text, not binary')
  const parsed = parseClientFrame(data.toString('utf8'))
  if (!parsed.ok) return error(session, parsed.code, parsed.message, parsed.ref)
  const frame = parsed.frame
  if (!session.limiter.take()) {
    return error(session, 'rate_limited', 'too many frames; slow down', frame.ref)
  }
  if (frame.type === 'hello') {
    if (session.user) return error(session, 'bad_request', 'hello was said already', frame.ref)
    session.user = shownUser(frame.user)
    const node = { id: RELAY_ID, name: RELAY_ID }
    return send(session, { type: 'welcome', protocol: PROTOCOL_VERSION, node, nodes: [] })
  }
  if (!session.user) return error(session, 'hello_required', 'say hello first', frame.ref)
  if (frame.type === 'join') return join(session, frame.room, frame.ref)
  if (frame.type === 'send') return relay(session, session.user, frame)
  error(session, 'bad_request', `the relay does not handle ${frame.type}`, frame.ref)
}

function join(session: RelaySession, room: string, ref: string | undefined): void {
  let members = rooms.get(room)
  if (!members) {
    if (rooms.size >= DEFAULT_MAX_ROOMS) {
      return error(session, 'rate_limited', 'the relay holds all the rooms it can', ref)
    }
    members = new Set()
    rooms.set(room, members)
  }
  if (!session.rooms.has(room) && session.rooms.size >= DEFAULT_MAX_ROOMS_PER_SESSION) {
    return error(session, 'bad_request', 'in too many rooms', ref)
  }
  members.add(session)
  session.rooms.add(room)
  send(session, { type: 'joined', room, users: [], truncated: false, ...(ref ? { ref } : {}) })
}

function relay(
  session: RelaySession,
  user: User,
  frame: { room: string; text: string; cid: string; usig?: string | undefined; ref?: string },
): void {
  const { room, text, cid, usig, ref } = frame
  const members = rooms.get(room)
  if (!members || !session.rooms.has(room)) {
    return error(session, 'not_joined', `not joined to ${room}`, ref)
  }
  const id = `${RELAY_ID}:${++lastSeq}`
  const ts = Date.now() * 1000
  // Encoded once for every member, as a node does.
  const message = Buffer.from(
    JSON.stringify({ type: 'message', room, id, ts, user, text, cid, ...(usig ? { usig } : {}) }),
  )
  for (const member of members) {
    const ws = member.ws
    if (ws.readyState !== ws.OPEN) continue
    // A reader that cannot keep up is closed, so that it never grows the relay's memory.
    if (ws.bufferedAmount > DEFAULT_MAX_BUFFERED_BYTES) ws.close(CLOSE_TOO_SLOW, 'too slow')
    else ws.send(message, { binary: false })
  }
  send(session, { type: 'ack', cid, id, ts, ...(ref ? { ref } : {}) })
}

function leaveAll(session: RelaySession): void {
  for (const room of session.rooms) {
    const members = rooms.get(room)
    members?.delete(session)
    if (members?.size === 0) rooms.delete(room)
  }
  session.rooms.clear()
}

function serve(port: number): void {
  const wss = new WebSocketServer({
    host: HOST,
    port,
    maxPayload: MAX_CLIENT_FRAME_BYTES,
    perMessageDeflate: false,
  })
  wss.on('connection', (ws) => {
    if (wss.clients.size > MAX_SESSIONS) {
      ws.close(CLOSE_TOO_SLOW, 'the relay holds all the sessions it takes')
      return
    }
    const limiter = new RateLimiter(DEFAULT_RATE_PER_SECOND, DEFAULT_RATE_BURST)
    const session: RelaySession = { ws, limiter, user: undefined, rooms: new Set() }
    ws.on('message', (data, isBinary) => {
      try {
        onFrame(session, data as Buffer, isBinary)
      } catch (err) {
        process.stderr.write(`relay: closing a session after an error: ${String(err)}\n`)
        ws.close(CLOSE_INTERNAL_ERROR, 'internal error')
      }
    })
    ws.on('close', () => leaveAll(session))
    // A socket error is followed by 'close'; without a listener it would end the process.
    ws.on('error', () => ws.terminate())
  })
  let listening = false
  wss.on('listening', () => {
    listening = true
    const { port: bound } = wss.address() as AddressInfo
    process.stdout.write(`relay ready: ws://${HOST}:${bound}/\n`)
  })
  wss.on('error', (err) => {
    process.stderr.write(`relay: ${err.message}\n`)
    // Only a port it cannot listen on ends the relay; later errors are one connection's.
    if (!listening) process.exit(1)
  })
}

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } })
const port = Number(values.port)
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`relay: --port: expected 0..65535, got "${values.port}"\n`)
  process.exit(2)
}
serve(port)
