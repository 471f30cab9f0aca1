/**
 * Starts the real `chat-node` CLI as a child process on 127.0.0.1 with port 0, and ends it by
 * its pid. Multi-process tests build on this.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { DiscoveryStatus } from '../../src/shared/discovery-status.ts'
import { type ProcessResult, runProcess } from './run-process.ts'

export const CLI = resolve(import.meta.dirname, '../../src/main/cli.ts')

export interface NodeProcess {
  readonly child: ChildProcess
  readonly name: string
  readonly dataDir: string
  readonly clientPort: number
  /** The bound peer port of the mesh. */
  readonly peerPort: number
  /** `127.0.0.1:PEERPORT`, as other nodes' `--peer`. */
  readonly peerAddr: string
  /** http://127.0.0.1:PORT */
  readonly httpUrl: string
  /** ws://127.0.0.1:PORT/ */
  readonly wsUrl: string
  /** Everything the process wrote to stderr so far (its logs). */
  stderr(): string
  /** Resolves with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Whether the process has not ended (a paused process is running). */
  readonly running: boolean
  /** SIGSTOP: the process keeps its sockets and answers nothing until `resume()`. */
  pause(): void
  /** SIGCONT after `pause()`. */
  resume(): void
}

export interface StartOptions {
  name?: string
  /** The CLI to run: the source (`CLI`) by default, or the built `out/main/cli.js`. */
  cli?: string
  /** Reuse a data directory (a restart); a fresh temporary one by default. */
  dataDir?: string
  /** Peer port to listen on; 0 (a free port) by default. */
  peerPort?: number
  /**
   * Whether the node discovers others by itself (dials addresses from node records); false by
   * default (`--no-discovery`), so that a test's topology and proxies are the only paths.
   */
  discovery?: boolean
  /** `--log-level` of the process; `debug` by default. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error'
  args?: string[]
  /**
   * The whole command line after the CLI path, instead of the flags above (for the positional
   * form). Give `--host 127.0.0.1` so the ready line names an address this helper can parse.
   */
  argv?: string[]
  env?: NodeJS.ProcessEnv
  /**
   * A command the node runs under, its arguments first (`['ip', 'netns', 'exec', ns]`); the
   * node's own URLs then name `localhost` of wherever it runs.
   */
  wrap?: string[]
  /** How long to wait for the ready line. */
  timeoutMs?: number
}

const started = new Set<NodeProcess>()
const tempDirs = new Set<string>()

/** A fresh temporary directory, removed by `cleanupNodes()`. */
export function tempDir(prefix = 'palaver-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.add(dir)
  return dir
}

/**
 * Runs the CLI with `args` to completion (for flag errors and the like), under `wrap` if given
 * (`['ip', 'netns', 'exec', ns]`, as `StartOptions.wrap`).
 */
export function runCli(
  args: string[],
  timeoutMs = 10_000,
  wrap: string[] = [],
): Promise<ProcessResult> {
  const [command = process.execPath, ...rest] = [...wrap, process.execPath, CLI, ...args]
  return runProcess(command, rest, { timeoutMs })
}

export async function startNode(options: StartOptions = {}): Promise<NodeProcess> {
  const name = options.name ?? 'Test'
  const dataDir = options.dataDir ?? join(tempDir(), 'data')
  const flags = options.argv ?? [
    '--name',
    name,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--peer-port',
    String(options.peerPort ?? 0),
    '--data',
    dataDir,
    '--log-level',
    options.logLevel ?? 'debug',
    ...(options.discovery ? [] : ['--no-discovery']),
    ...(options.args ?? []),
  ]
  const [command = process.execPath, ...argv] = [
    ...(options.wrap ?? []),
    process.execPath,
    options.cli ?? CLI,
    ...flags,
  ]
  const child = spawn(command, argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal })),
  )

  // Until it is ready and registered for cleanup, a failure here must not leave it running.
  const ready = await new Promise<string>((resolveReady, reject) => {
    let stdout = ''
    const timer = setTimeout(
      () => reject(new Error(`${name} was not ready in time:\n${stderr}`)),
      options.timeoutMs ?? 15_000,
    )
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      const line = stdout.split('\n').find((l) => l.includes(' ready: '))
      if (line) {
        clearTimeout(timer)
        resolveReady(line)
      }
    })
    void exited.then(({ code }) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited with ${code} before it was ready:\n${stderr}`))
    })
  }).catch((error: unknown) => {
    child.kill('SIGKILL')
    throw error
  })
  const clientPort = Number(
    /clients on http:\/\/(?:127\.0\.0\.1|localhost):(\d+)\//.exec(ready)?.[1],
  )
  const peerPort = Number(/peers on (?:127\.0\.0\.1|localhost):(\d+)/.exec(ready)?.[1])
  if (!clientPort || !peerPort) {
    child.kill('SIGKILL')
    throw new Error(`unexpected ready line (start it with --host 127.0.0.1): ${ready}`)
  }

  const node: NodeProcess = {
    child,
    name,
    dataDir,
    clientPort,
    peerPort,
    peerAddr: `127.0.0.1:${peerPort}`,
    httpUrl: `http://127.0.0.1:${clientPort}`,
    wsUrl: `ws://127.0.0.1:${clientPort}/`,
    stderr: () => stderr,
    exited,
    async kill(signal = 'SIGKILL') {
      started.delete(node)
      if (node.running) child.kill(signal)
      return exited
    },
    get running() {
      return child.exitCode === null && child.signalCode === null
    },
    pause() {
      if (node.running) child.kill('SIGSTOP')
    },
    resume() {
      if (node.running) child.kill('SIGCONT')
    },
  }
  started.add(node)
  return node
}

/**
 * Starts a node again where a killed one was: its data (so its node id) and its client and peer
 * ports (so clients and peers find it where they knew it), with `options.args` (its peers, say).
 */
export function restartNode(
  node: NodeProcess,
  options: Omit<StartOptions, 'name' | 'dataDir' | 'peerPort' | 'argv'> = {},
): Promise<NodeProcess> {
  return startNode({
    ...options,
    name: node.name,
    dataDir: node.dataDir,
    peerPort: node.peerPort,
    args: ['--port', String(node.clientPort), ...(options.args ?? [])],
  })
}

/** Kills every node still running and removes the temporary directories. Call in afterEach/afterAll. */
export async function cleanupNodes(): Promise<void> {
  await Promise.all([...started].map((n) => n.kill('SIGKILL')))
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
  tempDirs.clear()
}

/** The node's `/health` document; rejects after `timeoutMs` (a paused node never answers). */
export async function health(
  node: { httpUrl: string },
  timeoutMs = 10_000,
): Promise<{
  status: string
  node: { id: string; name: string }
  clients: number
  peers: {
    id: string | null
    name: string | null
    addr: string
    state: string
    rttMs: number | null
    lastError: string | null
    skewMs?: number
  }[]
  vector: Record<string, number>
  events: number
  discovery: DiscoveryStatus
}> {
  const res = await fetch(`${node.httpUrl}/health`, { signal: AbortSignal.timeout(timeoutMs) })
  if (!res.ok) throw new Error(`/health answered ${res.status}`)
  return (await res.json()) as Awaited<ReturnType<typeof health>>
}

/** The node's `/metrics` text. */
export async function metrics(node: { httpUrl: string }): Promise<string> {
  const res = await fetch(`${node.httpUrl}/metrics`)
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`)
  return res.text()
}

/** The value of one sample in Prometheus text (`name` may carry labels), or undefined. */
export function metricValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.slice(name.length + 1))
}

/**
 * Polls `/health` until `check` holds (the node publishes its state there; no fixed sleeps).
 * Rejects with the last document after `timeoutMs`.
 */
export async function waitForHealth(
  node: { httpUrl: string },
  check: (h: Awaited<ReturnType<typeof health>>) => boolean,
  timeoutMs = 10_000,
): Promise<Awaited<ReturnType<typeof health>>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const h = await health(node)
    if (check(h)) return h
    if (Date.now() > deadline) throw new Error(`/health never matched: ${JSON.stringify(h)}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
