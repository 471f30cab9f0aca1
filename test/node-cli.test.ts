/**
 * The `chat-node` command line: flag errors, the positional form, a clean stop on SIGTERM and a
 * clear failure when the port is taken.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient } from './support/chat-client.ts'
import {
  cleanupNodes,
  health,
  type NodeProcess,
  runCli,
  startNode,
  tempDir,
} from './support/node-process.ts'

afterAll(cleanupNodes)

describe('flags', () => {
  const bad: [string[], RegExp][] = [
    [['--port', 'abc'], /--port.*"abc"/],
    [['--bogus'], /--bogus/],
    [['--peer', 'nonsense'], /peer.*HOST:PORT/],
    [['--mesh', 'bad name!'], /mesh.*\[A-Za-z0-9._-\]/],
    [['8080', '9080'], /CLIENT_PORT PEER_PORT NAME/],
    [['--limit', 'max-clients'], /--limit: expected NAME=N.*max-clients/],
    [['--limit', '__proto__=1'], /--limit: expected NAME=N/],
    [['--limit', 'max-rooms=0'], /maxRooms/],
    [['--limit', 'ping-interval-ms=1'], /meshTimings\.pingIntervalMs/],
    [['--limit', 'link-silence-ms=5000'], /linkSilenceMs must be longer than pingIntervalMs/],
    [['--discovery-port', '0'], /discoveryPort/],
    [['--limit', 'discovery-announce-ms=10'], /discoveryAnnounceMs/],
  ]
  for (const [args, message] of bad) {
    it(`exits with 2 and names the problem for ${args.join(' ')}`, async () => {
      const data = join(tempDir(), 'data')
      const argv = [...args, '--data', data, '--host', '127.0.0.1']
      const { code, stderr, stdout } = await runCli(argv)
      expect(code).toBe(2)
      expect(stderr).toMatch(message)
      expect(stderr).toContain('Usage: chat-node')
      expect(stdout).not.toContain('ready')
    })
  }

  it('prints the usage and exits with 0 for --help', async () => {
    const { code, stdout, stderr } = await runCli(['--help'])
    expect(code).toBe(0)
    expect(stdout).toContain('Usage: chat-node [flags]')
    expect(stdout).toContain('--allow-origin')
    expect(stderr).toBe('')
  })
})

describe('running', () => {
  it('runs discovery unless --no-discovery; on loopback it announces on no interface', async () => {
    // Both listen on 127.0.0.1, as every node the tests start on this machine.
    const [on, off] = await Promise.all([
      startNode({ name: 'On', discovery: true, args: ['--discovery-port', '19081'] }),
      startNode({ name: 'Off' }), // the helper's default: --no-discovery
    ])
    expect((await health(on)).discovery).toEqual({
      enabled: true,
      port: 19081,
      interfaces: [],
      nodes: [],
      otherMeshes: 0,
      datagramsDropped: 0,
      lastError: null,
    })
    expect((await health(off)).discovery).toMatchObject({ enabled: false, interfaces: [] })
  })

  it('takes a limit from --limit: a session past max-rooms-per-session is refused', async () => {
    const node = await startNode({ name: 'Limited', args: ['--limit', 'max-rooms-per-session=2'] })
    const client = await ChatClient.connect(node.wsUrl)
    await client.join('one')
    await client.join('two')
    await expect(client.join('three')).rejects.toThrow(/2 rooms at most/)
    client.close()
  })

  it('takes the positional form CLIENT_PORT PEER_PORT NAME PEER...', async () => {
    const data = join(tempDir(), 'data')
    const node = await startNode({
      dataDir: data,
      argv: ['--host', '127.0.0.1', '--data', data, '0', '0', 'Positional', '127.0.0.1:1'],
    })
    const client = await ChatClient.open(node.wsUrl)
    client.send({ type: 'hello', protocol: 1, user: { id: 'positional', name: 'p' } })
    const welcome = await client.next('welcome')
    expect(welcome.node.name).toBe('Positional')
    const h = await health(node)
    expect(h.node.name).toBe('Positional')
    expect(h.peers.map((p) => p.addr)).toEqual(['127.0.0.1:1'])
    client.close()
  })

  it('closes open sessions with 1001 and exits with 0 on SIGTERM', async () => {
    const node = await startNode({ name: 'Stopping' })
    const clients = await Promise.all([1, 2].map(() => ChatClient.connect(node.wsUrl)))
    await clients[0]?.join('general')
    const idle = await ChatClient.open(node.wsUrl) // no hello yet
    const exited = node.kill('SIGTERM')
    for (const c of [...clients, idle]) expect((await c.closed).code).toBe(1001)
    expect(await exited).toEqual({ code: 0, signal: null })
    expect(node.stderr()).toContain('SIGTERM, stopping')
  })
})

describe('a port already in use', () => {
  let holder: NodeProcess
  beforeAll(async () => {
    holder = await startNode({ name: 'Holder' })
  })

  const runOn = (port: number, peerPort: number) =>
    runCli([
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--peer-port',
      String(peerPort),
      '--data',
      join(tempDir(), 'data'),
    ])

  it('exits with 1 and names the client port', async () => {
    const { code, stderr, stdout } = await runOn(holder.clientPort, 0)
    expect(code).toBe(1)
    expect(stderr).toContain(`port ${holder.clientPort} is in use (choose another with --port)`)
    expect(stdout).not.toContain('ready')
    // The node that holds the port is untouched.
    expect((await health(holder)).status).toBe('ok')
  })

  it('exits with 1 and names the peer port, not the client port', async () => {
    const { code, stderr, stdout } = await runOn(0, holder.peerPort)
    expect(code).toBe(1)
    expect(stderr).toContain(`port ${holder.peerPort} is in use (choose another with --peer-port)`)
    expect(stdout).not.toContain('ready')
    expect((await health(holder)).status).toBe('ok')
  })
})
