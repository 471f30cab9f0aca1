/**
 * The window's security settings, item by item (Electron's security checklist), and what
 * `lockDown` does with navigation, new windows, webviews and permissions, on small fakes of the
 * window, its contents and its session (Electron itself is not loaded).
 */
import { EventEmitter } from 'node:events'
import type { BrowserWindow, Session } from 'electron'
import { describe, expect, it, vi } from 'vitest'
import {
  ALLOWED_PERMISSIONS,
  APP_CSP,
  APP_ORIGIN,
  WEB_PREFERENCES,
  isAppUrl,
  isSafeExternalUrl,
  lockDown,
  lockDownSession,
} from './window-security.ts'

const DEV_SERVER = 'http://localhost:5173'

/** The CSP as directive → sources; fails on a directive given twice (browsers keep the first). */
function parseCsp(csp: string): Map<string, string[]> {
  const directives = new Map<string, string[]>()
  for (const part of csp.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/)
    if (!name) continue
    expect(directives.has(name), `${name} is given once`).toBe(false)
    directives.set(name.toLowerCase(), sources)
  }
  return directives
}

describe('web preferences', () => {
  const expected: [string, boolean][] = [
    ['contextIsolation', true],
    ['sandbox', true],
    ['nodeIntegration', false],
    ['nodeIntegrationInWorker', false],
    ['nodeIntegrationInSubFrames', false],
    ['webviewTag', false],
    ['webSecurity', true],
    ['allowRunningInsecureContent', false],
    ['experimentalFeatures', false],
    ['navigateOnDragDrop', false],
    ['safeDialogs', true],
  ]
  for (const [key, value] of expected) {
    it(`sets ${key}: ${value}`, () => {
      expect((WEB_PREFERENCES as Record<string, unknown>)[key]).toBe(value)
    })
  }

  it('enables no Blink feature and sets nothing unchecked here', () => {
    expect(Object.keys(WEB_PREFERENCES).sort()).toEqual(expected.map(([key]) => key).sort())
  })
})

describe('content security policy', () => {
  const csp = parseCsp(APP_CSP)

  it("denies by default: default-src 'none'", () => {
    expect(csp.get('default-src')).toEqual(["'none'"])
  })

  it('runs only the app’s own scripts: no inline code, no eval', () => {
    const scripts = csp.get('script-src')
    expect(scripts).toEqual(["'self'"])
    for (const unsafe of ["'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'"]) {
      expect(APP_CSP).not.toContain(unsafe)
    }
  })

  it('connects to chat sockets (ws:, wss:) and nothing else remote', () => {
    const connect = csp.get('connect-src') ?? []
    expect(connect).toContain('ws:')
    expect(connect).toContain('wss:')
    for (const source of connect) expect(['ws:', 'wss:', "'self'"]).toContain(source)
  })

  it('allows nothing remote in any directive: no http:, https:, * or host', () => {
    for (const [name, sources] of csp) {
      for (const source of sources) {
        const local = ["'none'", "'self'", 'data:'].includes(source)
        const socket = name === 'connect-src' && (source === 'ws:' || source === 'wss:')
        expect(local || socket, `${name} ${source}`).toBe(true)
      }
    }
    // data: only for images (avatars), never for scripts, frames or anything that runs.
    for (const [name, sources] of csp) {
      if (sources.includes('data:')) expect(name).toBe('img-src')
    }
  })

  it('allows no plugins, no framing, no base or form tricks', () => {
    expect(csp.get('object-src')).toEqual(["'none'"])
    expect(csp.get('frame-ancestors')).toEqual(["'none'"])
    expect(csp.get('base-uri')).toEqual(["'none'"])
    expect(csp.get('form-action')).toEqual(["'none'"])
    // Frames and workers fall back to default-src 'none'.
    for (const name of ['frame-src', 'child-src', 'worker-src']) expect(csp.has(name)).toBe(false)
  })
})

describe('permissions', () => {
  it('allows notifications and nothing else', () => {
    expect([...ALLOWED_PERMISSIONS]).toEqual(['notifications'])
  })
})

describe('isSafeExternalUrl', () => {
  const safe = [
    'http://example.com/',
    'https://example.com/path?q=1#part',
    'HTTPS://EXAMPLE.COM/',
    'https://192.168.1.5:8080/',
    'https://[::1]/',
  ]
  const unsafe = [
    'javascript:alert(1)',
    'JavaScript:alert(1)',
    ' javascript:alert(1)',
    'file:///etc/passwd',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox(1)',
    'blob:https://example.com/1234',
    'palaver://open',
    'ms-msdt:/id PCWDiagnostic',
    'smb://server/share',
    'ftp://example.com/',
    'mailto:someone@example.com',
    'app://palaver/index.html',
    '/relative/path',
    'relative/path',
    '//example.com/',
    '#anchor',
    '',
    'not a url',
    'http://',
    'https://',
  ]
  for (const url of safe) it(`opens ${url}`, () => expect(isSafeExternalUrl(url)).toBe(true))
  for (const url of unsafe) {
    it(`refuses ${JSON.stringify(url)}`, () => expect(isSafeExternalUrl(url)).toBe(false))
  }
})

describe('isAppUrl', () => {
  it('knows the app’s own pages', () => {
    expect(APP_ORIGIN).toBe('app://palaver')
    for (const url of [
      'app://palaver/',
      'app://palaver/index.html',
      'app://palaver/assets/index.js?v=1#top',
    ]) {
      expect(isAppUrl(url), url).toBe(true)
      expect(isAppUrl(url, DEV_SERVER), url).toBe(true)
    }
  })

  it('refuses other hosts, schemes and garbage', () => {
    for (const url of [
      'app://evil/',
      'app://palaver.evil/',
      'app://evil.palaver/',
      'app://palaver:8080/',
      'app:palaver',
      'https://palaver/',
      'https://example.com/',
      'file:///app/index.html',
      'http://localhost:5173/',
      'garbage',
      '',
    ]) {
      expect(isAppUrl(url), url).toBe(false)
    }
  })

  it('knows the dev server’s origin only when given it', () => {
    expect(isAppUrl('http://localhost:5173/', DEV_SERVER)).toBe(true)
    expect(isAppUrl('http://localhost:5173/src/main.tsx', DEV_SERVER)).toBe(true)
    for (const url of [
      'http://localhost:5174/',
      'http://127.0.0.1:5173/',
      'https://localhost:5173/',
      'http://localhost.evil:5173/',
    ]) {
      expect(isAppUrl(url, DEV_SERVER), url).toBe(false)
    }
    expect(isAppUrl('http://localhost:5173/')).toBe(false)
    expect(isAppUrl('http://localhost:5173/', 'not a url')).toBe(false)
  })
})

// ---- lockDown on fakes of what it touches

class FakeEvent {
  defaultPrevented = false
  preventDefault(): void {
    this.defaultPrevented = true
  }
}

type RequestHandler = (
  contents: unknown,
  permission: string,
  callback: (granted: boolean) => void,
  details: unknown,
) => void
type CheckHandler = (
  contents: unknown,
  permission: string,
  origin: string,
  details: unknown,
) => boolean

class FakeSession {
  requestHandler: RequestHandler | undefined
  checkHandler: CheckHandler | undefined
  setPermissionRequestHandler(handler: RequestHandler): void {
    this.requestHandler = handler
  }
  setPermissionCheckHandler(handler: CheckHandler): void {
    this.checkHandler = handler
  }
}

class FakeContents extends EventEmitter {
  readonly session = new FakeSession()
  openHandler: ((details: { url: string }) => { action: string }) | undefined
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.openHandler = handler
  }
}

function lockedDown(devServerUrl?: string) {
  const contents = new FakeContents()
  const openExternal = vi.fn<(url: string) => void>()
  lockDown({ webContents: contents } as unknown as BrowserWindow, openExternal, devServerUrl)
  /** Emits `name` as Electron would; whether a handler prevented it. */
  const prevented = (name: string, ...args: unknown[]) => {
    const event = new FakeEvent()
    contents.emit(name, event, ...args)
    return event.defaultPrevented
  }
  return { contents, openExternal, prevented }
}

const PERMISSIONS = [
  'notifications',
  'media',
  'geolocation',
  'clipboard-read',
  'clipboard-sanitized-write',
  'display-capture',
  'fullscreen',
  'idle-detection',
  'midi',
  'midiSysex',
  'openExternal',
  'pointerLock',
  'keyboardLock',
  'fileSystem',
  'hid',
  'serial',
  'usb',
  'storage-access',
  'window-management',
  'unknown',
]

describe('lockDown', () => {
  it('prevents navigation away from the app, and lets the app’s own pages load', () => {
    const { prevented } = lockedDown()
    for (const name of ['will-navigate', 'will-redirect']) {
      expect(prevented(name, 'https://evil.example/'), name).toBe(true)
      expect(prevented(name, 'file:///etc/passwd'), name).toBe(true)
      expect(prevented(name, 'app://evil/x'), name).toBe(true)
      expect(prevented(name, 'javascript:alert(1)'), name).toBe(true)
      expect(prevented(name, `${DEV_SERVER}/`), name).toBe(true)
      expect(prevented(name, 'app://palaver/x'), name).toBe(false)
      expect(prevented(name, 'app://palaver/index.html'), name).toBe(false)
    }
  })

  it('lets the dev server’s pages load only when it is given', () => {
    const { prevented } = lockedDown(DEV_SERVER)
    expect(prevented('will-navigate', `${DEV_SERVER}/`)).toBe(false)
    expect(prevented('will-navigate', 'http://localhost:5174/')).toBe(true)
    expect(prevented('will-navigate', 'app://palaver/x')).toBe(false)
  })

  it('opens no window; an http(s) link goes to the system browser instead', () => {
    const { contents, openExternal } = lockedDown()
    const open = contents.openHandler
    if (!open) throw new Error('no window open handler was set')
    const urls = [
      'https://example.com/a',
      'http://example.com/b',
      'javascript:alert(1)',
      'file:///etc/passwd',
      'data:text/html,hi',
      'app://palaver/index.html',
      'palaver://x',
      'about:blank',
      '',
    ]
    for (const url of urls) expect(open({ url }), url).toEqual({ action: 'deny' })
    expect(openExternal.mock.calls).toEqual([['https://example.com/a'], ['http://example.com/b']])
  })

  it('refuses to attach any webview', () => {
    const { prevented } = lockedDown()
    expect(prevented('will-attach-webview', {}, { src: 'https://example.com/' })).toBe(true)
    expect(prevented('will-attach-webview', {}, { src: 'app://palaver/' })).toBe(true)
  })

  it('grants notifications and denies every other permission request and check', () => {
    const { contents } = lockedDown()
    const { requestHandler, checkHandler } = contents.session
    if (!requestHandler || !checkHandler) throw new Error('the permission handlers were not set')
    for (const permission of PERMISSIONS) {
      const callback = vi.fn<(granted: boolean) => void>()
      requestHandler(contents, permission, callback, {})
      expect(callback, permission).toHaveBeenCalledExactlyOnceWith(permission === 'notifications')
      expect(checkHandler(contents, permission, APP_ORIGIN, {}), permission).toBe(
        permission === 'notifications',
      )
    }
  })

  it('locks down a session on its own the same way', () => {
    const session = new FakeSession()
    lockDownSession(session as unknown as Session)
    const granted = PERMISSIONS.filter((permission) => {
      let answer: boolean | undefined
      session.requestHandler?.(null, permission, (g) => (answer = g), {})
      return answer === true && session.checkHandler?.(null, permission, '', {}) === true
    })
    expect(granted).toEqual(['notifications'])
  })
})
