import { createServer } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { ChatNode } from './node.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

it('starts again after a start that failed on a port in use, and stops cleanly', async () => {
  const blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  const port = (blocker.address() as { port: number }).port
  const dataDir = mkdtempSync(join(tmpdir(), 'palaver-node-'))
  dirs.push(dataDir)
  const node = new ChatNode({ name: 'Retry', dataDir, host: '127.0.0.1', port, peerPort: 0 })
  await expect(node.start()).rejects.toMatchObject({ code: 'EADDRINUSE' })
  expect(node.state).toBe('stopped')

  await new Promise<void>((resolve) => blocker.close(() => resolve()))
  await node.start()
  expect(node.state).toBe('running')
  expect(node.clientPort).toBe(port)
  await node.stop()
  expect(node.state).toBe('stopped')
})

it('two starts, or two stops, in the same turn both end when the node has', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'palaver-node-'))
  dirs.push(dataDir)
  const node = new ChatNode({ name: 'Twice', dataDir, host: '127.0.0.1', port: 0, peerPort: 0 })
  const states = async (transitions: Promise<void>[]) => {
    const seen: string[] = []
    await Promise.all(transitions.map((t) => t.then(() => seen.push(node.state))))
    return seen
  }
  expect(await states([node.start(), node.start()])).toEqual(['running', 'running'])
  expect(await states([node.stop(), node.stop()])).toEqual(['stopped', 'stopped'])
})
