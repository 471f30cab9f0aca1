/**
 * The running state of a node: its store, event log, rooms and sessions, and what joins them.
 * It exists from `ChatNode.start()` to `ChatNode.stop()`; the servers hand it their traffic.
 */
import type { MeshNode, OnlineUser, ServerFrame, User } from '../../shared/protocol.ts'
import { HybridClock } from './clock.ts'
import { contain } from './containment.ts'
import { EventLog } from './event-log.ts'
import type { Logger } from './logger.ts'
import type { Mesh } from './mesh/mesh.ts'
import { NodeMetrics } from './metrics.ts'
import type { NodeOptions } from './options.ts'
import { type EventId, Rooms } from './rooms.ts'
import type { Session } from './session.ts'
import { clientFrame, encodeServerFrame } from './client-events.ts'
import { type ChatEvent, Store } from './store.ts'
import { StoreWriter } from './store-writer.ts'

export class NodeCore {
  readonly options: NodeOptions
  readonly logger: Logger
  /** The store, as the event loop reads it; `writer` commits to it from its own thread. */
  readonly store: Store
  readonly #writer: StoreWriter
  readonly log: EventLog
  /** Stamps events, presence versions and typing counters: increasing even across restarts. */
  readonly clock: HybridClock
  readonly rooms: Rooms
  readonly metrics = new NodeMetrics()
  readonly sessions = new Set<Session>()
  /** This node's client WebSocket URL, as others should dial it. */
  clientUrl = ''
  /** The peer mesh, once it listens. */
  mesh: Mesh | undefined
  /** Rooms whose presence changed this turn. */
  readonly #presencePending = new Set<string>()

  constructor(options: NodeOptions) {
    this.options = options
    this.logger = options.logger
    this.rooms = new Rooms(options.maxRooms)
    this.store = new Store(options.dataDir)
    this.#writer = new StoreWriter(options.dataDir)
    this.clock = new HybridClock(undefined, this.store.maxTs)
    this.log = new EventLog({
      store: this.store,
      writer: this.#writer,
      clock: this.clock,
      // Runs in the log's commit turn. Each step on its own: a local delivery that throws must
      // not hold back the relaying, and neither may end the process.
      onCommitted: (events, hidden) => {
        contain(this, 'timer', 'fan-out of committed events', () => this.#fanOut(events, hidden))
        contain(this, 'timer', 'forwarding committed events', () => this.mesh?.forward(events))
      },
      onCommitTimed: (seconds) => this.metrics.commitSeconds.observe(seconds),
      onCommitFailed: (error) => this.logger.error({ err: error }, 'store commit failed'),
    })
    this.metrics.start()
  }

  get nodeId(): string {
    return this.store.nodeId
  }

  /** The nodes a client may use, this one first. */
  meshNodes(): MeshNode[] {
    return (
      this.mesh?.nodes() ?? [
        { id: this.nodeId, name: this.options.name, url: this.clientUrl, up: true },
      ]
    )
  }

  /**
   * Browser origins, besides a node's own page, whose tabs may open sessions here: the allow
   * list and the pages of the mesh's nodes (so a tab can fail over to this node).
   */
  allowedOrigins(): Set<string> {
    const origins = new Set(this.options.allowOrigins)
    for (const node of this.meshNodes()) {
      try {
        origins.add(new URL(node.url.replace(/^ws/, 'http')).origin)
      } catch {
        // a node with no usable URL has no page either
      }
    }
    return origins
  }

  /** Who is online in `room` across the mesh. */
  roomUsers(room: string): OnlineUser[] {
    const local = this.rooms.users(room, this.nodeId)
    return this.mesh ? [...local, ...this.mesh.remoteUsers(room)] : local
  }

  /** A local session joined or left `room` and changed who is online there. */
  presenceChanged(room: string): void {
    this.publishPresence(room)
    this.mesh?.localPresenceChanged()
  }

  /**
   * Tells the room's local members who is online in it, on the next turn: a burst of joins (a
   * node restarting, a class logging in) sends each room one presence frame, not one per join.
   */
  publishPresence(room: string): void {
    if (this.#presencePending.size === 0) {
      setImmediate(() => contain(this, 'timer', 'presence flush', () => this.#flushPresence()))
    }
    this.#presencePending.add(room)
  }

  #flushPresence(): void {
    const rooms = [...this.#presencePending]
    this.#presencePending.clear()
    // One room's failure is its own: the others still hear who is online.
    for (const room of rooms) {
      contain(this, 'timer', 'presence of a room', () =>
        this.#publish(room, { type: 'presence', room, users: this.roomUsers(room) }),
      )
    }
  }

  /** A local session is typing in `room`. */
  typing(room: string, user: User): void {
    this.publishTyping(room, user)
    this.mesh?.typing(room, user)
  }

  publishTyping(room: string, user: User): void {
    const frame = encodeServerFrame({ type: 'typing', room, user })
    // The typist's own sessions do not need to hear it.
    this.rooms.publish(room, [frame], (member) => member.user.id === user.id)
  }

  /** Tells every session the mesh's nodes changed (for failover lists). */
  publishNodes(nodes: MeshNode[]): void {
    const frame = encodeServerFrame({ type: 'nodes', nodes })
    for (const session of this.sessions) if (session.welcomed) session.deliver([frame])
  }

  #publish(room: string, frame: ServerFrame): void {
    this.rooms.publish(room, [encodeServerFrame(frame)])
  }

  sessionOpened(session: Session): void {
    this.sessions.add(session)
    this.metrics.clients.set(this.sessions.size)
  }

  sessionClosed(session: Session): void {
    this.sessions.delete(session)
    this.metrics.clients.set(this.sessions.size)
  }

  /**
   * Delivers committed events to the rooms' members: each frame encoded once, and all of a
   * commit's frames for a room handed to each member together (one socket write, not one per
   * message: the further behind the node falls, the more a write carries).
   */
  #fanOut(events: readonly ChatEvent[], hidden: ReadonlySet<ChatEvent>): void {
    const byRoom = new Map<string, { frames: Buffer[]; ids: EventId[] }>()
    /** Per origin, the highest seq this commit made durable. */
    const reached = new Map<string, number>()
    let local = 0
    for (const event of events) {
      if (event.origin === this.nodeId) local++
      reached.set(event.origin, Math.max(reached.get(event.origin) ?? 0, event.seq))
      if (hidden.has(event)) continue // a second copy of one send: clients have the first
      const frame = encodeServerFrame(clientFrame(event))
      let batch = byRoom.get(event.room)
      if (!batch) byRoom.set(event.room, (batch = { frames: [], ids: [] }))
      batch.frames.push(frame)
      batch.ids.push({ origin: event.origin, seq: event.seq })
    }
    let delivered = 0
    for (const [room, { frames, ids }] of byRoom)
      delivered += this.rooms.publishEvents(room, frames, ids)
    // Sessions whose since was ahead of this node need no filter once the node has caught up.
    for (const [origin, seq] of reached) this.rooms.reached(origin, seq)
    this.metrics.delivered.inc(delivered)
    if (local > 0) this.metrics.accepted.inc({ source: 'client' }, local)
    if (local < events.length) this.metrics.accepted.inc({ source: 'peer' }, events.length - local)
  }

  /** Commits what is pending and closes the store. */
  async close(): Promise<void> {
    this.metrics.stop()
    try {
      await this.log.flush()
      await this.#writer.close()
    } finally {
      this.store.close()
    }
  }
}
