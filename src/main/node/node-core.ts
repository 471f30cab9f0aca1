/**
 * The running state of a node: its store, event log, rooms and sessions, and what joins them.
 * It exists from `ChatNode.start()` to `ChatNode.stop()`; the servers hand it their traffic.
 */
import type { MeshNode, OnlineUser, ServerFrame, User } from '../../shared/protocol.ts'
import { HybridClock } from './clock.ts'
import { EventLog } from './event-log.ts'
import type { Logger } from './logger.ts'
import type { Mesh } from './mesh/mesh.ts'
import { NodeMetrics } from './metrics.ts'
import type { NodeOptions } from './options.ts'
import { Rooms } from './rooms.ts'
import type { Session } from './session.ts'
import { type ChatEvent, Store, toMessage } from './store.ts'

export class NodeCore {
  readonly options: NodeOptions
  readonly logger: Logger
  readonly store: Store
  readonly log: EventLog
  /** Stamps events, presence versions and typing counters: increasing even across restarts. */
  readonly clock: HybridClock
  readonly rooms = new Rooms()
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
    this.store = new Store(options.dataDir)
    this.clock = new HybridClock(undefined, this.store.maxTs)
    this.log = new EventLog({
      store: this.store,
      clock: this.clock,
      // Each step on its own: a local delivery that throws must not hold back the relaying.
      onCommitted: (events) => {
        try {
          this.#fanOut(events)
        } catch (error) {
          this.logger.error({ err: error }, 'fan-out of committed events failed')
        }
        try {
          this.mesh?.forward(events)
        } catch (error) {
          this.logger.error({ err: error }, 'forwarding committed events failed')
        }
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
    if (this.#presencePending.size === 0) setImmediate(() => this.#flushPresence())
    this.#presencePending.add(room)
  }

  #flushPresence(): void {
    const rooms = [...this.#presencePending]
    this.#presencePending.clear()
    for (const room of rooms)
      this.#publish(room, { type: 'presence', room, users: this.roomUsers(room) })
  }

  /** A local session is typing in `room`. */
  typing(room: string, user: User): void {
    this.publishTyping(room, user)
    this.mesh?.typing(room, user)
  }

  publishTyping(room: string, user: User): void {
    const frame = Buffer.from(JSON.stringify({ type: 'typing', room, user }))
    // The typist's own sessions do not need to hear it.
    this.rooms.publish(room, [frame], (member) => member.user.id === user.id)
  }

  /** Tells every session the mesh's nodes changed (for failover lists). */
  publishNodes(nodes: MeshNode[]): void {
    const frame = Buffer.from(JSON.stringify({ type: 'nodes', nodes }))
    for (const session of this.sessions) if (session.welcomed) session.deliver([frame])
  }

  #publish(room: string, frame: ServerFrame): void {
    this.rooms.publish(room, [Buffer.from(JSON.stringify(frame))])
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
  #fanOut(events: readonly ChatEvent[]): void {
    const byRoom = new Map<string, Buffer[]>()
    let local = 0
    for (const event of events) {
      if (event.origin === this.nodeId) local++
      const frame = Buffer.from(JSON.stringify({ type: 'message', ...toMessage(event) }))
      const frames = byRoom.get(event.room)
      if (frames) frames.push(frame)
      else byRoom.set(event.room, [frame])
    }
    let delivered = 0
    for (const [room, frames] of byRoom)
      delivered += this.rooms.publish(room, frames) * frames.length
    this.metrics.delivered.inc(delivered)
    if (local > 0) this.metrics.accepted.inc({ source: 'client' }, local)
    if (local < events.length) this.metrics.accepted.inc({ source: 'peer' }, events.length - local)
  }

  /** Commits what is pending and closes the store. */
  close(): void {
    this.log.flush()
    this.store.close()
    this.metrics.stop()
  }
}
