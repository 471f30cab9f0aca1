/**
 * The IPC handlers over a real `NodeController` (a real node on 127.0.0.1, port 0): one handler
 * per channel of the contract, calls from anything but the app's own page refused, bad
 * arguments refused before they reach the controller, results that never carry a secret.
 */
import { existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { freePort } from '../../test/support/mesh.ts'
import { testNodeConfig } from '../../test/support/node-config.ts'
import { cleanupNodes, tempDir } from '../../test/support/node-process.ts'
import { type InvokeChannel, type NodeStatus, invokeChannels } from '../shared/ipc.ts'
import { readConfig } from './config-store.ts'
import { decodeInvite, encodeInvite } from './invite.ts'
import { type IpcCaller, createIpcHandlers } from './ipc-handlers.ts'
import { NodeController } from './node-controller.ts'
import { isAppUrl } from './window-security.ts'

const OWN: IpcCaller = { senderFrame: { url: 'app://palaver/index.html' } }
const channels = Object.keys(invokeChannels) as InvokeChannel[]
const controllers: NodeController[] = []

afterEach(async () => {
  await Promise.all(controllers.splice(0).map((c) => c.stop().catch(() => {})))
  await cleanupNodes()
})

/** Handlers over a fresh controller, with the controller's operations and the app spied on. */
function setup() {
  const dir = tempDir('palaver-ipc-')
  const configPath = join(dir, 'node.json')
  const controller = new NodeController({
    configPath,
    defaults: testNodeConfig(dir, { name: 'Ipc', secret: 'ipc-mesh-secret' }),
  })
  controllers.push(controller)
  const app = { setUnread: vi.fn<(count: number) => void>(), focus: vi.fn<() => void>() }
  const handlers = createIpcHandlers(controller, app, (frame) => isAppUrl(frame.url))
  const spies = {
    start: vi.spyOn(controller, 'start'),
    stop: vi.spyOn(controller, 'stop'),
    configure: vi.spyOn(controller, 'configure'),
    addPeer: vi.spyOn(controller, 'addPeer'),
    removePeer: vi.spyOn(controller, 'removePeer'),
    createInvite: vi.spyOn(controller, 'createInvite'),
    joinMesh: vi.spyOn(controller, 'joinMesh'),
  }
  const call = (channel: InvokeChannel, args: unknown[], caller: IpcCaller = OWN) =>
    handlers[channel](caller, ...args)
  /** What must not change: the file, the config, the run state and bound port, the peers. */
  const snapshot = () => {
    const status = controller.status()
    return {
      file: existsSync(configPath) ? readFileSync(configPath, 'utf8') : undefined,
      config: structuredClone(controller.config),
      state: status.state,
      boundPort: status.boundPort,
      peers: status.peers.map((p) => p.addr),
    }
  }
  const resetSpies = () => {
    for (const spy of Object.values(spies)) spy.mockClear()
    app.setUnread.mockClear()
    app.focus.mockClear()
  }
  const nothingCalled = () => {
    for (const [name, spy] of Object.entries(spies)) expect(spy, name).not.toHaveBeenCalled()
    expect(app.setUnread).not.toHaveBeenCalled()
    expect(app.focus).not.toHaveBeenCalled()
  }
  return { controller, configPath, app, handlers, call, snapshot, resetSpies, nothingCalled }
}

/** The invite of another node, of another mesh. */
const INVITE = encodeInvite({ mesh: 'joined', secret: 'their-secret', peer: '127.0.0.1:11' })

/** Valid arguments for each channel (`peers:remove` removes what `peers:add` added). */
const VALID: { [C in InvokeChannel]: unknown[] } = {
  'node:status': [],
  'node:start': [],
  'node:stop': [],
  'node:configure': [{ name: 'Renamed' }],
  'peers:add': ['127.0.0.1:9'],
  'peers:remove': ['127.0.0.1:9'],
  'invite:create': [],
  'mesh:join': [INVITE],
  'app:set-unread': [3],
  'app:focus': [],
}

/** An order in which every valid call succeeds, the node running for most of them. */
const ORDER: InvokeChannel[] = [
  'node:status',
  'node:start',
  'node:configure',
  'peers:add',
  'peers:remove',
  'invite:create',
  'mesh:join',
  'app:set-unread',
  'app:focus',
  'node:status',
  'node:stop',
]

describe('the channels', () => {
  it('has a handler for every channel of the contract and for nothing else', () => {
    const { handlers } = setup()
    expect(Object.keys(handlers).sort()).toEqual([...channels].sort())
    for (const channel of channels) expect(typeof handlers[channel]).toBe('function')
    expect(new Set(ORDER)).toEqual(new Set(channels))
  })
})

describe('callers', () => {
  const foreign: [string, IpcCaller][] = [
    ['a foreign page', { senderFrame: { url: 'https://evil.example/' } }],
    ['no frame (it navigated away or was destroyed)', { senderFrame: null }],
    ['another host of the app scheme', { senderFrame: { url: 'app://evil/index.html' } }],
    ['a local file', { senderFrame: { url: 'file:///tmp/index.html' } }],
    ['a node’s web UI', { senderFrame: { url: 'http://127.0.0.1:8080/' } }],
    ['a garbage URL', { senderFrame: { url: 'not a url' } }],
  ]
  for (const [who, caller] of foreign) {
    it(`refuses every call from ${who}, and nothing changes`, async () => {
      const { controller, call, snapshot, resetSpies, nothingCalled } = setup()
      await controller.addPeer('127.0.0.1:9')
      await controller.start()
      resetSpies()
      const before = snapshot()
      for (const channel of channels) {
        const result = await call(channel, VALID[channel], caller)
        expect(result, channel).toEqual({
          ok: false,
          error: { code: 'forbidden', message: expect.any(String) },
        })
      }
      nothingCalled()
      expect(snapshot()).toEqual(before)
      expect(controller.status().state).toBe('running')
    })
  }

  it('checks the frame before the arguments (a foreign page learns nothing of the schema)', async () => {
    const { call } = setup()
    const result = await call('node:configure', [{ evil: 1 }], { senderFrame: null })
    expect(result).toMatchObject({ ok: false, error: { code: 'forbidden' } })
  })
})

describe('arguments', () => {
  const bad: [InvokeChannel, unknown[]][] = [
    ['node:status', ['extra']],
    ['node:start', [true]],
    ['node:stop', [{}]],
    ['app:focus', ['window']],
    ['node:configure', []],
    ['node:configure', [null]],
    ['node:configure', ['name']],
    ['node:configure', [['name', 'x']]],
    ['node:configure', [{ name: 'x', evil: 1 }]],
    ['node:configure', [JSON.parse('{"__proto__": {"secret": "x"}}')]],
    ['node:configure', [{ port: 70_000 }]],
    ['node:configure', [{ port: -1 }]],
    ['node:configure', [{ port: 80.5 }]],
    ['node:configure', [{ port: '8080' }]],
    ['node:configure', [{ peerPort: 65_536 }]],
    ['node:configure', [{ name: '' }]],
    ['node:configure', [{ name: '   ' }]],
    ['node:configure', [{ name: 'x'.repeat(65) }]],
    ['node:configure', [{ name: 42 }]],
    ['node:configure', [{ mesh: 'bad name!' }]],
    ['node:configure', [{ host: '' }]],
    ['node:configure', [{ secret: 5 }]],
    ['node:configure', [{ token: 'x'.repeat(1025) }]],
    // Peers have their own channels; the data folder is not the renderer's to move.
    ['node:configure', [{ peers: ['127.0.0.1:10'] }]],
    ['node:configure', [{ dataDir: '/tmp/elsewhere' }]],
    ['node:configure', [{ name: 'ok' }, 'extra']],
    ['peers:add', []],
    ['peers:add', ['nonsense']],
    ['peers:add', [42]],
    ['peers:add', ['127.0.0.1:70000']],
    ['peers:add', ['127.0.0.1']],
    ['peers:add', [['127.0.0.1:10']]],
    ['peers:add', ['127.0.0.1:10', 'extra']],
    ['peers:remove', []],
    ['peers:remove', ['nonsense']],
    ['peers:remove', [null]],
    ['invite:create', ['extra']],
    ['mesh:join', []],
    ['mesh:join', [42]],
    ['mesh:join', [{ code: INVITE }]],
    ['mesh:join', ['x'.repeat(4097)]],
    ['mesh:join', [INVITE, 'extra']],
    ['app:set-unread', [-1]],
    ['app:set-unread', [1.5]],
    ['app:set-unread', ['3']],
    ['app:set-unread', []],
    ['app:set-unread', [Number.NaN]],
    ['app:set-unread', [Number.POSITIVE_INFINITY]],
    ['app:set-unread', [1_000_001]],
    ['app:set-unread', [1, 2]],
    ['app:set-unread', [null]],
  ]

  it('refuses bad arguments on every channel with bad_request, and nothing changes', async () => {
    const { controller, call, snapshot, resetSpies, nothingCalled } = setup()
    await controller.addPeer('127.0.0.1:9')
    await controller.start()
    resetSpies()
    const before = snapshot()
    for (const [channel, args] of bad) {
      const result = await call(channel, args)
      const label = `${channel} ${JSON.stringify(args)}`
      expect(result, label).toEqual({
        ok: false,
        error: { code: 'bad_request', message: expect.stringMatching(/\S/) },
      })
      nothingCalled()
      expect(snapshot(), label).toEqual(before)
    }
    // Every channel was tried.
    expect(new Set(bad.map(([channel]) => channel))).toEqual(new Set(channels))
  })

  it('treats a setting given as undefined as not given', async () => {
    const { controller, configPath, call } = setup()
    await call('node:configure', [{ mesh: 'kept' }])
    const result = await call('node:configure', [{ name: undefined, mesh: undefined }])
    expect(result).toMatchObject({ ok: true, value: { name: 'Ipc', mesh: 'kept' } })
    expect(readConfig(configPath)).toMatchObject({ name: 'Ipc', mesh: 'kept' })
    expect(controller.status().name).toBe('Ipc')
  })
})

describe('answers', () => {
  it('answers good calls with { ok: true, value }', async () => {
    const { controller, app, call } = setup()
    const values = new Map<string, unknown>()
    for (const [i, channel] of ORDER.entries()) {
      const result = await call(channel, VALID[channel])
      expect(result.ok, channel).toBe(true)
      expect(Object.keys(result).sort(), channel).toEqual(['ok', 'value'])
      if (result.ok) values.set(`${i} ${channel}`, result.value)
    }
    const status = (i: number, channel: InvokeChannel) =>
      values.get(`${i} ${channel}`) as NodeStatus
    expect(status(0, 'node:status').state).toBe('stopped')
    expect(status(1, 'node:start')).toMatchObject({ state: 'running', error: null })
    expect(status(2, 'node:configure')).toMatchObject({ state: 'running', name: 'Renamed' })
    expect(status(3, 'peers:add').peers.map((p) => p.addr)).toEqual(['127.0.0.1:9'])
    expect(status(4, 'peers:remove').peers).toEqual([])
    const invite = values.get('5 invite:create') as { code: string; mesh: string; peer: string }
    expect(Object.keys(invite).sort()).toEqual(['code', 'mesh', 'peer'])
    expect(decodeInvite(invite.code)).toEqual({
      ok: true,
      invite: { mesh: 'default', secret: 'ipc-mesh-secret', peer: invite.peer },
    })
    expect(invite.peer).toBe(`127.0.0.1:${status(4, 'peers:remove').boundPeerPort}`)
    expect(status(6, 'mesh:join')).toMatchObject({
      state: 'running',
      mesh: 'joined',
      secretSet: true,
      peers: [{ addr: '127.0.0.1:11' }],
    })
    expect(values.get('7 app:set-unread')).toBeNull()
    expect(values.get('8 app:focus')).toBeNull()
    expect(status(9, 'node:status')).toMatchObject({ state: 'running', name: 'Renamed' })
    expect(status(10, 'node:stop').state).toBe('stopped')
    expect(app.setUnread).toHaveBeenCalledExactlyOnceWith(3)
    expect(app.focus).toHaveBeenCalledOnce()
    expect(controller.status().state).toBe('stopped')
  })

  it('passes the app’s unread count and focus requests on', async () => {
    const { app, call } = setup()
    for (const count of [0, 1, 42, 1_000_000]) {
      expect(await call('app:set-unread', [count])).toEqual({ ok: true, value: null })
    }
    expect(app.setUnread.mock.calls).toEqual([[0], [1], [42], [1_000_000]])
    expect(await call('app:focus', [])).toEqual({ ok: true, value: null })
    expect(app.focus).toHaveBeenCalledOnce()
  })

  it('answers the controller’s refusals with their codes', async () => {
    const { controller, configPath, call } = setup()
    await call('peers:add', ['127.0.0.1:9'])
    const file = readFileSync(configPath, 'utf8')
    expect(await call('peers:add', ['127.0.0.1:9'])).toMatchObject({
      ok: false,
      error: { code: 'exists', message: expect.stringContaining('127.0.0.1:9') },
    })
    expect(await call('peers:remove', ['127.0.0.1:10'])).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    })
    // An invite code that is not one, or is damaged.
    const typo = INVITE.slice(0, 20) + (INVITE.charAt(20) === 'A' ? 'B' : 'A') + INVITE.slice(21)
    for (const code of ['nonsense', INVITE.slice(0, -3), typo]) {
      expect(await call('mesh:join', [code]), code).toMatchObject({
        ok: false,
        error: { code: 'bad_invite' },
      })
    }
    expect(readFileSync(configPath, 'utf8')).toBe(file)

    // A port in use: the node stays stopped and says why.
    const port = await freePort()
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    try {
      await call('node:configure', [{ port }])
      expect(await call('node:start', [])).toMatchObject({
        ok: false,
        error: { code: 'port_in_use', message: expect.stringContaining(String(port)) },
      })
      expect(controller.status()).toMatchObject({
        state: 'stopped',
        error: { code: 'port_in_use' },
      })
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('answers an unexpected failure with code internal instead of throwing', async () => {
    const { controller, call } = setup()
    vi.spyOn(controller, 'status').mockImplementation(() => {
      throw new Error('boom')
    })
    expect(await call('node:status', [])).toEqual({
      ok: false,
      error: { code: 'internal', message: 'boom' },
    })
  })
})

describe('secrets', () => {
  const SECRET = 's3cr3t-value'
  const TOKEN = 'tok-value'

  it('never returns the mesh secret or the client token from any handler', async () => {
    const { call } = setup()
    const texts: string[] = []
    const configured = await call('node:configure', [{ secret: SECRET, token: TOKEN }])
    expect(configured).toMatchObject({ ok: true, value: { secretSet: true, tokenSet: true } })
    texts.push(JSON.stringify(configured))

    for (const channel of ORDER) {
      const result = await call(channel, VALID[channel])
      expect(result.ok, channel).toBe(true)
      // The invite the panel asked for holds the secret, in its code: that is what it is for.
      if (channel !== 'invite:create') texts.push(JSON.stringify(result))
    }
    // Refusals do not echo what they were given either.
    const refusals: [InvokeChannel, unknown[]][] = [
      ['node:configure', [{ secret: SECRET, token: TOKEN, evil: SECRET }]],
      ['node:configure', [{ mesh: SECRET + '!', name: TOKEN.repeat(10) }]],
      ['peers:add', [SECRET]],
    ]
    for (const [channel, args] of refusals) {
      const result = await call(channel, args)
      expect(result.ok, channel).toBe(false)
      texts.push(JSON.stringify(result))
    }
    for (const channel of channels) {
      texts.push(JSON.stringify(await call(channel, VALID[channel], { senderFrame: null })))
    }

    expect(texts.length).toBeGreaterThan(channels.length)
    for (const text of texts) {
      expect(text).not.toContain(SECRET)
      expect(text).not.toContain(TOKEN)
    }
  })
})
