/**
 * A resume backlog may be larger than a session's unsent bound by itself (1000 messages of up
 * to 4000 characters): it is queued whole, and the session is not closed as too slow for it.
 */
import { afterAll, expect, it } from 'vitest'
import { ChatClient } from './support/chat-client.ts'
import { writeMessages } from './support/mesh.ts'
import { cleanupNodes, startNode } from './support/node-process.ts'

afterAll(cleanupNodes)

it('delivers a resume backlog of about 12 MB to a reader that is slow to start', async () => {
  const node = await startNode({ name: 'Backlog', logLevel: 'warn' })
  // Three-byte characters: each message is about 12 KB on the wire, 1000 of them three times
  // the node's 4 MiB bound on unsent bytes and more than loopback's socket buffers hold.
  const text = (i: number) => `${i} ${'€'.repeat(3990)}`
  // Short sessions, so that no writer has to take in much of the others' traffic.
  await writeMessages(node, 'big', 1000, {
    perSession: 25,
    parallel: 4,
    text: (s, i) => text(s * 25 + i),
  })

  const reader = await ChatClient.connect(node.wsUrl)
  // The reader stops reading while the node queues the whole backlog for it.
  const socket = (reader.ws as unknown as { _socket: import('node:net').Socket })._socket
  socket.pause()
  const joining = reader.join('big', {})
  await new Promise((resolve) => setTimeout(resolve, 1_500)) // time for the node to queue it all
  socket.resume()
  const { backlog, joined } = await joining.catch(async (error: Error) => {
    throw new Error(
      `${error.message}: ${JSON.stringify(await reader.closed)} after ${reader.frames.length} frames`,
    )
  })
  expect(backlog).toHaveLength(1000)
  expect(joined.truncated).toBe(false)
  const bytes = backlog.reduce((sum, m) => sum + Buffer.byteLength(JSON.stringify(m)), 0)
  expect(bytes).toBeGreaterThan(2 * 4 * 1024 * 1024)

  // Still open and live: a new message arrives after the backlog.
  const ack = await reader.say('big', 'after the backlog')
  await reader.waitFor((f) => f.type === 'message' && f.id === ack.id)
  expect(reader.ws.readyState).toBe(reader.ws.OPEN)
  reader.close()
})
