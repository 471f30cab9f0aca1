import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import { protocolVectors } from '../../test/support/protocol-vectors.ts'
import { encodeBase64url } from './base64url.ts'
import { nobleEd25519 } from './ed25519.ts'
import { encodeKey, encodeSignature, nodeIdFromKey, userIdFromKey } from './keys.ts'
import { peerFrameSchema } from './peer-protocol.ts'
import { checkEvent, eventFromMessage, makeNonce, signAsNode } from './signatures.ts'
import {
  challengeFrameSchema,
  chatUserSchema,
  helloFrameSchema,
  messageFromEvent,
  nodeIdSchema,
  nonceSchema,
  openEventSchema,
  proveFrameSchema,
  publicKeySchema,
  sendFrameSchema,
  signatureSchema,
} from './signed-frames.ts'

const vectors = protocolVectors()
const signed = <T>(name: string, field: string): T => {
  const v = vectors.get(name) as Record<string, Record<string, unknown>>
  return { ...v[field], sig: v.sig } as T
}
/** The keyed user's message of docs/protocol.md, signed by its origin (vector `event-sig`). */
const messageEvent = signed<Record<string, unknown>>('event-sig', 'event')
const node = nobleEd25519.signer(new Uint8Array(32).fill(1))
const key = encodeKey(node.publicKey)
const sig = encodeSignature(new Uint8Array(64))
const keyedUser = (messageEvent as { user: { id: string; name: string; key: string } }).user

const ok = (schema: z.ZodType, value: unknown): boolean => schema.safeParse(value).success

describe('key, signature, nonce and node id', () => {
  it('takes a key and a signature only in their one base64url form', () => {
    expect(ok(publicKeySchema, key)).toBe(true)
    expect(ok(signatureSchema, sig)).toBe(true)
    for (const bad of [`${key}=`, key.slice(1), `${key}A`, sig, key.replace(/.$/, 'B'), 7]) {
      expect(ok(publicKeySchema, bad)).toBe(false)
    }
    for (const bad of [`${sig}==`, sig.slice(1), key, sig.replace(/.$/, 'B'), null]) {
      expect(ok(signatureSchema, bad)).toBe(false)
    }
  })

  it('takes a nonce of 16 to 64 bytes', () => {
    expect(ok(nonceSchema, makeNonce())).toBe(true)
    expect(ok(nonceSchema, encodeBase64url(new Uint8Array(16)))).toBe(true)
    expect(ok(nonceSchema, encodeBase64url(new Uint8Array(64)))).toBe(true)
    expect(ok(nonceSchema, encodeBase64url(new Uint8Array(15)))).toBe(false)
    expect(ok(nonceSchema, encodeBase64url(new Uint8Array(65)))).toBe(false)
    expect(ok(nonceSchema, `${encodeBase64url(new Uint8Array(16))}=`)).toBe(false)
  })

  it('takes a node id of 40 lowercase hex digits, as made from a key', () => {
    expect(ok(nodeIdSchema, nodeIdFromKey(node.publicKey))).toBe(true)
    for (const bad of [
      'node0001',
      'a'.repeat(39),
      'a'.repeat(41),
      'A'.repeat(40),
      `k${'a'.repeat(39)}`,
    ]) {
      expect(ok(nodeIdSchema, bad)).toBe(false)
    }
  })
})

describe('chatUserSchema', () => {
  it('takes an unverified user and a keyed user, and keeps fields it does not know', () => {
    expect(chatUserSchema.parse({ id: 'script-0001', name: 'Bot' })).toEqual({
      id: 'script-0001',
      name: 'Bot',
    })
    expect(chatUserSchema.parse({ ...keyedUser, avatar: 'x' })).toEqual({
      ...keyedUser,
      avatar: 'x',
    })
  })

  it('leaves a keyed-form id without its key to the session (unauthorized, not bad_request)', () => {
    expect(ok(chatUserSchema, { id: userIdFromKey(node.publicKey), name: 'Eve' })).toBe(true)
  })

  it('refuses a key that is not one', () => {
    expect(ok(chatUserSchema, { ...keyedUser, key: `${keyedUser.key}=` })).toBe(false)
    expect(ok(chatUserSchema, { ...keyedUser, key: 42 })).toBe(false)
  })
})

describe('client frames', () => {
  it('hello with a keyed user, prove and send with usig', () => {
    expect(ok(helloFrameSchema, { type: 'hello', protocol: 1, user: keyedUser })).toBe(true)
    expect(ok(helloFrameSchema, { type: 'hello', protocol: 2, user: keyedUser })).toBe(false)
    expect(ok(proveFrameSchema, { type: 'prove', sig, ref: 'p1' })).toBe(true)
    expect(ok(proveFrameSchema, { type: 'prove' })).toBe(false)
    expect(ok(proveFrameSchema, { type: 'prove', sig: key })).toBe(false)
    const send = { type: 'send', room: 'general', text: 'hi', cid: 'm1' }
    expect(ok(sendFrameSchema, send)).toBe(true)
    expect(ok(sendFrameSchema, { ...send, usig: sig })).toBe(true)
    expect(ok(sendFrameSchema, { ...send, usig: 'nope' })).toBe(false)
  })

  it('challenge from the node', () => {
    const challenge = {
      type: 'challenge',
      node: { id: nodeIdFromKey(node.publicKey) },
      nonce: makeNonce(),
    }
    expect(ok(challengeFrameSchema, challenge)).toBe(true)
    expect(ok(challengeFrameSchema, { ...challenge, nonce: 'short' })).toBe(false)
    expect(ok(challengeFrameSchema, { ...challenge, node: { id: 'node0001' } })).toBe(false)
  })
})

describe('openEventSchema', () => {
  const origin = nodeIdFromKey(node.publicKey)
  const reaction = signAsNode(node, {
    kind: 'reaction',
    origin,
    seq: 2,
    ts: 1_796_024_139_000_000,
    room: 'general',
    user: { id: 'script-0001', name: 'Bot' },
    cid: 'r1',
    emoji: '👍',
    target: `${origin}:1`,
  })

  it('takes a signed keyed user’s message as it is', () => {
    expect(openEventSchema.parse(messageEvent)).toEqual(messageEvent)
  })

  it('takes any kind, and keeps its fields so that its signature still verifies', () => {
    const parsed = openEventSchema.parse(reaction)
    expect(parsed).toEqual(reaction)
    expect(checkEvent(parsed)).toEqual({ ok: true })
  })

  it.each([
    ['a message without text', { ...messageEvent, text: undefined }],
    ['a message with a blank text', { ...messageEvent, text: '   ' }],
    ['a message with a text over 4000 characters', { ...messageEvent, text: 'x'.repeat(4001) }],
    ['a kind that is empty', { ...reaction, kind: '' }],
    ['a kind with a space', { ...reaction, kind: 'a b' }],
    ['no sig', { ...reaction, sig: undefined }],
    ['no key', { ...reaction, key: undefined }],
    ['a usig that is not a signature', { ...messageEvent, usig: 'x' }],
    ['an origin that is not a node id', { ...reaction, origin: 'node0001' }],
    ['a ts of 0', { ...reaction, ts: 0 }],
  ])('refuses %s', (_, event) => {
    expect(ok(openEventSchema, event)).toBe(false)
  })

  it('names the text when a message’s text is wrong', () => {
    const result = openEventSchema.safeParse({ ...messageEvent, text: '' })
    expect(result.success).toBe(false)
    expect(result.error?.issues[0]?.path).toEqual(['text'])
  })
})

describe('messageFromEvent', () => {
  it('gives every field of the event but kind, and its id; eventFromMessage undoes it', () => {
    const event = openEventSchema.parse(messageEvent)
    const message = messageFromEvent(event)
    expect(message.id).toBe(`${event.origin}:1`)
    expect(message).not.toHaveProperty('kind')
    expect(eventFromMessage({ type: 'message', ...message })).toEqual(messageEvent)
  })
})

/** The peer frames that carry keys and signatures, as the schema of every peer frame takes them. */
describe('peer frames', () => {
  const id = nodeIdFromKey(node.publicKey)

  it('hello with the node key, auth with a sig', () => {
    const hello = {
      type: 'hello',
      protocol: 1,
      node: { id, name: 'Attic', url: 'ws://h:8080/', key },
      mesh: 'default',
    }
    expect(ok(peerFrameSchema, hello)).toBe(true)
    expect(ok(peerFrameSchema, { ...hello, node: { ...hello.node, key: undefined } })).toBe(false)
    expect(ok(peerFrameSchema, { ...hello, node: { ...hello.node, id: 'node0001' } })).toBe(false)
    expect(ok(peerFrameSchema, { type: 'auth', proof: 'ab'.repeat(32), sig })).toBe(true)
    expect(ok(peerFrameSchema, { type: 'auth', proof: 'ab'.repeat(32) })).toBe(false)
  })

  it('event, presence, typing and nodes as the vectors of docs/protocol.md give them', () => {
    expect(ok(peerFrameSchema, { type: 'event', event: messageEvent })).toBe(true)
    const presence = signed<Record<string, unknown>>('presence-sig', 'frame')
    const typing = signed<Record<string, unknown>>('typing-sig', 'frame')
    const record = signed<Record<string, unknown>>('node-record-sig', 'record')
    expect(peerFrameSchema.parse(presence)).toEqual(presence)
    expect(peerFrameSchema.parse(typing)).toEqual(typing)
    expect(peerFrameSchema.parse({ type: 'nodes', nodes: [record] })).toEqual({
      type: 'nodes',
      nodes: [record],
    })
    for (const unsigned of [
      { ...presence, sig: undefined },
      { ...presence, key: undefined },
    ]) {
      expect(ok(peerFrameSchema, unsigned)).toBe(false)
    }
    expect(ok(peerFrameSchema, { ...typing, sig: undefined })).toBe(false)
    expect(ok(peerFrameSchema, { type: 'nodes', nodes: [{ ...record, sig: undefined }] })).toBe(
      false,
    )
  })
})
