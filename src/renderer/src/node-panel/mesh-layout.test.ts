import { describe, expect, it } from 'vitest'
import { layoutMesh } from './mesh-layout.ts'

describe('layoutMesh', () => {
  it('puts this node at the top and the others around a circle', () => {
    const placed = layoutMesh('self0000', ['bbbbbbbb', 'self0000', 'aaaaaaaa'], 200)
    expect(placed.map((p) => p.id)).toEqual(['self0000', 'aaaaaaaa', 'bbbbbbbb'])
    expect(placed[0]?.x).toBeCloseTo(100)
    expect(placed[0]?.y).toBeLessThan(100)
    for (const p of placed) expect(Math.hypot(p.x - 100, p.y - 100)).toBeCloseTo(72)
  })

  it('places the nodes the same whatever order they are listed in', () => {
    const before = layoutMesh('s0000000', ['s0000000', 'a0000000'], 200)
    const again = layoutMesh('s0000000', ['a0000000', 's0000000'], 200)
    expect(again).toEqual(before)
  })

  it('centres a lone node and draws nothing for none', () => {
    expect(layoutMesh('s0000000', ['s0000000'], 200)).toEqual([{ id: 's0000000', x: 100, y: 100 }])
    expect(layoutMesh(null, [], 200)).toEqual([])
  })
})
