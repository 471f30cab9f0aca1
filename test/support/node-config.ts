/**
 * The desktop app's node config as tests use it: 127.0.0.1, any free ports, data in `dir`, and
 * discovery off (as `startNode`'s), so that a removed peer stays removed and the test's peers
 * are the only links.
 */
import { join } from 'node:path'
import type { NodeConfig } from '../../src/main/config-store.ts'

export function testNodeConfig(dir: string, overrides: Partial<NodeConfig> = {}): NodeConfig {
  return {
    name: 'Desk',
    host: '127.0.0.1',
    port: 0,
    peerPort: 0,
    mesh: 'default',
    secret: '',
    token: '',
    peers: [],
    dataDir: join(dir, 'data'),
    discovery: false,
    ...overrides,
  }
}
