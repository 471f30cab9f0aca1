/**
 * The bridge between the sandboxed page and the main process: `window.palaver`, one function
 * per operation of the IPC contract (src/shared/ipc.ts) and a status subscription. Nothing else
 * of Electron reaches the page: no ipcRenderer, no generic channel.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { createPalaverApi } from '../shared/ipc.ts'

const api = createPalaverApi({
  invoke: (channel, ...args) => ipcRenderer.invoke(channel, ...args),
  on: (channel, listener) => {
    const wrapped = (_event: IpcRendererEvent, payload: unknown) => listener(payload)
    ipcRenderer.on(channel, wrapped)
    return () => {
      ipcRenderer.off(channel, wrapped)
    }
  },
})

contextBridge.exposeInMainWorld('palaver', api)
