import type { NodeStatus } from '../../../shared/ipc.ts'

/**
 * What the panel says of the network around the node: that discovery is off, or how many
 * other meshes it hears (to be joined with an invite). Null when there is nothing to say.
 */
export function describeNearby(
  status: Pick<NodeStatus, 'discovery' | 'otherMeshes'>,
): { state: 'off' | 'others'; text: string } | null {
  if (!status.discovery) {
    return { state: 'off', text: 'Discovery is off: this node links only with the peers below.' }
  }
  const others = status.otherMeshes
  if (others === null || others === 0) return null
  const meshes = others === 1 ? '1 other mesh' : `${others} other meshes`
  return {
    state: 'others',
    text: `${meshes} on this network. To join one, paste an invite from one of its machines under Join a mesh.`,
  }
}
