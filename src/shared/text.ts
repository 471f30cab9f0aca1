/**
 * What counts as a message a person can see, for the node (which refuses the rest) and the UI
 * (which does not offer to send it). No schema library here: the web UI imports this.
 */

/**
 * Code points that show nothing by themselves: white space, control and format characters
 * (zero-width spaces and joiners U+200B..U+200F, U+2060.., U+FEFF, bidi controls, tags), the
 * other default-ignorable ones (variation selectors, Hangul fillers), combining marks (they
 * need a base to show on), the blank Braille pattern U+2800, and lone surrogates (\p{Cs}
 * matches only those under the `u` flag).
 */
const VISIBLE_CHARACTER =
  /[^\p{White_Space}\p{Default_Ignorable_Code_Point}\p{Cc}\p{Cf}\p{Cs}\p{M}\u2800]/u
/** With the `u` flag, a surrogate matches here only when it is not half of a pair. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u

/** Whether `text` has at least one character that shows (not only blanks and invisibles). */
export function hasVisibleCharacter(text: string): boolean {
  return VISIBLE_CHARACTER.test(text)
}

/**
 * Whether `text` is well-formed UTF-16 (no lone surrogate). A lone surrogate cannot be stored
 * or sent as UTF-8: it would become U+FFFD on one copy of a message and not on another.
 */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text)
}

/** Whether a node takes `text` as a message (apart from its length): visible and well-formed. */
export function isSendableText(text: string): boolean {
  return isWellFormedText(text) && hasVisibleCharacter(text)
}
