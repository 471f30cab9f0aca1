/**
 * Every security setting of the app's window, in one place, each with why it is there
 * (Electron's security checklist). A test reads this module and checks each item.
 *
 * Only types come from Electron here, so the settings can be read and tested without it.
 */
import type { BrowserWindow, Session, WebContents, WebPreferences } from 'electron'
import { DESKTOP_APP_ORIGIN } from '../shared/protocol.ts'

/** The app's own pages are served from this origin (a privileged custom scheme). */
export const APP_SCHEME = 'app'
export const APP_ORIGIN = DESKTOP_APP_ORIGIN

export const WEB_PREFERENCES = {
  // The page's scripts cannot reach the preload's world or Electron's internals.
  contextIsolation: true,
  // The renderer runs in Chromium's OS sandbox: a compromised page cannot touch the system.
  sandbox: true,
  // No Node.js in the page, its workers or its subframes: chat text can never become code.
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  // No <webview>: a page cannot embed another with its own, looser settings.
  webviewTag: false,
  // Same-origin policy stays on; no http content inside the app's pages.
  webSecurity: true,
  allowRunningInsecureContent: false,
  // No experimental Blink features: their security is not settled.
  experimentalFeatures: false,
  // A file dropped on the window must not navigate it away from the app.
  navigateOnDragDrop: false,
  // A page cannot open dialogs in a loop to lock the user out.
  safeDialogs: true,
} as const satisfies WebPreferences

/**
 * The app page's Content-Security-Policy: its own scripts and styles only, no inline code, no
 * plugins, no frames; chat sockets to any `ws:`/`wss:` node the user chooses, nothing else
 * remote.
 */
export const APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  'connect-src ws: wss:',
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/** The only permission the app's page may have: desktop notifications for new messages. */
export const ALLOWED_PERMISSIONS: ReadonlySet<string> = new Set(['notifications'])

/** Whether a link from a message may be opened in the system browser: http(s) only. */
export function isSafeExternalUrl(url: string): boolean {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return false
  }
  return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.hostname !== ''
}

/** Whether a URL is one of the app's own pages (or the dev server's, in development). */
export function isAppUrl(url: string, devServerUrl?: string): boolean {
  try {
    const parsed = new URL(url)
    // URL.origin is "null" for a custom scheme: compare scheme and host.
    if (`${parsed.protocol}//${parsed.host}` === APP_ORIGIN) return true
    return devServerUrl !== undefined && parsed.origin === new URL(devServerUrl).origin
  } catch {
    return false
  }
}

/**
 * Locks a window's contents down: navigation and new windows are refused (an http(s) link opens
 * in the system browser instead), webviews are refused, permissions are denied but for
 * notifications.
 */
export function lockDown(
  window: BrowserWindow,
  openExternal: (url: string) => void,
  devServerUrl?: string,
): void {
  const contents: WebContents = window.webContents
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url, devServerUrl)) event.preventDefault()
  })
  contents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url, devServerUrl)) event.preventDefault()
  })
  contents.setWindowOpenHandler(({ url }) => {
    if (isSafeExternalUrl(url)) openExternal(url)
    return { action: 'deny' }
  })
  contents.on('will-attach-webview', (event) => event.preventDefault())
  lockDownSession(contents.session)
}

export function lockDownSession(session: Session): void {
  session.setPermissionRequestHandler((_contents, permission, callback) =>
    callback(ALLOWED_PERMISSIONS.has(permission)),
  )
  session.setPermissionCheckHandler((_contents, permission) => ALLOWED_PERMISSIONS.has(permission))
}
