import type { NetworkInterfaceInfo } from 'node:os'
import { describe, expect, it } from 'vitest'
import { announcingInterfaces, type InterfaceTable, interfaceOf } from './interfaces.ts'

function v4(address: string, netmask: string, internal = false): NetworkInterfaceInfo {
  return { address, netmask, family: 'IPv4', mac: '02:00:00:00:00:01', internal, cidr: null }
}

function v6(address: string, internal = false): NetworkInterfaceInfo {
  return {
    address,
    netmask: 'ffff:ffff:ffff:ffff::',
    family: 'IPv6',
    mac: '02:00:00:00:00:01',
    internal,
    cidr: null,
    scopeid: 2,
  }
}

/** A laptop: loopback, wired, Wi-Fi, and a VPN's point-to-point address. */
const laptop: InterfaceTable = {
  lo: [v4('127.0.0.1', '255.0.0.0', true), v6('::1', true)],
  eth0: [v4('192.168.1.20', '255.255.255.0'), v6('fe80::1:2')],
  wlan0: [v4('10.0.5.7', '255.255.252.0'), v6('2001:db8::7'), v6('fe80::3:4')],
  tun0: [v4('10.8.0.2', '255.255.255.255')],
}

describe('which interfaces announce', () => {
  it.each(['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]'])(
    'none for a node listening on loopback (%s): it cannot be reached from the LAN',
    (host) => {
      expect(announcingInterfaces(host, laptop)).toEqual([])
    },
  )

  it('none where the machine has only loopback', () => {
    const lonely: InterfaceTable = { lo: laptop.lo }
    expect(announcingInterfaces('0.0.0.0', lonely)).toEqual([])
    expect(announcingInterfaces('::', lonely)).toEqual([])
  })

  it('every non-loopback IPv4 address for 0.0.0.0, with its broadcast address', () => {
    expect(announcingInterfaces('0.0.0.0', laptop)).toEqual([
      {
        name: 'eth0',
        family: 'IPv4',
        address: '192.168.1.20',
        prefixLength: 24,
        broadcast: '192.168.1.255',
      },
      {
        name: 'wlan0',
        family: 'IPv4',
        address: '10.0.5.7',
        prefixLength: 22,
        broadcast: '10.0.7.255',
      },
      // a /32 has no broadcast address: multicast only
      { name: 'tun0', family: 'IPv4', address: '10.8.0.2', prefixLength: 32 },
    ])
  })

  it('IPv6 link-local addresses too for ::, whose peer port takes IPv6', () => {
    const chosen = announcingInterfaces('::', laptop)
    expect(
      chosen.filter((lan) => lan.family === 'IPv6').map((lan) => [lan.name, lan.address]),
    ).toEqual([
      ['eth0', 'fe80::1:2'],
      ['wlan0', 'fe80::3:4'],
    ])
    expect(chosen.filter((lan) => lan.family === 'IPv4')).toHaveLength(3)
  })

  it('only the listen address for a node bound to one', () => {
    expect(announcingInterfaces('10.0.5.7', laptop).map((lan) => lan.name)).toEqual(['wlan0'])
    expect(announcingInterfaces('10.9.9.9', laptop)).toEqual([])
  })

  it('tells which interface a datagram came in on, by subnet or IPv6 zone', () => {
    const lans = announcingInterfaces('::', laptop)
    expect(interfaceOf('192.168.1.77', lans)?.name).toBe('eth0')
    expect(interfaceOf('::ffff:10.0.6.1', lans)?.name).toBe('wlan0')
    expect(interfaceOf('fe80::99%wlan0', lans)).toMatchObject({ name: 'wlan0', family: 'IPv6' })
    expect(interfaceOf('172.16.0.1', lans)).toBeUndefined()
    expect(interfaceOf('fe80::99%eth9', lans)).toBeUndefined()
  })
})
