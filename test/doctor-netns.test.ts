/**
 * The network doctor's verdicts for the common causes of "nobody shows up", each provoked on a
 * LAN of network namespaces this test makes (root only; skipped with the reason elsewhere),
 * never on the machine's real network, and read as a person reads them: `chat-node doctor` run
 * inside the node's namespace, its printed findings and its exit code.
 *
 * Each cause has a bridge of its own, in 10.78.0.0/16 (discovery-netns.test.ts uses 10.77):
 * - quiet (10.78.1): a switch that floods neither broadcast nor multicast, two nodes of one mesh;
 * - lan (10.78.2): a node of mesh `lab` and one of another mesh; later a node with discovery off
 *   and one listening on loopback only, both amid these announcements;
 * - secret (10.78.3): two nodes of mesh `lab` with different secrets;
 * - wall (10.78.4): two nodes of mesh `lab` whose firewalls drop connections to the peer port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DiscoveredNode } from '../src/shared/discovery-status.ts'
import {
  LAN_PEER_PORT,
  type LanNode,
  type LanNodeOptions,
  namespacesUnavailable,
  startLanNode,
  TestNetwork,
} from './support/netns.ts'
import { cleanupNodes, health, runCli } from './support/node-process.ts'
import type { ProcessResult } from './support/run-process.ts'
import { waitUntil } from './support/wait.ts'

const unavailable = namespacesUnavailable()
if (unavailable) console.warn(`doctor-netns: skipped: ${unavailable}`)

/** Every node announces each second (the default is 5 s), so that the test takes seconds. */
const ANNOUNCE_MS = 1_000
/** Announcements a node sends before "none came in" means something: a few intervals. */
const ANNOUNCEMENTS_BEFORE_VERDICT = 3
/** How long a state the doctor reads may take to show, with room for a loaded machine. */
const SHOWS_WITHIN_MS = 20_000
/** How long one `chat-node doctor` may run (it starts a Node.js process). */
const DOCTOR_TIMEOUT_MS = 15_000
const TEST_TIMEOUT_MS = 60_000

describe.skipIf(unavailable !== undefined)(
  `the network doctor on a LAN of network namespaces${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let network: TestNetwork
    const ns = new Map<string, string>()
    const nodes = new Map<string, LanNode>()

    /** Starts a node in `name`'s namespace on the usual ports, with no `--peer`. */
    async function start(
      name: string,
      options: Omit<LanNodeOptions, 'announceMs'> = {},
    ): Promise<LanNode> {
      const started = await startLanNode(network, ns.get(name) ?? '', name, {
        ...options,
        announceMs: ANNOUNCE_MS,
      })
      nodes.set(name, started)
      return started
    }

    /** `chat-node doctor` as a person runs it on the node's machine. */
    const doctor = (node: LanNode): Promise<ProcessResult> =>
      runCli(
        ['doctor', '--url', `http://127.0.0.1:${node.process.clientPort}`],
        DOCTOR_TIMEOUT_MS,
        network.exec(node.ns),
      )

    /** Waits until `self` heard `other` both ways (announcements, mDNS) and failed to link. */
    const dialFailed = (self: LanNode, other: LanNode): Promise<DiscoveredNode> =>
      waitUntil(
        async () =>
          (await health(self)).discovery.nodes.find(
            (n) =>
              n.id === other.id &&
              (['announce', 'mdns'] as const).every((s) => n.sources.includes(s)) &&
              n.lastError !== null,
          ),
        SHOWS_WITHIN_MS,
        `${self.name} fails to link to ${other.name}`,
      )

    beforeAll(() => {
      // Everything below is made inside namespaces of this run (see TestNetwork).
      network = new TestNetwork()
      network.bridge('quiet', { broadcast: false, multicast: false })
      network.bridge('lan')
      network.bridge('secret')
      network.bridge('wall')
      const hosts = [
        ['q1', 'quiet', '10.78.1.11'],
        ['q2', 'quiet', '10.78.1.12'],
        ['m1', 'lan', '10.78.2.11'],
        ['x', 'lan', '10.78.2.99'],
        ['off', 'lan', '10.78.2.20'],
        ['lo', 'lan', '10.78.2.30'],
        ['s1', 'secret', '10.78.3.11'],
        ['s2', 'secret', '10.78.3.12'],
        ['w1', 'wall', '10.78.4.11'],
        ['w2', 'wall', '10.78.4.12'],
      ] as const
      for (const [name, bridge, address] of hosts) {
        ns.set(name, network.host(name, [{ bridge, address: `${address}/24` }]))
      }
      for (const name of ['w1', 'w2']) network.dropIncomingTcp(ns.get(name) ?? '', LAN_PEER_PORT)
    })

    afterAll(async () => {
      try {
        await cleanupNodes()
      } finally {
        await network?.destroy()
      }
    })

    it(
      'announcements that go out while none come in: "nothing heard", with where to look',
      async () => {
        const [q1, q2] = await Promise.all([start('q1'), start('q2')])
        // Both announce for a few intervals while the other runs: on an open switch each would
        // have heard the other by then (as m1 hears x below).
        const sentNow = async (node: LanNode) =>
          (await health(node)).discovery.interfaces[0]?.announcementsSent ?? 0
        const [from1, from2] = await Promise.all([sentNow(q1), sentNow(q2)])
        await waitUntil(
          async () =>
            (await sentNow(q1)) >= from1 + ANNOUNCEMENTS_BEFORE_VERDICT &&
            (await sentNow(q2)) >= from2 + ANNOUNCEMENTS_BEFORE_VERDICT,
          SHOWS_WITHIN_MS,
          'q1 and q2 announce a few times',
        )

        const result = await doctor(q1)
        expect(result.stdout).toMatch(
          /^WARNING +Announcements go out on eth0 \(10\.78\.1\.11\), but none from other nodes came in\.$/m,
        )
        expect(result.stdout).toMatch(/drops UDP port 9081 and multicast.*invite/)
        // A warning, not a problem: the doctor cannot know that another machine is there.
        expect(result.code).toBe(0)
      },
      TEST_TIMEOUT_MS,
    )

    it(
      'a node of another mesh nearby: "1 other mesh on this network", never linked',
      async () => {
        const [m1, x] = await Promise.all([start('m1'), start('x', { mesh: 'elsewhere' })])
        await waitUntil(
          async () => (await health(m1)).discovery.otherMeshes === 1,
          SHOWS_WITHIN_MS,
          'm1 hears x',
        )

        const result = await doctor(m1)
        expect(result.stdout).toMatch(/^note +1 other mesh on this network\.$/m)
        expect(result.stdout).toMatch(/paste an invite/)
        expect(result.stdout).toMatch(/^ok +Nothing is wrong, and this node is not linked/m)
        expect(result.stdout).not.toMatch(/none from other nodes came in|PROBLEM/)
        expect(result.code).toBe(0)
        expect((await health(m1)).peers).toEqual([])
        expect((await health(x)).peers).toEqual([])
      },
      TEST_TIMEOUT_MS,
    )

    it(
      'a node of the same mesh name with another secret, found by discovery: "another mesh secret"',
      async () => {
        const [s1, s2] = await Promise.all([
          start('s1'),
          start('s2', { secret: 'not-the-lab-secret' }),
        ])
        await dialFailed(s1, s2)

        const result = await doctor(s1)
        expect(result.stdout).toMatch(
          new RegExp(
            `^PROBLEM +Node ${s2.id.slice(0, 8)} \\(found through its announcements and mDNS, at 10\\.78\\.3\\.12:${LAN_PEER_PORT}\\) is not linked: it has another mesh secret\\.$`,
            'm',
          ),
        )
        expect(result.stdout).toMatch(/Set the same secret on both nodes\./)
        expect(result.code).toBe(1)
      },
      TEST_TIMEOUT_MS,
    )

    it(
      'a peer port that firewalls drop, found by discovery: "it does not answer", check the firewall',
      async () => {
        const [w1, w2] = await Promise.all([start('w1'), start('w2')])
        await dialFailed(w1, w2)

        const result = await doctor(w1)
        expect(result.stdout).toMatch(
          new RegExp(
            `^PROBLEM +Node ${w2.id.slice(0, 8)} \\(found through its announcements and mDNS, at 10\\.78\\.4\\.12:${LAN_PEER_PORT}\\) is not linked: it does not answer\\.$`,
            'm',
          ),
        )
        expect(result.stdout).toMatch(
          /so it is on and on this network.*a firewall.*Let Palaver through that firewall \(TCP port 9080\)\./,
        )
        // Announcements pass the firewall: the network is not what is wrong here.
        expect(result.stdout).not.toMatch(/none from other nodes came in/)
        expect(result.code).toBe(1)
      },
      TEST_TIMEOUT_MS,
    )

    it(
      'discovery off, and a node listening on loopback only: each says so, amid announcements',
      async () => {
        const [off, lo] = await Promise.all([
          start('off', { flags: ['--no-discovery'] }),
          start('lo', { host: '127.0.0.1' }),
        ])
        // Another mesh announces on this bridge (x, of the test before), as m1 still hears.
        const m1 = nodes.get('m1')
        expect(m1 && (await health(m1)).discovery.otherMeshes).toBe(1)

        const offResult = await doctor(off)
        expect(offResult.stdout).toMatch(
          /^note +Discovery is off: this node neither announces itself nor looks for others\.$/m,
        )
        expect(offResult.stdout).not.toMatch(/other mesh/)
        expect(offResult.code).toBe(0)

        const loResult = await doctor(lo)
        expect(loResult.stdout).toMatch(
          /^WARNING +This node listens only on this machine, so it announces nothing to the network\.$/m,
        )
        expect(loResult.stdout).toMatch(/host 0\.0\.0\.0/)
        expect(loResult.stdout).not.toMatch(/other mesh/)
        expect(loResult.code).toBe(0)
      },
      TEST_TIMEOUT_MS,
    )
  },
)
