import { afterAll, expect, it } from 'vitest'
import { ChatClient } from './support/chat-client.ts'
import { cleanupNodes, health, startNode } from './support/node-process.ts'

afterAll(cleanupNodes)

it('chats', async () => {
  const node = await startNode({ name: 'Smoke' })
  const a = await ChatClient.connect(node.wsUrl)
  const b = await ChatClient.connect(node.wsUrl)
  await a.join('general')
  await b.join('general')
  const ack = await a.say('general', 'hello there')
  const [m] = await b.messages('general', 1)
  expect(m?.id).toBe(ack.id)
  expect((await health(node)).events).toBe(1)
})
