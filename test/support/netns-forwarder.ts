/**
 * Run inside a test network namespace (`ip netns exec NS node netns-forwarder.ts SOCKET PORT`):
 * forwards each connection to the Unix socket SOCKET to 127.0.0.1:PORT of that namespace, so
 * that a test in the host's namespace reaches a node in the test's namespace without an
 * interface, address or route in the host's own. Prints `ready` once it listens.
 */
import { connect, createServer } from 'node:net'

const [socketPath, port] = process.argv.slice(2)
if (socketPath === undefined || !/^\d{1,5}$/.test(port ?? '')) {
  process.stderr.write('usage: netns-forwarder.ts SOCKET PORT\n')
  process.exit(2)
}

createServer((inbound) => {
  const outbound = connect(Number(port), '127.0.0.1')
  inbound.pipe(outbound).pipe(inbound)
  inbound.on('error', () => outbound.destroy())
  outbound.on('error', () => inbound.destroy())
  inbound.on('close', () => outbound.destroy())
  outbound.on('close', () => inbound.destroy())
}).listen(socketPath, () => process.stdout.write('ready\n'))
