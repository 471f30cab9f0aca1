/**
 * The test vectors of docs/protocol.md ("Test vectors"), read from the document itself so that
 * the tests that check the code against them and the document cannot disagree. Each vector is a
 * heading `### Vector: <name>` followed by a fenced `json` block.
 */
import { readFileSync } from 'node:fs'

const PROTOCOL_DOC = new URL('../../docs/protocol.md', import.meta.url)

/** Every vector of the "Test vectors" section, by name, as parsed JSON. */
export function protocolVectors(): Map<string, unknown> {
  const doc = readFileSync(PROTOCOL_DOC, 'utf8')
  const start = doc.indexOf('\n## Test vectors\n')
  if (start < 0) throw new Error('docs/protocol.md has no "Test vectors" section')
  const end = doc.indexOf('\n## ', start + 1)
  const section = doc.slice(start, end < 0 ? undefined : end)
  const vectors = new Map<string, unknown>()
  for (const match of section.matchAll(
    /^### Vector: (\S+)\n(?:(?!^### )[\s\S])*?^```json\n([\s\S]*?)^```$/gm,
  )) {
    const [, name = '', json = ''] = match
    if (vectors.has(name)) throw new Error(`docs/protocol.md has two vectors named ${name}`)
    vectors.set(name, JSON.parse(json))
  }
  return vectors
}

/** One case of the `verify-rule` vector: a signature on an edge of the verification rule. */
export interface VerifyRuleCase {
  case: string
  message: string
  valid: boolean
  /** The key and the signature, decoded from their base64url. */
  key: Uint8Array
  sig: Uint8Array
}

/** The cases of the `verify-rule` vector of docs/protocol.md. */
export function verifyRuleCases(): VerifyRuleCase[] {
  const vector = protocolVectors().get('verify-rule') as {
    cases: { case: string; key: string; message: string; sig: string; valid: boolean }[]
  }
  return vector.cases.map((c) => ({
    ...c,
    key: Uint8Array.from(Buffer.from(c.key, 'base64url')),
    sig: Uint8Array.from(Buffer.from(c.sig, 'base64url')),
  }))
}
