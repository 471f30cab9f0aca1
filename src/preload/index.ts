/**
 * The bridge between the sandboxed renderer and the main process. It will expose one typed
 * API object, `window.palaver` (issue "The desktop app"); until then the renderer reaches its
 * node through the client protocol alone.
 */
import { contextBridge } from 'electron'

contextBridge.exposeInMainWorld('palaverApp', { platform: process.platform })
