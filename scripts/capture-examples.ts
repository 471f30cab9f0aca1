/**
 * Captures the frames that docs/protocol.md shows in its two "Worked examples" sections from real
 * nodes, so that the examples can be taken again whenever the protocol changes. A tool for
 * writing the docs: no test tier runs it.
 *
 *   node scripts/capture-examples.ts                       prints every frame, wrapped for the docs
 *   node scripts/capture-examples.ts --port-offset 10000   when 8080, 8081, 9080 or 9081 is taken
 *
 * Two real `chat-node` processes listen on 127.0.0.1 only: Attic (client port 8080, peer port
 * 9080) and Cellar (8081, 9081), in a mesh whose secret is that of the mesh-proof test vector.
 * They advertise 192.168.1.20 and 192.168.1.21 (`--advertise-host`), so the URLs in their signed
 * records are the LAN-looking ones the examples show, and every signature shown verifies.
 *
 * The keyed users Alice (on Attic) and Bob (on Cellar) and a keyless bot (on Attic) chat, and
 * Alice's sessions are recorded frame by frame. Then Cellar stops, and this script links to
 * Attic as Cellar (with Cellar's own keys, read from its data directory), recording both
 * directions of that link: the handshake, the catch-up of what Cellar missed, a hole and its
 * `want`, an event of a kind no node makes yet, signed presence and typing, ping and pong. A
 * stranger with a wrong secret gets its `error`. The frames are checked as printed, the way
 * scripts/worked-examples.test.ts checks them in the docs (every signature and proof verifies),
 * before they are printed; exits 1 when a step or a check fails.
 */
import { parseArgs } from 'node:util'
import { FrameDecoder } from '../src/main/node/mesh/framing.ts'
import { loadOrCreateIdentity } from '../src/main/node/mesh/tls-identity.ts'
import { Store } from '../src/main/node/store.ts'
import { canonical } from '../src/shared/canonical.ts'
import { type PeerFrame, type PeerFrameOf, peerFrameSchema } from '../src/shared/peer-protocol.ts'
import type { ServerFrame } from '../src/shared/protocol.ts'
import { signAsUser } from '../src/shared/signatures.ts'
import {
  ChatClient,
  type FrameOf,
  type KeyedUser,
  keyedUser,
  proveFrame,
  usigOf,
} from '../test/support/chat-client.ts'
import { closeFakePeers, FakePeer } from '../test/support/fake-peer.ts'
import { messagesIn, nodeId, vectorOf, waitForPeersUp, waitForUsers } from '../test/support/mesh.ts'
import {
  cleanupNodes,
  type NodeProcess,
  startNode,
  waitForHealth,
} from '../test/support/node-process.ts'
import { waitUntil } from '../test/support/wait.ts'
import {
  checkClientExamples,
  checkPeerExamples,
  type ExampleCheck,
  exampleFrames,
} from './worked-examples.ts'

/** The secret of the mesh-proof test vector, so that a reader can check the captured proofs. */
const SECRET = 'correct horse battery staple'
const MESH = 'default'
const ROOM = 'general'
/** The longest line printed; frames are wrapped after a comma, as the examples are. */
const WIDTH_CHARS = 100
/** A string longer than this is printed shortened (the over-long text of a refused send). */
const SHOWN_STRING_CHARS = 200
/** How long any one step may take on a loaded machine. */
const STEP_TIMEOUT_MS = 20_000

const ATTIC = { name: 'Attic', clientPort: 8080, peerPort: 9080, host: '192.168.1.20' }
const CELLAR = { name: 'Cellar', clientPort: 8081, peerPort: 9081, host: '192.168.1.21' }

// ---------------------------------------------------------------------------------------------
// Printing

/** Splits JSON text after each comma outside its strings. */
function commaPieces(json: string): string[] {
  const pieces: string[] = []
  let start = 0
  let inString = false
  for (let i = 0; i < json.length; i++) {
    const c = json[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === ',') {
      pieces.push(json.slice(start, i + 1))
      start = i + 1
    }
  }
  pieces.push(json.slice(start))
  return pieces
}

/** `arrow` and the frame's text, filled into lines of at most `WIDTH_CHARS` where it can be. */
function wrapFrame(arrow: string, text: string): string {
  const lead = `${arrow} `
  const indent = ' '.repeat(lead.length + 1)
  const lines: string[] = []
  let line = lead
  for (const piece of commaPieces(text)) {
    const fresh = line === lead || line === indent
    if (!fresh && line.length + piece.length > WIDTH_CHARS) {
      lines.push(line)
      line = indent
    }
    line += piece
  }
  lines.push(line)
  return lines.join('\n')
}

/** The frame with every string over `SHOWN_STRING_CHARS` shortened, and said to be. */
function shorten(text: string): string {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return text // not JSON: shown as sent
  }
  let changed = false
  const replacer = (_key: string, v: unknown) => {
    if (typeof v !== 'string' || v.length <= SHOWN_STRING_CHARS) return v
    changed = true
    return `${v.slice(0, 4)}…${v.length} characters…`
  }
  const short = JSON.stringify(value, replacer)
  return changed ? short : text
}

/** The frames one connection carried, in order: `->` sent, `<-` received, `#` what happened. */
class Transcript {
  readonly title: string
  readonly lines: string[] = []

  constructor(title: string) {
    this.title = title
  }

  note(text: string): void {
    this.lines.push(`# ${text}`)
  }

  frame(arrow: '->' | '<-', text: string): void {
    this.lines.push(wrapFrame(arrow, shorten(text)))
  }

  text(): string {
    return this.lines.join('\n')
  }
}

// ---------------------------------------------------------------------------------------------
// Recorded connections

/** A client session whose frames, both ways, go to a transcript as their exact text. */
class RecordedSession {
  readonly client: ChatClient
  readonly log: Transcript

  private constructor(client: ChatClient, log: Transcript) {
    this.client = client
    this.log = log
    client.ws.on('message', (data: Buffer) => log.frame('<-', data.toString()))
    void client.closed.then(({ code, reason }) => log.note(`closed: ${code} ${reason}`))
  }

  static async open(url: string, log: Transcript): Promise<RecordedSession> {
    return new RecordedSession(await ChatClient.open(url), log)
  }

  /** Sends a frame (an object, or text sent as it is). */
  send(frame: object | string): void {
    const text = typeof frame === 'string' ? frame : JSON.stringify(frame)
    this.log.frame('->', text)
    this.client.sendRaw(text)
  }

  /** Where the next frame received will be: for `after`. */
  mark(): number {
    return this.client.frames.length
  }

  /** The first frame of `type` received at `from` or later that `match` accepts. */
  async after<T extends ServerFrame['type']>(
    from: number,
    type: T,
    match: (frame: FrameOf<T>) => boolean = () => true,
  ): Promise<FrameOf<T>> {
    const { frame } = await this.client.waitFor(
      (f) => f.type === type && match(f as FrameOf<T>),
      from,
      STEP_TIMEOUT_MS,
    )
    return frame as FrameOf<T>
  }

  /** Sends `frame` and resolves with the first frame of `type` after it that `match` accepts. */
  async ask<T extends ServerFrame['type']>(
    frame: object | string,
    type: T,
    match?: (frame: FrameOf<T>) => boolean,
  ): Promise<FrameOf<T>> {
    const from = this.mark()
    this.send(frame)
    return this.after(from, type, match)
  }

  /** A keyed user's hello: `hello`, the node's `challenge`, `prove`, `welcome`. */
  async helloKeyed(who: KeyedUser): Promise<FrameOf<'welcome'>> {
    const challenge = await this.ask({ type: 'hello', protocol: 1, user: who.user }, 'challenge')
    return this.ask(proveFrame(who, challenge), 'welcome')
  }
}

/**
 * A peer link played by this script, whose frames, both ways, go to a transcript. It answers
 * every `ping` at once, as a node does.
 */
class RecordedPeer {
  readonly peer: FakePeer
  readonly log: Transcript
  /** Every valid frame received, in order, as the peer schema reads it (to wait on). */
  readonly received: PeerFrame[] = []

  constructor(peer: FakePeer, log: Transcript) {
    this.peer = peer
    this.log = log
    const decoder = new FrameDecoder()
    peer.socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk)
      for (let value = decoder.read(); value !== undefined; value = decoder.read()) {
        log.frame('<-', JSON.stringify(value))
        // One that is not a peer frame is only printed: the check of what was printed names it.
        const parsed = peerFrameSchema.safeParse(value)
        if (!parsed.success) continue
        this.received.push(parsed.data)
        if (parsed.data.type === 'ping') this.send({ type: 'pong', t: parsed.data.t })
      }
    })
    void peer.closed.then(() => log.note('the link is closed'))
  }

  send(frame: object): void {
    this.log.frame('->', JSON.stringify(frame))
    this.peer.send(frame)
  }

  /** `hello` and `auth` (its mesh proof with `secret`, its link signature), as a node sends them. */
  handshake(secret: string): void {
    this.send({ type: 'hello', protocol: 1, node: this.peer.node, mesh: MESH })
    this.send({
      type: 'auth',
      proof: this.peer.proof(secret, MESH),
      sig: this.peer.linkSig(MESH),
    })
  }

  /** The first frame of `type` received (at any time) that `match` accepts. */
  waitFor<T extends PeerFrame['type']>(
    type: T,
    match: (frame: PeerFrameOf<T>) => boolean = () => true,
  ): Promise<PeerFrameOf<T>> {
    return waitUntil(
      () =>
        this.received.find(
          (f): f is PeerFrameOf<T> => f.type === type && match(f as PeerFrameOf<T>),
        ),
      STEP_TIMEOUT_MS,
      `a ${type} frame from the peer`,
    )
  }
}

// ---------------------------------------------------------------------------------------------
// The capture

/** The two nodes and the people of the examples, and what is recorded of them. */
interface Scene {
  portOffset: number
  attic: NodeProcess
  cellar: NodeProcess
  atticId: string
  cellarId: string
  alice: KeyedUser
  bob: KeyedUser
  session: Transcript
  refused: Transcript
  resumed: Transcript
  link: Transcript
  stranger: Transcript
  /** Sessions that are not recorded, closed at the end. */
  others: ChatClient[]
}

function startExampleNode(
  at: typeof ATTIC,
  portOffset: number,
  peers: readonly NodeProcess[],
): Promise<NodeProcess> {
  return startNode({
    name: at.name,
    peerPort: at.peerPort + portOffset,
    logLevel: 'warn',
    args: [
      '--port',
      String(at.clientPort + portOffset),
      '--secret',
      SECRET,
      '--advertise-host',
      at.host,
      ...peers.flatMap((p) => ['--peer', p.peerAddr]),
    ],
  })
}

/** Attic, and Cellar linked to it. */
async function startScene(portOffset: number): Promise<Scene> {
  const attic = await startExampleNode(ATTIC, portOffset, [])
  const cellar = await startExampleNode(CELLAR, portOffset, [attic])
  const atticId = await nodeId(attic)
  const cellarId = await nodeId(cellar)
  await waitForPeersUp(attic, [cellarId], STEP_TIMEOUT_MS)
  await waitForPeersUp(cellar, [atticId], STEP_TIMEOUT_MS)
  const scene: Scene = {
    portOffset,
    attic,
    cellar,
    atticId,
    cellarId,
    alice: keyedUser('Alice'),
    bob: keyedUser('Bob'),
    session: new Transcript(`Alice's session on Attic`),
    refused: new Transcript('A keyless hello with a keyed id, on Attic'),
    resumed: new Transcript(`Alice's next session on Attic: resume`),
    link: new Transcript('The link Attic–Cellar, as Cellar (played by this script) sees it'),
    stranger: new Transcript('A node with a wrong secret, as it sees Attic'),
    others: [],
  }
  const who = `Attic ${atticId}, Cellar ${cellarId}; Alice ${scene.alice.user.id}, Bob ${scene.bob.user.id}`
  scene.session.note(who)
  scene.link.note(who)
  return scene
}

/** `who`'s `send` of `text` with `cid`, signed (`usig`), then `extra` fields. */
function signedSend(who: KeyedUser, text: string, cid: string, extra: object = {}) {
  return { type: 'send', room: ROOM, text, cid, usig: usigOf(who, ROOM, text, cid), ...extra }
}

/**
 * Alice's first session: the handshake, the room across the mesh, sends, history, errors, and
 * Cellar going away. Resolves with her first message's id and the `since` she would resume with.
 */
async function firstSession(
  scene: Scene,
): Promise<{ firstId: string; since: Record<string, number> }> {
  const { attic, cellar, cellarId, alice, bob, session } = scene
  // Before Alice comes: a bot has written in the room, and Bob is in it on Cellar.
  const bot = await ChatClient.connect(attic.wsUrl, { id: 'build-bot', name: 'Build bot' })
  await bot.join(ROOM)
  await bot.say(ROOM, 'build 1432 passed', 'build-1432')
  const bobClient = await ChatClient.connect(cellar.wsUrl, bob)
  await bobClient.join(ROOM)
  scene.others.push(bot, bobClient)
  await waitForUsers(bot, ROOM, (users) => users.some((u) => u.id === bob.user.id))

  const s1 = await RecordedSession.open(attic.wsUrl, session)
  session.note('a frame before hello; the keyed hello')
  await s1.ask({ type: 'join', room: ROOM }, 'error')
  await s1.helloKeyed(alice)
  session.note('join: the backlog, joined, presence')
  let from = s1.mark()
  await s1.ask({ type: 'join', room: ROOM, ref: 'j1' }, 'joined')
  await s1.after(from, 'presence', (f) => f.users.some((u) => u.id === alice.user.id))

  session.note('a signed send, and the same cid again')
  const ack = await s1.ask(signedSend(alice, 'hello, LAN', 'm1', { ref: 'r1' }), 'ack')
  await s1.ask(signedSend(alice, 'hello, LAN', 'm1', { ref: 'r2' }), 'ack')

  session.note("Bob's message and typing, from Cellar")
  from = s1.mark()
  await bobClient.say(ROOM, 'hi Alice, from the cellar', 'b1')
  await s1.after(from, 'message', (m) => m.origin === cellarId)
  bobClient.send({ type: 'typing', room: ROOM })
  await s1.after(from, 'typing')

  session.note('history, ping')
  const page = await s1.ask({ type: 'history', room: ROOM, limit: 2, ref: 'h1' }, 'history')
  const before = page.messages[0]?.id ?? ''
  await s1.ask({ type: 'history', room: ROOM, before, ref: 'h2' }, 'history')
  await s1.ask({ type: 'ping', ref: 'p1' }, 'pong')

  session.note('errors')
  await s1.ask({ type: 'leave', room: 'kitchen', ref: 'l2' }, 'error')
  await s1.ask({ type: 'shout', ref: 's1' }, 'error')
  await s1.ask('not json', 'error')
  await s1.ask({ type: 'send', room: ROOM, text: '   ', cid: 'm4', ref: 'r4' }, 'error')
  await s1.ask(signedSend(alice, 'x'.repeat(4001), 'm5'), 'error')
  // Signed for another text.
  await s1.ask({ ...signedSend(alice, 'hello, everyone', 'm6'), text: 'hello, LAN' }, 'error')

  const s0 = await RecordedSession.open(attic.wsUrl, scene.refused)
  await s0.ask({ type: 'hello', protocol: 1, user: { id: alice.user.id, name: 'Alice' } }, 'error')
  await s0.client.closed

  session.note('Cellar stops; a message Cellar misses; Alice leaves')
  from = s1.mark()
  await cellar.kill('SIGTERM')
  await s1.after(from, 'nodes', (f) => f.nodes.some((n) => n.id === cellarId && !n.up))
  await s1.ask(signedSend(alice, 'anyone in the cellar?', 'm2', { ref: 'r3' }), 'ack')
  await s1.ask({ type: 'leave', room: ROOM, ref: 'l1' }, 'left')
  const since = vectorOf(messagesIn(s1.client, ROOM))
  s1.client.close()
  return { firstId: ack.id, since }
}

/**
 * Cellar comes back, played by this script with Cellar's key pair, TLS certificate and vector
 * from its data directory: it links to Attic, is caught up, and sends its next two events, the
 * second first. Resolves with the link, left open.
 */
async function cellarReturns(scene: Scene, firstId: string): Promise<RecordedPeer> {
  const { attic, atticId, cellar, cellarId, bob, link, portOffset } = scene
  const store = new Store(cellar.dataDir)
  const keys = store.identity
  const vector = store.vector()
  store.close()
  if (keys.id !== cellarId) throw new Error("Cellar's store holds another key")
  const url = `ws://${CELLAR.host}:${CELLAR.clientPort + portOffset}/`
  const peerAddr = `${CELLAR.host}:${CELLAR.peerPort + portOffset}`
  const cellarLink = new RecordedPeer(
    await FakePeer.connect({
      port: attic.peerPort,
      keys,
      node: { name: CELLAR.name, url },
      identity: await loadOrCreateIdentity(cellar.dataDir, cellarId),
    }),
    link,
  )
  link.note(`the TLS exporter of this link: ${cellarLink.peer.exporter}`)
  cellarLink.handshake(SECRET)
  await cellarLink.waitFor('sync')
  // What a node sends once it has taken the other's auth.
  const now = () => Date.now() * 1000
  const record = { id: keys.id, name: CELLAR.name, url, peerAddr, version: now() }
  cellarLink.send({ type: 'nodes', nodes: [keys.sign(record)] })
  cellarLink.send({ type: 'sync', vector })
  cellarLink.send({ type: 'ping', t: Math.round(performance.now() * 1000) / 1000 })
  const rooms = { [ROOM]: [bob.user] }
  const presence = { type: 'presence', node: keys.id, version: now(), rooms, links: [atticId] }
  cellarLink.send(keys.sign(presence))
  await cellarLink.waitFor('event', (f) => f.event.origin === atticId)

  link.note("Cellar's next two events, the second first: a hole, Attic's want, the repair")
  const seq = vector[cellarId] ?? 0
  const cellarEvent = (n: number, ts: number, fields: object) => {
    const body = { ...fields, room: ROOM, user: bob.user, origin: keys.id, seq: n, ts }
    const signed = keys.sign({ ...body, usig: signAsUser(bob.signer, body) })
    // In canonical order, as a node stores and relays its events.
    return { type: 'event', event: JSON.parse(canonical(signed)) as unknown }
  }
  const ts = now()
  const reaction = { kind: 'reaction', cid: 'b3', target: firstId, emoji: '👍' }
  cellarLink.send(cellarEvent(seq + 2, ts + 1, reaction))
  await cellarLink.waitFor('want', (f) => f.origin === cellarId)
  cellarLink.send(
    cellarEvent(seq + 1, ts, { kind: 'message', cid: 'b2', text: 'back in the cellar' }),
  )
  await waitForHealth(attic, (h) => h.vector[cellarId] === seq + 2, STEP_TIMEOUT_MS)
  return cellarLink
}

/** Alice's next session: she resumes with `since` and types (her typing reaches Cellar). */
async function resumedSession(
  scene: Scene,
  since: Record<string, number>,
  cellarLink: RecordedPeer,
): Promise<void> {
  const { attic, alice } = scene
  const s2 = await RecordedSession.open(attic.wsUrl, scene.resumed)
  await s2.helloKeyed(alice)
  await s2.ask({ type: 'join', room: ROOM, since, ref: 'j2' }, 'joined')
  await cellarLink.waitFor('presence', (f) =>
    Object.values(f.rooms).some((users) => users.some((u) => u.id === alice.user.id)),
  )
  s2.send({ type: 'typing', room: ROOM })
  await cellarLink.waitFor('typing')
  await cellarLink.waitFor('pong')
  s2.client.close()
}

/** A node that does not know the secret: Attic's `error`. */
async function strangerTries(scene: Scene): Promise<void> {
  const wrong = new RecordedPeer(
    await FakePeer.connect({
      port: scene.attic.peerPort,
      node: { name: 'Stranger', url: 'ws://192.168.1.66:8080/' },
    }),
    scene.stranger,
  )
  wrong.handshake('not the secret')
  await wrong.waitFor('error')
  await wrong.peer.closed
}

/**
 * Everything recorded: the client side (Alice's sessions, the refused one), the Attic–Cellar
 * link and its TLS exporter, and the stranger's try.
 */
async function capture(portOffset: number): Promise<{
  client: Transcript[]
  link: Transcript
  exporter: string
  stranger: Transcript
}> {
  const scene = await startScene(portOffset)
  const { firstId, since } = await firstSession(scene)
  const cellarLink = await cellarReturns(scene, firstId)
  await resumedSession(scene, since, cellarLink)
  await strangerTries(scene)
  for (const client of scene.others) client.close()
  return {
    client: [scene.session, scene.refused, scene.resumed],
    link: scene.link,
    exporter: cellarLink.peer.exporter,
    stranger: scene.stranger,
  }
}

/**
 * Checks the frames as printed, as docs/protocol.md's test checks them once pasted: every
 * signature and proof verifies. Throws when one does not.
 */
function checkPrinted(what: string, check: ExampleCheck): void {
  if (check.problems.length > 0) throw new Error(`${what}: ${check.problems.join('; ')}`)
  process.stderr.write(`capture-examples: ${what} checked: ${JSON.stringify(check.checked)}\n`)
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { 'port-offset': { type: 'string', default: '0' } } })
  const portOffset = Number(values['port-offset'])
  if (!Number.isInteger(portOffset) || portOffset < 0 || portOffset > 50_000) {
    process.stderr.write('capture-examples: --port-offset takes an integer from 0 to 50000\n')
    return 2
  }
  try {
    const { client, link, exporter, stranger } = await capture(portOffset)
    const clientText = client.map((t) => t.text()).join('\n')
    checkPrinted('client frames', checkClientExamples(exampleFrames(clientText)))
    const linkFrames = exampleFrames(link.text())
    checkPrinted('link frames', checkPeerExamples(linkFrames, { exporter, secret: SECRET }))
    process.stdout.write(`Mesh secret: "${SECRET}"\n`)
    for (const t of [...client, link, stranger]) {
      process.stdout.write(`\n## ${t.title}\n\n${t.text()}\n`)
    }
    return 0
  } catch (error) {
    const why = error instanceof Error ? error.stack : String(error)
    const ports = 'the nodes need their four ports free on 127.0.0.1 (--port-offset N moves them)'
    process.stderr.write(`capture-examples: ${why}\n(${ports})\n`)
    return 1
  } finally {
    closeFakePeers()
    await cleanupNodes()
  }
}

process.exitCode = await main()
