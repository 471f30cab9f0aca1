import { hueStyle } from '../lib/colors.ts'
import './Avatar.css'

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' })

/** The first character a person would see in the name (an emoji counts as one). */
function initialOf(name: string): string {
  const first = segmenter.segment(name.trim())[Symbol.iterator]().next()
  return first.done ? '?' : first.value.segment.toLocaleUpperCase()
}

/** A round badge with the user's initial in their colour. Decorative: the name is beside it. */
export function Avatar({
  user,
  size = 'md',
}: {
  user: { id: string; name: string }
  size?: 'sm' | 'md'
}) {
  return (
    <span className={`avatar avatar--${size}`} style={hueStyle(user.id)} aria-hidden="true">
      {initialOf(user.name)}
    </span>
  )
}
