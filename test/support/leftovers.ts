/**
 * What a test run killed before its cleanup leaves behind (a mount, a network namespace) carries
 * the run's pid in its name: a later run removes those of runs that are gone.
 */

/** Calls `remove` on each of `names` whose pid (the first group of `pattern`) is not running. */
export function removeLeftovers(
  names: Iterable<string>,
  pattern: RegExp,
  remove: (name: string) => void,
): void {
  for (const name of names) {
    const pid = pattern.exec(name)?.[1]
    if (pid === undefined || isAlive(Number(pid))) continue
    try {
      remove(name)
    } catch {
      // removed meanwhile
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
