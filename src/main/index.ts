/**
 * The desktop app's main process: one instance per user, a node of its own (config in the user
 * data folder), the UI in a locked-down window served from the app's own origin, a tray icon
 * with the unread count. The node itself lives in ./node and knows nothing of Electron.
 */
import { hostname } from 'node:os'
import { join, normalize, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import { BrowserWindow, app, net, protocol, shell } from 'electron'
import { ConfigError, firstRunConfig } from './config-store.ts'
import { createIpcHandlers } from './ipc-handlers.ts'
import { registerIpc } from './ipc.ts'
import { NodeController } from './node-controller.ts'
import { AppTray, focusWindow } from './tray.ts'
import {
  APP_CSP,
  APP_ORIGIN,
  APP_SCHEME,
  WEB_PREFERENCES,
  isAppUrl,
  lockDown,
} from './window-security.ts'

/** How long quitting waits for the node to stop (commits finish, sessions close). */
const QUIT_TIMEOUT_MS = 5_000
const RENDERER_DIR = join(import.meta.dirname, '../renderer')
const DEV_SERVER_URL = process.env.ELECTRON_RENDERER_URL

let window: BrowserWindow | undefined
let tray: AppTray | undefined
let controller: NodeController | undefined

// Must precede `ready`: the app's pages get a standard, secure origin of their own.
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
])

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  app.on('second-instance', () => focusWindow(window))
  app.whenReady().then(main, (error: unknown) => {
    console.error('palaver: failed to start', error)
    app.exit(1)
  })
}

async function main(): Promise<void> {
  serveAppPages()
  const userData = app.getPath('userData')
  try {
    controller = new NodeController({
      configPath: join(userData, 'node.json'),
      defaults: firstRunConfig(hostname(), join(userData, 'node-data')),
      staticDir: RENDERER_DIR,
    })
  } catch (error) {
    // A broken config file: say so, and do not overwrite it.
    if (error instanceof ConfigError) console.error(`palaver: ${error.message}`)
    throw error
  }
  controller.guardProcess(() => app.exit(1))

  const handlers = createIpcHandlers(
    controller,
    { setUnread: (count) => tray?.setUnread(count), focus: () => focusWindow(window) },
    (frame) =>
      window !== undefined &&
      isAppUrl(frame.url, DEV_SERVER_URL) &&
      frame === window.webContents.mainFrame,
  )
  registerIpc(handlers, controller, () => window)
  tray = new AppTray(join(import.meta.dirname, '../../resources/icon.png'), () =>
    focusWindow(window),
  )
  createWindow()
  // A port in use is shown in the node panel (status.error) with a way to pick another.
  await controller.start().catch(() => {})
}

function createWindow(): void {
  window = new BrowserWindow({
    width: 1100,
    height: 760,
    minWidth: 360,
    minHeight: 480,
    title: 'Palaver',
    show: false,
    webPreferences: {
      ...WEB_PREFERENCES,
      preload: join(import.meta.dirname, '../preload/index.cjs'),
    },
  })
  lockDown(window, (url) => void shell.openExternal(url), DEV_SERVER_URL)
  window.once('ready-to-show', () => window?.show())
  window.on('closed', () => (window = undefined))
  void window.loadURL(DEV_SERVER_URL ?? `${APP_ORIGIN}/index.html`)
}

/** Serves the built UI at app://palaver/ with the app's CSP; nothing outside its folder. */
function serveAppPages(): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const { host, pathname } = new URL(request.url)
    const path = normalize(join(RENDERER_DIR, decodeURIComponent(pathname)))
    if (host !== 'palaver' || !path.startsWith(RENDERER_DIR + sep))
      return new Response('not found', { status: 404 })
    const response = await net.fetch(pathToFileURL(path).toString())
    const headers = new Headers(response.headers)
    headers.set('content-security-policy', APP_CSP)
    headers.set('x-content-type-options', 'nosniff')
    return new Response(response.body, { status: response.status, headers })
  })
}

app.on('window-all-closed', () => {
  // The node keeps serving the LAN from the tray; Quit in the tray menu ends it.
})

app.on('activate', () => {
  if (!window) createWindow()
})

let quitting = false
app.on('before-quit', (event) => {
  if (quitting || !controller) return
  event.preventDefault()
  quitting = true
  const stopped = controller.stop().catch(() => {})
  const timeout = new Promise((resolve) => setTimeout(resolve, QUIT_TIMEOUT_MS))
  void Promise.race([stopped, timeout]).finally(() => {
    tray?.destroy()
    app.quit()
  })
})
