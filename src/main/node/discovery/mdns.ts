/**
 * DNS-SD over mDNS (RFC 6762/6763), through `multicast-dns`: each node offers the service
 * `_palaver._tcp.local` on each IPv4 interface address it announces from, and asks for it
 * there. Another layer beside the UDP announcements: a network that drops one may pass the
 * other, and other DNS-SD browsers (`avahi-browse -r _palaver._tcp`) see the nodes too.
 *
 * Each node's service instance is `<node id>._palaver._tcp.local`; its SRV record names the
 * peer port, its TXT record `v=1`, `id=<node id>`, `mesh=<meshHash>`, `instance=<instance id>`.
 * Whatever comes in is checked field by field and bounded; a malformed packet is dropped.
 */
import type { RemoteInfo } from 'node:dgram'
import makeMdns from 'multicast-dns'
import { contain, type ErrorSink } from '../containment.ts'
import { ANNOUNCEMENT_VERSION } from './announcement.ts'
import type { InterfaceCounts } from './announcer.ts'
import { interfaceOf, type LanInterface } from './interfaces.ts'

/** The DNS-SD service type of Palaver's peer port. */
export const MDNS_SERVICE = '_palaver._tcp.local'
/** mDNS's own port and group (RFC 6762). */
export const MDNS_PORT = 5353
/** A node answers queries on one interface at most this often; later ones wait for the next. */
export const MDNS_MIN_ANSWER_GAP_MS = 1_000
/** Records of one response looked at; the rest are ignored. */
export const MDNS_MAX_RECORDS_READ = 64
/** TTL, in seconds, of the records a node sends (2 minutes, RFC 6762's for SRV). */
const RECORD_TTL_S = 120

export interface MdnsOffer {
  id: string
  meshHash: string
  peerPort: number
  instance: string
}

/** A node's service as a response told it. */
export interface MdnsHeard extends MdnsOffer {
  /** The responder's address (the packet's source). */
  host: string
}

export interface MdnsOptions {
  sink: ErrorSink
  /** This node's service. */
  offer: () => MdnsOffer
  counts: (lan: LanInterface) => InterfaceCounts
  /** Whether a datagram from this address may be handled now (the per-source rate limit). */
  admit: (source: string) => boolean
  onHeard: (heard: MdnsHeard, lan: LanInterface) => void
}

interface Responder {
  lan: LanInterface
  mdns: makeMdns.MulticastDNS
  lastAnswerAt: number
}

export class MdnsDiscovery {
  readonly #options: MdnsOptions
  #responders: Responder[] = []

  constructor(options: MdnsOptions) {
    this.#options = options
  }

  /** Starts a responder on each IPv4 address of `lans`, stopping those of a previous call. */
  open(lans: readonly LanInterface[]): void {
    this.close()
    this.#responders = lans.filter((lan) => lan.family === 'IPv4').map((lan) => this.#open(lan))
  }

  /** Asks every interface's network for Palaver's service. */
  query(): void {
    for (const responder of this.#responders) {
      responder.mdns.query([{ name: MDNS_SERVICE, type: 'PTR' }], (error) =>
        this.#sent(responder.lan, error),
      )
    }
  }

  close(): void {
    for (const { mdns } of this.#responders) {
      mdns.removeAllListeners('query')
      mdns.removeAllListeners('response')
      mdns.destroy()
    }
    this.#responders = []
  }

  #open(lan: LanInterface): Responder {
    const mdns = makeMdns({
      interface: lan.address,
      // Bound to the wildcard: a socket bound to a unicast address hears no multicast.
      bind: '0.0.0.0',
      port: MDNS_PORT,
      ttl: 255,
      loopback: false,
    })
    const responder: Responder = { lan, mdns, lastAnswerAt: 0 }
    const counts = this.#options.counts(lan)
    mdns.on('error', (error: Error) => (counts.lastError = `mDNS: ${error.message}`))
    mdns.on('warning', (error: Error) => (counts.lastError = `mDNS: ${error.message}`))
    for (const type of ['query', 'response'] as const) {
      mdns.on(type, (packet: unknown, from: RemoteInfo) =>
        contain(this.#options.sink, 'timer', 'an mDNS packet', () =>
          this.#packet(responder, packet, from),
        ),
      )
    }
    return responder
  }

  #packet(responder: Responder, packet: unknown, from: RemoteInfo): void {
    const { lan } = responder
    // Every responder's socket hears every interface: each takes only its own subnet's.
    if (interfaceOf(from.address, [lan]) !== lan || from.address === lan.address) return
    if (!isRecord(packet) || !this.#options.admit(from.address)) return
    if (packet.type === 'query' && asksForService(packet.questions)) this.#answer(responder)
    if (packet.type !== 'response') return
    const records = [...asArray(packet.answers), ...asArray(packet.additionals)].slice(
      0,
      MDNS_MAX_RECORDS_READ,
    )
    const own = this.#options.offer().id
    for (const heard of servicesIn(records, from.address)) {
      if (heard.id === own) continue
      this.#options.counts(lan).mdnsReceived++
      this.#options.onHeard(heard, lan)
    }
  }

  #answer(responder: Responder): void {
    const now = Date.now()
    if (now - responder.lastAnswerAt < MDNS_MIN_ANSWER_GAP_MS) return
    responder.lastAnswerAt = now
    const { id, meshHash, peerPort, instance } = this.#options.offer()
    const name = `${id}.${MDNS_SERVICE}`
    const target = `palaver-${id.slice(0, 12)}.local`
    const ttl = RECORD_TTL_S
    responder.mdns.respond(
      {
        answers: [{ name: MDNS_SERVICE, type: 'PTR', ttl, data: name }],
        additionals: [
          { name, type: 'SRV', ttl, data: { port: peerPort, target } },
          {
            name,
            type: 'TXT',
            ttl,
            data: [
              `v=${ANNOUNCEMENT_VERSION}`,
              `id=${id}`,
              `mesh=${meshHash}`,
              `instance=${instance}`,
            ],
          },
          { name: target, type: 'A', ttl, data: responder.lan.address },
        ],
      },
      (error) => this.#sent(responder.lan, error),
    )
  }

  #sent(lan: LanInterface, error: Error | null): void {
    const counts = this.#options.counts(lan)
    if (error) counts.lastError = `mDNS: ${error.message}`
    else counts.mdnsSent++
  }
}

/** The Palaver services a response's records describe: an SRV and a TXT of one instance name. */
export function servicesIn(records: readonly unknown[], host: string): MdnsHeard[] {
  const ports = new Map<string, number>()
  const texts = new Map<string, Map<string, string>>()
  for (const record of records) {
    if (!isRecord(record) || typeof record.name !== 'string') continue
    const name = record.name.toLowerCase()
    if (!name.endsWith(`.${MDNS_SERVICE}`)) continue
    if (record.type === 'SRV' && isRecord(record.data)) {
      const port = record.data.port
      if (typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65_535)
        ports.set(name, port)
    }
    if (record.type === 'TXT') texts.set(name, txtFields(record.data))
  }
  const heard: MdnsHeard[] = []
  for (const [name, peerPort] of ports) {
    const fields = texts.get(name)
    const id = fields?.get('id') ?? ''
    const meshHash = fields?.get('mesh') ?? ''
    const instance = fields?.get('instance') ?? ''
    if (fields?.get('v') !== String(ANNOUNCEMENT_VERSION)) continue
    if (!/^[0-9a-f]{40}$/.test(id) || name !== `${id}.${MDNS_SERVICE}`) continue
    if (!/^[0-9a-f]{64}$/.test(meshHash) || !/^[0-9a-f]{16}$/.test(instance)) continue
    heard.push({ id, meshHash, peerPort, instance, host })
  }
  return heard
}

/** A TXT record's `key=value` strings (RFC 6763 §6), at most 16 of them, each up to 255 bytes. */
function txtFields(data: unknown): Map<string, string> {
  const fields = new Map<string, string>()
  for (const item of asArray(data).slice(0, 16)) {
    const text = Buffer.isBuffer(item)
      ? item.toString('utf8')
      : typeof item === 'string'
        ? item
        : ''
    const at = text.indexOf('=')
    if (at > 0 && text.length <= 255)
      fields.set(text.slice(0, at).toLowerCase(), text.slice(at + 1))
  }
  return fields
}

function asksForService(questions: unknown): boolean {
  return asArray(questions).some(
    (q) =>
      isRecord(q) &&
      typeof q.name === 'string' &&
      q.name.toLowerCase() === MDNS_SERVICE &&
      (q.type === 'PTR' || q.type === 'ANY'),
  )
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
}
