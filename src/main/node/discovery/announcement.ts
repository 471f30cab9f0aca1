/**
 * The LAN announcement (docs/protocol.md, "Discovery"): one UDP datagram of JSON that says "a
 * node of mesh H listens for peers on port P here". It carries no secret and nothing a peer
 * link would trust: whoever hears it still has to prove the mesh secret to link.
 *
 * Pure functions over buffers, so that hostile datagrams are tested without a network.
 */
import { createHash, randomBytes } from 'node:crypto'
import { z } from 'zod'
import { nodeIdSchema } from '../../../shared/signed-frames.ts'

/** `type` of every announcement: a datagram without it is not ours and is dropped. */
export const ANNOUNCEMENT_TYPE = 'palaver-announce'
/** The version this node speaks; a datagram of another version is dropped. */
export const ANNOUNCEMENT_VERSION = 1
/** Datagrams longer than this are dropped unread (a real one is about 200 bytes). */
export const MAX_ANNOUNCEMENT_BYTES = 1_024

export interface Announcement {
  /** The announcing node's id. */
  id: string
  /** `meshHash()` of its mesh name. */
  mesh: string
  /** The TCP port its peer links are taken on. */
  peerPort: number
  /** Random per start of the node: a new one means the node restarted. */
  instance: string
}

const announcementSchema = z.looseObject({
  type: z.literal(ANNOUNCEMENT_TYPE),
  v: z.literal(ANNOUNCEMENT_VERSION),
  id: nodeIdSchema,
  mesh: z.string().regex(/^[0-9a-f]{64}$/),
  peerPort: z.number().int().min(1).max(65_535),
  instance: z.string().regex(/^[0-9a-f]{16}$/),
})

/** The hex SHA-256 of a mesh name: nodes compare meshes without saying their names. */
export function meshHash(mesh: string): string {
  return createHash('sha256').update(mesh, 'utf8').digest('hex')
}

/** A new instance id: 8 random bytes as hex. */
export function newInstanceId(): string {
  return randomBytes(8).toString('hex')
}

export function encodeAnnouncement(announcement: Announcement): Buffer {
  const { id, mesh, peerPort, instance } = announcement
  const packet = { type: ANNOUNCEMENT_TYPE, v: ANNOUNCEMENT_VERSION, id, mesh, peerPort, instance }
  return Buffer.from(JSON.stringify(packet), 'utf8')
}

/**
 * The announcement in `datagram`, or undefined for anything else: too long, not UTF-8 JSON, not
 * an object of this type and version, or a field out of its form. Never throws.
 */
export function decodeAnnouncement(datagram: Buffer): Announcement | undefined {
  if (datagram.length === 0 || datagram.length > MAX_ANNOUNCEMENT_BYTES) return undefined
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(datagram))
  } catch {
    return undefined
  }
  const result = announcementSchema.safeParse(value)
  if (!result.success) return undefined
  const { id, mesh, peerPort, instance } = result.data
  return { id, mesh, peerPort, instance }
}
