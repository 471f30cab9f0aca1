/**
 * Preloaded (`--expose-gc --import=bench/gc-on-signal.ts`) into the processes whose idle
 * sessions the bench's `--compare` measures, node or relay: on SIGUSR2 the process collects its
 * garbage at once, so that its RSS, read next, holds what the sessions hold rather than what
 * their handshakes and joins left behind, which V8 frees at a time of its own choosing.
 */
const gc = (globalThis as { gc?: () => void }).gc

process.on('SIGUSR2', () => gc?.())
