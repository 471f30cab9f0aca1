import { bytesToHex } from '@noble/hashes/utils.js'
import { describe, expect, it } from 'vitest'
import { encodeBase64url } from '../../../shared/base64url.ts'
import { decodeKey, KEYED_USER_ID_PATTERN, userIdFromKey } from '../../../shared/keys.ts'
import { userIdSchema } from '../../../shared/protocol.ts'
import { chatUserSchema } from '../../../shared/signed-frames.ts'
import {
  MESSAGE_KIND,
  verifySessionProof,
  verifyUserSignature,
} from '../../../shared/signatures.ts'
import { loadUserIdentity, retireKeylessId, type SecretKeyStore } from './identity.ts'
import { memoryStorage } from './storage.ts'

/** A key store in memory, as IndexedDB keeps it across reloads of one browser. */
function memoryKeyStore(): SecretKeyStore & { stored: Uint8Array | undefined; made: number } {
  const store = {
    stored: undefined as Uint8Array | undefined,
    made: 0,
    loadOrCreate(make: () => Uint8Array) {
      if (store.stored === undefined) {
        store.made++
        store.stored = make()
      }
      return Promise.resolve(store.stored)
    },
  }
  return store
}

describe('loadUserIdentity', () => {
  it('makes a key pair on first use; the id is "k" and 40 hex of SHA-256 of the key', async () => {
    const store = memoryKeyStore()
    const identity = await loadUserIdentity(store)
    expect(store.made).toBe(1)
    expect(identity.persistent).toBe(true)
    expect(identity.id).toMatch(KEYED_USER_ID_PATTERN)
    const publicKey = decodeKey(identity.key)
    expect(publicKey).not.toBeNull()
    expect(identity.id).toBe(userIdFromKey(publicKey ?? new Uint8Array()))
    expect(userIdSchema.safeParse(identity.id).success).toBe(true)
    expect(identity.user('Ada')).toEqual({ id: identity.id, name: 'Ada', key: identity.key })
    expect(chatUserSchema.safeParse(identity.user('Ada')).success).toBe(true)
  })

  it('is the same identity on the next load (a reload), and another in another store', async () => {
    const store = memoryKeyStore()
    const first = await loadUserIdentity(store)
    const again = await loadUserIdentity(store)
    expect(again.id).toBe(first.id)
    expect(again.key).toBe(first.key)
    expect(store.made).toBe(1)
    expect((await loadUserIdentity(memoryKeyStore())).id).not.toBe(first.id)
  })

  it('hands out no key material but the public key', async () => {
    const store = memoryKeyStore()
    const identity = await loadUserIdentity(store)
    const secret = store.stored ?? new Uint8Array()
    const secretHex = bytesToHex(secret)
    const secretBase64url = encodeBase64url(secret)
    const exposed = Object.values(identity).filter((value) => typeof value !== 'function')
    expect(exposed.some((value) => value instanceof Uint8Array)).toBe(false)
    const text = JSON.stringify(identity)
    expect(text).not.toContain(secretHex)
    expect(text).not.toContain(secretBase64url)
  })

  it('proves a session: the signature over the node’s challenge verifies with the key', async () => {
    const identity = await loadUserIdentity(memoryKeyStore())
    const nodeId = 'ab'.repeat(20)
    const nonce = 'bm9uY2Utbm9uY2Utbm9uY2U'
    const sig = identity.signSession(nodeId, nonce)
    expect(verifySessionProof(nodeId, nonce, identity.key, sig)).toBe(true)
    expect(verifySessionProof('cd'.repeat(20), nonce, identity.key, sig)).toBe(false)
  })

  it('signs a send as the event the node makes of it, with the name of the send', async () => {
    const identity = await loadUserIdentity(memoryKeyStore())
    const send = { room: 'general', cid: 'c1', text: 'hello, LAN', name: 'Ada' }
    const usig = identity.signSend(send)
    const event = {
      kind: MESSAGE_KIND,
      room: send.room,
      cid: send.cid,
      text: send.text,
      user: identity.user('Ada'),
      usig,
    }
    expect(verifyUserSignature(event)).toBe(true)
    expect(identity.signSend(send)).toBe(usig) // deterministic: a resend carries the same usig
    expect(verifyUserSignature({ ...event, text: 'hello, WAN' })).toBe(false)
    expect(verifyUserSignature({ ...event, user: identity.user('Eve') })).toBe(false)
    expect(identity.signSend({ ...send, name: 'Eve' })).not.toBe(usig)
  })

  it('goes on with an identity that is not kept when the store fails or does not answer', async () => {
    const failing: SecretKeyStore = {
      loadOrCreate: () => Promise.reject(new Error('IndexedDB is disabled')),
    }
    const silent: SecretKeyStore = { loadOrCreate: () => new Promise(() => {}) }
    for (const store of [failing, silent]) {
      const identity = await loadUserIdentity(store, 50)
      expect(identity.persistent).toBe(false)
      expect(identity.id).toMatch(KEYED_USER_ID_PATTERN)
    }
  })
})

describe('retireKeylessId', () => {
  const keyedId = `k${'0'.repeat(40)}`

  it('moves the rooms and unsent messages of the old keyless id to the keyed one', () => {
    const storage = memoryStorage()
    storage.setItem('palaver.user.id', 'oldKeylessId123')
    storage.setItem('palaver.rooms.oldKeylessId123', '["general","ops"]')
    storage.setItem('palaver.outbox.oldKeylessId123', '[{"room":"ops","text":"hi","cid":"c1"}]')
    retireKeylessId(storage, keyedId)
    expect(storage.getItem(`palaver.rooms.${keyedId}`)).toBe('["general","ops"]')
    expect(storage.getItem(`palaver.outbox.${keyedId}`)).toContain('"c1"')
    expect(storage.getItem('palaver.rooms.oldKeylessId123')).toBeNull()
    expect(storage.getItem('palaver.outbox.oldKeylessId123')).toBeNull()
    expect(storage.getItem('palaver.user.id')).toBeNull()
  })

  it('keeps what the keyed id has already, and does nothing without an old id', () => {
    const storage = memoryStorage()
    storage.setItem(`palaver.rooms.${keyedId}`, '["general"]')
    retireKeylessId(storage, keyedId)
    expect(storage.getItem(`palaver.rooms.${keyedId}`)).toBe('["general"]')
    storage.setItem('palaver.user.id', 'oldKeylessId123')
    storage.setItem('palaver.rooms.oldKeylessId123', '["ops"]')
    retireKeylessId(storage, keyedId)
    expect(storage.getItem(`palaver.rooms.${keyedId}`)).toBe('["general"]')
    expect(storage.getItem('palaver.user.id')).toBeNull()
  })
})
