import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  fixedSigner,
  SigningNode,
  type SignedMessageFrame,
} from '../../../../test/support/signed-messages.ts'
import { nobleEd25519 } from '../../../shared/ed25519.ts'
import { without } from '../../../shared/canonical.ts'
import {
  AuthenticityChecks,
  authenticityOf,
  knownAuthenticity,
  ownSendAuthenticity,
} from './authenticity.ts'
import { keyedUserSigner } from './keyed-user.ts'

const node = new SigningNode()
const adaSigner = fixedSigner(0xad)
const ada = keyedUserSigner(adaSigner).user('Ada')
const bot = { id: 'script-0001', name: 'Bot' }

const fromAda = (text = 'hello') => node.message({ user: ada, userSigner: adaSigner, text })
afterEach(() => {
  vi.restoreAllMocks()
})

describe('authenticityOf', () => {
  it('is verified for a keyed user whose message the origin and the user signed', () => {
    expect(authenticityOf(fromAda())).toEqual({ status: 'verified' })
  })

  it('is unverified for a keyless user’s message the origin signed', () => {
    expect(authenticityOf(node.message({ user: bot, text: 'beep' }))).toEqual({
      status: 'unverified',
    })
  })

  it('verifies a history entry (no `type`) and a message with fields it does not know', () => {
    const entry = without(fromAda(), ['type'])
    expect(authenticityOf(entry)).toEqual({ status: 'verified' })
    const withExtra = node.resign(node.message({ user: bot, text: 'x' }), { mood: 'sunny' })
    expect(authenticityOf(withExtra)).toEqual({ status: 'unverified' })
    // The node signed `mood`: a copy without it is not what the node signed.
    expect(authenticityOf(without(withExtra, ['mood']))).toMatchObject({ status: 'invalid' })
  })

  it('is invalid for a text changed after signing', () => {
    expect(authenticityOf({ ...fromAda(), text: 'changed' })).toEqual({
      status: 'invalid',
      reason: "the origin's signature does not verify",
    })
  })

  it('is invalid when a node signs what the user did not: another text, another name', () => {
    for (const change of [{ text: 'not what Ada wrote' }, { user: { ...ada, name: 'Eve' } }]) {
      expect(authenticityOf(node.resign(fromAda(), change))).toEqual({
        status: 'invalid',
        reason: "the user's signature does not verify",
      })
    }
  })

  it('is invalid for a keyed user without a usig, or someone else’s key', () => {
    expect(authenticityOf(node.resign(fromAda(), {}, ['usig']))).toMatchObject({
      status: 'invalid',
      reason: 'a keyed user without a usig',
    })
    const eve = keyedUserSigner(fixedSigner(0xee)).user('Ada')
    expect(
      authenticityOf(node.resign(fromAda(), { user: { ...ada, key: eve.key } })),
    ).toMatchObject({
      status: 'invalid',
      reason: "the user's id is not the hash of the user's key",
    })
  })

  it('is invalid for an id of the keyed form without a key: nobody can speak as a keyed user', () => {
    const forged = node.message({ user: { id: ada.id, name: 'Ada' }, text: 'I am Ada' })
    expect(authenticityOf(forged)).toMatchObject({
      status: 'invalid',
      reason: 'the user has an id of the keyed form but no key',
    })
  })

  it('is invalid for an origin that is not the hash of the key', () => {
    const other = new SigningNode(fixedSigner(0x01))
    expect(authenticityOf({ ...fromAda(), origin: other.id })).toMatchObject({
      status: 'invalid',
      reason: "the event's key does not hash to its origin",
    })
  })

  it('is invalid, without throwing, for a message a node did not sign or mangled', () => {
    const frame = fromAda()
    const mangled: object[] = [
      without(frame, ['sig']),
      without(frame, ['key']),
      { ...frame, sig: 42 },
      { ...frame, usig: null },
      { ...frame, user: null },
      { ...frame, user: { ...ada, key: 7 } },
      { ...frame, text: 'lone \ud800 surrogate' },
    ]
    for (const message of mangled) {
      expect(authenticityOf(message as SignedMessageFrame), JSON.stringify(message)).toMatchObject({
        status: 'invalid',
      })
    }
  })

  it('checks each message once', () => {
    const verify = vi.spyOn(nobleEd25519, 'verify')
    const message = fromAda()
    expect(knownAuthenticity(message)).toBeUndefined()
    authenticityOf(message)
    expect(verify).toHaveBeenCalledTimes(2) // the origin's signature and the user's
    expect(authenticityOf(message)).toBe(knownAuthenticity(message))
    expect(verify).toHaveBeenCalledTimes(2)
  })
})

describe('ownSendAuthenticity', () => {
  it('is verified for a keyed user and unverified for a keyless one', () => {
    expect(ownSendAuthenticity(ada)).toEqual({ status: 'verified' })
    expect(ownSendAuthenticity(bot)).toEqual({ status: 'unverified' })
  })
})

describe('AuthenticityChecks', () => {
  /** Checks run only when the test says, with a clock that moves 3 ms per check. */
  function manualChecks(sliceMs: number) {
    const slices: (() => void)[] = []
    let clock = 0
    const verify = nobleEd25519.verify.bind(nobleEd25519)
    vi.spyOn(nobleEd25519, 'verify').mockImplementation((...args) => {
      clock += 1.5
      return verify(...args)
    })
    const checks = new AuthenticityChecks({
      sliceMs,
      schedule: (run) => slices.push(run),
      now: () => clock,
    })
    return { checks, runSlice: () => slices.shift()?.(), slicesQueued: () => slices.length }
  }

  it('checks what is waited for a slice at a time, and tells each waiter', () => {
    const { checks, runSlice, slicesQueued } = manualChecks(7)
    const messages = Array.from({ length: 5 }, (_, i) => fromAda(`m${i}`))
    const told: string[] = []
    for (const m of messages) checks.watch(m, () => told.push(m.text))
    expect(checks.waiting).toBe(5)
    expect(slicesQueued()).toBe(1)
    expect(told).toEqual([]) // nothing is checked before its slice

    runSlice() // 3 ms a check: the third passes 7 ms and ends the slice
    expect(told).toEqual(['m0', 'm1', 'm2'])
    expect(slicesQueued()).toBe(1)
    runSlice()
    expect(told).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'])
    expect(checks.waiting).toBe(0)
    expect(slicesQueued()).toBe(0)
    for (const m of messages) expect(knownAuthenticity(m)).toEqual({ status: 'verified' })
  })

  it('does not check a message nobody waits for any more', () => {
    const { checks, runSlice } = manualChecks(100)
    const kept = fromAda('kept')
    const dropped = fromAda('dropped')
    checks.watch(kept, () => {})
    const stop = checks.watch(dropped, () => {})
    stop()
    runSlice()
    expect(knownAuthenticity(kept)).toBeDefined()
    expect(knownAuthenticity(dropped)).toBeUndefined()
  })

  it('tells every waiter of one message, and no one about a message checked before', () => {
    const { checks, runSlice, slicesQueued } = manualChecks(100)
    const message = fromAda()
    let calls = 0
    checks.watch(message, () => calls++)
    checks.watch(message, () => calls++)
    runSlice()
    expect(calls).toBe(2)
    checks.watch(message, () => calls++)
    expect(slicesQueued()).toBe(0)
    expect(calls).toBe(2)
  })
})
