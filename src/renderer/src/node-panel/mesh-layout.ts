/**
 * Where the mesh map draws each node: on a circle, this node at the top and the others in a
 * stable order (by id), so the picture does not jump around as links come and go.
 */
export interface PlacedNode {
  id: string
  x: number
  y: number
}

export function layoutMesh(
  selfId: string | null,
  ids: readonly string[],
  size: number,
): PlacedNode[] {
  const others = ids.filter((id) => id !== selfId).sort()
  const ordered = selfId !== null && ids.includes(selfId) ? [selfId, ...others] : others
  const center = size / 2
  if (ordered.length === 1) return [{ id: ordered[0] as string, x: center, y: center }]
  const radius = size * 0.36
  return ordered.map((id, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / ordered.length
    return { id, x: center + radius * Math.cos(angle), y: center + radius * Math.sin(angle) }
  })
}
