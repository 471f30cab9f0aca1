/**
 * Electron's side of the IPC contract: registers one handler per invoke channel and forwards
 * the node's status to the window. The handlers themselves are in ./ipc-handlers.ts.
 */
import { type BrowserWindow, ipcMain } from 'electron'
import { type InvokeChannel, STATUS_CHANGED, invokeChannels } from '../shared/ipc.ts'
import type { IpcHandlers } from './ipc-handlers.ts'
import type { NodeController } from './node-controller.ts'

/** Registers the handlers; returns a function that removes them. */
export function registerIpc(
  handlers: IpcHandlers,
  controller: NodeController,
  window: () => BrowserWindow | undefined,
): () => void {
  const channels = Object.keys(invokeChannels) as InvokeChannel[]
  for (const channel of channels) {
    ipcMain.handle(channel, (event, ...args: unknown[]) => handlers[channel](event, ...args))
  }
  const forward = (status: unknown) => {
    const target = window()
    if (target && !target.isDestroyed()) target.webContents.send(STATUS_CHANGED, status)
  }
  controller.on('status', forward)
  return () => {
    for (const channel of channels) ipcMain.removeHandler(channel)
    controller.off('status', forward)
  }
}
