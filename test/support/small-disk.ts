/**
 * A real full disk for tests (root only): `smallDisk()` mounts a small tmpfs of its own, to hold
 * a node's data directory, and fills it on demand with a filler file written until the kernel
 * answers ENOSPC. Whatever the node writes next fails as it would on a full disk; deleting the
 * filler frees the space again.
 *
 * Unmount it after the nodes on it are killed (`await cleanupNodes()`, then `unmount()`, in
 * `afterAll`, in a `finally`). Mount points are named `palaver-disk-<pid>-…`, the pid of the test
 * run: a later run unmounts what a run killed before its cleanup left behind.
 */
import { execFileSync } from 'node:child_process'
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statfsSync,
  writeSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { removeLeftovers } from './leftovers.ts'

/** The size of the file system unless the test asks for another. */
export const SMALL_DISK_DEFAULT_BYTES = 8 * 1024 * 1024
const MOUNT_PREFIX = 'palaver-disk-'
/** The filler is written in these chunks, largest first, so that it takes the last byte too. */
const FILL_CHUNK_BYTES = [1024 * 1024, 64 * 1024, 4096, 512, 1]

export interface SmallDisk {
  /** The mount point (its root); `join(dir, 'data')` makes a node's data directory. */
  readonly dir: string
  /** Writes the filler until the file system is full; returns the bytes it added. */
  fill(): number
  /** Deletes the filler. */
  free(): void
  /** Bytes an unprivileged writer can still write. */
  available(): number
  /** Unmounts the file system and removes the mount point; safe to call twice. */
  unmount(): void
}

/** Runs `command`; throws with its stderr when it fails. */
function run(command: string, ...args: string[]): void {
  execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

function stderrOf(error: unknown): string {
  const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim()
  return stderr || (error as Error).message
}

/** Lazily unmounts `dir` when a plain unmount finds it busy (a process still holds a file). */
function unmountAndRemove(dir: string): void {
  try {
    run('umount', dir)
  } catch {
    run('umount', '--lazy', dir)
  }
  rmdirSync(dir)
}

/** Unmounts the small disks of earlier runs whose process is gone. */
function removeLeftoverMounts(): void {
  const pattern = new RegExp(`^${join(tmpdir(), MOUNT_PREFIX)}(\\d+)-`)
  const mountPoints = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
  removeLeftovers(mountPoints, pattern, unmountAndRemove)
}

/**
 * Mounts a tmpfs of `sizeBytes` on a fresh temporary directory. Throws, saying why, when this
 * machine does not let the test mount one (not root, no `mount`): a test that needs a full disk
 * fails rather than skips.
 */
export function smallDisk(sizeBytes = SMALL_DISK_DEFAULT_BYTES): SmallDisk {
  removeLeftoverMounts()
  const dir = mkdtempSync(join(tmpdir(), `${MOUNT_PREFIX}${process.pid}-`))
  try {
    run('mount', '-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir)
  } catch (error) {
    rmdirSync(dir)
    throw new Error(
      `cannot mount a tmpfs of ${sizeBytes} bytes for a full-disk test (mount -t tmpfs: ` +
        `${stderrOf(error)}); this test needs root, as CI has`,
    )
  }
  const filler = join(dir, 'filler')
  let mounted = true
  return {
    dir,
    fill() {
      const fd = openSync(filler, 'a')
      let written = 0
      try {
        for (const size of FILL_CHUNK_BYTES) {
          const chunk = Buffer.alloc(size, 0xa5)
          for (;;) {
            try {
              written += writeSync(fd, chunk)
            } catch (error) {
              if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break
              throw error
            }
            // Bounded by the disk: past its size, this is not the small disk it should be.
            if (written > sizeBytes) throw new Error(`${dir} took more than ${sizeBytes} bytes`)
          }
        }
      } finally {
        closeSync(fd)
      }
      return written
    },
    free() {
      rmSync(filler, { force: true })
    },
    available() {
      const stats = statfsSync(dir)
      return stats.bavail * stats.bsize
    },
    unmount() {
      if (!mounted) return
      mounted = false
      unmountAndRemove(dir)
    },
  }
}
