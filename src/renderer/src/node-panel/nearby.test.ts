import { describe, expect, it } from 'vitest'
import { describeNearby } from './nearby.ts'

describe('what the panel says of the network around the node', () => {
  it('counts the other meshes heard, in words', () => {
    expect(describeNearby({ discovery: true, otherMeshes: 2 })?.text).toMatch(
      /^2 other meshes on this network\. To join one, paste an invite/,
    )
    expect(describeNearby({ discovery: true, otherMeshes: 1 })?.text).toMatch(/^1 other mesh on/)
  })

  it('says nothing when no other mesh is heard or the node is not running', () => {
    expect(describeNearby({ discovery: true, otherMeshes: 0 })).toBeNull()
    expect(describeNearby({ discovery: true, otherMeshes: null })).toBeNull()
  })

  it('says so when discovery is off', () => {
    expect(describeNearby({ discovery: false, otherMeshes: null })).toEqual({
      state: 'off',
      text: 'Discovery is off: this node links only with the peers below.',
    })
  })
})
