/**
 * The desktop app's hold on its node: start, stop, settings, peers and invites, as the IPC
 * handlers call them. Plain Node (no Electron), so it is tested on its own.
 *
 * The config of a first run (the defaults) is written at once, so that the random mesh secret
 * it carries (see `firstRunConfig`) stays the same across restarts. The node's own rules (a
 * token needs a secret) are checked before a setting is saved, so the file never holds a
 * config the node refuses.
 *
 * Operations run one at a time, in the order called, so that a start racing a stop or two quick
 * setting changes never leave the node half-configured. Every change is saved to the config
 * file and published as a `status` event; while the node runs, the status is also published
 * when link states or round-trip times change.
 */
import { EventEmitter } from 'node:events'
import { networkInterfaces } from 'node:os'
import type { MeshInvite, NodeSettings, NodeStatus } from '../shared/ipc.ts'
import { type NodeConfig, readConfig, writeConfig } from './config-store.ts'
import { decodeInvite, encodeInvite } from './invite.ts'
import type { Logger } from './node/logger.ts'
import { advertisedHost, ChatNode } from './node/node.ts'
import { type NodeOptionsInput, normalizeOptions, OptionsError, parsePeer } from './node/options.ts'
import { ProcessErrorPolicy, consoleLogger, guardProcess } from './process-errors.ts'

/** How often a running node's status is checked for changes to publish. */
const STATUS_POLL_MS = 1_000
/** Settings whose change needs the node restarted. */
const RESTART_ON: (keyof NodeSettings)[] = [
  'name',
  'host',
  'port',
  'peerPort',
  'mesh',
  'secret',
  'token',
  'discovery',
]

export interface ControllerOptions {
  /** The JSON file the config is kept in. */
  configPath: string
  /** The config of a first run (no file yet). */
  defaults: NodeConfig
  logger?: Logger
  /** The web UI the node serves to browsers. */
  staticDir?: string
  /** Browser origins the node lets open chat sessions, beyond its own and its mesh's. */
  allowOrigins?: string[]
}

export class ControllerError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.code = code
  }
}

export interface ControllerEvents {
  status: [NodeStatus]
}

export class NodeController extends EventEmitter<ControllerEvents> {
  readonly #options: ControllerOptions
  #config: NodeConfig
  #node: ChatNode | undefined
  #error: NodeStatus['error'] = null
  #queue: Promise<unknown> = Promise.resolve()
  #poll: NodeJS.Timeout | undefined
  #published = ''

  /**
   * Reads the config file, or writes the defaults to it when there is none (a first run).
   * @throws ConfigError when the config file exists but is not valid
   */
  constructor(options: ControllerOptions) {
    super()
    this.#options = options
    const saved = readConfig(options.configPath)
    this.#config = saved ?? options.defaults
    if (saved === undefined) writeConfig(options.configPath, this.#config)
  }

  get config(): Readonly<NodeConfig> {
    return this.#config
  }

  status(): NodeStatus {
    const config = this.#config
    const node = this.#node
    const running = node?.state === 'running'
    const boundPort = running ? (node.clientPort ?? null) : null
    const mesh = running ? node.meshView() : { nodes: [], links: [] }
    const health = running ? node.health() : undefined
    return {
      state: node?.state ?? 'stopped',
      id: running ? (node.id ?? null) : null,
      name: config.name,
      host: config.host,
      port: config.port,
      peerPort: config.peerPort,
      boundPort,
      boundPeerPort: running ? (node.peerPort ?? null) : null,
      mesh: config.mesh,
      secretSet: config.secret !== '',
      tokenSet: config.token !== '',
      discovery: config.discovery,
      otherMeshes: health?.discovery.enabled ? health.discovery.otherMeshes : null,
      network: health?.discovery ?? null,
      localUrl: boundPort === null ? null : `ws://${localHost(config.host)}:${boundPort}/`,
      lanUrls:
        boundPort === null ? [] : lanAddresses(config.host).map((a) => `http://${a}:${boundPort}/`),
      peers: health?.peers ?? config.peers.map((addr) => idlePeer(addr)),
      nodes: mesh.nodes,
      links: mesh.links,
      error: this.#error,
    }
  }

  start(): Promise<NodeStatus> {
    return this.#run(() => this.#start())
  }

  stop(): Promise<NodeStatus> {
    return this.#run(() => this.#stop())
  }

  /**
   * Changes settings, saves them, and restarts a running node when one that needs it changed.
   * Arguments are assumed checked against `nodeSettingsSchema` (the IPC layer does that).
   */
  configure(settings: NodeSettings): Promise<NodeStatus> {
    return this.#run(async () => {
      const changed = RESTART_ON.some(
        (key) => settings[key] !== undefined && settings[key] !== this.#config[key],
      )
      // A key given as undefined (the schema allows it; IPC's structured clone keeps it) leaves
      // the setting as it is: spread as is, it would erase it and break the saved file.
      const given = Object.entries(settings).filter(([, value]) => value !== undefined)
      const next: NodeConfig = { ...this.#config, ...Object.fromEntries(given) }
      this.#check(next)
      this.#config = next
      writeConfig(this.#options.configPath, this.#config)
      if (changed && this.#node?.state === 'running') {
        await this.#stop()
        await this.#start()
      }
    })
  }

  /** Adds a peer (kept in the config) and links to it at once when running. */
  addPeer(addr: string): Promise<NodeStatus> {
    return this.#run(() => {
      const peer = parsePeer(addr)
      if (this.#config.peers.includes(peer))
        throw new ControllerError('exists', `${peer} is already a peer`)
      this.#config = { ...this.#config, peers: [...this.#config.peers, peer] }
      writeConfig(this.#options.configPath, this.#config)
      this.#node?.addPeer(peer)
    })
  }

  /** Removes a peer: its link closes and is not redialled. */
  removePeer(addr: string): Promise<NodeStatus> {
    return this.#run(() => {
      if (!this.#config.peers.includes(addr))
        throw new ControllerError('not_found', `${addr} is not a peer`)
      this.#config = { ...this.#config, peers: this.#config.peers.filter((p) => p !== addr) }
      writeConfig(this.#options.configPath, this.#config)
      this.#node?.removePeer(addr)
    })
  }

  /**
   * An invite to this node's mesh for another machine (./invite.ts): the mesh name and secret
   * and this node's peer address. The one way the secret leaves the main process, and only
   * when the person at the panel asks to see it.
   * @throws ControllerError `no_secret` (a mesh without a secret takes anyone: no invite
   *   needed), `no_peer_port` (the peer port is 0 and the node is not running to have one)
   */
  createInvite(): Promise<MeshInvite> {
    return this.#queued(() => {
      const { mesh, secret } = this.#config
      if (secret === '') {
        throw new ControllerError('no_secret', 'the mesh has no secret: any node may join it')
      }
      const peer = this.#peerAddr()
      if (peer === undefined) {
        throw new ControllerError('no_peer_port', 'the peer port is picked when the node starts')
      }
      return { code: encodeInvite({ mesh, secret, peer }), mesh, peer }
    })
  }

  /**
   * Joins the mesh of an invite: takes its mesh name and secret, adds its address as a peer,
   * saves, and (re)starts the node.
   * @throws ControllerError `bad_invite` (not an invite, or a damaged one), `own_invite` (this
   *   node's own), or the start's error
   */
  joinMesh(code: string): Promise<NodeStatus> {
    return this.#run(async () => {
      const decoded = decodeInvite(code)
      if (!decoded.ok) {
        const why = decoded.problem === 'damaged' ? 'a damaged invite code' : 'not an invite code'
        throw new ControllerError('bad_invite', why)
      }
      const { mesh, secret, peer } = decoded.invite
      if (secret === this.#config.secret && peer === this.#peerAddr()) {
        throw new ControllerError('own_invite', 'this is the invite of this node itself')
      }
      const peers = this.#config.peers.includes(peer)
        ? this.#config.peers
        : [...this.#config.peers, peer]
      const next = { ...this.#config, mesh, secret, peers }
      this.#check(next)
      this.#config = next
      writeConfig(this.#options.configPath, this.#config)
      await this.#stop()
      await this.#start()
    })
  }

  /**
   * Logs the process's errors that escape the node (uncaught exceptions, unhandled rejections)
   * and keeps the app serving; `onFatal` ends the app when they keep coming (process-errors.ts
   * says when keeping on is safe). Returns the function that removes the handlers.
   */
  guardProcess(onFatal: () => void): () => void {
    return guardProcess(new ProcessErrorPolicy(this.#options.logger ?? consoleLogger), onFatal)
  }

  /**
   * Runs `operation` after those before it, publishes the status after it, and resolves with
   * what `operation` returned.
   */
  #queued<T>(operation: () => T | Promise<T>): Promise<T> {
    const result = this.#queue.then(operation).finally(() => this.#publish())
    this.#queue = result.catch(() => {})
    return result
  }

  /** `#queued` for an operation on the node: resolves with the status after it. */
  #run(operation: () => void | Promise<void>): Promise<NodeStatus> {
    return this.#queued(async () => {
      await operation()
      return this.status()
    })
  }

  /** The node's options for `config`. */
  #nodeOptions(config: NodeConfig): NodeOptionsInput {
    return {
      name: config.name,
      dataDir: config.dataDir,
      host: config.host,
      port: config.port,
      peerPort: config.peerPort,
      peers: [...config.peers],
      mesh: config.mesh,
      secret: config.secret,
      token: config.token === '' ? undefined : config.token,
      discovery: config.discovery,
      staticDir: this.#options.staticDir,
      allowOrigins: this.#options.allowOrigins,
      logger: this.#options.logger,
    }
  }

  /**
   * Checks `config` by the node's own rules before it is saved.
   * @throws ControllerError `token_needs_secret`; OptionsError for anything else the node refuses
   */
  #check(config: NodeConfig): void {
    try {
      normalizeOptions(this.#nodeOptions(config))
    } catch (error) {
      if (error instanceof OptionsError && error.code === 'token_needs_secret') {
        throw new ControllerError(error.code, error.message)
      }
      throw error
    }
  }

  /** This node's peer address as other machines dial it, or undefined before it has a port. */
  #peerAddr(): string | undefined {
    const port = this.#node?.peerPort ?? this.#config.peerPort
    if (port === 0) return undefined
    const host = advertisedHost(this.#config.host)
    return `${host.includes(':') ? `[${host}]` : host}:${port}`
  }

  async #start(): Promise<void> {
    if (this.#node?.state === 'running') return
    const config = this.#config
    try {
      const node = new ChatNode(this.#nodeOptions(config))
      node.on('state', () => this.#publish())
      this.#node = node
      await node.start()
      this.#error = null
    } catch (error) {
      this.#node = undefined
      this.#error = describeStartError(error, config)
      throw new ControllerError(this.#error.code, this.#error.message)
    }
    this.#poll = setInterval(() => this.#publish(), STATUS_POLL_MS)
    this.#poll.unref()
  }

  async #stop(): Promise<void> {
    clearInterval(this.#poll)
    this.#poll = undefined
    const node = this.#node
    if (!node) return
    await node.stop()
    node.removeAllListeners()
    this.#node = undefined
  }

  /** Emits the status when it differs from the one last emitted. */
  #publish(): NodeStatus {
    const status = this.status()
    const text = JSON.stringify(status)
    if (text !== this.#published) {
      this.#published = text
      this.emit('status', status)
    }
    return status
  }
}

function idlePeer(addr: string): NodeStatus['peers'][number] {
  return { id: null, name: null, addr, state: 'down', rttMs: null, lastError: null }
}

function describeStartError(error: unknown, config: NodeConfig): { code: string; message: string } {
  // A config file written before the rule, or by hand.
  if (error instanceof OptionsError && error.code === 'token_needs_secret') {
    return { code: error.code, message: error.message }
  }
  const code = (error as { code?: string }).code
  const port = (error as { port?: number }).port
  if (code === 'EADDRINUSE') {
    return {
      code: 'port_in_use',
      message: `port ${port ?? config.port} is in use: choose another port`,
    }
  }
  if (code === 'EADDRNOTAVAIL') {
    return { code: 'bad_host', message: `${config.host} is not an address of this machine` }
  }
  if (code === 'EACCES')
    return { code: 'port_denied', message: `not allowed to listen on port ${port ?? config.port}` }
  return { code: 'start_failed', message: error instanceof Error ? error.message : String(error) }
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::'
}

/** The address this machine's own UI uses to reach its node. */
function localHost(host: string): string {
  if (isWildcard(host)) return '127.0.0.1'
  return host.includes(':') ? `[${host}]` : host
}

/** Addresses others on the LAN can reach the node at. */
function lanAddresses(host: string): string[] {
  if (!isWildcard(host))
    return host === '127.0.0.1' || host === '::1' || host === 'localhost' ? [] : [host]
  const addresses: string[] = []
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) addresses.push(a.address)
  }
  return addresses
}
