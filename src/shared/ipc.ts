/**
 * The desktop app's IPC contract: what the renderer may ask of the main process about its own
 * node, written once for main (handlers), preload (the `window.palaver` API) and renderer.
 *
 * Naming: invoke channels are `domain:verb` (`node:start`, `peers:add`); events are
 * `domain:past-tense` (`node:status-changed`).
 *
 * Every call answers `{ ok: true, value } | { ok: false, error: { code, message } }`: an
 * exception does not cross Electron's IPC intact, a result does.
 */
import type { DiscoveryStatus } from './discovery-status.ts'
import { z } from 'zod'
import { meshNameSchema, peerAddrSchema } from './peer-protocol.ts'
import type { MeshNode, PeerStatus } from './protocol.ts'

const portSchema = z.number().int().min(0).max(65_535)

/** Settings the node panel may change. Secrets are write-only: set, or cleared with ''. */
export const nodeSettingsSchema = z
  .object({
    name: z
      .string()
      .trim()
      .min(1, 'a node name is 1-64 characters')
      .max(64, 'a node name is 1-64 characters'),
    host: z.string().trim().min(1).max(255),
    port: portSchema,
    peerPort: portSchema,
    mesh: meshNameSchema,
    secret: z.string().max(1024),
    token: z.string().max(1024),
    /** Whether the node finds the nodes of its mesh on the LAN (docs/protocol.md, "Discovery"). */
    discovery: z.boolean(),
  })
  .partial()
  .strict()
export type NodeSettings = z.infer<typeof nodeSettingsSchema>

export type NodeRunState = 'stopped' | 'starting' | 'running' | 'stopping'

/** What the renderer sees of its node. Never a secret: only whether one is set. */
export interface NodeStatus {
  state: NodeRunState
  id: string | null
  name: string
  host: string
  /** Configured ports (0: any free port). */
  port: number
  peerPort: number
  /** Ports in use while running. */
  boundPort: number | null
  boundPeerPort: number | null
  mesh: string
  secretSet: boolean
  tokenSet: boolean
  /** The discovery setting. */
  discovery: boolean
  /**
   * Meshes other than this node's heard of on the LAN, while the node runs with discovery on
   * (null otherwise): the panel's "2 other meshes on this network".
   */
  otherMeshes: number | null
  /** The node's chat WebSocket URL for this machine's UI. */
  localUrl: string | null
  /** Addresses other people on the LAN can open (`http://<address>:<port>/`). */
  lanUrls: string[]
  peers: PeerStatus[]
  /** The mesh's nodes and the links between them, for the map. */
  nodes: MeshNode[]
  links: [string, string][]
  /** Why the node is not running, when it failed to start (e.g. `port_in_use`). */
  error: { code: string; message: string } | null
  /** What the node's discovery finds of the network while it runs (null otherwise). */
  network: DiscoveryStatus | null
}

/**
 * An invite to this node's mesh, made in the main process when the person at the node panel
 * asks for one. `code` carries the mesh secret (that is what an invite is for): it is the one
 * result that holds a secret, so it is never part of a status, and the panel forgets it when
 * the invite is hidden. `mesh` and `peer` are what the code says, for people to read.
 */
export interface MeshInvite {
  /** `palaver1:…`: the mesh name, the secret and `peer` (docs/protocol.md, "Invites"). */
  code: string
  mesh: string
  /** This node's peer address as other machines dial it, `HOST:PORT`. */
  peer: string
}

/** Longest invite code a call may carry (a real one is about 120 characters). */
export const MAX_INVITE_CODE_CHARS = 4_096

export type IpcResult<T> =
  { ok: true; value: T } | { ok: false; error: { code: string; message: string } }

/** Invoke channels: their arguments (checked in main) and results. */
export const invokeChannels = {
  'node:status': z.tuple([]),
  'node:start': z.tuple([]),
  'node:stop': z.tuple([]),
  'node:configure': z.tuple([nodeSettingsSchema]),
  'peers:add': z.tuple([peerAddrSchema]),
  'peers:remove': z.tuple([peerAddrSchema]),
  /** An invite to this node's mesh, to show (the code holds the mesh secret). */
  'invite:create': z.tuple([]),
  /** Joins the mesh of an invite code (checked in main: it is only text here). */
  'mesh:join': z.tuple([z.string().max(MAX_INVITE_CODE_CHARS)]),
  /** The renderer's unread count, for the tray and the dock badge. */
  'app:set-unread': z.tuple([z.number().int().min(0).max(1_000_000)]),
  /** Brings the window to the front (a notification was clicked). */
  'app:focus': z.tuple([]),
} as const
export type InvokeChannel = keyof typeof invokeChannels
export type InvokeArgs<C extends InvokeChannel> = z.infer<(typeof invokeChannels)[C]>

export interface InvokeResults {
  'node:status': NodeStatus
  'node:start': NodeStatus
  'node:stop': NodeStatus
  'node:configure': NodeStatus
  'peers:add': NodeStatus
  'peers:remove': NodeStatus
  'invite:create': MeshInvite
  'mesh:join': NodeStatus
  'app:set-unread': null
  'app:focus': null
}

export const STATUS_CHANGED = 'node:status-changed'

/** The API the preload exposes as `window.palaver`: one function per operation. */
export interface PalaverApi {
  status(): Promise<IpcResult<NodeStatus>>
  start(): Promise<IpcResult<NodeStatus>>
  stop(): Promise<IpcResult<NodeStatus>>
  configure(settings: NodeSettings): Promise<IpcResult<NodeStatus>>
  addPeer(addr: string): Promise<IpcResult<NodeStatus>>
  removePeer(addr: string): Promise<IpcResult<NodeStatus>>
  createInvite(): Promise<IpcResult<MeshInvite>>
  joinMesh(code: string): Promise<IpcResult<NodeStatus>>
  setUnread(count: number): Promise<IpcResult<null>>
  focus(): Promise<IpcResult<null>>
  /** Calls `listener` with every new status; returns the unsubscribe function. */
  onStatus(listener: (status: NodeStatus) => void): () => void
}

/** How the API reaches main: Electron's IPC in the preload, a test binding in browser tests. */
export interface IpcTransport {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>
  /** Subscribes to an event channel; returns the unsubscribe function. */
  on(channel: string, listener: (payload: unknown) => void): () => void
}

/**
 * Builds `window.palaver` over a transport. Self-contained (no imports, no outer names) so that
 * browser tests can install the very same function in a page.
 */
export function createPalaverApi(transport: IpcTransport): PalaverApi {
  const call = <T>(channel: string, ...args: unknown[]) =>
    transport.invoke(channel, ...args) as Promise<IpcResult<T>>
  return {
    status: () => call('node:status'),
    start: () => call('node:start'),
    stop: () => call('node:stop'),
    configure: (settings) => call('node:configure', settings),
    addPeer: (addr) => call('peers:add', addr),
    removePeer: (addr) => call('peers:remove', addr),
    createInvite: () => call('invite:create'),
    joinMesh: (code) => call('mesh:join', code),
    setUnread: (count) => call('app:set-unread', count),
    focus: () => call('app:focus'),
    onStatus: (listener) =>
      transport.on('node:status-changed', (status) => listener(status as NodeStatus)),
  }
}
