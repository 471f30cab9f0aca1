import { isVerified, nameCode, type NamedUser } from '../lib/verification.ts'
import './UserMarks.css'

interface Props {
  user: NamedUser
  /** Another id in the room has the same name: show the short code that tells them apart. */
  ambiguous: boolean
}

const UNVERIFIED_HINT = 'This name is not verified: anyone can use it'

/**
 * What follows a name: its short code when the name is shared in the room, and a quiet mark when
 * the name is not verified. Text only (the message list holds no image or SVG).
 */
export function UserMarks({ user, ambiguous }: Props) {
  const code = ambiguous ? nameCode(user.id) : null
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
      {!isVerified(user) && (
        <span className="user-unverified" data-testid="unverified" title={UNVERIFIED_HINT}>
          <span aria-hidden="true">?</span>
          <span className="sr-only">, unverified name</span>
        </span>
      )}
    </>
  )
}
