/**
 * What the fuzz suite attacks and how it checks the damage: a real target node (with a mesh
 * secret) and an honest second node linked to it; fuzzing clients and fuzzing peers (after a
 * valid handshake) send it hostile runs (./hostile.ts), and after each run `check()` finds out
 * whether both processes are alive, whether honest sessions on each still chat both ways, and
 * whether anything invalid was stored on the target or relayed to the honest node
 * (./fuzz-oracle.ts).
 */
import WebSocket from 'ws'
import { PRESENCE_ANNOUNCE_MS } from '../../src/main/node/mesh/presence.ts'
import type { User } from '../../src/shared/protocol.ts'
import { ChatClient } from './chat-client.ts'
import { FakePeer } from './fake-peer.ts'
import { FuzzModel, MAX_CLOCK_AHEAD_MS, StoreAudit } from './fuzz-oracle.ts'
import { FuzzKeys } from './fuzz-signing.ts'
import { type ClientRun, framed, type PeerRun, resolve } from './hostile.ts'
import { nodeId, refusedByKind, waitForEqualVectors, waitForPeersUp } from './mesh.ts'
import { health, type NodeProcess, startNode } from './node-process.ts'
import { staysTrue } from './wait.ts'

const SECRET = 'fuzz-secret'
/** The room the honest sessions chat in; each check also joins and leaves another. */
const CANARY_ROOM = 'canary'
const PRESENCE_ROOM = 'canary-presence'
/** How long a run's session or link may take to answer the ping that ends the run. */
const BARRIER_TIMEOUT_MS = 10_000
/** What a node logs when it closes a link over what the other end sent: the reason. */
const REFUSED_FRAME = /"reason":"((?:bad frame|unreadable stream|peer refused)[^"]*)"/g

/** Frames a node refused because their signatures did not hold, of every kind. */
async function refusedTotal(node: NodeProcess): Promise<number> {
  return Object.values(await refusedByKind(node)).reduce((x, y) => x + y, 0)
}

/** The last lines a process wrote, for a report. */
function tail(node: NodeProcess): string {
  return node.stderr().trim().split('\n').slice(-8).join('\n    ')
}

export class FuzzTarget {
  readonly target: NodeProcess
  readonly honest: NodeProcess
  readonly targetId: string
  readonly model = new FuzzModel()
  readonly #audit: StoreAudit
  readonly #sessions: { node: NodeProcess; user: User; client: ChatClient }[]
  #checks = 0
  #barriers = 0
  #refusalsSeen = 0

  private constructor(
    target: NodeProcess,
    honest: NodeProcess,
    ids: { target: string; honest: string },
    sessions: { node: NodeProcess; user: User; client: ChatClient }[],
  ) {
    this.target = target
    this.honest = honest
    this.targetId = ids.target
    this.#sessions = sessions
    this.#audit = new StoreAudit(this.model, new Set([ids.target, ids.honest]))
  }

  /** Starts the target, the honest node linked to it, and an honest session on each. */
  static async start(): Promise<FuzzTarget> {
    const target = await startNode({ name: 'FuzzTarget', args: ['--secret', SECRET] })
    const honest = await startNode({
      name: 'FuzzHonest',
      args: ['--secret', SECRET, '--peer', target.peerAddr],
    })
    const ids = { target: await nodeId(target), honest: await nodeId(honest) }
    await Promise.all([waitForPeersUp(target, [ids.honest]), waitForPeersUp(honest, [ids.target])])
    const sessions = await Promise.all(
      [target, honest].map(async (node) => {
        const user = { id: `honest-${node.name}`, name: `Honest ${node.name}` }
        const client = await ChatClient.connect(node.wsUrl, user)
        await client.join(CANARY_ROOM)
        return { node, user, client }
      }),
    )
    return new FuzzTarget(target, honest, ids, sessions)
  }

  /** Frames the target refused so far because their signatures did not hold. */
  refusedByTarget(): Promise<number> {
    return refusedTotal(this.target)
  }

  /** Events the audits read back so far (on both nodes): from clients and from peers. */
  get readBack(): { local: number; remote: number } {
    return { ...this.#audit.readBack }
  }

  get alive(): boolean {
    return this.target.running && this.honest.running
  }

  /** Whether both nodes run and answer `/health` (a node may be dying before its exit shows). */
  async serving(): Promise<boolean> {
    if (!this.alive) return false
    const answers = [this.target, this.honest].map((n) => health(n, 2_000).then(() => true))
    return Promise.all(answers).then(
      () => this.alive,
      async () => (await this.#settle(), false),
    )
  }

  /** Waits a moment (for a node that is going down to be seen gone) unless one has exited. */
  async #settle(): Promise<void> {
    const exited = [this.target.exited, this.honest.exited]
    await Promise.race([...exited, new Promise((r) => setTimeout(r, 1_000))])
  }

  async stop(): Promise<void> {
    for (const { client } of this.#sessions) client.close()
    await Promise.all([this.target.kill('SIGKILL'), this.honest.kill('SIGKILL')])
  }

  /** One fuzzing client: its frames, then a ping it must get an answer to (or a close). */
  async runClient(run: ClientRun): Promise<void> {
    const client = await ChatClient.open(this.target.wsUrl)
    let user: User | undefined
    const sendText = (text: string) => {
      user = this.model.clientText(text, user)
      client.sendRaw(text)
    }
    if (run.hello) sendText(JSON.stringify({ type: 'hello', protocol: 1, user: run.hello }))
    if (run.join) sendText(JSON.stringify({ type: 'join', room: run.join }))
    for (const action of run.actions) {
      if ('frame' in action) sendText(JSON.stringify(action.frame))
      else if ('text' in action) sendText(action.text)
      else if ('binary' in action) client.ws.send(action.binary, { binary: true })
      else client.ws.send(action.badUtf8, { binary: false })
    }
    const ref = `barrier-${++this.#barriers}`
    client.send({ type: 'ping', ref })
    try {
      await client.waitFor((f) => (f as { ref?: unknown }).ref === ref, 0, BARRIER_TIMEOUT_MS)
    } catch (error) {
      // A session the node closed (a frame too big, not UTF-8, unauthorized) is an answer.
      if (client.ws.readyState !== WebSocket.CLOSED) {
        throw new Error(`the session got no answer to a ping: ${(error as Error).message}`)
      }
    }
    client.close()
    await Promise.race([client.closed, new Promise((r) => setTimeout(r, 5_000))])
    client.ws.terminate()
  }

  /**
   * One fuzzing peer: a valid handshake, its frames (signed as each says), then a ping it must
   * get a pong to (or a close).
   */
  async runPeer(run: PeerRun): Promise<void> {
    const keys = new FuzzKeys(run.keySeed)
    const peer = await FakePeer.connect({
      port: this.target.peerPort,
      keys: keys.self,
      node: { name: 'Fuzz' },
    })
    try {
      await peer.handshake(SECRET)
      // What the target holds of each origin, for events that continue it.
      const held = new Map(Object.entries((await health(this.target)).vector))
      const sent = new Map<unknown, number>()
      const placeholders = {
        self: keys.self.id,
        target: this.targetId,
        others: [keys.others[0].id, keys.others[1].id] as const,
        keyedUser: keys.user.id,
        now: Date.now() * 1000,
        next: (origin: unknown) => {
          const seq =
            (sent.get(origin) ?? (typeof origin === 'string' ? held.get(origin) : 0) ?? 0) + 1
          sent.set(origin, seq)
          return seq
        },
      }
      for (const action of run.actions) {
        if ('frame' in action) {
          const resolved = resolve(action.frame, placeholders) as Record<string, unknown>
          const frame = keys.sign(resolved, action.signing)
          if (frame.type === 'event') this.model.peerEvent(frame.event)
          peer.send(frame)
        } else if ('json' in action) {
          peer.sendRaw(Buffer.from(framed(JSON.stringify(action.json))))
        } else {
          peer.sendRaw(Buffer.from(action.bytes))
        }
      }
      const t = ++this.#barriers
      peer.send({ type: 'ping', t })
      await peer
        .next('pong', (f) => f.t === t, BARRIER_TIMEOUT_MS)
        .catch((error: Error) => {
          if (!peer.isClosed) throw new Error(`the link got no pong: ${error.message}`)
        })
      if (peer.invalid.length > 0) {
        throw new Error(
          `the target sent frames that break the peer protocol: ${JSON.stringify(peer.invalid.slice(0, 3))}`,
        )
      }
    } finally {
      peer.destroy()
    }
  }

  /**
   * After a run: both nodes alive; the honest sessions chat both ways (and the target's clock
   * was not moved far ahead); presence still flows; the nodes agree; neither holds anything
   * invalid; and the target passed on nothing whose signatures do not hold (the honest node,
   * linked to it alone, refused nothing). Throws with everything found.
   */
  async check(): Promise<void> {
    const check = ++this.#checks
    this.#expectAlive()
    const problems: string[] = []
    await this.#canary(check).catch(async (error: Error) => {
      throw await this.explain(new Error(`honest sessions stopped chatting: ${error.message}`))
    })
    await waitForEqualVectors([this.target, this.honest], 15_000)
    problems.push(...(await this.#audit.check([this.target, this.honest])))
    const refusals = [...this.honest.stderr().matchAll(REFUSED_FRAME)].map((m) => m[1])
    if (refusals.length > this.#refusalsSeen) {
      const fresh = refusals.slice(this.#refusalsSeen)
      problems.push(`the honest node refused frames from the target: ${fresh.join('; ')}`)
      this.#refusalsSeen = refusals.length
    }
    const forgedRelayed = await refusedTotal(this.honest)
    if (forgedRelayed > 0) {
      problems.push(`the target passed on ${forgedRelayed} frames whose signatures do not hold`)
    }
    if (problems.length > 0) throw new Error(problems.join('\n'))
  }

  /** Both stay alive over a presence announcement (a crash may wait for it), then `check()`. */
  async finalCheck(): Promise<void> {
    await staysTrue(
      () => this.alive,
      Math.ceil(PRESENCE_ANNOUNCE_MS / 1000) + 1,
      1_000,
      'both nodes alive',
    ).catch(() => this.#expectAlive())
    await this.check()
  }

  /**
   * `error`, or when a node died (a session or link closed by a dying node fails first, so its
   * exit is given a moment to show) an error that says so and shows its last words.
   */
  async explain(error: Error): Promise<Error> {
    await this.#settle()
    try {
      this.#expectAlive()
      return error
    } catch (death) {
      return new Error(`${(death as Error).message}\n(${error.message})`)
    }
  }

  #expectAlive(): void {
    const dead = [this.target, this.honest].filter((n) => !n.running)
    if (dead.length === 0) return
    throw new Error(
      dead
        .map((n) => `${n.name} died (${n.child.exitCode ?? n.child.signalCode}):\n    ${tail(n)}`)
        .join('\n'),
    )
  }

  /** Each honest session sends one message, and the other one gets it. */
  async #canary(check: number): Promise<void> {
    for (const [i, from] of this.#sessions.entries()) {
      const to = this.#sessions[1 - i]
      if (!to) continue
      const cid = `canary-${check}`
      const text = `check ${check} from ${from.node.name}`
      this.model.honestSend(from.user, CANARY_ROOM, text, cid)
      const start = to.client.frames.length
      const ack = await from.client.say(CANARY_ROOM, text, cid)
      if (ack.ts / 1000 > Date.now() + MAX_CLOCK_AHEAD_MS) {
        throw new Error(`${from.node.name}'s clock was moved far ahead: its ack has ts ${ack.ts}`)
      }
      await to.client.waitFor((f) => f.type === 'message' && f.id === ack.id, start, 10_000)
    }
    // Local presence changes (someone comes online, then goes), which the target announces to
    // its peer at once. A session of its own each time: checks come faster than one session's
    // rate limit allows.
    const visitor = await ChatClient.connect(this.target.wsUrl)
    await visitor.join(PRESENCE_ROOM)
    visitor.close()
    await visitor.closed
  }
}
