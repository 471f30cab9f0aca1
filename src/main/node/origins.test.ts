import { hostname, networkInterfaces } from 'node:os'
import { describe, expect, it } from 'vitest'
import { originAllowed, ownOrigins, pageOrigin } from './origins.ts'

describe('ownOrigins', () => {
  it('holds the loopback names and the listen address, with the port', () => {
    expect(ownOrigins('192.168.1.20', 8080)).toEqual(
      new Set([
        'http://localhost:8080',
        'http://127.0.0.1:8080',
        'http://[::1]:8080',
        'http://192.168.1.20:8080',
      ]),
    )
    expect(ownOrigins('fd00::5', 80)).toContain('http://[fd00::5]')
  })

  it('holds every address of this machine and its name when listening on all of them', () => {
    const own = ownOrigins('0.0.0.0', 8080)
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) {
        const host = a.family === 'IPv6' ? `[${a.address}]` : a.address
        expect(own).toContain(pageOrigin(`http://${host}:8080`))
      }
    }
    expect(own).toContain(pageOrigin(`http://${hostname()}:8080`))
    expect(own).toContain(pageOrigin(`http://${hostname()}.local:8080`))
  })
})

describe('originAllowed', () => {
  const own = () => ownOrigins('127.0.0.1', 8080)
  const others = () => new Set(['http://app.example', 'http://10.0.0.7:8081'])
  const allowed = (origin: string | undefined) => originAllowed(origin, own, others)

  it('lets in a program, the desktop app, the node’s own pages, the mesh’s and the allow list', () => {
    for (const origin of [
      undefined,
      'app://palaver',
      'http://localhost:8080',
      'http://LOCALHOST:8080',
      'http://127.0.0.1:8080',
      'http://[::1]:8080',
      'http://[0:0:0:0:0:0:0:1]:8080',
      'http://10.0.0.7:8081',
      'http://app.example',
      'http://app.example:80',
    ]) {
      expect(allowed(origin), String(origin)).toBe(true)
    }
  })

  it('refuses any other page, whatever Host it sends', () => {
    for (const origin of [
      'http://evil.example:8080', // DNS rebinding: the page and its Host header agree
      'http://localhost:8081',
      'https://localhost:8080',
      'http://localhost.evil:8080',
      'http://app.example:8080',
      'app://palaver.evil',
      'null',
      'file://',
      'not a url',
      '',
    ]) {
      expect(allowed(origin), origin).toBe(false)
    }
  })
})
