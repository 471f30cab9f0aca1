/**
 * The mesh's node records (docs/protocol.md, `nodes`): this node's own, signed and renewed every
 * `DIRECTORY_REFRESH_MS`, and other nodes', believed only when signed by the node they describe
 * and newer than the one held (so nobody can rewrite another node's URL), and passed on as they
 * came. From them comes the list of nodes clients may fail over to.
 */
import { isClientUrl } from '../../../shared/client-url.ts'
import type { NodeRecord } from '../../../shared/peer-protocol.ts'
import type { MeshNode } from '../../../shared/protocol.ts'
import { verifyNodeRecord } from '../../../shared/signatures.ts'
import type { HybridClock } from '../clock.ts'
import type { NodeIdentity } from '../node-identity.ts'
import { nativeEd25519 } from '../signing-native.ts'
import { NodeDirectory, nodesFrames } from './directory.ts'
import type { PeerLink } from './link.ts'
import type { Refuse } from './refusals.ts'

/** Nodes a client is told of (`welcome`, `nodes`): this one, those up, then others. */
export const MAX_LISTED_NODES = 100

export interface NodeRecordsOptions {
  identity: NodeIdentity
  clock: HybridClock
  name: string
  /** This node's client WebSocket URL and peer address, as others should dial them. */
  clientUrl: () => string
  peerAddr: () => string
  /** Whether a node is linked to this one now (its record is kept past the directory's TTL). */
  isLinked: (id: string) => boolean
  /** Whether a node is up: linked, or heard from lately. */
  isUp: (id: string) => boolean
  /** Writes a frame to every link. */
  flood: (frame: Buffer) => void
  refuse: Refuse
  /** Records of these nodes came in, new or newer (the node may be dialled again now). */
  onLearned: (records: readonly NodeRecord[]) => void
}

export class NodeRecords {
  readonly #options: NodeRecordsOptions
  readonly #directory: NodeDirectory
  /** The version of this node's own record. */
  #version: number

  constructor(options: NodeRecordsOptions) {
    this.#options = options
    this.#version = options.clock.now()
    this.#directory = new NodeDirectory({ pinned: options.isLinked })
  }

  get size(): number {
    return this.#directory.size
  }

  /** Every record held. */
  all(): NodeRecord[] {
    return this.#directory.values()
  }

  /** The name a node's record gives, if one is held. */
  nameOf(id: string): string | undefined {
    return this.#directory.get(id)?.name
  }

  /** This node's record, signed. */
  own(): NodeRecord {
    const { identity, name } = this.#options
    const record = {
      id: identity.id,
      name,
      url: this.#options.clientUrl(),
      peerAddr: this.#options.peerAddr(),
      version: this.#version,
    }
    return identity.sign(record)
  }

  /** A new version of this node's record, to every link, so that others keep it past their TTL. */
  renewOwn(): void {
    this.#version = this.#options.clock.now()
    for (const frame of nodesFrames([this.own()])) this.#options.flood(frame)
  }

  /** Everything for a peer that just linked: this node's record and the directory, up first. */
  framesForNewLink(): Buffer[] {
    return nodesFrames([this.own(), ...this.#recordsUpFirst().map(({ record }) => record)])
  }

  /**
   * Takes in records from `link`: each one newer than the one held is checked, and those signed
   * by the node they describe replace it. The new and newer ones go on to every link, as they
   * are (what changed, not the whole directory).
   */
  learn(link: PeerLink, records: readonly NodeRecord[]): void {
    const own = this.#options.identity.id
    const verified: NodeRecord[] = []
    for (const record of records) {
      if (record.id === own || !this.#directory.isNewer(record)) continue
      if (verifyNodeRecord(record, nativeEd25519)) verified.push(record)
      else this.#options.refuse(link, 'record', 'not signed by the node it describes', record.id)
    }
    const changed = this.#directory.learn(verified)
    if (changed.length === 0) return
    for (const frame of nodesFrames(changed)) this.#options.flood(frame)
    this.#options.onLearned(changed)
  }

  /** Forgets records not renewed within the TTL; returns whether any was. */
  expire(): boolean {
    return this.#directory.expire()
  }

  /**
   * The nodes clients are told of: this one, then those up, then others, at most
   * MAX_LISTED_NODES, so that records nobody can reach never crowd out the nodes a client can
   * fail over to. Only `ws:`/`wss:` URLs from signed records reach a client.
   */
  forClients(): MeshNode[] {
    const { identity, name } = this.#options
    return [
      { id: identity.id, name, url: this.#options.clientUrl(), up: true },
      ...this.#recordsUpFirst()
        .filter(({ record }) => isClientUrl(record.url))
        .map(({ record: { id, name, url }, up }) => ({ id, name, url, up })),
    ].slice(0, MAX_LISTED_NODES)
  }

  /** The directory's records, those of nodes up first. */
  #recordsUpFirst(): { record: NodeRecord; up: boolean }[] {
    const all = this.#directory
      .values()
      .map((record) => ({ record, up: this.#options.isUp(record.id) }))
    return [...all.filter((r) => r.up), ...all.filter((r) => !r.up)]
  }
}
