/**
 * Frames for clients, encoded once for every session that gets them, and what a client gets for
 * a stored event (docs/protocol.md, "Node → client"): a `message` frame
 * for a chat message, with every field of the event so that the client can check its signatures,
 * and an `event` frame carrying an event of any other kind as stored, so that new kinds reach the
 * clients that know them through nodes that do not.
 */
import type { ChatMessage, ServerFrame } from '../../shared/protocol.ts'
import { MESSAGE_KIND } from '../../shared/signatures.ts'
import { messageFromEvent } from '../../shared/signed-frames.ts'
import type { ChatEvent } from './store.ts'

/** Encodes one frame for clients (typed: only a frame of the protocol gets through). */
export function encodeServerFrame(frame: ServerFrame): Buffer {
  return Buffer.from(JSON.stringify(frame))
}

export function isMessage(event: ChatEvent): boolean {
  return event.kind === MESSAGE_KIND
}

/** The message a client sees for an event of kind `message`. */
export function chatMessage(event: ChatEvent): ChatMessage {
  // The schema checked a message's `text`; the rest of ChatMessage is the envelope's.
  return messageFromEvent(event) as unknown as ChatMessage
}

export function clientFrame(event: ChatEvent): ServerFrame {
  return isMessage(event)
    ? { type: 'message', ...chatMessage(event) }
    : { type: 'event', room: event.room, event }
}
