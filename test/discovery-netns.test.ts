/**
 * Discovery on a LAN of its own: network namespaces this test makes (root only; skipped with
 * the reason elsewhere), never the machine's real network. Two bridges are two subnets, A and
 * B; B drops multicast (so its nodes find each other by broadcast alone). Six nodes of mesh
 * `lab` start with no `--peer`: a1-a3 on A, b1-b2 on B, and later d on both, routing between
 * them; x, of another mesh, sits on A. A third bridge, C, has no IPv4 at all: its two nodes
 * listen on `::` and can only find each other by IPv6 multicast. Last, e1 on A gets its IPv4
 * address only once it runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DiscoveredNode } from '../src/shared/discovery-status.ts'
import { ChatClient } from './support/chat-client.ts'
import { waitForPeersUp } from './support/mesh.ts'
import { type LanNode, namespacesUnavailable, startLanNode, TestNetwork } from './support/netns.ts'
import { cleanupNodes, health } from './support/node-process.ts'
import { waitUntil } from './support/wait.ts'

const unavailable = namespacesUnavailable()
if (unavailable) console.warn(`discovery-netns: skipped: ${unavailable}`)

/** Every node announces each second (the default is 5 s), so that the test takes seconds. */
const ANNOUNCE_MS = 1_000
/** "Within a few seconds": a few announcement intervals, with room for a loaded machine. */
const FORMS_WITHIN_MS = 20_000
/** Each test waits for a few such steps. */
const TEST_TIMEOUT_MS = 60_000

describe.skipIf(unavailable !== undefined)(
  `discovery on a LAN of network namespaces${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let network: TestNetwork
    const ns = new Map<string, string>()
    const nodes = new Map<string, LanNode>()
    const clients: ChatClient[] = []

    const node = (name: string): LanNode => {
      const found = nodes.get(name)
      if (!found) throw new Error(`no node ${name}`)
      return found
    }

    /** Starts a node in `name`'s namespace on the usual ports, every interface, no `--peer`. */
    async function start(name: string, mesh = 'lab', host = '0.0.0.0'): Promise<LanNode> {
      const where = ns.get(name) ?? ''
      const started = await startLanNode(network, where, name, {
        mesh,
        host,
        announceMs: ANNOUNCE_MS,
      })
      nodes.set(name, started)
      return started
    }

    const known = async (name: string): Promise<DiscoveredNode[]> =>
      (await health(node(name))).discovery.nodes
    const linkedIds = async (name: string): Promise<string[]> =>
      (await health(node(name))).peers.filter((p) => p.state === 'up').flatMap((p) => p.id ?? [])

    beforeAll(() => {
      // Everything below is made inside namespaces of this run (see TestNetwork).
      network = new TestNetwork()
      network.bridge('brA')
      network.bridge('brB', { multicast: false })
      network.bridge('brC')
      for (const name of ['c1', 'c2']) ns.set(name, network.host(name, [{ bridge: 'brC' }]))
      // On A, with no IPv4 address until the last test gives it one.
      ns.set('e1', network.host('e1', [{ bridge: 'brA' }]))
      const onA = (host: number) => ({ bridge: 'brA', address: `10.77.1.${host}/24` })
      const onB = (host: number) => ({ bridge: 'brB', address: `10.77.2.${host}/24` })
      for (const [name, host] of [
        ['a1', 11],
        ['a2', 12],
        ['a3', 13],
        ['x', 99],
      ] as const) {
        ns.set(name, network.host(name, [onA(host)]))
      }
      for (const [name, host] of [
        ['b1', 21],
        ['b2', 22],
      ] as const) {
        ns.set(name, network.host(name, [onB(host)]))
      }
      const d = network.host('d', [onA(100), onB(100)])
      ns.set('d', d)
      network.forwarding(d)
      // Through d, A and B reach each other by unicast; broadcast and multicast stay on their own.
      for (const name of ['a1', 'a2', 'a3'])
        network.ip(ns.get(name) ?? '', 'route', 'add', '10.77.2.0/24', 'via', '10.77.1.100')
      for (const name of ['b1', 'b2'])
        network.ip(ns.get(name) ?? '', 'route', 'add', '10.77.1.0/24', 'via', '10.77.2.100')
    })

    afterAll(async () => {
      for (const client of clients) client.close()
      try {
        await cleanupNodes()
      } finally {
        await network?.destroy()
      }
    })

    it(
      'each subnet forms its mesh by itself, multicast or not; another mesh is listed, never linked',
      async () => {
        await Promise.all(['a1', 'a2', 'a3', 'b1', 'b2'].map((name) => start(name)))
        await start('x', 'elsewhere')
        const ids = (names: string[]) => names.map((name) => node(name).id)
        await Promise.all([
          ...['a1', 'a2', 'a3'].map((name) =>
            waitForPeersUp(
              node(name),
              ids(['a1', 'a2', 'a3'].filter((n) => n !== name)),
              FORMS_WITHIN_MS,
            ),
          ),
          ...['b1', 'b2'].map((name) =>
            waitForPeersUp(
              node(name),
              ids(['b1', 'b2'].filter((n) => n !== name)),
              FORMS_WITHIN_MS,
            ),
          ),
        ])
        // Nothing crosses from one subnet to the other yet: announcements stay on their link.
        expect(await linkedIds('a1')).not.toContain(node('b1').id)

        // On A, both announcements and mDNS got through; on B (no multicast), broadcast alone.
        // What every node sends fits the per-source rate: nothing a node of the LAN says is dropped.
        expect((await health(node('a1'))).discovery.datagramsDropped).toBe(0)
        const a2OnA1 = (await known('a1')).find((n) => n.id === node('a2').id)
        expect(a2OnA1).toMatchObject({ mesh: 'same', linked: true })
        expect(a2OnA1?.sources).toEqual(expect.arrayContaining(['announce', 'mdns']))
        const b2OnB1 = (await known('b1')).find((n) => n.id === node('b2').id)
        expect(b2OnB1?.sources).toContain('announce')
        expect(b2OnB1?.sources).not.toContain('mdns')
        const b1Interfaces = (await health(node('b1'))).discovery.interfaces
        expect(b1Interfaces).toEqual([
          expect.objectContaining({ name: 'eth0', address: '10.77.2.21', mdnsReceived: 0 }),
        ])
        expect(b1Interfaces[0]?.announcementsReceived).toBeGreaterThan(0)

        // x is seen from A as another mesh, and x sees A so; nobody dials anybody across.
        const a1 = await waitUntil(
          async () => {
            const h = await health(node('a1'))
            return h.discovery.nodes.some((n) => n.id === node('x').id) && h
          },
          FORMS_WITHIN_MS,
          'a1 hears x',
        )
        expect(a1.discovery.otherMeshes).toBe(1)
        expect(a1.discovery.nodes.find((n) => n.id === node('x').id)).toMatchObject({
          mesh: 'other',
          linked: false,
          lastError: null,
          addrs: ['10.77.1.99:9080'],
        })
        const x = await waitUntil(
          async () => {
            const h = await health(node('x'))
            return h.discovery.nodes.length === 3 && h
          },
          FORMS_WITHIN_MS,
          'x hears a1, a2 and a3',
        )
        expect(x.peers).toEqual([])
        expect(x.discovery.otherMeshes).toBe(1)
        expect(x.discovery.nodes.map((n) => [n.id, n.mesh]).sort()).toEqual(
          ids(['a1', 'a2', 'a3'])
            .map((id) => [id, 'other'])
            .sort(),
        )
        for (const name of ['a1', 'a2', 'a3'])
          expect(await linkedIds(name)).not.toContain(node('x').id)
      },
      TEST_TIMEOUT_MS,
    )

    it(
      'a dual-homed node joins the subnets: every node holds every record, and a message from either side reaches all six once',
      async () => {
        await start('d')
        const lab = ['a1', 'a2', 'a3', 'b1', 'b2', 'd']
        await waitForPeersUp(
          node('d'),
          lab.filter((n) => n !== 'd').map((n) => node(n).id),
          FORMS_WITHIN_MS,
        )
        // Gossip: each node holds the signed records of all the others ...
        for (const name of lab) {
          const others = lab.filter((n) => n !== name).map((n) => node(n).id)
          await waitUntil(
            async () => {
              const gossiped = (await known(name)).filter((n) => n.sources.includes('gossip'))
              return others.every((id) => gossiped.some((n) => n.id === id))
            },
            FORMS_WITHIN_MS,
            `${name} holds the records of all the others`,
          )
        }
        // ... and dials their addresses, so a1 links to b1 through the router, heard of by no
        // announcement: only gossip told it where b1 is.
        await waitForPeersUp(node('a1'), [node('b1').id], FORMS_WITHIN_MS)
        const b1OnA1 = (await known('a1')).find((n) => n.id === node('b1').id)
        expect(b1OnA1).toMatchObject({
          sources: ['gossip'],
          addrs: ['10.77.2.21:9080'],
          linked: true,
        })

        for (const name of lab) {
          const client = await ChatClient.connect(node(name).wsUrl)
          clients.push(client)
          await client.join('general')
        }
        const [fromA, fromB] = [clients[0], clients[3]] // on a1 and b1
        await fromA?.say('general', 'hello from subnet A')
        await fromB?.say('general', 'hello from subnet B')
        for (const client of clients) {
          const messages = await client.messages('general', 2, FORMS_WITHIN_MS)
          expect(messages.map((m) => m.text).sort()).toEqual([
            'hello from subnet A',
            'hello from subnet B',
          ])
        }
        expect(await linkedIds('x')).toEqual([])
      },
      TEST_TIMEOUT_MS,
    )

    it(
      'nodes on a link with no IPv4 find each other by IPv6 multicast and link over link-local addresses',
      async () => {
        // Their link-local addresses may still be tentative (duplicate address detection) when
        // the nodes start: the first binds fail, and the next network poll opens them again.
        const [c1, c2] = await Promise.all([start('c1', 'lab6', '::'), start('c2', 'lab6', '::')])
        // There is no IPv4 on this link: a link between them came through IPv6 discovery.
        await waitForPeersUp(c1, [c2.id], FORMS_WITHIN_MS)
        // And, once each address is out of detection, announcements flow both ways.
        for (const [self, other] of [
          [c1, c2],
          [c2, c1],
        ] as const) {
          const heard = await waitUntil(
            async () => {
              const { discovery } = await health(self)
              const [eth0] = discovery.interfaces
              const node = discovery.nodes.find((n) => n.id === other.id)
              const settled = eth0?.lastError === null && eth0.announcementsReceived > 0
              return settled && node?.sources.includes('announce') && { eth0, node }
            },
            FORMS_WITHIN_MS,
            `${self.name} hears ${other.name} on IPv6`,
          )
          expect(heard.eth0).toMatchObject({ name: 'eth0', family: 'IPv6' })
          expect(heard.node).toMatchObject({ mesh: 'same', linked: true })
          expect(heard.node.addrs).toContainEqual(
            expect.stringMatching(/^\[fe80::[0-9a-f:]+%eth0\]:9080$/),
          )
        }
      },
      TEST_TIMEOUT_MS,
    )

    it(
      'a node announces on an interface as soon as the interface gets an address',
      async () => {
        const e1 = await start('e1')
        expect((await health(e1)).discovery.interfaces).toEqual([])
        network.ip(e1.ns, 'addr', 'add', '10.77.1.50/24', 'dev', 'eth0')
        // Its announcements reach the subnet: a1 hears it there (whether a1 then keeps a link to
        // it is the overlay's choice, its active view being bounded).
        await waitUntil(
          async () =>
            (await health(node('a1'))).discovery.nodes.some(
              (n) => n.id === e1.id && n.sources.includes('announce'),
            ),
          FORMS_WITHIN_MS,
          'a1 hears e1 announce itself',
        )
        const [eth0] = (await health(e1)).discovery.interfaces
        expect(eth0).toMatchObject({ name: 'eth0', family: 'IPv4', address: '10.77.1.50' })
        expect(eth0?.announcementsSent).toBeGreaterThan(0)
      },
      TEST_TIMEOUT_MS,
    )
  },
)
