/**
 * The store's write path, off the event loop: a worker thread (store-worker.ts) holds its own
 * connection to the node's SQLite file and commits the batches `EventLog` hands it, one at a
 * time, while the event loop goes on (reads use the loop's own connection: in WAL mode they never
 * wait for a writer).
 *
 * A worker that dies (it should not: a failed commit is an answer, not a crash) fails the commit
 * in flight; the next batch starts a new one.
 */
import { Worker } from 'node:worker_threads'
import type { Written } from './event-log.ts'
import type { ChatEvent } from './store.ts'
import type { WriterReply, WriterRequest } from './store-worker.ts'

/**
 * What a commit reports: the events as stored (this node's own signed), those of them stored as
 * not shown (by index), and its time on disk.
 */
export interface Commit {
  events: ChatEvent[]
  hidden: number[]
  seconds: number
}

/** Signs this node's events and commits batches of events durably, one batch at a time. */
export interface EventWriter {
  append(events: readonly Written[]): Promise<Commit>
}

/**
 * The worker's module: beside this one, as TypeScript when the node runs from its sources and as
 * JavaScript in the build (electron.vite.config.ts keeps every chunk of the main process in one
 * directory, so that the same relative URL holds).
 */
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './store-worker.ts' : './store-worker.js',
  import.meta.url,
)

interface Pending {
  resolve: (commit: Commit) => void
  reject: (error: Error) => void
}

export class StoreWriter implements EventWriter {
  readonly #dir: string
  #worker: Worker | undefined
  /** The commit the worker is on: `EventLog` waits for each before it sends the next. */
  #pending: Pending | undefined
  #closed = false

  /** A writer for the store in `dir`, which the caller has opened (and so migrated) already. */
  constructor(dir: string) {
    this.#dir = dir
  }

  append(events: readonly Written[]): Promise<Commit> {
    if (this.#closed) return Promise.reject(new Error('the store is closed'))
    if (this.#pending) return Promise.reject(new Error('a commit is already in flight'))
    const worker = this.#worker ?? this.#start()
    return new Promise<Commit>((resolve, reject) => {
      this.#pending = { resolve, reject }
      worker.postMessage({ type: 'append', events } satisfies WriterRequest)
    })
  }

  #start(): Worker {
    const worker = new Worker(WORKER_URL, { workerData: { dir: this.#dir } })
    worker.on('message', (reply: WriterReply) => this.#settle(reply))
    worker.on('error', (error) => this.#fail(error))
    worker.on('exit', (code) => {
      if (this.#worker === worker) this.#worker = undefined
      this.#fail(new Error(`the store's writer thread stopped (exit code ${code})`))
    })
    this.#worker = worker
    return worker
  }

  #settle(reply: WriterReply): void {
    const pending = this.#pending
    this.#pending = undefined
    if (!pending) return
    if (reply.type === 'failed') return pending.reject(new Error(reply.message))
    const { events, hidden, seconds } = reply
    pending.resolve({ events, hidden, seconds })
  }

  #fail(error: Error): void {
    const pending = this.#pending
    this.#pending = undefined
    pending?.reject(error)
  }

  /** Stops the worker, which closes its connection; call once the log has flushed. */
  async close(): Promise<void> {
    this.#closed = true
    const worker = this.#worker
    this.#worker = undefined
    if (!worker) return
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
    worker.postMessage({ type: 'close' } satisfies WriterRequest)
    await exited
  }
}
