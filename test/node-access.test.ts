/**
 * Secure defaults of the real `chat-node` process: an access token needs a mesh secret; with a
 * token, `/health` and `/metrics` show a stranger nothing but the node's name; wrong tokens are
 * slowed down per address while a right one still gets in after the wait; and the Origin check
 * refuses a DNS-rebinding page (whose Host header agrees with its origin) while it lets in the
 * node's own pages and the pages of the nodes of its mesh.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { ChatClient, randomUser } from './support/chat-client.ts'
import { nodeId, waitForPeersUp } from './support/mesh.ts'
import { CLI, cleanupNodes, type NodeProcess, startNode, tempDir } from './support/node-process.ts'
import { runProcess } from './support/run-process.ts'
import { waitUntil } from './support/wait.ts'

afterAll(cleanupNodes)

const TOKEN = 'the-right-token'
const SECRET = 'a-mesh-secret-for-these-tests'

/** A GET of `path` on the node, with `token` as a bearer token when given. */
function get(node: NodeProcess, path: string, token?: string): Promise<Response> {
  const headers: Record<string, string> =
    token === undefined ? {} : { authorization: `Bearer ${token}` }
  return fetch(`${node.httpUrl}${path}`, { headers })
}

/** Says hello on an open session; resolves with `welcome`, or the refusal's message. */
async function hello(client: ChatClient, token?: string): Promise<string> {
  client.send({ type: 'hello', protocol: 1, user: randomUser(), ...(token ? { token } : {}) })
  const reply = await client.waitFor((f) => f.type === 'welcome' || f.type === 'error')
  if (reply.frame.type === 'welcome') return 'welcome'
  if (reply.frame.type !== 'error') throw new Error('unexpected frame')
  expect(reply.frame.code).toBe('unauthorized')
  expect((await client.closed).code).toBe(4001)
  return reply.frame.message
}

describe('an access token needs a mesh secret', () => {
  it('refuses --token without --secret at start: exit 2 and one plain sentence', async () => {
    for (const [args, env] of [
      [['--token', TOKEN], {}],
      [[], { PALAVER_TOKEN: TOKEN }],
    ] as const) {
      const argv = [CLI, '--host', '127.0.0.1', '--data', tempDir(), ...args]
      const { code, stdout, stderr } = await runProcess(process.execPath, argv, {
        env: { ...process.env, PALAVER_MESH_SECRET: undefined, ...env },
        timeoutMs: 10_000,
      })
      expect(code).toBe(2)
      expect(stderr).toBe(
        'chat-node: an access token (--token or PALAVER_TOKEN) needs a mesh secret too (--secret or PALAVER_MESH_SECRET): without one, anyone who reaches the peer port can read every room.\n',
      )
      expect(stdout).toBe('')
    }
  })

  it('starts with both', async () => {
    const node = await startNode({ name: 'Both', args: ['--token', TOKEN, '--secret', SECRET] })
    expect(await hello(await ChatClient.open(node.wsUrl), TOKEN)).toBe('welcome')
  })
})

describe('/health and /metrics of a node with an access token', () => {
  it('show a stranger only the node, and everything to the token', async () => {
    const node = await startNode({ name: 'Guarded', args: ['--token', TOKEN, '--secret', SECRET] })
    const anonymous = await get(node, '/health')
    expect(anonymous.status).toBe(200)
    const shown = (await anonymous.json()) as { node: { id: string } }
    expect(shown).toEqual({ status: 'ok', node: { id: shown.node.id, name: 'Guarded' } })
    // A wrong token sees what a stranger sees.
    expect(await (await get(node, '/health', 'wrong')).json()).toEqual(shown)

    const full = (await (await get(node, '/health', TOKEN)).json()) as Record<string, unknown>
    expect(full).toMatchObject({ status: 'ok', node: shown.node, clients: 0, peers: [] })
    expect(Object.keys(full)).toEqual(
      expect.arrayContaining(['clients', 'peers', 'vector', 'events']),
    )

    for (const token of [undefined, 'wrong']) {
      const refused = await get(node, '/metrics', token)
      expect(refused.status, String(token)).toBe(401)
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/)
      expect(await refused.text()).toBe('')
    }
    const metrics = await get(node, '/metrics', TOKEN)
    expect(metrics.status).toBe(200)
    expect(await metrics.text()).toContain('palaver_clients_connected')
  })

  it('are open on a node without a token, as before', async () => {
    const node = await startNode({ name: 'Open' })
    expect(await (await get(node, '/health')).json()).toHaveProperty('vector')
    expect((await get(node, '/metrics')).status).toBe(200)
    // Without a secret, but on 127.0.0.1: no node of another machine can reach its peer port.
    expect(node.stderr()).not.toContain('no mesh secret')
  })
})

describe('wrong tokens', () => {
  it('make their address wait before its next try is checked; then the right one works', async () => {
    const node = await startNode({ name: 'Slow', args: ['--token', TOKEN, '--secret', SECRET] })
    // Opened before: the tries within the 1 s wait must not spend it on connecting.
    const fourth = await ChatClient.open(node.wsUrl)
    const early = await ChatClient.open(node.wsUrl)
    // Three wrong tokens are free (typos); the fourth makes the address wait 1 s.
    for (let i = 0; i < 3; i++) {
      expect(await hello(await ChatClient.open(node.wsUrl), 'guess')).toBe(
        'this node needs a valid access token',
      )
    }
    expect(await hello(fourth, 'guess')).toBe('this node needs a valid access token')
    const refusedAt = Date.now()
    // Within the wait even the right token is not checked, at hello or in a header.
    const [waiting, busy] = await Promise.all([hello(early, TOKEN), get(node, '/metrics', TOKEN)])
    expect(waiting).toBe('too many wrong access tokens from your address: try again in 1 s')
    expect(busy.status).toBe(429)
    expect(busy.headers.get('retry-after')).toBe('1')

    // Once the wait is over, the right token gets in (polled: each early try is refused).
    await waitUntil(
      async () => (await hello(await ChatClient.open(node.wsUrl), TOKEN)) === 'welcome',
      15_000,
      'the right token welcomed after the wait',
    )
    expect(Date.now() - refusedAt).toBeGreaterThanOrEqual(900)
    expect((await get(node, '/metrics', TOKEN)).status).toBe(200)
    await waitUntil(
      () => node.stderr().includes('refused an access token'),
      10_000,
      'the wrong tokens logged',
    )
  })
})

describe('browser origins', () => {
  /** Opens a session with these headers and says hello: resolves, or rejects with `HTTP 403`. */
  async function openFrom(node: NodeProcess, headers: { origin: string; host?: string }) {
    const client = await ChatClient.open(node.wsUrl, {
      origin: headers.origin,
      headers: headers.host === undefined ? {} : { host: headers.host },
    })
    expect(await hello(client)).toBe('welcome')
    client.close()
  }

  it('refuses a DNS-rebinding page, whose Host header agrees with its origin', async () => {
    const node = await startNode({ name: 'Rebound' })
    const host = `evil.example:${node.clientPort}`
    await expect(openFrom(node, { origin: `http://${host}`, host })).rejects.toThrow('HTTP 403')
    // The log line may reach the pipe after the answer reached the client.
    await waitUntil(
      () => node.stderr().includes('refused a chat session from a foreign origin'),
      10_000,
      'the refusal logged',
    )
  })

  it('lets in the node’s own pages by every loopback name, and a mesh node’s page', async () => {
    const other = await startNode({ name: 'Other' })
    const outsider = await startNode({ name: 'Outsider' })
    const node = await startNode({ name: 'Home', args: ['--peer', other.peerAddr] })
    for (const host of ['127.0.0.1', 'localhost', '[::1]']) {
      await openFrom(node, { origin: `http://${host}:${node.clientPort}` })
    }
    await waitForPeersUp(node, [await nodeId(other)])
    // The page of a node of its mesh (a tab failing over), not of a node outside it.
    await openFrom(node, { origin: other.httpUrl })
    await expect(openFrom(node, { origin: outsider.httpUrl })).rejects.toThrow('HTTP 403')
  })
})
