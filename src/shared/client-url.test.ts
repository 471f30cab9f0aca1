import { describe, expect, it } from 'vitest'
import { isClientUrl, MAX_CLIENT_URL_LENGTH } from './client-url.ts'

describe('isClientUrl', () => {
  it('takes ws: and wss: URLs of a host', () => {
    for (const url of ['ws://192.168.1.20:8080/', 'wss://chat.example/', 'ws://[::1]:8080/']) {
      expect(isClientUrl(url)).toBe(true)
    }
  })

  it('refuses other schemes, credentials, garbage and over-long URLs', () => {
    for (const url of [
      'http://192.168.1.20:8080/',
      'javascript:alert(1)',
      'file:///etc/passwd',
      'ws://user:pass@host/',
      'ws://',
      '',
      'not a url',
      `ws://host/${'x'.repeat(MAX_CLIENT_URL_LENGTH)}`,
    ]) {
      expect(isClientUrl(url)).toBe(false)
    }
  })
})
