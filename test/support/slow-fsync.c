/*
 * An LD_PRELOAD shim for tests (built and driven by slow-fsync.ts): fsync() and fdatasync()
 * sleep before they call through to libc, for as long as the file named by
 * PALAVER_SLOW_FSYNC_CONTROL exists and holds a delay in milliseconds. A test can so make a
 * real process's commits slow after it started, without a hook in the process.
 *
 * Each delayed call appends "begin NAME\n" to the file named by PALAVER_SLOW_FSYNC_LOG before it
 * sleeps and "end NAME\n" after, so that a test can wait until a commit is on the disk.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A delay read from the control file is capped so that a stray file cannot hang a process. */
#define MAX_DELAY_MS 60000L

static int (*real_fsync)(int);
static int (*real_fdatasync)(int);

__attribute__((constructor)) static void resolve_real_calls(void) {
  real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
}

/* The delay the control file asks for, 0 when there is none (no file, no number). */
static long delay_ms(void) {
  const char *path = getenv("PALAVER_SLOW_FSYNC_CONTROL");
  if (path == NULL) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char text[32];
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return 0;
  text[n] = '\0';
  long ms = strtol(text, NULL, 10);
  if (ms <= 0) return 0;
  return ms < MAX_DELAY_MS ? ms : MAX_DELAY_MS;
}

/* Appends "WHAT NAME\n" to the log in one write (O_APPEND), so lines of threads never mix. */
static void note(const char *what, const char *name) {
  const char *path = getenv("PALAVER_SLOW_FSYNC_LOG");
  if (path == NULL) return;
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  char line[64];
  size_t what_len = strlen(what);
  size_t name_len = strlen(name);
  if (what_len + 1 + name_len + 1 <= sizeof line) {
    memcpy(line, what, what_len);
    line[what_len] = ' ';
    memcpy(line + what_len + 1, name, name_len);
    line[what_len + 1 + name_len] = '\n';
    ssize_t ignored = write(fd, line, what_len + name_len + 2);
    (void)ignored;
  }
  close(fd);
}

/* Sleeps for the control file's delay, if any; leaves errno as it found it. */
static void slow_down(const char *name) {
  int saved_errno = errno;
  long ms = delay_ms();
  if (ms > 0) {
    note("begin", name);
    struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
    note("end", name);
  }
  errno = saved_errno;
}

int fsync(int fd) {
  slow_down("fsync");
  return real_fsync(fd);
}

int fdatasync(int fd) {
  slow_down("fdatasync");
  return real_fdatasync(fd);
}
