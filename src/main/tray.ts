/**
 * The tray icon: shows the unread count, opens the window, quits.
 */
import { type BrowserWindow, Menu, Tray, app, nativeImage } from 'electron'

export class AppTray {
  readonly #tray: Tray
  readonly #show: () => void

  constructor(iconPath: string, show: () => void) {
    this.#show = show
    this.#tray = new Tray(nativeImage.createFromPath(iconPath))
    this.#tray.on('click', show)
    this.setUnread(0)
  }

  setUnread(count: number): void {
    const label = count > 0 ? `Palaver — ${count} unread` : 'Palaver'
    this.#tray.setToolTip(label)
    // macOS shows a title beside the icon; elsewhere the tooltip and the badge carry it.
    this.#tray.setTitle(count > 0 ? String(count) : '')
    app.setBadgeCount(count)
    this.#tray.setContextMenu(
      Menu.buildFromTemplate([
        { label, enabled: false },
        { label: 'Open Palaver', click: this.#show },
        { type: 'separator' },
        { label: 'Quit', click: () => app.quit() },
      ]),
    )
  }

  destroy(): void {
    this.#tray.destroy()
  }
}

export function focusWindow(window: BrowserWindow | undefined): void {
  if (!window || window.isDestroyed()) return
  if (window.isMinimized()) window.restore()
  window.show()
  window.focus()
}
