/**
 * The renderer's protocol client (`PalaverClient`) as a keyed user, against a node the test plays
 * on a real socket (docs/protocol.md, "Keys and signatures"): it says hello with its key, proves
 * it with the session signature, signs every send (the same `usig` when it sends again), and
 * does not take a message that claims to be its send for its own unless the signatures hold.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { type WebSocket, WebSocketServer } from 'ws'
import { keyedUserSigner } from '../src/renderer/src/client/keyed-user.ts'
import { type ClientState, PalaverClient } from '../src/renderer/src/client/palaver-client.ts'
import { makeNonce, verifySessionProof, verifyUserSignature } from '../src/shared/signatures.ts'
import { fixedSigner, SigningNode } from './support/signed-messages.ts'
import { waitUntil } from './support/wait.ts'

type Frame = Record<string, unknown> & { type: string }

/** One session of the played node: every frame the client sent it, in order. */
class PlayedSession {
  readonly frames: Frame[] = []
  readonly ws: WebSocket

  constructor(ws: WebSocket) {
    this.ws = ws
  }

  send(frame: Frame): void {
    this.ws.send(JSON.stringify(frame))
  }

  framesOf(type: string): Frame[] {
    return this.frames.filter((f) => f.type === type)
  }
}

/**
 * A node played by the test: it challenges a keyed hello and welcomes only a `prove` that
 * verifies (else `unauthorized` and close 4001, as a node does), answers `join` with an empty
 * backlog, and leaves sends unacknowledged for the test to answer.
 */
class PlayedNode {
  readonly signing = new SigningNode()
  readonly sessions: PlayedSession[] = []
  readonly #server: WebSocketServer

  private constructor(server: WebSocketServer) {
    this.#server = server
    server.on('connection', (ws) => this.#accept(ws))
  }

  static start(): Promise<PlayedNode> {
    return new Promise((resolve) => {
      const server: WebSocketServer = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => {
        resolve(new PlayedNode(server))
      })
    })
  }

  get url(): string {
    const address = this.#server.address()
    if (typeof address !== 'object' || address === null) throw new Error('not listening')
    return `ws://127.0.0.1:${address.port}/`
  }

  close(): Promise<void> {
    for (const client of this.#server.clients) client.terminate()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }

  #accept(ws: WebSocket): void {
    const session = new PlayedSession(ws)
    this.sessions.push(session)
    const nonce = makeNonce()
    let key: string | undefined
    const welcome = () =>
      session.send({
        type: 'welcome',
        protocol: 1,
        node: { id: this.signing.id, name: 'Played' },
        nodes: [],
      })
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame
      session.frames.push(frame)
      if (frame.type === 'hello') {
        key = (frame.user as { key?: string }).key
        if (key === undefined) return welcome()
        return session.send({ type: 'challenge', node: { id: this.signing.id }, nonce })
      }
      if (frame.type === 'prove') {
        if (key !== undefined && verifySessionProof(this.signing.id, nonce, key, String(frame.sig)))
          return welcome()
        session.send({ type: 'error', code: 'unauthorized', message: 'the proof does not verify' })
        return ws.close(4001)
      }
      if (frame.type === 'join')
        session.send({ type: 'joined', room: frame.room, users: [], truncated: false })
    })
  }
}

const nodes = new Set<PlayedNode>()
const clients = new Set<PalaverClient>()

afterEach(async () => {
  for (const client of clients) client.stop()
  clients.clear()
  await Promise.all([...nodes].map((node) => node.close()))
  nodes.clear()
})

async function playedNode(): Promise<PlayedNode> {
  const node = await PlayedNode.start()
  nodes.add(node)
  return node
}

const ada = keyedUserSigner(fixedSigner(0xad))

function startKeyedClient(url: string): PalaverClient {
  const client = new PalaverClient({
    url,
    user: ada.user('Ada'),
    signer: ada,
    defaultRooms: ['general'],
  })
  clients.add(client)
  client.start()
  return client
}

const joined = (state: ClientState) => state.rooms.some((r) => r.name === 'general' && r.joined)
const messagesOf = (client: PalaverClient) =>
  client.getState().rooms.find((r) => r.name === 'general')?.messages ?? []
/** The room's rows as `text state id`, in any order (the played node's ts are not today's). */
const rowsOf = (client: PalaverClient) =>
  messagesOf(client)
    .map((m) => `${m.text} ${m.state} ${m.id ?? '-'}`)
    .sort()

describe('a keyed user in PalaverClient', () => {
  it('says hello with its key and answers the challenge with a prove that verifies', async () => {
    const node = await playedNode()
    const client = startKeyedClient(node.url)
    await waitUntil(() => joined(client.getState()), 10_000, 'welcomed and joined')
    const [session] = node.sessions
    expect(session?.framesOf('hello')[0]?.user).toEqual({ id: ada.id, name: 'Ada', key: ada.key })
    expect(session?.framesOf('prove')).toHaveLength(1)
    expect(client.getState().connection).toMatchObject({
      status: 'connected',
      node: { id: node.signing.id },
    })
  })

  it('signs each send over the message event, and sends the same usig again after a reconnect', async () => {
    const node = await playedNode()
    const client = startKeyedClient(node.url)
    await waitUntil(() => joined(client.getState()), 10_000, 'joined')
    const cid = client.send('general', 'hello, LAN')
    const first = await waitUntil(() => node.sessions[0]?.framesOf('send')[0], 10_000, 'a send')
    expect(first).toMatchObject({ room: 'general', text: 'hello, LAN', cid })
    const event = {
      kind: 'message',
      room: 'general',
      cid,
      text: 'hello, LAN',
      user: ada.user('Ada'),
      usig: first.usig as string,
    }
    expect(verifyUserSignature(event)).toBe(true)

    // The ack is lost with the connection: the send goes again, with its cid and its usig.
    node.sessions[0]?.ws.terminate()
    const again = await waitUntil(() => node.sessions[1]?.framesOf('send')[0], 15_000, 'a resend')
    expect(again).toMatchObject({ cid, usig: first.usig })

    // Renamed before the ack came: the session says hello with the new name, and the resend is
    // signed for it (the node checks the usig against the session's user).
    client.setIdentity('Ada L.')
    const renamed = await waitUntil(() => node.sessions[2]?.framesOf('send')[0], 15_000, 'renamed')
    expect(node.sessions[2]?.framesOf('hello')[0]?.user).toMatchObject({ name: 'Ada L.' })
    expect(renamed.cid).toBe(cid)
    expect(renamed.usig).not.toBe(first.usig)
    expect(
      verifyUserSignature({ ...event, user: ada.user('Ada L.'), usig: renamed.usig as string }),
    ).toBe(true)
  })

  it('does not take a copy of its send whose signatures fail for its own; the real copy settles it', async () => {
    const node = await playedNode()
    const client = startKeyedClient(node.url)
    await waitUntil(() => joined(client.getState()), 10_000, 'joined')
    const cid = client.send('general', 'mine')
    await waitUntil(() => node.sessions[0]?.framesOf('send')[0], 10_000, 'a send')
    const session = node.sessions[0]
    const mallory = fixedSigner(0x66)

    // A node that breaks the protocol: our id and cid, a text we did not write, a usig not ours.
    const forged = node.signing.message({
      user: ada.user('Ada'),
      userSigner: mallory,
      text: 'not mine',
      cid,
    })
    session?.send(forged)
    // Kinds the UI does not know come as `event` frames: ignored, and nothing breaks.
    session?.send({ type: 'event', room: 'general', event: { kind: 'reaction', room: 'general' } })
    const other = node.signing.message({ user: { id: 'script-0001', name: 'Bot' }, text: 'beep' })
    session?.send(other)
    await waitUntil(() => messagesOf(client).some((m) => m.text === 'beep'), 10_000, 'beep')
    expect(rowsOf(client)).toEqual([
      `beep sent ${other.id}`,
      'mine pending -',
      `not mine sent ${forged.id}`,
    ])
    expect(client.getState().connection.unsent).toBe(1)
    // Every message keeps what it came with, for the UI to check.
    expect(messagesOf(client).find((m) => m.text === 'beep')?.received).toEqual(other)

    const copy = node.signing.message({
      user: ada.user('Ada'),
      userSigner: fixedSigner(0xad),
      text: 'mine',
      cid,
    })
    session?.send(copy)
    await waitUntil(() => client.getState().connection.unsent === 0, 10_000, 'settled')
    expect(rowsOf(client)).toEqual([
      `beep sent ${other.id}`,
      `mine sent ${copy.id}`,
      `not mine sent ${forged.id}`,
    ])
  })
})
