import { LogoMark } from './Icons.tsx'
import { NameForm } from './NameForm.tsx'
import './NameScreen.css'

interface Props {
  /** The node this browser will chat through, for people to see where they are. */
  nodeHost: string
  onSubmit: (name: string) => void
}

/** The first screen of a first visit: choose the name others will see. */
export function NameScreen({ nodeHost, onSubmit }: Props) {
  return (
    <main className="welcome">
      <div className="welcome__card">
        <LogoMark size={48} />
        <h1 className="welcome__title">Welcome to Palaver</h1>
        <p className="welcome__lead">
          Chat with everyone on your network. Pick the name people will see — you can change it any
          time.
        </p>
        <NameForm submitLabel="Start chatting" onSubmit={onSubmit} />
        <p className="welcome__node">
          You’ll chat through <strong>{nodeHost}</strong>
        </p>
      </div>
    </main>
  )
}
