import { describe, expect, it } from 'vitest'
import { MAX_IHAVE_ORIGINS } from '../../shared/peer-protocol.ts'
import { isLoopbackHost, normalizeOptions, OptionsError, openMeshWarning } from './options.ts'

describe('a token needs a secret', () => {
  it('refuses a token without a mesh secret, naming both', () => {
    const error = (() => {
      try {
        normalizeOptions({ name: 'N', dataDir: '/tmp/n', token: 'tok' })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(OptionsError)
    expect(error).toMatchObject({ code: 'token_needs_secret' })
    expect((error as Error).message).toMatch(/token.*secret/)
  })

  it('takes a token with a secret, and a secret alone', () => {
    expect(normalizeOptions({ name: 'N', dataDir: '/n', token: 't', secret: 's' }).token).toBe('t')
    expect(normalizeOptions({ name: 'N', dataDir: '/n', secret: 's' }).token).toBeUndefined()
  })
})

describe('openMeshWarning', () => {
  it('warns of a peer port beyond this machine without a secret', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.20', 'fd00::1', 'myhost']) {
      expect(openMeshWarning({ host, secret: '' }), host).toMatch(/anyone who can reach it/)
      expect(openMeshWarning({ host, secret: 's' }), host).toBeUndefined()
    }
  })

  it('says nothing for this machine only', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '[::1]',
      'localhost',
      '::ffff:127.0.0.1',
    ]) {
      expect(isLoopbackHost(host), host).toBe(true)
      expect(openMeshWarning({ host, secret: '' }), host).toBeUndefined()
    }
    expect(isLoopbackHost('128.0.0.1')).toBe(false)
  })
})

describe('meshTimings', () => {
  const base = { name: 'N', dataDir: '/n' }

  it('defaults to the documented timings, and takes one field alone', () => {
    expect(normalizeOptions(base).meshTimings).toEqual({
      pingIntervalMs: 5_000,
      linkSilenceMs: 15_000,
      handshakeTimeoutMs: 5_000,
      syncIntervalMs: 30_000,
      presenceAnnounceMs: 10_000,
      presenceTtlMs: 30_000,
      ihaveIntervalMs: 100,
      graftTimeoutMs: 1_000,
    })
    const timings = normalizeOptions({
      ...base,
      meshTimings: { linkSilenceMs: 20_000 },
    }).meshTimings
    expect(timings).toMatchObject({ linkSilenceMs: 20_000, pingIntervalMs: 5_000 })
  })

  it.each([
    [{ pingIntervalMs: 50 }, /meshTimings\.pingIntervalMs/],
    [{ syncIntervalMs: 3_600_001 }, /meshTimings\.syncIntervalMs/],
    [{ handshakeTimeoutMs: 1.5 }, /meshTimings\.handshakeTimeoutMs/],
    [{ presenceAnnounceMs: 100 }, /meshTimings\.presenceAnnounceMs/],
    [{ ihaveIntervalMs: 0 }, /meshTimings\.ihaveIntervalMs/],
    [{ graftTimeoutMs: 5 }, /meshTimings\.graftTimeoutMs/],
    [{ pingIntervalMs: 2_000, linkSilenceMs: 2_000 }, /linkSilenceMs must be longer/],
    [{ presenceAnnounceMs: 30_000 }, /presenceTtlMs must be longer/],
  ])('refuses %o', (meshTimings, message) => {
    expect(() => normalizeOptions({ ...base, meshTimings })).toThrow(message)
  })
})

describe('normalizeOptions: the overlay and the tree', () => {
  const base = { name: 'N', dataDir: '/n' }

  it('defaults to the documented views and batch', () => {
    const options = normalizeOptions(base)
    expect(options.activeViewSize).toBe(5)
    expect(options.passiveViewSize).toBe(30)
    expect(options.ihaveMaxOrigins).toBe(256)
    expect(normalizeOptions({ ...base, passiveViewSize: 0 }).passiveViewSize).toBe(0)
  })

  it.each([
    [{ activeViewSize: 0 }, /activeViewSize/],
    [{ passiveViewSize: 1_001 }, /passiveViewSize/],
    [{ ihaveMaxOrigins: MAX_IHAVE_ORIGINS + 1 }, /ihaveMaxOrigins/],
  ])('refuses %o', (bad, message) => {
    expect(() => normalizeOptions({ ...base, ...bad })).toThrow(message)
  })
})
