/**
 * What keys and signatures cost on this machine: Ed25519 signing and verification with
 * @noble/curves (pure JavaScript, what the browser runs) and with node:crypto (OpenSSL,
 * src/main/node/signing-native.ts), canonical() of a chat event, and the whole check a node makes
 * of each event it receives (`checkEvent`: two hashes, two canonical encodings, two
 * verifications). Each figure is taken for MEASURE_MS after WARM_UP_MS, so the run takes about
 * eight seconds. Run it on an idle machine: the load average is printed beside the figures.
 *
 *   node bench/signing.ts
 */
import { loadavg } from 'node:os'
import { canonical, signedBytes } from '../src/shared/canonical.ts'
import { nobleEd25519, type Ed25519 } from '../src/shared/ed25519.ts'
import { encodeKey, nodeIdFromKey, userIdFromKey } from '../src/shared/keys.ts'
import { checkEvent, signAsNode, signAsUser, type SignedEvent } from '../src/shared/signatures.ts'
import { nativeEd25519 as native } from '../src/main/node/signing-native.ts'

const WARM_UP_MS = 150
const MEASURE_MS = 700

/** Calls `work` for MEASURE_MS (after WARM_UP_MS) and returns calls per second. */
function rate(work: () => unknown): number {
  const until = (ms: number): number => {
    const start = performance.now()
    let calls = 0
    while (performance.now() - start < ms) {
      work()
      calls++
    }
    return calls / ((performance.now() - start) / 1000)
  }
  until(WARM_UP_MS)
  return until(MEASURE_MS)
}

function seed(first: number): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, i) => (first + i) & 0xff)
}

/** A keyed user's message as a node receives it from a peer: signed by the user and the origin. */
function sampleEvent(ed: Ed25519): SignedEvent {
  const node = ed.signer(seed(1))
  const user = ed.signer(seed(33))
  const body = {
    kind: 'message',
    room: 'general',
    cid: 'c-0001-4f2a9b',
    text: 'The build on the lab machine is green again; I am merging the branch after lunch.',
    user: { id: userIdFromKey(user.publicKey), name: 'Ada', key: encodeKey(user.publicKey) },
  }
  return signAsNode(node, {
    ...body,
    origin: nodeIdFromKey(node.publicKey),
    seq: 48_213,
    ts: 1_796_024_138_471_442,
    usig: signAsUser(user, body),
  })
}

const event = sampleEvent(nobleEd25519)
const message = signedBytes(event)
const nobleSigner = nobleEd25519.signer(seed(1))
const nativeSigner = native.signer(seed(1))
const signature = nobleSigner.sign(message)

const figures: [string, () => unknown][] = [
  ['canonical(event)', () => canonical(event)],
  ['signedBytes(event): canonical + UTF-8', () => signedBytes(event)],
  ['noble sign', () => nobleSigner.sign(message)],
  ['native sign', () => nativeSigner.sign(message)],
  ['noble verify', () => nobleEd25519.verify(signature, message, nobleSigner.publicKey)],
  ['native verify', () => native.verify(signature, message, nativeSigner.publicKey)],
  ['checkEvent, noble (2 verifications)', () => checkEvent(event, nobleEd25519)],
  ['checkEvent, native (2 verifications)', () => checkEvent(event, native)],
]

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
console.log(`node ${process.versions.node}, OpenSSL ${process.versions.openssl}`)
console.log(`load average before: ${load()}`)
console.log(`the event: a keyed user's message, ${message.length} bytes of canonical JSON`)
for (const [what, work] of figures) {
  const perSecond = rate(work)
  const each = `${(1e6 / perSecond).toFixed(1)} µs`
  console.log(
    `${what.padEnd(40)} ${Math.round(perSecond).toString().padStart(8)}/s ${each.padStart(11)}`,
  )
}
console.log(`load average after: ${load()}`)
