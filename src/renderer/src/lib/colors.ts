/**
 * A stable colour per user: the same id gives the same hue on every machine and every run, so
 * people learn to recognise each other by colour. The stylesheet turns the hue into a colour
 * with a lightness fixed per theme (`oklch`), which keeps every hue readable on both the light
 * and the dark background.
 */
import type { CSSProperties } from 'react'

/** FNV-1a over the id's UTF-16 code units, folded to a hue in [0, 360). */
export function hueOf(id: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  // A final avalanche step: ids that differ only in their last character still land far apart.
  hash ^= hash >>> 15
  hash = Math.imul(hash, 0x2c1b3c6d)
  hash ^= hash >>> 12
  return (hash >>> 0) % 360
}

/** Style for an element coloured as this user: sets `--hue`, which the stylesheet reads. */
export function hueStyle(id: string): CSSProperties {
  return { '--hue': hueOf(id) } as CSSProperties
}
