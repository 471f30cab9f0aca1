import { useEffect, useState } from 'react'

/**
 * A first page: it says which node served it and whether that node is healthy. The chat UI
 * replaces it (issue "The chat UI").
 */
export function App() {
  const [node, setNode] = useState<string>('…')

  useEffect(() => {
    if (location.protocol !== 'http:' && location.protocol !== 'https:') return
    fetch('/health')
      .then((res) => res.json() as Promise<{ node: { name: string } }>)
      .then((health) => setNode(health.node.name))
      .catch(() => setNode('unreachable'))
  }, [])

  return (
    <main>
      <h1>Palaver</h1>
      <p>
        Node: <output data-testid="node-name">{node}</output>
      </p>
    </main>
  )
}
