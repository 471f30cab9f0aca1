import { describe, expect, it } from 'vitest'
import { hostOf, isLoopbackHost } from './loopback.ts'

describe('isLoopbackHost', () => {
  it('knows the addresses of this machine only', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LocalHost']) {
      expect(isLoopbackHost(host), host).toBe(true)
    }
    for (const host of [
      '0.0.0.0',
      '::',
      '192.168.1.20',
      '[fd00::1]',
      '127.example',
      'localhost.lan',
    ]) {
      expect(isLoopbackHost(host), host).toBe(false)
    }
  })

  it('reads the host of a peer address', () => {
    expect(hostOf('127.0.0.1:9080')).toBe('127.0.0.1')
    expect(hostOf('[::1]:9080')).toBe('[::1]')
    expect(hostOf('host.lan:1')).toBe('host.lan')
    expect(isLoopbackHost(hostOf('[::1]:9080'))).toBe(true)
  })
})
