import type { DoctorInput, Finding } from '../../../shared/doctor.ts'
import { diagnose } from '../../../shared/doctor.ts'

/** The badge of each severity: its words and the badge colour it borrows. */
const BADGES: Record<Finding['severity'], { text: string; tone: string }> = {
  problem: { text: 'problem', tone: 'down' },
  warning: { text: 'check', tone: 'connecting' },
  info: { text: 'note', tone: 'info' },
  ok: { text: 'ok', tone: 'up' },
}

/**
 * The network doctor's findings for this node (src/shared/doctor.ts): what it sees of the
 * network, why a node is not linked, and what to do. The same findings `chat-node doctor` prints.
 */
export function NetworkDoctor(props: DoctorInput) {
  const findings = diagnose(props)
  return (
    <ul className="doctor" aria-label="Network doctor findings">
      {findings.map((f) => (
        <li
          key={`${f.code} ${f.title}`}
          className="doctor__row"
          data-testid="finding"
          data-code={f.code}
          data-severity={f.severity}
        >
          <span className={`badge badge--${BADGES[f.severity].tone}`}>
            {BADGES[f.severity].text}
          </span>
          <span className="doctor__text">
            <span className="doctor__title">{f.title}</span>
            {f.advice && <span className="doctor__advice">{f.advice}</span>}
          </span>
        </li>
      ))}
    </ul>
  )
}
