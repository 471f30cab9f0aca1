/**
 * The UDP side of LAN announcements: one socket per interface address to send from (so that
 * each announcement leaves by its own interface, with that interface's source address), and
 * one socket per address family that listens on the discovery port for everyone's.
 *
 * IPv4 announcements go to the subnet's broadcast address and to the multicast group
 * ANNOUNCE_GROUP_V4; IPv6 ones to the link-local multicast group ANNOUNCE_GROUP_V6. Every
 * socket's errors are caught and kept as the interface's `lastError`: a network that refuses
 * broadcast or multicast costs that path, never the node.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { contain, type ErrorSink } from '../containment.ts'
import { type LanInterface } from './interfaces.ts'

/**
 * The IPv4 multicast group of announcements: in 239.255.0.0/16, the organization-local scope
 * (RFC 2365), which routers do not pass beyond the site; sent with TTL 1, so not beyond the link.
 */
export const ANNOUNCE_GROUP_V4 = '239.255.90.81'
/**
 * The IPv6 multicast group of announcements: `ff12::9081`, transient (flag 1) and link-local
 * (scope 2), so it never leaves the link.
 */
export const ANNOUNCE_GROUP_V6 = 'ff12::9081'

/** What went through one interface address. */
export interface InterfaceCounts {
  announcementsSent: number
  announcementsReceived: number
  mdnsSent: number
  mdnsReceived: number
  lastError: string | null
}

export function newCounts(): InterfaceCounts {
  return {
    announcementsSent: 0,
    announcementsReceived: 0,
    mdnsSent: 0,
    mdnsReceived: 0,
    lastError: null,
  }
}

export interface AnnouncerOptions {
  /** The UDP port announcements go to and are listened for on. */
  port: number
  sink: ErrorSink
  /** The counts of an interface address (kept by the caller across changes of interfaces). */
  counts: (lan: LanInterface) => InterfaceCounts
  /** A datagram came in on the discovery port. */
  onDatagram: (datagram: Buffer, from: RemoteInfo) => void
  /**
   * A socket failed: the one sending from `lan`, or (no `lan`) one listening for everyone's.
   * Its path is dead until the sockets are opened again.
   */
  onSocketError: (message: string, lan?: LanInterface) => void
  /** A listening socket is bound (a previous failure is over). */
  onListening: () => void
}

interface Outlet {
  lan: LanInterface
  socket: Socket
  ready: boolean
}

export class Announcer {
  readonly #options: AnnouncerOptions
  #outlets: Outlet[] = []
  #listeners: Socket[] = []

  constructor(options: AnnouncerOptions) {
    this.#options = options
  }

  /** Opens the sockets for `lans`, closing those of a previous call. */
  open(lans: readonly LanInterface[]): void {
    this.close()
    this.#outlets = lans.map((lan) => this.#outlet(lan))
    const v4 = lans.filter((lan) => lan.family === 'IPv4')
    const v6 = lans.filter((lan) => lan.family === 'IPv6')
    if (v4.length > 0) this.#listen('udp4', '0.0.0.0', ANNOUNCE_GROUP_V4, v4)
    if (v6.length > 0) this.#listen('udp6', '::', ANNOUNCE_GROUP_V6, v6)
  }

  /** Sends `datagram` out of every interface: to its broadcast address and its multicast group. */
  announce(datagram: Buffer): void {
    const { port } = this.#options
    for (const outlet of this.#outlets) {
      if (!outlet.ready) continue
      const { lan, socket } = outlet
      const targets =
        lan.family === 'IPv6'
          ? [ANNOUNCE_GROUP_V6]
          : [...(lan.broadcast ? [lan.broadcast] : []), ANNOUNCE_GROUP_V4]
      for (const target of targets) {
        socket.send(datagram, port, target, (error) => {
          const counts = this.#options.counts(lan)
          if (error) counts.lastError = `sending to ${target}: ${error.message}`
          else counts.announcementsSent++
        })
      }
    }
  }

  close(): void {
    for (const socket of [...this.#outlets.map((o) => o.socket), ...this.#listeners]) {
      socket.removeAllListeners('message')
      try {
        socket.close()
      } catch {
        // closed already, after an error
      }
    }
    this.#outlets = []
    this.#listeners = []
  }

  /** A socket bound to the interface address, for sending only. */
  #outlet(lan: LanInterface): Outlet {
    const { sink } = this.#options
    const v6 = lan.family === 'IPv6'
    const socket = createSocket({ type: v6 ? 'udp6' : 'udp4' })
    const outlet: Outlet = { lan, socket, ready: false }
    const fail = (error: Error) => {
      outlet.ready = false
      this.#options.onSocketError(`sending from ${lan.address}: ${error.message}`, lan)
    }
    socket.on('error', fail)
    const zoned = v6 ? `${lan.address}%${lan.name}` : lan.address
    socket.bind(0, zoned, () =>
      contain(
        sink,
        'timer',
        'opening an announcement socket',
        () => {
          socket.setMulticastTTL(1)
          socket.setMulticastLoopback(false)
          socket.setMulticastInterface(v6 ? `::%${lan.name}` : lan.address)
          if (!v6) socket.setBroadcast(true)
          outlet.ready = true
          // Open again after a failure (an address that was still tentative, say): it is over.
          this.#options.counts(lan).lastError = null
        },
        (error) => fail(error as Error),
      ),
    )
    return outlet
  }

  /** The socket of one family that hears announcements on every interface address in `lans`. */
  #listen(type: 'udp4' | 'udp6', any: string, group: string, lans: readonly LanInterface[]): void {
    const { sink, port } = this.#options
    const socket = createSocket({ type, reuseAddr: true, ipv6Only: type === 'udp6' })
    this.#listeners.push(socket)
    socket.on('error', (error) =>
      this.#options.onSocketError(`listening on ${type} port ${port}: ${error.message}`),
    )
    socket.on('message', (datagram, from) =>
      contain(sink, 'timer', 'an announcement', () => this.#options.onDatagram(datagram, from)),
    )
    socket.bind(port, any, () =>
      contain(sink, 'timer', 'joining the announcement group', () => {
        this.#options.onListening()
        for (const lan of lans) {
          try {
            socket.addMembership(group, type === 'udp6' ? `::%${lan.name}` : lan.address)
          } catch (error) {
            this.#options.counts(lan).lastError = `joining ${group}: ${(error as Error).message}`
          }
        }
      }),
    )
  }
}
