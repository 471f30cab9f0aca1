/**
 * Reading and checking worked examples of the protocols (docs/protocol.md, "Worked examples"),
 * written as scripts/capture-examples.ts prints them: one frame per `->` or `<-` line, the later
 * lines of a frame indented by four spaces. The checks are those a reader of the examples can
 * make: every signature and proof verifies, except where the node refused the frame for it.
 */
import { meshProof } from '../src/main/node/mesh/proof.ts'
import { keyOwnsUserId } from '../src/shared/keys.ts'
import { peerFrameSchema } from '../src/shared/peer-protocol.ts'
import {
  checkEvent,
  checkMessage,
  MESSAGE_KIND,
  type SignedEvent,
  verifyLink,
  verifyNodeRecord,
  verifyPresence,
  verifySessionProof,
  verifyTyping,
  verifyUserSignature,
} from '../src/shared/signatures.ts'

export interface ExampleFrame {
  /** `->` sent by the end whose view the example shows, `<-` received by it. */
  arrow: '->' | '<-'
  /** The frame's text, its lines joined. */
  text: string
  /** The frame as JSON; undefined for one that is not JSON (sent so on purpose). */
  value: Record<string, unknown> | undefined
}

/** What the examples mark as shortened: such a frame's signature cannot be checked. */
const SHORTENED = /…\d+ characters…/

/** The frames written in `text`, in order (lines that are not frames are skipped). */
export function exampleFrames(text: string): ExampleFrame[] {
  const frames: ExampleFrame[] = []
  for (const [, arrow, body = ''] of text.matchAll(/^(->|<-) (.*(?:\n {4}\S.*)*)/gm)) {
    const joined = body.replace(/\n {4}/g, '')
    let value: Record<string, unknown> | undefined
    try {
      value = JSON.parse(joined) as Record<string, unknown>
    } catch {
      value = undefined
    }
    frames.push({ arrow: arrow === '->' ? '->' : '<-', text: joined, value })
  }
  return frames
}

/** How many things of each kind were checked, and what did not hold (empty when all did). */
export interface ExampleCheck {
  checked: Record<string, number>
  problems: string[]
}

/** Counts what it checks, and keeps what did not hold. */
class Checks {
  readonly checked: Record<string, number> = {}
  readonly problems: string[] = []

  check(kind: string, ok: boolean, what: string): void {
    this.checked[kind] = (this.checked[kind] ?? 0) + 1
    if (!ok) this.problems.push(`${kind}: ${what}`)
  }

  result(): ExampleCheck {
    return { checked: this.checked, problems: this.problems }
  }
}

type Value = Record<string, unknown>
type KeyedUser = { id: string; name: string; key: string }

/**
 * Checks client frames (as one client sees its sessions): each message (live, in a backlog, in a
 * `history` page) and each `event` has an origin signature, and a keyed user's signature, that
 * verify; each keyed `hello` has an id that is the hash of its key; each `prove` answers the
 * `challenge` before it under the key of the `hello` before it; each signed `send` carries that
 * user's signature of its message, unless the node answered it with `unauthorized`.
 */
export function checkClientExamples(frames: readonly ExampleFrame[]): ExampleCheck {
  const checks = new Checks()
  const check = checks.check.bind(checks)
  let user: KeyedUser | undefined
  let challenge: { node: { id: string }; nonce: string } | undefined
  for (const [i, { arrow, value, text }] of frames.entries()) {
    const type = value?.type
    if (value === undefined) continue
    if (arrow === '<-' && type === 'message') {
      check('message', checkMessage(value as SignedEvent).ok, String(value.id))
    } else if (arrow === '<-' && type === 'history') {
      for (const m of value.messages as Value[]) {
        check('message', checkMessage(m as SignedEvent).ok, String(m.id))
      }
    } else if (arrow === '<-' && type === 'event') {
      const event = value.event as SignedEvent
      check('event', checkEvent(event).ok, `${event.origin}:${String(event.seq)}`)
    } else if (type === 'hello' && typeof (value.user as Value).key === 'string') {
      user = value.user as KeyedUser
      check('keyed user', keyOwnsUserId(user.key, user.id), user.id)
    } else if (type === 'challenge') {
      challenge = value as typeof challenge
    } else if (type === 'prove') {
      const sig = String(value.sig)
      const ok = verifySessionProof(
        challenge?.node.id ?? '',
        challenge?.nonce ?? '',
        user?.key ?? '',
        sig,
      )
      check('prove', ok, sig)
    } else if (type === 'send' && typeof value.usig === 'string' && !SHORTENED.test(text)) {
      const { room, cid, text: said } = value
      const signer = user ?? { id: '' }
      const event = { kind: MESSAGE_KIND, room, cid, text: said, user: signer, usig: value.usig }
      const reply = frames.slice(i + 1).find((f) => f.arrow === '<-')?.value
      const refused = reply?.type === 'error' && reply.code === 'unauthorized'
      check('usig', verifyUserSignature(event) !== refused, `the send of ${String(cid)}`)
    }
  }
  return checks.result()
}

/**
 * Checks the frames of one peer link, both ways, on the TLS session whose keying material is
 * `exporter`, in a mesh whose secret is `secret`: each frame is a valid peer frame; each end's
 * `auth` carries a link signature under its `hello`'s key and the mesh proof; each node record,
 * event, `presence` and `typing` frame is signed by its node.
 */
export function checkPeerExamples(
  frames: readonly ExampleFrame[],
  { exporter, secret }: { exporter: string; secret: string },
): ExampleCheck {
  const checks = new Checks()
  const check = checks.check.bind(checks)
  const hellos = new Map<ExampleFrame['arrow'], { id: string; key: string; mesh: string }>()
  for (const { arrow, value, text } of frames) {
    const parsed = peerFrameSchema.safeParse(value)
    check('peer frame', parsed.success, text.slice(0, 60))
    if (!parsed.success) continue
    const frame = parsed.data
    if (frame.type === 'hello') {
      hellos.set(arrow, { ...frame.node, mesh: frame.mesh })
    } else if (frame.type === 'auth') {
      const hello = hellos.get(arrow)
      const { id = '', key = '', mesh = '' } = hello ?? {}
      check('link sig', verifyLink({ mesh, exporter, nodeId: id }, key, frame.sig), arrow)
      check('proof', frame.proof === meshProof(secret, mesh, exporter, id), arrow)
    } else if (frame.type === 'nodes') {
      for (const record of frame.nodes) check('record', verifyNodeRecord(record), record.id)
    } else if (frame.type === 'event') {
      const { origin, seq } = frame.event
      check('event', checkEvent(frame.event).ok, `${origin}:${seq}`)
    } else if (frame.type === 'presence') {
      check('presence', verifyPresence(frame), String(frame.version))
    } else if (frame.type === 'typing') {
      check('typing', verifyTyping(frame), String(frame.eseq))
    }
  }
  return checks.result()
}
