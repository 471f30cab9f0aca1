/**
 * `chat-node doctor` against real nodes: it reads a running node's report and says, in plain
 * words, why a peer is not linked, and whether anything is wrong (its exit code).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { freePort, nodeId, waitForPeersUp } from './support/mesh.ts'
import { cleanupNodes, runCli, startNode, waitForHealth } from './support/node-process.ts'

afterAll(cleanupNodes)

describe('chat-node doctor', () => {
  it('says all is well for two linked nodes, and exits 0', async () => {
    const a = await startNode({ name: 'Attic', args: ['--secret', 's3cret-one'] })
    const b = await startNode({
      name: 'Cellar',
      args: ['--secret', 's3cret-one', '--peer', a.peerAddr],
    })
    await waitForPeersUp(b, [await nodeId(a)])
    const result = await runCli(['doctor', '--url', b.httpUrl])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^Network doctor for Cellar \([0-9a-f]{40}\)/)
    expect(result.stdout).toMatch(/ok +Linked to 1 node, and nothing is wrong\./)
  })

  it('names a peer with another mesh secret and one where nothing answers, and exits 1', async () => {
    const other = await startNode({ name: 'Other', args: ['--secret', 'not-the-same'] })
    const nothing = `127.0.0.1:${await freePort()}`
    const a = await startNode({
      name: 'Attic',
      args: ['--secret', 'ours', '--peer', other.peerAddr, '--peer', nothing],
    })
    await waitForHealth(a, (h) => h.peers.every((p) => p.lastError !== null), 15_000)
    const result = await runCli(['doctor', '--url', a.httpUrl])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(
      new RegExp(`PROBLEM +.*${other.peerAddr} is not linked: it has another mesh secret\\.`),
    )
    expect(result.stdout).toMatch(/Set the same secret on both nodes\./)
    expect(result.stdout).toContain(`${nothing} is not linked: nothing answers`)
    // Plain words: no errno codes reach the person.
    expect(result.stdout).not.toMatch(/ECONNREFUSED|unauthorized/)
  })

  it('needs the access token of a node that has one, and works with it', async () => {
    const a = await startNode({ name: 'Vault', args: ['--secret', 'x-secret', '--token', 'tok-1'] })
    const without = await runCli(['doctor', '--url', a.httpUrl])
    expect(without.code).toBe(1)
    expect(without.stdout).toMatch(/no report from the node at .*: .*give --token/)
    const withToken = await runCli(['doctor', '--url', a.httpUrl, '--token', 'tok-1'])
    expect(withToken.code).toBe(0)
    expect(withToken.stdout).toMatch(/Network doctor for Vault/)
  })

  it('says when no node answers, and refuses bad flags with 2', async () => {
    const url = `http://127.0.0.1:${await freePort()}`
    const none = await runCli(['doctor', '--url', url])
    expect(none.code).toBe(1)
    expect(none.stdout).toContain(`no report from the node at ${url}: nothing answers there`)
    const bad = await runCli(['doctor', '--url', 'ftp://x'])
    expect(bad.code).toBe(2)
  })
})
