/**
 * Test networks in Linux network namespaces (root only), for discovery tests: a "switch"
 * namespace holding bridges, and one namespace per test host, joined to bridges by veth pairs.
 *
 * Nothing is made in the host's own namespace: no interface, address or route, so every
 * broadcast and multicast packet the tests' nodes send stays on these bridges. Tests reach a
 * node's client port through a forwarder in its namespace and a Unix socket (`reach`). Names
 * carry a prefix unique to the run; `destroy()` removes everything, and a later run removes
 * what a killed run left behind.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect, type Server, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { removeLeftovers } from './leftovers.ts'
import { health, type NodeProcess, startNode, tempDir } from './node-process.ts'

const FORWARDER = resolve(import.meta.dirname, 'netns-forwarder.ts')
/** Every namespace of these tests is named `pvd<pid>x<random>-…`, the pid of the test run. */
const NAME_PATTERN = /^pvd(\d+)x[0-9a-f]+-/

/** Runs `ip` (or `bridge`) with `args`; throws with its stderr when it fails. */
function run(command: 'ip' | 'bridge', ...args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Why this machine cannot make test namespaces (not root, no iproute2), or undefined. */
export function namespacesUnavailable(): string | undefined {
  const probe = `pvd${process.pid}x${randomBytes(3).toString('hex')}-probe`
  try {
    run('ip', 'netns', 'add', probe)
  } catch (error) {
    const why = (error as { stderr?: string }).stderr?.trim() || (error as Error).message
    return `cannot create a network namespace (\`ip netns add\`: ${why}); these tests need root and iproute2`
  }
  run('ip', 'netns', 'del', probe)
  return undefined
}

/** Removes the namespaces of earlier runs whose process is gone (a run killed before cleanup). */
function removeLeftoverNamespaces(): void {
  const names = run('ip', 'netns', 'list')
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
  removeLeftovers(names, NAME_PATTERN, (name) => run('ip', 'netns', 'del', name))
}

/**
 * A link of a test host to a bridge: its IPv4 address with prefix length (`10.77.1.11/24`), or
 * none (the interface has only its IPv6 link-local address).
 */
export interface HostLink {
  bridge: string
  address?: string
}

export class TestNetwork {
  readonly prefix = `pvd${process.pid}x${randomBytes(3).toString('hex')}-`
  readonly #switch: string
  readonly #namespaces: string[] = []
  readonly #socketDir = mkdtempSync(join(tmpdir(), 'palaver-netns-'))
  readonly #forwarders: { child: ChildProcess; server: Server }[] = []
  /** Bridges whose ports get no multicast. */
  readonly #noMulticast = new Set<string>()
  /** Bridges whose ports get no broadcast (nor ARP: only a known neighbour is reached). */
  readonly #noBroadcast = new Set<string>()
  #ports = 0

  constructor() {
    removeLeftoverNamespaces()
    this.#switch = this.#namespace('switch')
  }

  /**
   * A bridge: one "subnet". With `multicast: false` it drops multicast, with `broadcast: false`
   * broadcast: what a switch or access point that keeps its ports apart does.
   */
  bridge(name: string, { multicast = true, broadcast = true } = {}): void {
    this.ip(this.#switch, 'link', 'add', name, 'type', 'bridge')
    // No IGMP snooping: multicast is flooded to every port, unless a port's flag says not.
    this.ip(this.#switch, 'link', 'set', name, 'type', 'bridge', 'mcast_snooping', '0')
    this.ip(this.#switch, 'link', 'set', name, 'up')
    if (!multicast) this.#noMulticast.add(name)
    if (!broadcast) this.#noBroadcast.add(name)
  }

  /**
   * A test host: a namespace with loopback up and one interface per link (`eth0`, `eth1`, …),
   * each with its address, on its bridge. Returns the namespace's name.
   */
  host(name: string, links: readonly HostLink[]): string {
    const ns = this.#namespace(name)
    this.ip(ns, 'link', 'set', 'lo', 'up')
    links.forEach(({ bridge, address }, i) => {
      const port = `p${this.#ports++}`
      // Made in the two namespaces at once: the pair never exists in the host's.
      run(
        'ip',
        'link',
        'add',
        `eth${i}`,
        'netns',
        ns,
        'type',
        'veth',
        'peer',
        'name',
        port,
        'netns',
        this.#switch,
      )
      this.ip(this.#switch, 'link', 'set', port, 'master', bridge)
      if (this.#noMulticast.has(bridge)) {
        run('bridge', '-n', this.#switch, 'link', 'set', 'dev', port, 'mcast_flood', 'off')
      }
      if (this.#noBroadcast.has(bridge)) {
        run('bridge', '-n', this.#switch, 'link', 'set', 'dev', port, 'bcast_flood', 'off')
      }
      this.ip(this.#switch, 'link', 'set', port, 'up')
      if (address !== undefined) this.ip(ns, 'addr', 'add', address, 'dev', `eth${i}`)
      this.ip(ns, 'link', 'set', `eth${i}`, 'up')
    })
    return ns
  }

  /** Makes `ns` route between its interfaces (a router joining two subnets). */
  forwarding(ns: string): void {
    run('ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1')
  }

  /**
   * A firewall in `ns` that silently drops TCP connections to `port` arriving on `dev` (as a
   * host firewall that keeps a port closed to the network does): a routing rule that blackholes
   * them, put before the rule that delivers packets to local addresses. Nothing else is dropped.
   */
  dropIncomingTcp(ns: string, port: number, dev = 'eth0'): void {
    const match = ['iif', dev, 'ipproto', 'tcp', 'dport', String(port)]
    this.ip(ns, 'rule', 'add', 'pref', '10', ...match, 'blackhole')
    this.ip(ns, 'rule', 'add', 'pref', '100', 'lookup', 'local')
    this.ip(ns, 'rule', 'del', 'pref', '0')
  }

  /** `ip -n NS …` */
  ip(ns: string, ...args: string[]): string {
    return run('ip', '-n', ns, ...args)
  }

  /** The command prefix that runs a program in `ns`. */
  exec(ns: string): string[] {
    return ['ip', 'netns', 'exec', ns]
  }

  /**
   * `http://127.0.0.1:PORT` in the test's own namespace, forwarded to `port` on 127.0.0.1 of
   * `ns`, through a Unix socket (no route between the namespaces is needed).
   */
  async reach(ns: string, port: number): Promise<string> {
    const socketPath = join(this.#socketDir, `${ns}-${port}.sock`)
    const child = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, FORWARDER, socketPath, String(port)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    const server = createServer((inbound) => {
      const outbound = connect(socketPath)
      inbound.pipe(outbound).pipe(inbound)
      inbound.on('error', () => outbound.destroy())
      outbound.on('error', () => inbound.destroy())
      inbound.on('close', () => outbound.destroy())
      outbound.on('close', () => inbound.destroy())
    })
    this.#forwarders.push({ child, server })
    await new Promise<void>((ready, fail) => {
      child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && ready())
      child.once('exit', (code) => fail(new Error(`the forwarder in ${ns} exited with ${code}`)))
    })
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', () => listening()))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  /** Stops the forwarders and removes every namespace (their interfaces and bridges go too). */
  async destroy(): Promise<void> {
    for (const { child, server } of this.#forwarders) {
      child.kill('SIGKILL')
      server.close()
    }
    for (const ns of this.#namespaces.reverse()) {
      try {
        run('ip', 'netns', 'del', ns)
      } catch {
        // already gone
      }
    }
    rmSync(this.#socketDir, { recursive: true, force: true })
  }

  #namespace(name: string): string {
    const ns = `${this.prefix}${name}`
    run('ip', 'netns', 'add', ns)
    this.#namespaces.push(ns)
    return ns
  }
}

/** A node a test started in one of its namespaces, and how the test reaches it. */
export interface LanNode {
  name: string
  /** Its namespace. */
  ns: string
  process: NodeProcess
  id: string
  httpUrl: string
  wsUrl: string
}

export interface LanNodeOptions {
  /** Mesh name (`lab`) and secret (`<mesh>-secret`). */
  mesh?: string
  secret?: string
  /** Listen address: every interface by default. */
  host?: string
  /** How often it announces itself, in ms. */
  announceMs: number
  /** More flags for its command line. */
  flags?: readonly string[]
}

/** Port numbers every test node listens on inside its own namespace. */
const LAN_CLIENT_PORT = 8080
export const LAN_PEER_PORT = 9080

/**
 * Starts `chat-node` in namespace `ns` with no `--peer` (discovery on, the usual ports), and
 * reaches its client port from the test.
 */
export async function startLanNode(
  network: TestNetwork,
  ns: string,
  name: string,
  options: LanNodeOptions,
): Promise<LanNode> {
  const { mesh = 'lab', secret = `${mesh}-secret`, host = '0.0.0.0', flags = [] } = options
  const process = await startNode({
    name,
    wrap: network.exec(ns),
    argv: [
      ...['--name', name, '--host', host],
      ...['--port', String(LAN_CLIENT_PORT), '--peer-port', String(LAN_PEER_PORT)],
      ...['--data', tempDir(), '--mesh', mesh, '--secret', secret],
      ...['--limit', `discovery-announce-ms=${options.announceMs}`, '--log-level', 'debug'],
      ...flags,
    ],
  })
  const httpUrl = await network.reach(ns, process.clientPort)
  const id = (await health({ httpUrl })).node.id
  return { name, ns, process, id, httpUrl, wsUrl: `${httpUrl.replace(/^http/, 'ws')}/` }
}
