/**
 * Messages signed the way a node that keeps the protocol signs them (docs/protocol.md, "Keys and
 * signatures"), for tests of what a client makes of them without a real node: the origin signs
 * every event, and a keyed user's event carries the user's `usig` inside.
 */
import { nobleEd25519, type Signer } from '../../src/shared/ed25519.ts'
import { nodeIdFromKey } from '../../src/shared/keys.ts'
import { without } from '../../src/shared/canonical.ts'
import { eventId } from '../../src/shared/protocol.ts'
import {
  eventFromMessage,
  MESSAGE_KIND,
  signAsNode,
  signAsUser,
} from '../../src/shared/signatures.ts'

/** A `message` frame as a node sends it, with the fields a client checks. */
export type SignedMessageFrame = {
  type: 'message'
  room: string
  id: string
  origin: string
  seq: number
  ts: number
  user: { id: string; name: string; key?: string }
  text: string
  cid: string
  key: string
  sig: string
  usig?: string
}

/** A key pair from a fixed seed (every byte `seedByte`), so that a test is the same every run. */
export function fixedSigner(seedByte: number): Signer {
  return nobleEd25519.signer(new Uint8Array(32).fill(seedByte))
}

/** A node that makes signed events of its own, numbered 1, 2, 3, … */
export class SigningNode {
  readonly signer: Signer
  readonly id: string
  #seq = 0

  constructor(signer: Signer = fixedSigner(0x4e)) {
    this.signer = signer
    this.id = nodeIdFromKey(signer.publicKey)
  }

  /**
   * The `message` frame of this node's next event: `text` by `user`, signed by `userSigner` when
   * given (the user is keyed then), and by this node.
   */
  message(options: {
    user: { id: string; name: string; key?: string }
    text: string
    userSigner?: Signer
    room?: string
    cid?: string
  }): SignedMessageFrame {
    const seq = ++this.#seq
    const body = {
      kind: MESSAGE_KIND,
      room: options.room ?? 'general',
      cid: options.cid ?? `cid-${seq}`,
      text: options.text,
      user: options.user,
    }
    const usig = options.userSigner ? { usig: signAsUser(options.userSigner, body) } : {}
    const event = { ...body, origin: this.id, seq, ts: 1_796_024_138_000_000 + seq, ...usig }
    return this.#frame(event, eventId(this.id, seq))
  }

  /**
   * What a node that lies about an event sends: `frame`'s event with `changes`, and without the
   * fields `drop`, signed again by this node.
   */
  resign(
    frame: SignedMessageFrame,
    changes: Record<string, unknown>,
    drop: readonly string[] = [],
  ): SignedMessageFrame {
    const event = { ...without(eventFromMessage(frame), ['sig', 'key', ...drop]), ...changes }
    return this.#frame(event, frame.id)
  }

  /** The `message` frame of an event (kind `message`) that this node signs now. */
  #frame(event: Record<string, unknown>, id: string): SignedMessageFrame {
    const signed = signAsNode(this.signer, event)
    return { type: 'message', ...without(signed, ['kind']), id } as SignedMessageFrame
  }
}
