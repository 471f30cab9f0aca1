import type { MeshNode } from '../../../shared/protocol.ts'
import { layoutMesh } from './mesh-layout.ts'

const SIZE = 240

interface Props {
  selfId: string | null
  nodes: readonly MeshNode[]
  links: readonly [string, string][]
}

/** The mesh as a picture: nodes on a circle, a line for each link; redrawn as links change. */
export function MeshMap({ selfId, nodes, links }: Props) {
  const placed = layoutMesh(
    selfId,
    nodes.map((n) => n.id),
    SIZE,
  )
  const at = new Map(placed.map((p) => [p.id, p]))
  const names = new Map(nodes.map((n) => [n.id, n]))
  const drawn = links.filter(([a, b]) => at.has(a) && at.has(b))
  const label = `Mesh map: ${nodes.length} node${nodes.length === 1 ? '' : 's'}, ${drawn.length} link${drawn.length === 1 ? '' : 's'}`

  return (
    <svg className="mesh-map" viewBox={`0 0 ${SIZE} ${SIZE}`} role="img" aria-label={label}>
      <title>{label}</title>
      {drawn.map(([a, b]) => {
        const from = at.get(a)
        const to = at.get(b)
        if (!from || !to) return null
        return (
          <line
            key={`${a} ${b}`}
            className="mesh-map__link"
            x1={from.x}
            y1={from.y}
            x2={to.x}
            y2={to.y}
            data-testid="map-link"
            data-a={a}
            data-b={b}
          />
        )
      })}
      {placed.map((p) => {
        const node = names.get(p.id)
        const self = p.id === selfId
        return (
          <g
            key={p.id}
            className={`mesh-map__node${self ? ' mesh-map__node--self' : ''}${node?.up ? '' : ' mesh-map__node--down'}`}
            data-testid="map-node"
            data-id={p.id}
            data-up={String(node?.up ?? false)}
          >
            <circle cx={p.x} cy={p.y} r={self ? 13 : 11} />
            <text x={p.x} y={p.y + (p.y > SIZE / 2 ? 28 : -19)} textAnchor="middle">
              {node?.name ?? p.id}
            </text>
          </g>
        )
      })}
    </svg>
  )
}
