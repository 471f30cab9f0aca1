/**
 * `ChatNode`: one object owns a running node. The desktop app, the headless CLI and the tests
 * all drive it the same way: construct with options, `start()`, `stop()`.
 *
 * Lifecycle: stopped → starting → running → stopping → stopped. `start()` on a running node and
 * `stop()` on a stopped one do nothing; whatever `start()` sets up, `stop()` tears down, and a
 * node can be started again after it stopped.
 */
import { EventEmitter } from 'node:events'
import { networkInterfaces } from 'node:os'
import type { DiscoveryStatus } from '../../shared/discovery-status.ts'
import type { MeshNode, PeerStatus, Vector } from '../../shared/protocol.ts'
import { ClientServer } from './client-server.ts'
import { Discovery } from './discovery/discovery.ts'
import { Mesh } from './mesh/mesh.ts'
import { loadOrCreateIdentity } from './mesh/tls-identity.ts'
import { NodeCore } from './node-core.ts'
import { type NodeOptions, type NodeOptionsInput, normalizeOptions, parsePeer } from './options.ts'

export type NodeState = 'stopped' | 'starting' | 'running' | 'stopping'

/** The `/health` document (docs/protocol.md). */
export interface Health {
  status: 'ok'
  node: { id: string; name: string }
  clients: number
  /** Each with `skewMs` when its events come more than 5 minutes ahead of this node's clock. */
  peers: PeerStatus[]
  vector: Vector
  events: number
  /** What discovery heard and sent (docs/protocol.md, "Discovery"). */
  discovery: DiscoveryStatus
}

interface Running {
  core: NodeCore
  clients: ClientServer
  mesh: Mesh
  /** Undefined when the node runs with discovery off. */
  discovery: Discovery | undefined
  clientPort: number
  peerPort: number
}

export interface ChatNodeEvents {
  state: [NodeState]
}

export class ChatNode extends EventEmitter<ChatNodeEvents> {
  readonly options: NodeOptions
  #state: NodeState = 'stopped'
  #running: Running | undefined
  #transition: Promise<void> | undefined

  /** @throws OptionsError when an option is invalid */
  constructor(options: NodeOptionsInput) {
    super()
    this.options = normalizeOptions(options)
  }

  get state(): NodeState {
    return this.#state
  }

  /** The node id (known once started). */
  get id(): string | undefined {
    return this.#running?.core.nodeId
  }

  /** The bound client port (useful with `port: 0`). */
  get clientPort(): number | undefined {
    return this.#running?.clientPort
  }

  /** The bound peer port (useful with `peerPort: 0`). */
  get peerPort(): number | undefined {
    return this.#running?.peerPort
  }

  /** The URL clients of other machines use to reach this node's chat. */
  get clientUrl(): string | undefined {
    return this.#running?.core.clientUrl
  }

  /** Opens the store and listens. Rejects (and leaves the node stopped) when it cannot. */
  async start(): Promise<void> {
    await this.#transition?.catch(() => {}) // a failed start is over: it threw to its caller
    // A start called in the same turn is under way: this call ends with it.
    if (this.#state === 'starting') return this.#transition
    if (this.#state !== 'stopped') return
    this.#transition = this.#start()
    return this.#transition
  }

  async #start(): Promise<void> {
    this.#setState('starting')
    const { options } = this
    let core: NodeCore | undefined
    let clients: ClientServer | undefined
    let mesh: Mesh | undefined
    let discovery: Discovery | undefined
    try {
      core = new NodeCore(options)
      const tls = await loadOrCreateIdentity(options.dataDir, core.nodeId)
      clients = new ClientServer(core, () => this.health())
      const clientPort = await clients.listen(options.host, options.port)
      const host = options.advertiseHost ?? advertisedHost(options.host)
      core.clientUrl = wsUrl(host, clientPort)
      let peerPort = 0
      const nodeCore = core
      mesh = new Mesh({
        identity: core.store.identity,
        tls,
        name: options.name,
        mesh: options.mesh,
        secret: options.secret,
        peers: options.peers,
        redialMaxMs: options.redialMaxMs,
        maxPendingPeersPerAddress: options.maxPendingPeersPerAddress,
        presenceMaxRooms: options.presenceMaxRooms,
        activeViewSize: options.activeViewSize,
        passiveViewSize: options.passiveViewSize,
        ihaveMaxOrigins: options.ihaveMaxOrigins,
        timings: options.meshTimings,
        clientUrl: () => nodeCore.clientUrl,
        peerAddr: () => `${host.includes(':') ? `[${host}]` : host}:${peerPort}`,
        log: core.log,
        store: core.store,
        clock: core.clock,
        sink: core,
        localRooms: () => nodeCore.rooms.snapshot(),
        onRoomPresence: (room) => nodeCore.publishPresence(room),
        onTyping: (room, user) => nodeCore.publishTyping(room, user),
        onNodes: (nodes) => nodeCore.publishNodes(nodes),
        onRecordsLearned: (records) => discovery?.gossip(records),
      })
      peerPort = await mesh.listen(options.host, options.peerPort)
      core.mesh = mesh
      if (options.discovery) discovery = this.#discovery(core, mesh, peerPort)
      discovery?.start()
      this.#running = { core, clients, mesh, discovery, clientPort, peerPort }
      this.#setState('running')
      options.logger.info({ id: core.nodeId, clientPort, peerPort }, 'node running')
    } catch (error) {
      discovery?.close()
      await mesh?.close()
      await clients?.close()
      await core?.close()
      this.#setState('stopped')
      throw error
    }
  }

  /** Closes sessions (code 1001), lets pending commits finish, and closes the store. */
  async stop(): Promise<void> {
    await this.#transition?.catch(() => {}) // a failed start is over: it threw to its caller
    if (this.#state === 'stopping') return this.#transition
    if (this.#state !== 'running' || !this.#running) return
    const { core, clients, mesh, discovery } = this.#running
    this.#transition = (async () => {
      this.#setState('stopping')
      try {
        discovery?.close()
        await Promise.all([clients.close(), mesh.close()])
      } finally {
        await core.close()
        this.#running = undefined
        this.#setState('stopped')
        this.options.logger.info('node stopped')
      }
    })()
    return this.#transition
  }

  /** Discovery of the node `core` runs, over its `mesh` listening on `peerPort`. */
  #discovery(core: NodeCore, mesh: Mesh, peerPort: number): Discovery {
    const { options } = this
    return new Discovery({
      nodeId: core.nodeId,
      mesh: options.mesh,
      host: options.host,
      peerPort,
      port: options.discoveryPort,
      announceIntervalMs: options.discoveryAnnounceMs,
      sink: core,
      meshView: {
        isLinked: (id) => mesh.isLinked(id),
        dialError: (id) => mesh.dialError(id),
        manual: () =>
          mesh
            .peers()
            .flatMap(({ id, addr }) =>
              id !== null && this.options.peers.includes(addr) ? [{ id, addr }] : [],
            ),
        records: () => mesh.records(),
      },
      onCandidate: (candidate) => mesh.learnCandidate(candidate),
    })
  }

  health(): Health {
    const running = this.#running
    if (!running) throw new Error('the node is not running')
    const { core, mesh, discovery } = running
    return {
      status: 'ok',
      node: { id: core.nodeId, name: this.options.name },
      clients: core.sessions.size,
      peers: mesh.peers(),
      vector: core.store.vector(),
      events: core.store.count,
      discovery: discovery?.status() ?? discoveryOff(this.options.discoveryPort),
    }
  }

  /**
   * Starts keeping a link to a peer (`HOST:PORT`) while running; kept in the options so that a
   * restart dials it too. Returns false when it was already a peer.
   * @throws OptionsError when `addr` is not HOST:PORT
   */
  addPeer(addr: string): boolean {
    const peer = parsePeer(addr)
    if (this.options.peers.includes(peer)) return false
    this.options.peers.push(peer)
    this.#running?.mesh.addPeer(peer)
    return true
  }

  /** Stops keeping a link to a peer: its link closes and is not redialled. */
  removePeer(addr: string): boolean {
    const at = this.options.peers.indexOf(addr)
    if (at < 0) return false
    this.options.peers.splice(at, 1)
    this.#running?.mesh.removePeer(addr)
    return true
  }

  /** The mesh's nodes and links as this node knows them (for maps). */
  meshView(): { nodes: MeshNode[]; links: [string, string][] } {
    const running = this.#running
    if (!running) return { nodes: [], links: [] }
    return { nodes: running.core.meshNodes(), links: running.mesh.links() }
  }

  #setState(state: NodeState): void {
    this.#state = state
    this.emit('state', state)
  }
}

/** The discovery status of a node that runs with discovery off. */
function discoveryOff(port: number): DiscoveryStatus {
  return {
    enabled: false,
    port,
    interfaces: [],
    nodes: [],
    otherMeshes: 0,
    datagramsDropped: 0,
    lastError: null,
  }
}

/** The address to put in this node's URLs: the listen address, or a LAN one for a wildcard. */
export function advertisedHost(host: string): string {
  if (host !== '0.0.0.0' && host !== '::') return host
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return '127.0.0.1'
}

export function wsUrl(host: string, port: number): string {
  return `ws://${host.includes(':') ? `[${host}]` : host}:${port}/`
}
