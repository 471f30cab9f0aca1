/**
 * Where a process preloaded with bench/gc-on-signal.ts reports the V8 heap it uses after each
 * collection the bench asks for (bytes, as text): a file named after its pid, which the bench
 * reads and removes.
 */
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export function heapReportPath(pid: number): string {
  return join(tmpdir(), `palaver-bench-heap-${pid}`)
}
