/**
 * Preloaded (`--expose-gc --import=bench/gc-on-signal.ts`) into the processes whose idle
 * sessions the bench's `--compare` measures, node or relay: on SIGUSR2 the process collects its
 * garbage at once, so that its RSS, read next, holds what the sessions hold rather than what
 * their handshakes and joins left behind, which V8 frees at a time of its own choosing. It then
 * reports the heap it uses (bench/heap-report.ts): the live objects alone, without the
 * allocators' free memory that RSS also counts.
 */
import { writeFileSync } from 'node:fs'
import { getHeapSpaceStatistics } from 'node:v8'
import { heapReportPath } from './heap-report.ts'

const gc = (globalThis as { gc?: () => void }).gc

process.on('SIGUSR2', () => {
  if (!gc) return
  // Twice: some objects (socket write requests, say) are freed only once the first collection
  // has finalized what held them.
  gc()
  gc()
  writeFileSync(heapReportPath(process.pid), String(objectBytes()))
})

/**
 * Bytes of the heap's objects: every space but those of compiled code and its metadata (code and
 * trusted spaces), which grow once as hot paths are optimized, not with each session.
 */
function objectBytes(): number {
  let bytes = 0
  for (const space of getHeapSpaceStatistics()) {
    if (!/code|trusted/.test(space.space_name)) bytes += space.space_used_size
  }
  return bytes
}
