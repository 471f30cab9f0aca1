import { useEffect, useState } from 'react'

/** The current date, renewed just after each local midnight (for "Today" / "Yesterday"). */
export function useToday(): Date {
  const [today, setToday] = useState(() => new Date())
  useEffect(() => {
    const next = new Date(today.getFullYear(), today.getMonth(), today.getDate() + 1, 0, 0, 1)
    const timer = setTimeout(() => setToday(new Date()), next.getTime() - today.getTime())
    return () => clearTimeout(timer)
  }, [today])
  return today
}
