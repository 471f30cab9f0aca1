/**
 * `canonical(x)`: the JSON Canonicalization Scheme (RFC 8785) of a JSON value, the text every
 * signature of the protocol is made over (docs/protocol.md, "Keys and signatures"). Object keys
 * are sorted by UTF-16 code units, numbers are written as ECMAScript writes them (-0 as 0, 1e21 as
 * 1e+21), strings as JSON.stringify escapes them, with no white space.
 */
import canonicalize from 'canonicalize'

export class CanonicalError extends Error {
  override name = 'CanonicalError'
}

const utf8 = new TextEncoder()

/**
 * The RFC 8785 text of `value`. Throws `CanonicalError` for what has no canonical form: a string
 * with a lone surrogate, a number that is NaN or infinite, a cycle, or a value that is not JSON
 * at all (undefined, a function). Values parsed from JSON text only ever fail on lone surrogates.
 */
export function canonical(value: unknown): string {
  let text: string | undefined
  try {
    text = canonicalize(value)
  } catch (error) {
    throw new CanonicalError(error instanceof Error ? error.message : String(error))
  }
  if (text === undefined) throw new CanonicalError('the value is not JSON')
  return text
}

/** The UTF-8 bytes of `canonical(value)`. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8.encode(canonical(value))
}

/** `T` without the fields named `K`, keeping its other known fields (unlike `Omit` on a record). */
export type Without<T, K extends string> = { [F in keyof T as F extends K ? never : F]: T[F] }

/**
 * A shallow copy of `record` without the named fields. Keeps every other own field, also one named
 * `__proto__` (as JSON.parse makes it), so that what is signed is what was received.
 */
export function without<T extends object, K extends string>(
  record: T,
  fields: readonly K[],
): Without<T, K> {
  const kept = Object.entries(record).filter(
    ([field]) => !(fields as readonly string[]).includes(field),
  )
  return Object.fromEntries(kept) as Without<T, K>
}

/**
 * The bytes a signed object is signed over: `canonical` of the object without its `sig` field.
 * Throws `CanonicalError` like `canonical`.
 */
export function signedBytes(record: object): Uint8Array {
  return canonicalBytes(without(record, ['sig']))
}
