import { formatDay, toDate } from '../lib/format.ts'
import './DaySeparator.css'

/** The line above a day's first message: "Today", "Yesterday", "Monday, 3 March". */
export function DaySeparator({ ts, today }: { ts: number; today: Date }) {
  return (
    <div className="day" data-testid="day-separator">
      <span className="day__label">{formatDay(toDate(ts), today)}</span>
    </div>
  )
}
