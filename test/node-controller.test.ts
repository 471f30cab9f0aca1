/**
 * `NodeController` over a real `ChatNode` on 127.0.0.1 (port 0, temp dirs): its lifecycle leaks
 * nothing, settings apply and persist, peers added and removed act on real links to a real
 * `chat-node` process, bad calls change nothing, and no secret ever shows in a status. A first
 * run makes a private mesh (a random secret, kept), a token needs a secret, and another
 * machine's node joins the mesh with an invite.
 */
import { createHook } from 'node:async_hooks'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort } from './support/mesh.ts'
import { testNodeConfig } from './support/node-config.ts'
import { cleanupNodes, health, startNode, tempDir } from './support/node-process.ts'
import { staysTrue, waitUntil } from './support/wait.ts'
import type { NodeSettings, NodeStatus } from '../src/shared/ipc.ts'
import {
  firstRunConfig,
  type NodeConfig,
  readConfig,
  writeConfig,
} from '../src/main/config-store.ts'
import { ControllerError, NodeController } from '../src/main/node-controller.ts'
import { OptionsError } from '../src/main/node/options.ts'

const controllers: NodeController[] = []
const servers: Server[] = []

afterEach(async () => {
  await Promise.all(controllers.splice(0).map((c) => c.stop().catch(() => {})))
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
  await cleanupNodes()
})

interface Made {
  controller: NodeController
  configPath: string
  defaults: NodeConfig
}

/** A controller over a fresh config path and data folder, listening on 127.0.0.1, port 0. */
function makeController(overrides: Partial<NodeConfig> = {}): Made {
  const dir = tempDir('palaver-controller-')
  const configPath = join(dir, 'config', 'node.json')
  const defaults = testNodeConfig(dir, { name: 'Ctl', ...overrides })
  const controller = new NodeController({ configPath, defaults })
  controllers.push(controller)
  return { controller, configPath, defaults }
}

/** The running node's `/health`, through the port its status reports. */
function nodeHealth(status: NodeStatus): ReturnType<typeof health> {
  if (status.boundPort === null) throw new Error(`the node is not running (${status.state})`)
  return health({ httpUrl: `http://127.0.0.1:${status.boundPort}` })
}

/** Listens on 127.0.0.1:`port` (0: any) and keeps the server until the test ends. */
async function occupy(port = 0): Promise<number> {
  const server = createServer()
  servers.push(server)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return address.port
}

/** Whether a fresh server can listen on 127.0.0.1:`port` (then closes it). */
async function canListen(port: number): Promise<boolean> {
  const server = createServer()
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => resolve(true))
  })
  if (ok) await new Promise((resolve) => server.close(resolve))
  return ok
}

function fileText(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined
}

/** How many of each kind of handle the process holds, as Node reports them. */
function resources(): { servers: number; timers: number; fds: number } {
  const info = process.getActiveResourcesInfo()
  return {
    servers: info.filter((r) => r === 'TCPServerWrap').length,
    timers: info.filter((r) => r === 'Timeout').length,
    fds: readdirSync('/proc/self/fd').length,
  }
}

/**
 * Counts live timers, unref'd ones included: `getActiveResourcesInfo()` lists only timers that
 * hold the event loop open, and the node unrefs its intervals.
 */
function trackTimers(): { live: () => number; stop: () => void } {
  const live = new Set<number>()
  const hook = createHook({
    init(id, type) {
      if (type === 'Timeout') live.add(id)
    },
    destroy(id) {
      live.delete(id)
    },
  })
  hook.enable()
  return { live: () => live.size, stop: () => hook.disable() }
}

describe('lifecycle', () => {
  it('starts and stops 50 times in a row without leaking ports, timers or handles', async () => {
    const { controller } = makeController()
    // One cycle first: the first start creates the node's id and TLS key and loads modules.
    await controller.start()
    await controller.stop()

    const before = resources()
    const timers = trackTimers()
    const bound: number[] = []
    try {
      for (let i = 0; i < 50; i++) {
        const running = await controller.start()
        expect(running.state).toBe('running')
        expect(running.boundPort).toBeGreaterThan(0)
        expect(running.boundPeerPort).toBeGreaterThan(0)
        bound.splice(0, 2, running.boundPort ?? 0, running.boundPeerPort ?? 0)
        const stopped = await controller.stop()
        expect(stopped).toMatchObject({ state: 'stopped', boundPort: null, boundPeerPort: null })
      }
      // Destroy hooks run a turn late: wait for them rather than read too early.
      await waitUntil(
        () => timers.live() <= 2,
        5_000,
        `no live timer left of the ${timers.live()} at the loop’s end`,
      )
    } finally {
      timers.stop()
    }

    for (const port of bound) expect(await canListen(port), `port ${port} is free`).toBe(true)
    const after = resources()
    expect(after.servers).toBeLessThanOrEqual(before.servers)
    expect(after.timers).toBeLessThanOrEqual(before.timers + 2)
    // Sockets, the SQLite file and its WAL: every start's handles are closed by its stop.
    expect(after.fds).toBeLessThanOrEqual(before.fds + 3)
  })

  it('reports running and stopped, with the bound ports, and publishes each change', async () => {
    const { controller } = makeController({ name: 'Status' })
    const published: NodeStatus[] = []
    controller.on('status', (status) => published.push(status))

    expect(controller.status()).toMatchObject({
      state: 'stopped',
      id: null,
      name: 'Status',
      host: '127.0.0.1',
      port: 0,
      peerPort: 0,
      boundPort: null,
      boundPeerPort: null,
      localUrl: null,
      lanUrls: [],
      error: null,
    })

    const running = await controller.start()
    expect(running).toEqual(controller.status())
    expect(running.state).toBe('running')
    expect(running.id).toMatch(/^[a-z0-9]{8,64}$/)
    expect(running.localUrl).toBe(`ws://127.0.0.1:${running.boundPort}/`)
    // Loopback only: nobody else on the LAN can reach it.
    expect(running.lanUrls).toEqual([])
    const h = await nodeHealth(running)
    expect(h.node).toEqual({ id: running.id, name: 'Status' })
    expect(await canListen(running.boundPeerPort ?? 0)).toBe(false)
    // A second start is a no-op on the running node.
    expect((await controller.start()).boundPort).toBe(running.boundPort)

    const stopped = await controller.stop()
    expect(stopped).toMatchObject({ state: 'stopped', id: null, boundPort: null, localUrl: null })
    // stop() is safe twice.
    expect((await controller.stop()).state).toBe('stopped')
    expect(await canListen(running.boundPort ?? 0)).toBe(true)

    const states = published.map((s) => s.state)
    expect(states).toContain('starting')
    expect(states).toContain('running')
    expect(states).toContain('stopping')
    expect(states.at(-1)).toBe('stopped')
  })

  it('runs overlapping calls one at a time, in the order called', async () => {
    const { controller } = makeController()
    const order: string[] = []
    const calls = [
      controller.start().then((s) => order.push(`start:${s.state}`)),
      controller.configure({ name: 'Queued' }).then((s) => order.push(`configure:${s.state}`)),
      controller.stop().then((s) => order.push(`stop:${s.state}`)),
      controller.start().then((s) => order.push(`start:${s.state}:${s.name}`)),
    ]
    await Promise.all(calls)
    expect(order).toEqual([
      'start:running',
      'configure:running',
      'stop:stopped',
      'start:running:Queued',
    ])
    expect((await nodeHealth(controller.status())).node.name).toBe('Queued')
  })
})

describe('settings', () => {
  it('restarts a running node with a new name, which /health then shows', async () => {
    const { controller } = makeController({ name: 'Before' })
    const first = await controller.start()
    expect((await nodeHealth(first)).node.name).toBe('Before')

    const renamed = await controller.configure({ name: 'After' })
    expect(renamed).toMatchObject({ state: 'running', name: 'After' })
    // Same data folder, same node: the id survives the restart.
    expect(renamed.id).toBe(first.id)
    expect((await nodeHealth(renamed)).node).toEqual({ id: first.id, name: 'After' })
  })

  it('does not restart a running node for a setting that is the same as before', async () => {
    const { controller } = makeController({ name: 'Same' })
    await controller.start()
    const states: string[] = []
    controller.on('status', (s) => states.push(s.state))
    await controller.configure({ name: 'Same', port: 0 })
    expect(states).not.toContain('stopping')
  })

  it('listens on a port set while running, and on a port set while stopped once started', async () => {
    const { controller } = makeController()
    await controller.start()
    const port = await freePort()
    const moved = await controller.configure({ port })
    expect(moved).toMatchObject({ state: 'running', port, boundPort: port })
    expect((await health({ httpUrl: `http://127.0.0.1:${port}` })).node.id).toBe(moved.id)

    await controller.stop()
    const peerPort = await freePort()
    const configured = await controller.configure({ peerPort })
    // Stopped: saved, not started.
    expect(configured).toMatchObject({ state: 'stopped', peerPort, boundPeerPort: null })
    expect(await canListen(peerPort)).toBe(true)
    const started = await controller.start()
    expect(started).toMatchObject({ boundPort: port, boundPeerPort: peerPort })
    expect(await canListen(peerPort)).toBe(false)
  })

  it('no longer links to a peer of another mesh once its mesh changes', async () => {
    const other = await startNode({ name: 'Other', logLevel: 'warn' })
    const otherId = (await health(other)).node.id
    const { controller } = makeController({ peers: [other.peerAddr] })
    const { id } = await controller.start()
    await waitUntil(
      () => controller.status().peers.find((p) => p.id === otherId && p.state === 'up'),
      15_000,
      'the link to the other node up',
    )

    const changed = await controller.configure({ mesh: 'other' })
    expect(changed).toMatchObject({ state: 'running', mesh: 'other' })
    const otherListsUs = async () => (await health(other)).peers.some((p) => p.id === id)
    await waitUntil(async () => !(await otherListsUs()), 10_000, 'the other node dropped us')
    // The dialer keeps trying (with backoff), and every try is refused.
    await staysTrue(
      async () =>
        !(await otherListsUs()) && controller.status().peers.every((p) => p.state !== 'up'),
      12,
      250,
      'no link across meshes',
    )
    expect(controller.status().peers).toMatchObject([{ addr: other.peerAddr }])
  })

  it('saves every setting, and a new controller on the same file reads them', async () => {
    const { controller, configPath, defaults } = makeController()
    const port = await freePort()
    const settings: NodeSettings = {
      name: 'Saved',
      port,
      peerPort: 0,
      mesh: 'saved-mesh',
      secret: 'a secret',
      token: 'a token',
    }
    await controller.configure(settings)
    await controller.addPeer('127.0.0.1:9')
    await controller.addPeer('[::1]:10')
    await controller.removePeer('127.0.0.1:9')

    const expected = { ...defaults, ...settings, peers: ['[::1]:10'] }
    expect(readConfig(configPath)).toEqual(expected)
    const again = new NodeController({
      configPath,
      defaults: { ...defaults, name: 'Ignored', mesh: 'ignored' },
    })
    controllers.push(again)
    expect(again.config).toEqual(expected)
    expect(again.status()).toMatchObject({
      name: 'Saved',
      port,
      mesh: 'saved-mesh',
      secretSet: true,
      tokenSet: true,
      peers: [{ addr: '[::1]:10', state: 'down', id: null }],
    })
  })

  it('ignores a setting given as undefined, and the config file stays readable', async () => {
    const { controller, configPath } = makeController({ name: 'Kept' })
    await controller.configure({ mesh: 'kept' })
    // Structured clone (Electron's IPC) keeps an undefined property, and the schema lets it by.
    const status = await controller.configure({ name: undefined, port: undefined })
    expect(status).toMatchObject({ name: 'Kept', port: 0, mesh: 'kept' })
    expect(readConfig(configPath)).toMatchObject({ name: 'Kept', port: 0, mesh: 'kept' })
    await controller.start()
    expect((await nodeHealth(controller.status())).node.name).toBe('Kept')
  })
})

describe('peers on real links', () => {
  it('links to a peer added while running, and drops it for good when removed', async () => {
    const other = await startNode({ name: 'Other', logLevel: 'warn' })
    const otherId = (await health(other)).node.id
    const { controller, configPath } = makeController({ name: 'Desk' })
    const { id } = await controller.start()

    const added = await controller.addPeer(other.peerAddr)
    expect(added.peers.map((p) => p.addr)).toEqual([other.peerAddr])
    expect(readConfig(configPath)?.peers).toEqual([other.peerAddr])
    const up = await waitUntil(
      () => controller.status().peers.find((p) => p.addr === other.peerAddr && p.state === 'up'),
      15_000,
      'the added peer up',
    )
    expect(up).toMatchObject({ id: otherId, name: 'Other' })
    await waitUntil(
      async () => (await health(other)).peers.some((p) => p.id === id && p.state === 'up'),
      10_000,
      'the other node lists us',
    )
    expect(controller.status().links).toEqual([[id, otherId].sort()])

    const removed = await controller.removePeer(other.peerAddr)
    expect(removed.peers).toEqual([])
    expect(readConfig(configPath)?.peers).toEqual([])
    const otherListsUs = async () => (await health(other)).peers.some((p) => p.id === id)
    await waitUntil(async () => !(await otherListsUs()), 10_000, 'the other node dropped us')
    // Not redialled: past the first redial delays, still no link either way.
    await staysTrue(
      async () => !(await otherListsUs()) && controller.status().peers.length === 0,
      12,
      250,
      'the removed peer stays unlinked',
    )
  })

  it('dials a peer added while stopped once started', async () => {
    const other = await startNode({ name: 'Later', logLevel: 'warn' })
    const otherId = (await health(other)).node.id
    const { controller } = makeController()
    const stopped = await controller.addPeer(other.peerAddr)
    expect(stopped.peers).toEqual([
      { id: null, name: null, addr: other.peerAddr, state: 'down', rttMs: null, lastError: null },
    ])
    await controller.start()
    await waitUntil(
      () => controller.status().peers.find((p) => p.id === otherId && p.state === 'up'),
      15_000,
      'the peer up after start',
    )
  })
})

describe('bad calls', () => {
  it('rejects a malformed, a duplicate or an unknown peer, and changes nothing', async () => {
    const { controller, configPath } = makeController()
    await controller.addPeer('127.0.0.1:9')
    await controller.start()
    const config = structuredClone(controller.config)
    const file = fileText(configPath)
    const unchanged = () => {
      expect(fileText(configPath)).toBe(file)
      expect(controller.config).toEqual(config)
      expect(controller.status().peers.map((p) => p.addr)).toEqual(['127.0.0.1:9'])
      expect(controller.status().state).toBe('running')
    }

    for (const bad of ['nonsense', '127.0.0.1', '127.0.0.1:70000', 'host name:1', '']) {
      const error = await controller.addPeer(bad).catch((e: unknown) => e)
      expect(error, bad).toBeInstanceOf(OptionsError)
      expect((error as Error).message).toMatch(/HOST:PORT|0-65535/)
      unchanged()
    }

    const duplicate = await controller.addPeer('127.0.0.1:9').catch((e: unknown) => e)
    expect(duplicate).toBeInstanceOf(ControllerError)
    expect(duplicate).toMatchObject({ code: 'exists' })
    unchanged()

    for (const unknown of ['127.0.0.1:10', 'nonsense']) {
      const error = await controller.removePeer(unknown).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ControllerError)
      expect(error).toMatchObject({ code: 'not_found' })
      unchanged()
    }
    // The queue goes on after a rejected call.
    expect((await controller.addPeer('127.0.0.1:11')).peers).toHaveLength(2)
  })

  it('reports a client port in use, stays stopped, and starts once given another port', async () => {
    const port = await occupy()
    const { controller } = makeController({ port })
    const published: NodeStatus[] = []
    controller.on('status', (s) => published.push(s))
    const servers = resources().servers

    const error = await controller.start().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ControllerError)
    expect(error).toMatchObject({ code: 'port_in_use' })
    const status = controller.status()
    expect(status).toMatchObject({
      state: 'stopped',
      boundPort: null,
      error: { code: 'port_in_use' },
    })
    expect(status.error?.message).toContain(String(port))
    expect(published.at(-1)?.error?.code).toBe('port_in_use')
    // A failed listen closes its handle a moment later.
    await waitUntil(() => resources().servers <= servers, 5_000, 'no server left open')

    const fixed = await controller.configure({ port: 0 })
    expect(fixed.state).toBe('stopped')
    const running = await controller.start()
    expect(running).toMatchObject({ state: 'running', error: null })
    expect(running.boundPort).not.toBe(port)
  })

  it('reports a peer port in use and closes the client server it had opened', async () => {
    const peerPort = await occupy()
    const { controller } = makeController({ peerPort })
    const servers = resources().servers
    const error = await controller.start().catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'port_in_use' })
    expect(controller.status()).toMatchObject({ state: 'stopped', error: { code: 'port_in_use' } })
    expect(controller.status().error?.message).toContain(String(peerPort))
    // A failed listen closes its handle a moment later.
    await waitUntil(() => resources().servers <= servers, 5_000, 'no server left open')
    await controller.configure({ peerPort: 0 })
    expect((await controller.start()).state).toBe('running')
  })
})

describe('secrets', () => {
  it('never shows the mesh secret or the client token, only whether they are set', async () => {
    const { controller } = makeController()
    const published: string[] = []
    controller.on('status', (s) => published.push(JSON.stringify(s)))

    const set = await controller.configure({ secret: 's3cr3t-value', token: 'tok-value' })
    expect(set).toMatchObject({ secretSet: true, tokenSet: true })
    await controller.start()
    await controller.addPeer('127.0.0.1:9')
    const texts = [JSON.stringify(set), JSON.stringify(controller.status()), ...published]
    for (const text of texts) {
      expect(text).not.toContain('s3cr3t-value')
      expect(text).not.toContain('tok-value')
    }
    expect(controller.status()).toMatchObject({ state: 'running', secretSet: true, tokenSet: true })

    const cleared = await controller.configure({ secret: '', token: '' })
    expect(cleared).toMatchObject({ state: 'running', secretSet: false, tokenSet: false })
  })
})

/** Whether the controller's node has a link up to the node `id`. */
function linkedTo(controller: NodeController, id: string | null): boolean {
  return controller.status().peers.some((p) => p.id === id && p.state === 'up')
}

describe('first run', () => {
  it('writes a config with a random mesh name and secret, keeps them across restarts, and uses them', async () => {
    const dir = tempDir('palaver-first-run-')
    const configPath = join(dir, 'node.json')
    const defaults = (): NodeConfig => ({
      ...firstRunConfig('Desk', join(dir, 'data')),
      host: '127.0.0.1',
      port: 0,
      peerPort: 0,
    })
    controllers.push(new NodeController({ configPath, defaults: defaults() }))
    const secret = readConfig(configPath)?.secret ?? ''
    const mesh = readConfig(configPath)?.mesh ?? ''
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    // A name of its own too: discovery tells meshes apart by their names' hashes.
    expect(mesh).toMatch(/^mesh-[0-9a-f]{8}$/)
    // Each first run makes its own.
    expect(defaults().secret).not.toBe(secret)
    expect(defaults().mesh).not.toBe(mesh)

    // The app again, later: the same secret, whatever a first run would make now.
    const again = new NodeController({ configPath, defaults: defaults() })
    controllers.push(again)
    expect(again.config.secret).toBe(secret)
    expect(again.config.mesh).toBe(mesh)
    expect(again.status().secretSet).toBe(true)

    // A private mesh: a node with the secret links, one without it does not.
    const { boundPeerPort } = await again.start()
    const dial = ['--peer', `127.0.0.1:${boundPeerPort}`, '--mesh', mesh]
    const stranger = await startNode({ name: 'Stranger', logLevel: 'warn', args: dial })
    const member = await startNode({
      name: 'Member',
      logLevel: 'warn',
      args: [...dial, '--secret', secret],
    })
    await waitUntil(
      async () => linkedTo(again, (await health(member)).node.id),
      15_000,
      'the node with the secret linked',
    )
    const refused = await waitUntil(
      async () => (await health(stranger)).peers.find((p) => p.state !== 'connecting'),
      15_000,
      'the stranger refused',
    )
    expect(refused.state).toBe('down')
    expect(linkedTo(again, (await health(stranger)).node.id)).toBe(false)
  })

  it('gives a long host name a name the config takes', () => {
    expect(firstRunConfig('x'.repeat(100), '/d').name).toBe('x'.repeat(64))
    expect(firstRunConfig('  ', '/d').name).toBe('Palaver')
  })
})

describe('a token needs a secret', () => {
  it('refuses a token without a secret, and clearing the secret under a token; saves nothing', async () => {
    const { controller, configPath } = makeController()
    await controller.start()
    const file = fileText(configPath)
    const refused = await controller.configure({ token: 'tok' }).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(ControllerError)
    expect(refused).toMatchObject({ code: 'token_needs_secret' })
    expect(fileText(configPath)).toBe(file)
    expect(controller.status()).toMatchObject({ state: 'running', tokenSet: false })

    await controller.configure({ secret: 'a secret', token: 'tok' })
    const file2 = fileText(configPath)
    const cleared = await controller.configure({ secret: '' }).catch((e: unknown) => e)
    expect(cleared).toMatchObject({ code: 'token_needs_secret' })
    expect(fileText(configPath)).toBe(file2)
    expect(controller.status()).toMatchObject({ state: 'running', secretSet: true, tokenSet: true })
  })

  it('says why a config file written without the rule does not start', async () => {
    const dir = tempDir('palaver-controller-')
    const configPath = join(dir, 'node.json')
    writeConfig(configPath, testNodeConfig(dir, { token: 'tok' }))
    const controller = new NodeController({ configPath, defaults: testNodeConfig(dir) })
    controllers.push(controller)
    const error = await controller.start().catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'token_needs_secret' })
    expect(controller.status()).toMatchObject({
      state: 'stopped',
      error: { code: 'token_needs_secret' },
    })
  })
})

describe('invites', () => {
  it('let another machine’s node join the mesh: both nodes link', async () => {
    const host = makeController({ name: 'Host', mesh: 'office', secret: 'the office secret' })
    const guest = makeController({ name: 'Guest', secret: 'a secret of its own' })
    const hostStatus = await host.controller.start()
    const guestStatus = await guest.controller.start()

    const invite = await host.controller.createInvite()
    expect(invite).toEqual({
      code: expect.stringMatching(/^palaver1:[A-Za-z0-9_-]+$/),
      mesh: 'office',
      peer: `127.0.0.1:${hostStatus.boundPeerPort}`,
    })
    const joined = await guest.controller.joinMesh(`${invite.code}\n`)
    expect(joined).toMatchObject({
      state: 'running',
      id: guestStatus.id,
      mesh: 'office',
      secretSet: true,
      peers: [{ addr: invite.peer }],
    })
    expect(readConfig(guest.configPath)).toMatchObject({
      mesh: 'office',
      secret: 'the office secret',
      peers: [invite.peer],
    })
    await waitUntil(() => linkedTo(guest.controller, hostStatus.id), 15_000, 'guest to host')
    await waitUntil(() => linkedTo(host.controller, guestStatus.id), 15_000, 'host to guest')
    // The invite's secret never shows in a status.
    expect(JSON.stringify(guest.controller.status())).not.toContain('the office secret')
  })

  it('are refused in plain cases, and nothing changes', async () => {
    const open = makeController({ name: 'Open' })
    expect(await open.controller.createInvite().catch((e: unknown) => e)).toMatchObject({
      code: 'no_secret',
    })
    const { controller, configPath } = makeController({ secret: 'kept secret' })
    // Stopped with peer port 0: there is no port to invite to yet.
    expect(await controller.createInvite().catch((e: unknown) => e)).toMatchObject({
      code: 'no_peer_port',
    })
    await controller.start()
    const own = await controller.createInvite()
    const file = fileText(configPath)
    const typo =
      own.code.slice(0, 30) + (own.code.charAt(30) === 'A' ? 'B' : 'A') + own.code.slice(31)
    for (const [code, expected] of [
      [own.code, 'own_invite'],
      [typo, 'bad_invite'],
      [own.code.slice(0, -4), 'bad_invite'],
      ['http://192.168.1.20:8080/', 'bad_invite'],
    ] as const) {
      const error = await controller.joinMesh(code).catch((e: unknown) => e)
      expect(error, code).toBeInstanceOf(ControllerError)
      expect(error, code).toMatchObject({ code: expected })
    }
    expect(fileText(configPath)).toBe(file)
    expect(controller.status()).toMatchObject({ state: 'running', peers: [] })
  })
})

describe('process errors', () => {
  it('registers the app’s handlers for errors that escape the node, and removes them', () => {
    const { controller } = makeController()
    const count = () =>
      process.listenerCount('uncaughtException') + process.listenerCount('unhandledRejection')
    const before = count()
    const remove = controller.guardProcess(() => {
      throw new Error('not expected to end anything here')
    })
    expect(count()).toBe(before + 2)
    remove()
    expect(count()).toBe(before)
  })
})
