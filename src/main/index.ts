/**
 * The desktop app's main process: it runs a chat node and shows the UI in a locked-down window.
 * The node itself lives in ./node and knows nothing of Electron.
 */
import { join } from 'node:path'
import { app, BrowserWindow } from 'electron'
import { ChatNode } from './node/node.ts'

let node: ChatNode | undefined

function createWindow(): void {
  const window = new BrowserWindow({
    width: 1100,
    height: 760,
    title: 'Palaver',
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    },
  })
  if (process.env.ELECTRON_RENDERER_URL) void window.loadURL(process.env.ELECTRON_RENDERER_URL)
  else void window.loadFile(join(import.meta.dirname, '../renderer/index.html'))
}

app.whenReady().then(async () => {
  node = new ChatNode({ name: app.getName(), dataDir: join(app.getPath('userData'), 'node') })
  await node.start()
  createWindow()
})

app.on('window-all-closed', () => app.quit())

app.on('will-quit', (event) => {
  if (!node || node.state === 'stopped') return
  event.preventDefault()
  void node.stop().finally(() => {
    node = undefined
    app.quit()
  })
})
