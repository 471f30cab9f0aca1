import type { ShownAuthenticity } from '../use-authenticity.ts'
import { nameCode } from '../lib/verification.ts'
import './UserMarks.css'

interface Props {
  userId: string
  /** Another id in the room has the same name: show the short code that tells them apart. */
  ambiguous: boolean
  /** What the user's key and signatures say about them (nothing is shown while checking). */
  authenticity: ShownAuthenticity
}

const VERIFIED_HINT =
  'Verified: signed with this person’s own key, so nobody else can write as them'
const UNVERIFIED_HINT = 'This name is not verified: anyone can use it'

/**
 * What follows a name: its short code when the name is shared in the room, and a mark that says
 * whether the writer is verified (a keyed user whose signatures hold), unverified (keyless), or
 * the message's signature does not verify. Text and CSS only (the message list holds no image or
 * SVG), and no character the emoji font covers, which would fetch it for every page.
 */
export function UserMarks({ userId, ambiguous, authenticity }: Props) {
  const code = ambiguous ? nameCode(userId) : null
  return (
    <>
      {code !== null && (
        <span
          className="user-code"
          data-testid="name-code"
          data-code={code}
          title="Short code that tells apart people with the same name"
        >
          <span aria-hidden="true">· {code}</span>
          <span className="sr-only">, code {code}</span>
        </span>
      )}
      {authenticity.status === 'verified' && (
        <span className="user-verified" data-testid="verified" title={VERIFIED_HINT}>
          <span className="sr-only">, verified</span>
        </span>
      )}
      {authenticity.status === 'unverified' && (
        <span className="user-unverified" data-testid="unverified" title={UNVERIFIED_HINT}>
          <span aria-hidden="true">?</span>
          <span className="sr-only">, unverified name</span>
        </span>
      )}
      {authenticity.status === 'invalid' && (
        <span
          className="user-forged"
          data-testid="signature-invalid"
          title={`Anyone may have written this: ${authenticity.reason}`}
        >
          <span className="sr-only">, </span>signature does not verify
        </span>
      )}
    </>
  )
}
