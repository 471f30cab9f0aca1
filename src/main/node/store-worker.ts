/**
 * The store's writer thread (store-writer.ts starts it): opens the node's SQLite file, signs the
 * node's own events of each batch it is sent with the key kept there, and commits the batch in
 * one transaction, answering with the events as stored and those not shown, or with why it
 * failed. A failed commit leaves the thread serving: the next batch may succeed
 * (a disk that was full has room again).
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { Written } from './event-log.ts'
import { type ChatEvent, Store } from './store.ts'

export type WriterRequest = { type: 'append'; events: readonly Written[] } | { type: 'close' }

export type WriterReply =
  | { type: 'committed'; events: ChatEvent[]; hidden: number[]; seconds: number }
  | { type: 'failed'; message: string }

const port = parentPort
if (!port) throw new Error('store-worker.ts runs as a worker thread only')
const store = new Store((workerData as { dir: string }).dir)

port.on('message', (request: WriterRequest) => {
  if (request.type === 'close') {
    store.close()
    port.close()
    return
  }
  let reply: WriterReply
  const started = performance.now()
  try {
    const events = request.events.map((e) => (e.sig === undefined ? store.identity.sign(e) : e))
    const hidden = store.append(events)
    reply = { type: 'committed', events, hidden, seconds: (performance.now() - started) / 1000 }
  } catch (error) {
    reply = { type: 'failed', message: error instanceof Error ? error.message : String(error) }
  }
  port.postMessage(reply)
})
