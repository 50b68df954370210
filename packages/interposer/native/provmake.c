/*
 * provmake.c: the prov-make interposer, preloaded (LD_PRELOAD) into every process of a traced step.
 *
 * It wraps the glibc functions that touch files or start programs and appends one text record per
 * event to a per-thread, memory-mapped log under $PROVMAKE_LOG_DIR. The TypeScript side
 * (src/logs.ts, src/reduce.ts) reads the logs and reduces them to the step's dependencies.
 *
 * Rules that keep it fast and invisible to the traced program:
 *  - no extra system call on the hot path: the working folder is cached (kept up to date by the
 *    chdir/fchdir wrappers), records go straight into mapped memory, and file versions are taken
 *    by the launcher after the step (an fstat per open measured +23% on an open/close loop here);
 *  - no malloc: paths are resolved on the stack, logs are mmap'ed, exec environments are built
 *    in mmap'ed scratch memory;
 *  - errno is preserved; a full or broken log never fails a call: the loss is counted in the
 *    shared status page and the step is reported as not fully observed.
 *
 * Log record (one line, fields separated by tabs, paths escaped: \\ \t \n):
 *    KIND \t SEQ \t ARG \t PATH [\t PATH2] \n
 * KIND: R read-open, W write (ARG: letters c create, t truncate, a append, r also read,
 *       d mkdir, n new link name, m metadata), A absent (lookup failed with ENOENT/ENOTDIR),
 *       S metadata read (stat/access/readlink), D folder listed, X executed (ARG p program,
 *       l library), U untraced program (ARG reason), M rename (PATH -> PATH2), K removed
 *       (ARG f file, d folder), P process start (ARG parent pid, PATH the executable).
 * SEQ is the monotonic clock in ns (vDSO, no system call), so the reducer can order events across
 * processes and threads; one thread's records also keep their order in its log.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#define EXPORT __attribute__((visibility("default")))
#define PM_PATH_MAX 4096

/* ---------------------------------------------------------------- configuration */

struct status_page {          /* <logdir>/status, created zeroed by the launcher, shared by all */
  uint64_t unused;            /* was an event counter; events are ordered by the monotonic clock */
  uint64_t lost;              /* records that could not be written */
  uint64_t processes;         /* unused: kept so the launcher's layout stays the same */
};

static int g_enabled;
static char g_log_dir[PM_PATH_MAX];
static size_t g_log_dir_len;
static char g_env_preload[PM_PATH_MAX + 16];   /* "LD_PRELOAD=..." as we were started */
static char g_env_logdir[PM_PATH_MAX + 24];    /* "PROVMAKE_LOG_DIR=..." */
static char g_env_logmax[64];                  /* "PROVMAKE_LOG_MAX=..." or empty */
static char g_self_path[PM_PATH_MAX];          /* this library's own file */
static size_t g_log_max;                       /* per-thread log cap in bytes (0 = none) */
static size_t g_page = 4096;                   /* mmap offsets are multiples of it */
static struct status_page *g_status;
static char g_cwd[PM_PATH_MAX];
static size_t g_cwd_len;

/* ---------------------------------------------------------------- real functions */

#define REAL(name) real_##name
#define DECLARE_REAL(ret, name, ...) static ret (*real_##name)(__VA_ARGS__)
#define RESOLVE(name) \
  do { if (!real_##name) real_##name = (__typeof__(real_##name))resolve_real(#name); } while (0)

/* dlsym finds default versions only; old binaries may call compat-only symbols (__xstat). */
static void *resolve_real(const char *name) {
  void *f = dlsym(RTLD_NEXT, name);
  if (!f) f = dlvsym(RTLD_NEXT, name, "GLIBC_2.2.5");
  if (!f) f = dlvsym(RTLD_NEXT, name, "GLIBC_2.0");
  return f;
}

/* ---------------------------------------------------------------- per-thread log */

struct thread_log {
  int opened;             /* the file exists: <pid>.<tid>.<unique>.log */
  int broken;             /* growth failed: stop writing, loss already counted */
  int busy;               /* inside a record: a signal handler's call is not recorded */
  uint32_t pid, tid;      /* the file's name */
  uint64_t unique;
  char *window;           /* mapped part of the file */
  size_t window_size;
  size_t window_used;
  size_t file_offset;     /* file offset of window */
  size_t total;           /* bytes written by this thread */
};

/* No descriptor is kept open between growths: the program owns its descriptor table (a shell's
 * `exec 3>out` dup2s over fd 3, a daemon closes every fd), and a reused number would make us
 * extend and map the program's own file. */
static __thread struct thread_log t_log __attribute__((tls_model("initial-exec")));
/* volatile: it guards against signal handlers, and the optimiser would otherwise drop the
 * increments around code it can see does not read it */
static __thread volatile int t_in_hook __attribute__((tls_model("initial-exec")));
static pthread_key_t g_exit_key;   /* its destructor unmaps an exiting thread's window */
static int g_exit_key_ok;

#define WINDOW_FIRST (16u * 1024)   /* most processes write a few hundred bytes */
#define WINDOW_MAX (8u * 1024 * 1024)

static long raw_open(const char *path, int flags, int mode) {
  return syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

/* The status page is mapped only when there is a loss to count: a process that loses nothing
 * (nearly all) saves an open, an mmap, a close and a page fault. Raw system calls: this also runs
 * in signal handlers. */
static void map_status(void) {
  char status_path[PM_PATH_MAX];
  memcpy(status_path, g_log_dir, g_log_dir_len);
  memcpy(status_path + g_log_dir_len, "/status", 8);
  long fd = raw_open(status_path, O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) return;
  void *p = (void *)syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p != MAP_FAILED) {
    struct status_page *expected = NULL;
    if (!__atomic_compare_exchange_n(&g_status, &expected, (struct status_page *)p, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      syscall(SYS_munmap, p, 4096);   /* another thread mapped it first */
  }
  syscall(SYS_close, fd);
}

static void note_lost(void) {
  if (!__atomic_load_n(&g_status, __ATOMIC_ACQUIRE)) map_status();
  struct status_page *st = __atomic_load_n(&g_status, __ATOMIC_ACQUIRE);
  if (st) __atomic_fetch_add(&st->lost, 1, __ATOMIC_RELAXED);
}

/* Event order across every process and thread of the trace: the monotonic clock (vDSO, no system
 * call). Records of one thread keep their order in its log even at equal times. */
static uint64_t event_time(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static char *fmt_u64(char *p, uint64_t v) {
  char tmp[24];
  int n = 0;
  do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n) *p++ = tmp[--n];
  return p;
}

static void thread_log_name(char *name) {
  char *p = name;
  memcpy(p, g_log_dir, g_log_dir_len); p += g_log_dir_len;
  *p++ = '/';
  p = fmt_u64(p, t_log.pid); *p++ = '.';
  p = fmt_u64(p, t_log.tid); *p++ = '.';
  p = fmt_u64(p, t_log.unique);
  memcpy(p, ".log", 5);
}

/* Map the next window of the log. Space is reserved with fallocate so that a full disk is an
 * error here, not a SIGBUS in the traced program later. The file is opened only for this. */
static int grow_thread_log(size_t need) {
  size_t next_offset = t_log.file_offset + t_log.window_size;
  size_t size = t_log.window_size ? t_log.window_size * 2 : WINDOW_FIRST;
  if (size > WINDOW_MAX) size = WINDOW_MAX;
  if (g_log_max && next_offset + size > g_log_max) {
    /* a capped log fills up to the cap */
    size = g_log_max > next_offset ? (g_log_max - next_offset) & ~(g_page - 1) : 0;
    if (size < need) return -1;
  }
  if (t_log.window) {
    /* pad the unused tail with newlines: the reader skips empty lines and stops at NUL */
    memset(t_log.window + t_log.window_used, '\n', t_log.window_size - t_log.window_used);
    munmap(t_log.window, t_log.window_size);
    t_log.window = NULL;
  }
  int flags = O_RDWR | O_CLOEXEC;
  if (!t_log.opened) {
    t_log.pid = (uint32_t)syscall(SYS_getpid);
    t_log.tid = (uint32_t)syscall(SYS_gettid);
    t_log.unique = event_time();
    flags |= O_CREAT | O_EXCL;
  }
  char name[PM_PATH_MAX + 80];
  thread_log_name(name);
  long fd = raw_open(name, flags, 0644);
  if (fd < 0) return -1;
  /* the program's umask (`umask 777`) must not make the log unreadable, or unopenable to grow */
  if (!t_log.opened) syscall(SYS_fchmod, fd, 0644);
  t_log.opened = 1;
  void *w = MAP_FAILED;
  long rc = syscall(SYS_fallocate, fd, 0, (off_t)next_offset, (off_t)size);
  if (rc != 0 && errno == EOPNOTSUPP) rc = syscall(SYS_ftruncate, fd, (off_t)(next_offset + size));
  if (rc == 0) w = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, (off_t)next_offset);
  syscall(SYS_close, fd);
  if (w == MAP_FAILED) return -1;
  t_log.window = w;
  t_log.window_size = size;
  t_log.window_used = 0;
  t_log.file_offset = next_offset;
  if (g_exit_key_ok) pthread_setspecific(g_exit_key, (void *)1);
  return 0;
}

/* Give back the window (a program that starts and ends threads by the thousand would otherwise
 * run out of mappings, vm.max_map_count, and fail its own mmap). The space fallocate reserved is
 * not trimmed: an ftruncate of reserved blocks measured 0.5 ms per process on ext4, and the
 * launcher deletes the logs when the step ends. The tail is padded with newlines up to a page so
 * that a later record (an atexit handler after us) maps a new window right after. */
static void finish_thread_log(void) {
  if (!t_log.window || t_log.busy) return;
  t_log.busy = 1;   /* a signal handler must not write into the window as it goes */
  size_t kept = (t_log.window_used + g_page - 1) & ~(g_page - 1);
  memset(t_log.window + t_log.window_used, '\n', kept - t_log.window_used);
  size_t end = t_log.file_offset + kept;
  munmap(t_log.window, t_log.window_size);
  t_log.window = NULL;
  t_log.window_size = 0;
  t_log.window_used = 0;
  t_log.file_offset = end;
  t_log.busy = 0;
}

static void thread_exit(void *unused) {
  (void)unused;
  int e = errno;
  finish_thread_log();
  errno = e;
}

/* Reserve `need` bytes in this thread's log; NULL when the record must be dropped. */
static char *log_reserve(size_t need) {
  if (t_log.broken) { note_lost(); return NULL; }
  if (!t_log.window || t_log.window_size - t_log.window_used < need) {
    if (grow_thread_log(need) != 0) { t_log.broken = 1; note_lost(); return NULL; }
  }
  return t_log.window + t_log.window_used;
}

static void log_commit(char *end) {
  size_t n = (size_t)(end - (t_log.window + t_log.window_used));
  t_log.window_used += n;
  t_log.total += n;
}

static char *put_escaped(char *p, const char *s) {
  for (; *s; s++) {
    char c = *s;
    if (c == '\\') { *p++ = '\\'; *p++ = '\\'; }
    else if (c == '\t') { *p++ = '\\'; *p++ = 't'; }
    else if (c == '\n') { *p++ = '\\'; *p++ = 'n'; }
    else *p++ = c;
  }
  return p;
}

/* ---------------------------------------------------------------- de-duplication */

/* A process records each (kind, path) once: builds stat and open the same headers many times.
 * Lock-free open addressing over 64-bit hashes; when it fills up, records are simply kept.
 * Changes (W, M, K) are always kept: between two writes of a name, this or another process
 * may have removed it (`echo a > f; rm f; echo b > f`), and the last one must be seen. */
#define SEEN_SLOTS (1u << 16)
static uint64_t g_seen[SEEN_SLOTS];
static uint32_t g_seen_count;

static uint64_t hash_record(char kind, const char *arg, const char *path) {
  uint64_t h = 1469598103934665603ull ^ (uint64_t)(unsigned char)kind;
  h *= 1099511628211ull;
  for (const char *a = arg; *a; a++) { h ^= (unsigned char)*a; h *= 1099511628211ull; }
  h ^= 0xff; h *= 1099511628211ull;
  for (const char *s = path; *s; s++) { h ^= (unsigned char)*s; h *= 1099511628211ull; }
  return h | 1;   /* 0 marks an empty slot */
}

/* True when the record was seen before in this process. */
/* Records a process writes before it starts de-duplicating: a short-lived process gains nothing
 * from the table, and each record would touch (page-fault) a random page of it. */
#define DEDUP_AFTER 64
static uint32_t g_records;

static int seen_before(uint64_t h) {
  if (__atomic_load_n(&g_records, __ATOMIC_RELAXED) < DEDUP_AFTER) {
    __atomic_fetch_add(&g_records, 1, __ATOMIC_RELAXED);
    return 0;
  }
  if (__atomic_load_n(&g_seen_count, __ATOMIC_RELAXED) > SEEN_SLOTS / 2) return 0;
  uint32_t i = (uint32_t)(h ^ (h >> 32)) & (SEEN_SLOTS - 1);
  for (;;) {
    uint64_t cur = __atomic_load_n(&g_seen[i], __ATOMIC_RELAXED);
    if (cur == h) return 1;
    if (cur == 0) {
      uint64_t expected = 0;
      if (__atomic_compare_exchange_n(&g_seen[i], &expected, h, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        __atomic_fetch_add(&g_seen_count, 1, __ATOMIC_RELAXED);
        return 0;
      }
      if (expected == h) return 1;
    }
    i = (i + 1) & (SEEN_SLOTS - 1);
  }
}

/* ---------------------------------------------------------------- paths */

static int is_ignored(const char *p) {
  if (p[0] != '/') return 1;
  if (!strncmp(p, "/proc", 5) && (p[5] == '/' || !p[5])) return 1;
  if (!strncmp(p, "/sys", 4) && (p[4] == '/' || !p[4])) return 1;
  if (!strncmp(p, "/dev", 4) && (p[4] == '/' || !p[4])) return 1;
  if (!strncmp(p, g_log_dir, g_log_dir_len) && (p[g_log_dir_len] == '/' || !p[g_log_dir_len])) return 1;
  return 0;
}

/* Lexically normalise an absolute path in place: no "//", ".", ".." or trailing "/". */
static void normalize(char *path) {
  char *out = path;              /* write position; path[0] == '/' */
  const char *in = path;
  while (*in) {
    while (*in == '/') in++;
    if (!*in) break;
    const char *seg = in;
    while (*in && *in != '/') in++;
    size_t len = (size_t)(in - seg);
    if (len == 1 && seg[0] == '.') continue;
    if (len == 2 && seg[0] == '.' && seg[1] == '.') {
      while (out > path && *--out != '/') {}
      continue;
    }
    *out++ = '/';
    memmove(out, seg, len);
    out += len;
  }
  if (out == path) *out++ = '/';
  *out = 0;
}

static int fd_path(int fd, char *out) {
  char link[64] = "/proc/self/fd/";
  fmt_u64(link + 14, (uint64_t)fd)[0] = 0;
  long n = syscall(SYS_readlinkat, AT_FDCWD, link, out, PM_PATH_MAX - 1);
  if (n <= 0 || out[0] != '/') return -1;
  out[n] = 0;
  /* an unlinked file (or an O_TMPFILE one) has no name to depend on */
  if (n > 10 && !memcmp(out + n - 10, " (deleted)", 10)) return -1;
  return 0;
}

/* glibc declares many path parameters nonnull, yet callers do pass NULL (utimensat with an fd):
 * hide the pointer from the optimiser so our NULL checks stay. */
static inline const char *opaque(const char *p) { __asm__("" : "+r"(p)); return p; }

/* Resolve (dirfd, path) to an absolute normalised path. Returns 0, or -1 to skip the record. */
static int resolve_at(int dirfd, const char *path, char *out) {
  path = opaque(path);
  if (!path) return -1;
  size_t len = strlen(path);
  if (path[0] == '/') {
    if (len >= PM_PATH_MAX) return -1;
    memcpy(out, path, len + 1);
  } else {
    size_t base_len;
    if (dirfd == AT_FDCWD) {
      if (!g_cwd_len) return -1;
      memcpy(out, g_cwd, g_cwd_len);
      base_len = g_cwd_len;
    } else {
      if (fd_path(dirfd, out) != 0) return -1;
      base_len = strlen(out);
    }
    if (len == 0) { normalize(out); return 0; }   /* AT_EMPTY_PATH: the fd itself */
    if (base_len + 1 + len >= PM_PATH_MAX) return -1;
    out[base_len] = '/';
    memcpy(out + base_len + 1, path, len + 1);
  }
  normalize(out);
  return 0;
}

static void refresh_cwd(void) {
  long n = syscall(SYS_getcwd, g_cwd, sizeof g_cwd);
  g_cwd_len = (n > 0 && g_cwd[0] == '/') ? strlen(g_cwd) : 0;
}

/* ---------------------------------------------------------------- recording */

static void write_record(char kind, const char *arg, const char *path, const char *path2, int dedup) {
  if (dedup && seen_before(hash_record(kind, arg, path))) return;
  if (t_log.busy) { note_lost(); return; }   /* re-entered from a signal handler */
  t_log.busy = 1;
  size_t need = 64 + strlen(arg) + 2 * strlen(path) + (path2 ? 2 * strlen(path2) + 2 : 0);
  char *p = log_reserve(need);
  if (p) {
    *p++ = kind; *p++ = '\t';
    p = fmt_u64(p, event_time());
    *p++ = '\t';
    for (const char *a = arg; *a; a++) *p++ = *a;
    *p++ = '\t';
    p = put_escaped(p, path);
    if (path2) { *p++ = '\t'; p = put_escaped(p, path2); }
    *p++ = '\n';
    log_commit(p);
  }
  t_log.busy = 0;
}

/* Record an event on (dirfd, path). */
static void record_at(char kind, const char *arg, int dirfd, const char *path) {
  char abs[PM_PATH_MAX];
  if (resolve_at(dirfd, path, abs) != 0 || is_ignored(abs)) return;
  write_record(kind, arg, abs, NULL, kind != 'W' && kind != 'M' && kind != 'K');
}

static void record_fd(char kind, const char *arg, int fd) {
  char abs[PM_PATH_MAX];
  if (fd_path(fd, abs) != 0 || is_ignored(abs)) return;
  write_record(kind, arg, abs, NULL, kind != 'W');
}

static int is_absent_errno(int e) { return e == ENOENT || e == ENOTDIR; }

/* The outcome of a lookup: found (kind) or absent. */
static void record_lookup(int ok, int err, char kind, const char *arg, int dirfd, const char *path) {
  if (ok) record_at(kind, arg, dirfd, path);
  else if (is_absent_errno(err)) record_at('A', "-", dirfd, path);
}

/* Inside a hook our own code calls nothing wrapped: a nested call is a signal handler's, and
 * what it does cannot be recorded (the log is mid-record), so it counts as lost. */
#define ACTIVE() (g_enabled && (!t_in_hook || (note_lost(), 0)))
#define ENTER() (t_in_hook++)
#define LEAVE() (t_in_hook--)

/* ---------------------------------------------------------------- opens */

static void open_flags_arg(int flags, char *arg) {
  char *p = arg;
  if (flags & O_CREAT) *p++ = 'c';
  if (flags & O_TRUNC) *p++ = 't';
  if (flags & O_APPEND) *p++ = 'a';
  if ((flags & O_ACCMODE) == O_RDWR) *p++ = 'r';
  if (p == arg) *p++ = '-';
  *p = 0;
}

#define NO_FD INT_MAX

static int is_write_open(int flags) {
  return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC));
}

static void record_open(int dirfd, const char *path, int flags, int result, int err) {
  /* result: the new fd, NO_FD when the open happens later (spawn file actions), -1 failed */
  if ((flags & __O_TMPFILE) == __O_TMPFILE) return;   /* no name until linkat gives it one */
  if (flags & O_PATH) {                   /* a handle, not a read: existence only */
    record_lookup(result >= 0, err, 'S', "-", dirfd, path);
    return;
  }
  if (result < 0) {
    if (is_absent_errno(err)) record_at('A', "-", dirfd, path);
    return;
  }
  if (is_write_open(flags)) {
    char arg[8];
    open_flags_arg(flags, arg);
    /* Created or kept? Only this rare case (O_CREAT without O_TRUNC: touch, loggers) pays an
     * fstat: an empty file keeps nothing of an old version, so it is not an input. */
    if ((flags & (O_CREAT | O_APPEND)) && !(flags & O_TRUNC) && result >= 0 && result != NO_FD) {
      struct stat st;
      if (syscall(SYS_fstat, result, &st) == 0 && st.st_size == 0) strcat(arg, "e");
    }
    record_at('W', arg, dirfd, path);
  } else {
    record_at((flags & O_DIRECTORY) ? 'S' : 'R', "-", dirfd, path);
  }
}

DECLARE_REAL(int, open, const char *, int, ...);
DECLARE_REAL(int, open64, const char *, int, ...);
DECLARE_REAL(int, openat, int, const char *, int, ...);
DECLARE_REAL(int, openat64, int, const char *, int, ...);
DECLARE_REAL(int, __open_2, const char *, int);
DECLARE_REAL(int, __open64_2, const char *, int);
DECLARE_REAL(int, __openat_2, int, const char *, int);
DECLARE_REAL(int, __openat64_2, int, const char *, int);
DECLARE_REAL(int, creat, const char *, mode_t);
DECLARE_REAL(int, creat64, const char *, mode_t);
DECLARE_REAL(FILE *, fopen, const char *, const char *);
DECLARE_REAL(FILE *, fopen64, const char *, const char *);
DECLARE_REAL(FILE *, freopen, const char *, const char *, FILE *);
DECLARE_REAL(FILE *, freopen64, const char *, const char *, FILE *);

#define OPEN_MODE_ARG(flags) \
  mode_t mode = 0; \
  if ((flags) & (O_CREAT | __O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }

#define WRAP_OPEN(name)                                              \
  EXPORT int name(const char *path, int flags, ...) {               \
    OPEN_MODE_ARG(flags);                                            \
    RESOLVE(name);                                                   \
    int r = REAL(name)(path, flags, mode);                           \
    if (ACTIVE()) {                                                  \
      int e = errno; ENTER();                                        \
      record_open(AT_FDCWD, path, flags, r, e);                      \
      LEAVE(); errno = e;                                            \
    }                                                                \
    return r;                                                        \
  }
WRAP_OPEN(open)
WRAP_OPEN(open64)

#define WRAP_OPENAT(name)                                            \
  EXPORT int name(int dirfd, const char *path, int flags, ...) {    \
    OPEN_MODE_ARG(flags);                                            \
    RESOLVE(name);                                                   \
    int r = REAL(name)(dirfd, path, flags, mode);                    \
    if (ACTIVE()) {                                                  \
      int e = errno; ENTER();                                        \
      record_open(dirfd, path, flags, r, e);                         \
      LEAVE(); errno = e;                                            \
    }                                                                \
    return r;                                                        \
  }
WRAP_OPENAT(openat)
WRAP_OPENAT(openat64)

#define WRAP_OPEN2(name)                                             \
  EXPORT int name(const char *path, int flags) {                    \
    RESOLVE(name);                                                   \
    int r = REAL(name)(path, flags);                                 \
    if (ACTIVE()) {                                                  \
      int e = errno; ENTER();                                        \
      record_open(AT_FDCWD, path, flags, r, e);                      \
      LEAVE(); errno = e;                                            \
    }                                                                \
    return r;                                                        \
  }
WRAP_OPEN2(__open_2)
WRAP_OPEN2(__open64_2)

#define WRAP_OPENAT2(name)                                           \
  EXPORT int name(int dirfd, const char *path, int flags) {         \
    RESOLVE(name);                                                   \
    int r = REAL(name)(dirfd, path, flags);                          \
    if (ACTIVE()) {                                                  \
      int e = errno; ENTER();                                        \
      record_open(dirfd, path, flags, r, e);                         \
      LEAVE(); errno = e;                                            \
    }                                                                \
    return r;                                                        \
  }
WRAP_OPENAT2(__openat_2)
WRAP_OPENAT2(__openat64_2)

#define WRAP_CREAT(name)                                             \
  EXPORT int name(const char *path, mode_t mode) {                   \
    RESOLVE(name);                                                   \
    int r = REAL(name)(path, mode);                                  \
    if (ACTIVE()) {                                                  \
      int e = errno; ENTER();                                        \
      record_open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, r, e); \
      LEAVE(); errno = e;                                            \
    }                                                                \
    return r;                                                        \
  }
WRAP_CREAT(creat)
WRAP_CREAT(creat64)

static int fopen_flags(const char *mode) {
  if (!mode) return O_RDONLY;
  int plus = strchr(mode, '+') != NULL;
  switch (mode[0]) {
    case 'w': return (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC;
    case 'a': return (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND;
    default: return plus ? O_RDWR : O_RDONLY;
  }
}

#define WRAP_FOPEN(name)                                             \
  EXPORT FILE *name(const char *path, const char *mode) {            \
    RESOLVE(name);                                                   \
    FILE *f = REAL(name)(path, mode);                                \
    if (ACTIVE()) {                                                  \
      int e = errno; ENTER();                                        \
      record_open(AT_FDCWD, path, fopen_flags(mode), f ? fileno(f) : -1, e); \
      LEAVE(); errno = e;                                            \
    }                                                                \
    return f;                                                        \
  }
WRAP_FOPEN(fopen)
WRAP_FOPEN(fopen64)

#define WRAP_FREOPEN(name)                                           \
  EXPORT FILE *name(const char *path, const char *mode, FILE *s) {   \
    RESOLVE(name);                                                   \
    FILE *f = REAL(name)(path, mode, s);                             \
    if (ACTIVE() && path) {                                          \
      int e = errno; ENTER();                                        \
      record_open(AT_FDCWD, path, fopen_flags(mode), f ? fileno(f) : -1, e); \
      LEAVE(); errno = e;                                            \
    }                                                                \
    return f;                                                        \
  }
WRAP_FREOPEN(freopen)
WRAP_FREOPEN(freopen64)

/* mkstemp and friends open inside libc, where our open wrapper cannot see them. The file is
 * always new and empty (O_EXCL): "ce", nothing of an old version is read. */
DECLARE_REAL(int, mkstemp, char *);
DECLARE_REAL(int, mkstemp64, char *);
DECLARE_REAL(int, mkostemp, char *, int);
DECLARE_REAL(int, mkostemp64, char *, int);
DECLARE_REAL(int, mkstemps, char *, int);
DECLARE_REAL(int, mkstemps64, char *, int);
DECLARE_REAL(int, mkostemps, char *, int, int);
DECLARE_REAL(int, mkostemps64, char *, int, int);
DECLARE_REAL(char *, mkdtemp, char *);

#define AFTER_MKSTEMP(r, tmpl, arg)                                   \
  if (ACTIVE() && (r) >= 0) { int e = errno; ENTER(); record_at('W', arg, AT_FDCWD, tmpl); LEAVE(); errno = e; }
EXPORT int mkstemp(char *t) { RESOLVE(mkstemp); int r = REAL(mkstemp)(t); AFTER_MKSTEMP(r, t, "ce"); return r; }
EXPORT int mkstemp64(char *t) { RESOLVE(mkstemp64); int r = REAL(mkstemp64)(t); AFTER_MKSTEMP(r, t, "ce"); return r; }
EXPORT int mkostemp(char *t, int f) { RESOLVE(mkostemp); int r = REAL(mkostemp)(t, f); AFTER_MKSTEMP(r, t, "ce"); return r; }
EXPORT int mkostemp64(char *t, int f) { RESOLVE(mkostemp64); int r = REAL(mkostemp64)(t, f); AFTER_MKSTEMP(r, t, "ce"); return r; }
EXPORT int mkstemps(char *t, int s) { RESOLVE(mkstemps); int r = REAL(mkstemps)(t, s); AFTER_MKSTEMP(r, t, "ce"); return r; }
EXPORT int mkstemps64(char *t, int s) { RESOLVE(mkstemps64); int r = REAL(mkstemps64)(t, s); AFTER_MKSTEMP(r, t, "ce"); return r; }
EXPORT int mkostemps(char *t, int s, int f) { RESOLVE(mkostemps); int r = REAL(mkostemps)(t, s, f); AFTER_MKSTEMP(r, t, "ce"); return r; }
EXPORT int mkostemps64(char *t, int s, int f) { RESOLVE(mkostemps64); int r = REAL(mkostemps64)(t, s, f); AFTER_MKSTEMP(r, t, "ce"); return r; }
EXPORT char *mkdtemp(char *t) { RESOLVE(mkdtemp); char *r = REAL(mkdtemp)(t); AFTER_MKSTEMP(r ? 0 : -1, t, "d"); return r; }

/* ---------------------------------------------------------------- stat, access, readlink */

DECLARE_REAL(int, stat, const char *, struct stat *);
DECLARE_REAL(int, stat64, const char *, struct stat64 *);
DECLARE_REAL(int, lstat, const char *, struct stat *);
DECLARE_REAL(int, lstat64, const char *, struct stat64 *);
DECLARE_REAL(int, fstatat, int, const char *, struct stat *, int);
DECLARE_REAL(int, fstatat64, int, const char *, struct stat64 *, int);
DECLARE_REAL(int, __xstat, int, const char *, struct stat *);
DECLARE_REAL(int, __xstat64, int, const char *, struct stat64 *);
DECLARE_REAL(int, __lxstat, int, const char *, struct stat *);
DECLARE_REAL(int, __lxstat64, int, const char *, struct stat64 *);
DECLARE_REAL(int, __fxstatat, int, int, const char *, struct stat *, int);
DECLARE_REAL(int, __fxstatat64, int, int, const char *, struct stat64 *, int);
DECLARE_REAL(int, statx, int, const char *, int, unsigned int, struct statx *);
DECLARE_REAL(int, access, const char *, int);
DECLARE_REAL(int, faccessat, int, const char *, int, int);
DECLARE_REAL(int, euidaccess, const char *, int);
DECLARE_REAL(int, eaccess, const char *, int);
DECLARE_REAL(ssize_t, readlink, const char *, char *, size_t);
DECLARE_REAL(ssize_t, readlinkat, int, const char *, char *, size_t);
DECLARE_REAL(char *, realpath, const char *, char *);
DECLARE_REAL(char *, canonicalize_file_name, const char *);

/* A stat of a folder says only that it exists; a stat of anything else is a metadata read. */
static void record_stat(int dirfd, const char *path, int r, int err, mode_t mode) {
  if (r == 0 && S_ISDIR(mode)) return;
  record_lookup(r == 0, err, 'S', "-", dirfd, path);
}

#define WRAP_STAT(name, st_t)                                        \
  EXPORT int name(const char *path, st_t *st) {                      \
    RESOLVE(name);                                                   \
    int r = REAL(name)(path, st);                                    \
    if (ACTIVE()) {                                                  \
      int e = errno; ENTER();                                        \
      record_stat(AT_FDCWD, path, r, e, r == 0 ? st->st_mode : 0);   \
      LEAVE(); errno = e;                                            \
    }                                                                \
    return r;                                                        \
  }
WRAP_STAT(stat, struct stat)
WRAP_STAT(stat64, struct stat64)
WRAP_STAT(lstat, struct stat)
WRAP_STAT(lstat64, struct stat64)

#define WRAP_FSTATAT(name, st_t)                                     \
  EXPORT int name(int dirfd, const char *path, st_t *st, int flags) { \
    RESOLVE(name);                                                   \
    int r = REAL(name)(dirfd, path, st, flags);                      \
    if (ACTIVE()) {                                                  \
      int e = errno; ENTER();                                        \
      record_stat(dirfd, path, r, e, r == 0 ? st->st_mode : 0);      \
      LEAVE(); errno = e;                                            \
    }                                                                \
    return r;                                                        \
  }
WRAP_FSTATAT(fstatat, struct stat)
WRAP_FSTATAT(fstatat64, struct stat64)

#define WRAP_XSTAT(name, st_t)                                       \
  EXPORT int name(int ver, const char *path, st_t *st) {             \
    RESOLVE(name);                                                   \
    int r = REAL(name)(ver, path, st);                               \
    if (ACTIVE()) {                                                  \
      int e = errno; ENTER();                                        \
      record_stat(AT_FDCWD, path, r, e, r == 0 ? st->st_mode : 0);   \
      LEAVE(); errno = e;                                            \
    }                                                                \
    return r;                                                        \
  }
WRAP_XSTAT(__xstat, struct stat)
WRAP_XSTAT(__xstat64, struct stat64)
WRAP_XSTAT(__lxstat, struct stat)
WRAP_XSTAT(__lxstat64, struct stat64)

#define WRAP_FXSTATAT(name, st_t)                                    \
  EXPORT int name(int ver, int dirfd, const char *path, st_t *st, int flags) { \
    RESOLVE(name);                                                   \
    int r = REAL(name)(ver, dirfd, path, st, flags);                 \
    if (ACTIVE()) {                                                  \
      int e = errno; ENTER();                                        \
      record_stat(dirfd, path, r, e, r == 0 ? st->st_mode : 0);      \
      LEAVE(); errno = e;                                            \
    }                                                                \
    return r;                                                        \
  }
WRAP_FXSTATAT(__fxstatat, struct stat)
WRAP_FXSTATAT(__fxstatat64, struct stat64)

EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *st) {
  RESOLVE(statx);
  int r = REAL(statx)(dirfd, path, flags, mask, st);
  if (ACTIVE()) {
    int e = errno; ENTER();
    mode_t mode = (r == 0 && (st->stx_mask & STATX_TYPE)) ? st->stx_mode : 0;
    /* statx(fd, "", AT_EMPTY_PATH) is an fstat: nothing looked up by name */
    const char *p = opaque(path);
    if (!(p && !p[0] && (flags & AT_EMPTY_PATH))) record_stat(dirfd, path, r, e, mode);
    LEAVE(); errno = e;
  }
  return r;
}

#define WRAP_ACCESS(name)                                            \
  EXPORT int name(const char *path, int how) {                       \
    RESOLVE(name);                                                   \
    int r = REAL(name)(path, how);                                   \
    if (ACTIVE()) {                                                  \
      int e = errno; ENTER();                                        \
      record_lookup(r == 0, e, 'S', "-", AT_FDCWD, path);            \
      LEAVE(); errno = e;                                            \
    }                                                                \
    return r;                                                        \
  }
WRAP_ACCESS(access)
WRAP_ACCESS(euidaccess)
WRAP_ACCESS(eaccess)

EXPORT int faccessat(int dirfd, const char *path, int how, int flags) {
  RESOLVE(faccessat);
  int r = REAL(faccessat)(dirfd, path, how, flags);
  if (ACTIVE()) { int e = errno; ENTER(); record_lookup(r == 0, e, 'S', "-", dirfd, path); LEAVE(); errno = e; }
  return r;
}

EXPORT ssize_t readlink(const char *path, char *buf, size_t size) {
  RESOLVE(readlink);
  ssize_t r = REAL(readlink)(path, buf, size);
  if (ACTIVE()) { int e = errno; ENTER(); record_lookup(r >= 0, e, 'S', "-", AT_FDCWD, path); LEAVE(); errno = e; }
  return r;
}

EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size) {
  RESOLVE(readlinkat);
  ssize_t r = REAL(readlinkat)(dirfd, path, buf, size);
  if (ACTIVE()) { int e = errno; ENTER(); record_lookup(r >= 0, e, 'S', "-", dirfd, path); LEAVE(); errno = e; }
  return r;
}

/* realpath resolves inside libc: record the name asked for (absent or not). */
EXPORT char *realpath(const char *path, char *resolved) {
  RESOLVE(realpath);
  char *r = REAL(realpath)(path, resolved);
  if (ACTIVE() && path) { int e = errno; ENTER(); if (!r && is_absent_errno(e)) record_at('A', "-", AT_FDCWD, path); LEAVE(); errno = e; }
  return r;
}

EXPORT char *canonicalize_file_name(const char *path) {
  RESOLVE(canonicalize_file_name);
  char *r = REAL(canonicalize_file_name)(path);
  if (ACTIVE() && opaque(path)) { int e = errno; ENTER(); if (!r && is_absent_errno(e)) record_at('A', "-", AT_FDCWD, path); LEAVE(); errno = e; }
  return r;
}

/* ---------------------------------------------------------------- folders */

DECLARE_REAL(DIR *, opendir, const char *);
DECLARE_REAL(DIR *, fdopendir, int);
DECLARE_REAL(int, scandir, const char *, struct dirent ***, int (*)(const struct dirent *), int (*)(const struct dirent **, const struct dirent **));
DECLARE_REAL(int, scandir64, const char *, struct dirent64 ***, int (*)(const struct dirent64 *), int (*)(const struct dirent64 **, const struct dirent64 **));
DECLARE_REAL(int, scandirat, int, const char *, struct dirent ***, int (*)(const struct dirent *), int (*)(const struct dirent **, const struct dirent **));
DECLARE_REAL(ssize_t, getdents64, int, void *, size_t);
DECLARE_REAL(int, glob, const char *, int, int (*)(const char *, int), glob_t *);
DECLARE_REAL(int, glob64, const char *, int, int (*)(const char *, int), glob64_t *);

EXPORT DIR *opendir(const char *path) {
  RESOLVE(opendir);
  DIR *d = REAL(opendir)(path);
  if (ACTIVE()) { int e = errno; ENTER(); record_lookup(d != NULL, e, 'D', "-", AT_FDCWD, path); LEAVE(); errno = e; }
  return d;
}

EXPORT DIR *fdopendir(int fd) {
  RESOLVE(fdopendir);
  DIR *d = REAL(fdopendir)(fd);
  if (ACTIVE() && d) { int e = errno; ENTER(); record_fd('D', "-", fd); LEAVE(); errno = e; }
  return d;
}

EXPORT int scandir(const char *path, struct dirent ***list, int (*sel)(const struct dirent *),
                   int (*cmp)(const struct dirent **, const struct dirent **)) {
  RESOLVE(scandir);
  int r = REAL(scandir)(path, list, sel, cmp);
  if (ACTIVE()) { int e = errno; ENTER(); record_lookup(r >= 0, e, 'D', "-", AT_FDCWD, path); LEAVE(); errno = e; }
  return r;
}

EXPORT int scandir64(const char *path, struct dirent64 ***list, int (*sel)(const struct dirent64 *),
                     int (*cmp)(const struct dirent64 **, const struct dirent64 **)) {
  RESOLVE(scandir64);
  int r = REAL(scandir64)(path, list, sel, cmp);
  if (ACTIVE()) { int e = errno; ENTER(); record_lookup(r >= 0, e, 'D', "-", AT_FDCWD, path); LEAVE(); errno = e; }
  return r;
}

EXPORT int scandirat(int dirfd, const char *path, struct dirent ***list, int (*sel)(const struct dirent *),
                     int (*cmp)(const struct dirent **, const struct dirent **)) {
  RESOLVE(scandirat);
  int r = REAL(scandirat)(dirfd, path, list, sel, cmp);
  if (ACTIVE()) { int e = errno; ENTER(); record_lookup(r >= 0, e, 'D', "-", dirfd, path); LEAVE(); errno = e; }
  return r;
}

EXPORT ssize_t getdents64(int fd, void *buf, size_t n) {
  RESOLVE(getdents64);
  ssize_t r = REAL(getdents64)(fd, buf, n);
  if (ACTIVE() && r >= 0) { int e = errno; ENTER(); record_fd('D', "-", fd); LEAVE(); errno = e; }
  return r;
}

/* glob() lists folders inside libc: record the folder part of the pattern when it is literal. */
static void record_glob_dir(const char *pattern) {
  if (!pattern) return;
  const char *slash = strrchr(pattern, '/');
  char dir[PM_PATH_MAX];
  size_t len = slash ? (size_t)(slash - pattern) : 0;
  if (len >= PM_PATH_MAX) return;
  if (slash) { memcpy(dir, pattern, len); dir[len] = 0; if (!len) strcpy(dir, "/"); }
  else strcpy(dir, ".");
  if (strpbrk(dir, "*?[")) return;      /* wildcards in folders: not a single listing */
  if (!strpbrk(slash ? slash : pattern, "*?[")) return;   /* no wildcard: no listing */
  record_at('D', "-", AT_FDCWD, dir);
}

EXPORT int glob(const char *pattern, int flags, int (*errfn)(const char *, int), glob_t *g) {
  RESOLVE(glob);
  int r = REAL(glob)(pattern, flags, errfn, g);
  if (ACTIVE()) { int e = errno; ENTER(); record_glob_dir(pattern); LEAVE(); errno = e; }
  return r;
}

EXPORT int glob64(const char *pattern, int flags, int (*errfn)(const char *, int), glob64_t *g) {
  RESOLVE(glob64);
  int r = REAL(glob64)(pattern, flags, errfn, g);
  if (ACTIVE()) { int e = errno; ENTER(); record_glob_dir(pattern); LEAVE(); errno = e; }
  return r;
}

/* ---------------------------------------------------------------- working folder */

DECLARE_REAL(int, chdir, const char *);
DECLARE_REAL(int, fchdir, int);

EXPORT int chdir(const char *path) {
  RESOLVE(chdir);
  int r = REAL(chdir)(path);
  if (g_enabled) {
    int e = errno;
    if (r == 0) refresh_cwd();
    else if (!t_in_hook && is_absent_errno(e)) { ENTER(); record_at('A', "-", AT_FDCWD, path); LEAVE(); }
    errno = e;
  }
  return r;
}

EXPORT int fchdir(int fd) {
  RESOLVE(fchdir);
  int r = REAL(fchdir)(fd);
  if (g_enabled && r == 0) { int e = errno; refresh_cwd(); errno = e; }
  return r;
}

/* ---------------------------------------------------------------- changes to names */

DECLARE_REAL(int, unlink, const char *);
DECLARE_REAL(int, unlinkat, int, const char *, int);
DECLARE_REAL(int, remove, const char *);
DECLARE_REAL(int, rmdir, const char *);
DECLARE_REAL(int, rename, const char *, const char *);
DECLARE_REAL(int, renameat, int, const char *, int, const char *);
DECLARE_REAL(int, renameat2, int, const char *, int, const char *, unsigned int);
DECLARE_REAL(int, link, const char *, const char *);
DECLARE_REAL(int, linkat, int, const char *, int, const char *, int);
DECLARE_REAL(int, symlink, const char *, const char *);
DECLARE_REAL(int, symlinkat, const char *, int, const char *);
DECLARE_REAL(int, mkdir, const char *, mode_t);
DECLARE_REAL(int, mkdirat, int, const char *, mode_t);

#define AFTER(cond, stmt) \
  if (ACTIVE() && (cond)) { int e = errno; ENTER(); stmt; LEAVE(); errno = e; }

EXPORT int unlink(const char *p) { RESOLVE(unlink); int r = REAL(unlink)(p); AFTER(r == 0, record_at('K', "f", AT_FDCWD, p)); return r; }
EXPORT int unlinkat(int fd, const char *p, int fl) {
  RESOLVE(unlinkat); int r = REAL(unlinkat)(fd, p, fl);
  AFTER(r == 0, record_at('K', (fl & AT_REMOVEDIR) ? "d" : "f", fd, p)); return r;
}
EXPORT int remove(const char *p) { RESOLVE(remove); int r = REAL(remove)(p); AFTER(r == 0, record_at('K', "f", AT_FDCWD, p)); return r; }
EXPORT int rmdir(const char *p) { RESOLVE(rmdir); int r = REAL(rmdir)(p); AFTER(r == 0, record_at('K', "d", AT_FDCWD, p)); return r; }

static void record_rename(int fd1, const char *from, int fd2, const char *to) {
  char a[PM_PATH_MAX], b[PM_PATH_MAX];
  if (resolve_at(fd1, from, a) != 0 || resolve_at(fd2, to, b) != 0) return;
  int ia = is_ignored(a), ib = is_ignored(b);
  if (ia && ib) return;
  if (ia) { write_record('W', "ct", b, NULL, 0); return; }   /* moved in from an ignored place: new content */
  if (ib) { write_record('K', "f", a, NULL, 0); return; }    /* moved out to an ignored place */
  write_record('M', "-", a, b, 0);
}

EXPORT int rename(const char *a, const char *b) {
  RESOLVE(rename); int r = REAL(rename)(a, b);
  AFTER(r == 0, record_rename(AT_FDCWD, a, AT_FDCWD, b)); return r;
}
EXPORT int renameat(int f1, const char *a, int f2, const char *b) {
  RESOLVE(renameat); int r = REAL(renameat)(f1, a, f2, b);
  AFTER(r == 0, record_rename(f1, a, f2, b)); return r;
}
EXPORT int renameat2(int f1, const char *a, int f2, const char *b, unsigned int fl) {
  RESOLVE(renameat2); int r = REAL(renameat2)(f1, a, f2, b, fl);
  /* RENAME_EXCHANGE (2) swaps two names: both are rewritten */
  AFTER(r == 0, if (fl & 2) { record_at('W', "c", f1, a); record_at('W', "c", f2, b); } else record_rename(f1, a, f2, b));
  return r;
}
EXPORT int link(const char *a, const char *b) {
  RESOLVE(link); int r = REAL(link)(a, b);
  AFTER(1, if (r == 0) { record_at('S', "-", AT_FDCWD, a); record_at('W', "n", AT_FDCWD, b); } else if (is_absent_errno(e)) record_at('A', "-", AT_FDCWD, a));
  return r;
}
EXPORT int linkat(int f1, const char *a, int f2, const char *b, int fl) {
  RESOLVE(linkat); int r = REAL(linkat)(f1, a, f2, b, fl);
  AFTER(r == 0, record_at('S', "-", f1, a); record_at('W', "n", f2, b)); return r;
}
EXPORT int symlink(const char *target, const char *p) {
  RESOLVE(symlink); int r = REAL(symlink)(target, p);
  AFTER(r == 0, record_at('W', "n", AT_FDCWD, p)); return r;
}
EXPORT int symlinkat(const char *target, int fd, const char *p) {
  RESOLVE(symlinkat); int r = REAL(symlinkat)(target, fd, p);
  AFTER(r == 0, record_at('W', "n", fd, p)); return r;
}
EXPORT int mkdir(const char *p, mode_t m) {
  RESOLVE(mkdir); int r = REAL(mkdir)(p, m);
  AFTER(1, if (r == 0) record_at('W', "d", AT_FDCWD, p); else if (is_absent_errno(e)) record_at('A', "-", AT_FDCWD, p));
  return r;
}
EXPORT int mkdirat(int fd, const char *p, mode_t m) {
  RESOLVE(mkdirat); int r = REAL(mkdirat)(fd, p, m);
  AFTER(1, if (r == 0) record_at('W', "d", fd, p); else if (is_absent_errno(e)) record_at('A', "-", fd, p));
  return r;
}

/* ---------------------------------------------------------------- changes to contents and metadata */

DECLARE_REAL(int, truncate, const char *, off_t);
DECLARE_REAL(int, truncate64, const char *, off64_t);
DECLARE_REAL(int, ftruncate, int, off_t);
DECLARE_REAL(int, ftruncate64, int, off64_t);
DECLARE_REAL(int, chmod, const char *, mode_t);
DECLARE_REAL(int, fchmod, int, mode_t);
DECLARE_REAL(int, fchmodat, int, const char *, mode_t, int);
DECLARE_REAL(int, chown, const char *, uid_t, gid_t);
DECLARE_REAL(int, lchown, const char *, uid_t, gid_t);
DECLARE_REAL(int, fchown, int, uid_t, gid_t);
DECLARE_REAL(int, fchownat, int, const char *, uid_t, gid_t, int);
DECLARE_REAL(int, utime, const char *, const struct utimbuf *);
DECLARE_REAL(int, utimes, const char *, const struct timeval *);
DECLARE_REAL(int, lutimes, const char *, const struct timeval *);
DECLARE_REAL(int, futimes, int, const struct timeval *);
DECLARE_REAL(int, futimesat, int, const char *, const struct timeval *);
DECLARE_REAL(int, utimensat, int, const char *, const struct timespec *, int);
DECLARE_REAL(int, futimens, int, const struct timespec *);

EXPORT int truncate(const char *p, off_t n) { RESOLVE(truncate); int r = REAL(truncate)(p, n); AFTER(r == 0, record_at('W', "t", AT_FDCWD, p)); return r; }
EXPORT int truncate64(const char *p, off64_t n) { RESOLVE(truncate64); int r = REAL(truncate64)(p, n); AFTER(r == 0, record_at('W', "t", AT_FDCWD, p)); return r; }
EXPORT int ftruncate(int fd, off_t n) { RESOLVE(ftruncate); int r = REAL(ftruncate)(fd, n); AFTER(r == 0, record_fd('W', "t", fd)); return r; }
EXPORT int ftruncate64(int fd, off64_t n) { RESOLVE(ftruncate64); int r = REAL(ftruncate64)(fd, n); AFTER(r == 0, record_fd('W', "t", fd)); return r; }
EXPORT int chmod(const char *p, mode_t m) { RESOLVE(chmod); int r = REAL(chmod)(p, m); AFTER(r == 0, record_at('W', "m", AT_FDCWD, p)); return r; }
EXPORT int fchmod(int fd, mode_t m) { RESOLVE(fchmod); int r = REAL(fchmod)(fd, m); AFTER(r == 0, record_fd('W', "m", fd)); return r; }
EXPORT int fchmodat(int fd, const char *p, mode_t m, int fl) { RESOLVE(fchmodat); int r = REAL(fchmodat)(fd, p, m, fl); AFTER(r == 0, record_at('W', "m", fd, p)); return r; }
EXPORT int chown(const char *p, uid_t u, gid_t g) { RESOLVE(chown); int r = REAL(chown)(p, u, g); AFTER(r == 0, record_at('W', "m", AT_FDCWD, p)); return r; }
EXPORT int lchown(const char *p, uid_t u, gid_t g) { RESOLVE(lchown); int r = REAL(lchown)(p, u, g); AFTER(r == 0, record_at('W', "m", AT_FDCWD, p)); return r; }
EXPORT int fchown(int fd, uid_t u, gid_t g) { RESOLVE(fchown); int r = REAL(fchown)(fd, u, g); AFTER(r == 0, record_fd('W', "m", fd)); return r; }
EXPORT int fchownat(int fd, const char *p, uid_t u, gid_t g, int fl) { RESOLVE(fchownat); int r = REAL(fchownat)(fd, p, u, g, fl); AFTER(r == 0, record_at('W', "m", fd, p)); return r; }
EXPORT int utime(const char *p, const struct utimbuf *t) { RESOLVE(utime); int r = REAL(utime)(p, t); AFTER(r == 0, record_at('W', "m", AT_FDCWD, p)); return r; }
EXPORT int utimes(const char *p, const struct timeval *t) { RESOLVE(utimes); int r = REAL(utimes)(p, t); AFTER(r == 0, record_at('W', "m", AT_FDCWD, p)); return r; }
EXPORT int lutimes(const char *p, const struct timeval *t) { RESOLVE(lutimes); int r = REAL(lutimes)(p, t); AFTER(r == 0, record_at('W', "m", AT_FDCWD, p)); return r; }
EXPORT int futimes(int fd, const struct timeval *t) { RESOLVE(futimes); int r = REAL(futimes)(fd, t); AFTER(r == 0, record_fd('W', "m", fd)); return r; }
EXPORT int futimesat(int fd, const char *p, const struct timeval *t) { RESOLVE(futimesat); int r = REAL(futimesat)(fd, p, t); AFTER(r == 0, if (p) record_at('W', "m", fd, p); else record_fd('W', "m", fd)); return r; }
EXPORT int utimensat(int fd, const char *p, const struct timespec *t, int fl) {
  RESOLVE(utimensat); int r = REAL(utimensat)(fd, p, t, fl);
  AFTER(r == 0, if (opaque(p)) record_at('W', "m", fd, p); else record_fd('W', "m", fd)); return r;
}
EXPORT int futimens(int fd, const struct timespec *t) { RESOLVE(futimens); int r = REAL(futimens)(fd, t); AFTER(r == 0, record_fd('W', "m", fd)); return r; }

/* ---------------------------------------------------------------- programs and libraries */

/* The vDSO is the object whose program headers are those of the image the kernel mapped. */
static int is_vdso(const struct dl_phdr_info *info) {
  const ElfW(Ehdr) *vdso = (const ElfW(Ehdr) *)getauxval(AT_SYSINFO_EHDR);
  return vdso && (const char *)info->dlpi_phdr == (const char *)vdso + vdso->e_phoff;
}

static int record_loaded_object(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size; (void)data;
  const char *name = info->dlpi_name;
  /* the main program (""), the vDSO (named "linux-vdso.so.1", no file); a relative name (found
   * through a relative or empty LD_LIBRARY_PATH entry) is resolved like any path */
  if (!name || !name[0] || is_vdso(info)) return 0;
  if (!strcmp(name, g_self_path)) return 0;
  record_at('X', "l", AT_FDCWD, name);
  return 0;
}

/* Why a program would escape LD_PRELOAD, or NULL when it will be traced. *exists is cleared
 * when there is no such file. */
static const char *untraced_reason(const char *path, int depth, int *exists) {
  long fd = raw_open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    if (exists && is_absent_errno(errno)) *exists = 0;
    return NULL;
  }
  struct stat st;
  unsigned char head[1024];
  const char *reason = NULL;
  if (syscall(SYS_fstat, fd, &st) == 0) {
    if ((st.st_mode & S_ISUID) && st.st_uid != (uid_t)syscall(SYS_geteuid)) reason = "setuid";
    else if ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP) && st.st_gid != (gid_t)syscall(SYS_getegid)) reason = "setgid";
    else if (syscall(SYS_fgetxattr, fd, "security.capability", NULL, 0) > 0) reason = "capabilities";
  }
  ssize_t n = reason ? 0 : syscall(SYS_pread64, fd, head, sizeof head, 0);
  syscall(SYS_close, fd);
  if (reason || n < 4) return reason;
  if (head[0] == '#' && head[1] == '!' && depth < 2) {
    /* a script: its interpreter is what runs */
    char interp[256];
    size_t i = 2, j = 0;
    while (i < (size_t)n && (head[i] == ' ' || head[i] == '\t')) i++;
    while (i < (size_t)n && j < sizeof interp - 1 && head[i] != ' ' && head[i] != '\t' && head[i] != '\n') interp[j++] = (char)head[i++];
    interp[j] = 0;
    return j ? untraced_reason(interp, depth + 1, NULL) : NULL;
  }
  if (memcmp(head, ELFMAG, SELFMAG) != 0) return NULL;
  int has_interp = 0, has_dynamic = 0;
  if (head[EI_CLASS] == ELFCLASS64 && (size_t)n >= sizeof(Elf64_Ehdr)) {
    Elf64_Ehdr *eh = (Elf64_Ehdr *)head;
    for (int i = 0; i < eh->e_phnum; i++) {
      size_t off = eh->e_phoff + (size_t)i * eh->e_phentsize;
      if (off + sizeof(Elf64_Phdr) > (size_t)n) return NULL;   /* headers beyond what we read: assume traced */
      Elf64_Phdr *ph = (Elf64_Phdr *)(head + off);
      if (ph->p_type == PT_INTERP) has_interp = 1;
      if (ph->p_type == PT_DYNAMIC) has_dynamic = 1;
    }
  } else if (head[EI_CLASS] == ELFCLASS32 && (size_t)n >= sizeof(Elf32_Ehdr)) {
    Elf32_Ehdr *eh = (Elf32_Ehdr *)head;
    for (int i = 0; i < eh->e_phnum; i++) {
      size_t off = eh->e_phoff + (size_t)i * eh->e_phentsize;
      if (off + sizeof(Elf32_Phdr) > (size_t)n) return NULL;
      Elf32_Phdr *ph = (Elf32_Phdr *)(head + off);
      if (ph->p_type == PT_INTERP) has_interp = 1;
      if (ph->p_type == PT_DYNAMIC) has_dynamic = 1;
    }
    /* a 32-bit program cannot load this 64-bit library: it runs untraced */
    if (has_interp) return "static";
  } else {
    return NULL;
  }
  (void)has_dynamic;
  return has_interp ? NULL : "static";
}

static void record_exec_target(const char *path) {
  char abs[PM_PATH_MAX];
  if (resolve_at(AT_FDCWD, path, abs) != 0 || is_ignored(abs)) return;
  int exists = 1;
  const char *why = untraced_reason(abs, 0, &exists);
  if (!exists) return;   /* the exec fails: nothing ran, and the caller records the absence */
  /* A traced program records itself (AT_EXECFN, in its constructor): writing here would make
   * every fork-then-exec child create a log of its own. Only programs that escape are written. */
  if (why) {
    write_record('X', "p", abs, NULL, 1);
    write_record('U', why, abs, NULL, 1);
  }
}

/* Find `file` on PATH as execvp does, recording the places it is absent from; copies the hit. */
static int search_path(const char *file, char *found) {
  if (strchr(file, '/')) {
    if (strlen(file) >= PM_PATH_MAX) return -1;
    strcpy(found, file);
    return 0;
  }
  const char *path = getenv("PATH");
  if (!path) path = "/bin:/usr/bin";
  size_t flen = strlen(file);
  while (*path) {
    const char *end = strchr(path, ':');
    size_t dlen = end ? (size_t)(end - path) : strlen(path);
    char cand[PM_PATH_MAX];
    if (dlen + flen + 2 < PM_PATH_MAX) {
      if (dlen) { memcpy(cand, path, dlen); cand[dlen] = '/'; memcpy(cand + dlen + 1, file, flen + 1); }
      else memcpy(cand, file, flen + 1);
      struct stat st;
      if (syscall(SYS_newfstatat, AT_FDCWD, cand, &st, 0) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
        strcpy(found, cand);
        return 0;
      }
      if (is_absent_errno(errno)) record_at('A', "-", AT_FDCWD, cand);
    }
    if (!end) break;
    path = end + 1;
  }
  return -1;
}

/* The environment a traced program passes to exec, with our variables put back if it dropped
 * or changed them (env -i, or a program that builds its own environment). Scratch memory is
 * mmap'ed: the program's malloc is not ours to use here (e.g. between vfork and exec). */
struct exec_env { char **envp; void *mem; size_t mem_size; };

static int env_has(char *const *envp, const char *entry) {
  for (char *const *e = envp; e && *e; e++) if (!strcmp(*e, entry)) return 1;
  return 0;
}

static char *const *traced_env(char *const *envp, struct exec_env *out) {
  out->mem = NULL;
  if (env_has(envp, g_env_preload) && env_has(envp, g_env_logdir) && (!g_env_logmax[0] || env_has(envp, g_env_logmax)))
    return envp;
  size_t n = 0;
  for (char *const *e = envp; e && *e; e++) n++;
  const char *their_preload = NULL;
  for (char *const *e = envp; e && *e; e++) if (!strncmp(*e, "LD_PRELOAD=", 11)) their_preload = *e + 11;
  size_t preload_len = strlen(g_env_preload) + (their_preload ? strlen(their_preload) + 1 : 0) + 1;
  size_t size = (n + 4) * sizeof(char *) + preload_len;
  void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return envp;
  char **list = mem;
  char *preload = (char *)mem + (n + 4) * sizeof(char *);
  strcpy(preload, g_env_preload);
  if (their_preload && !strstr(their_preload, g_self_path)) { strcat(preload, ":"); strcat(preload, their_preload); }
  size_t k = 0;
  for (char *const *e = envp; e && *e; e++) {
    if (!strncmp(*e, "LD_PRELOAD=", 11) || !strncmp(*e, "PROVMAKE_LOG_DIR=", 17) || !strncmp(*e, "PROVMAKE_LOG_MAX=", 17)) continue;
    list[k++] = *e;
  }
  list[k++] = preload;
  list[k++] = g_env_logdir;
  if (g_env_logmax[0]) list[k++] = g_env_logmax;
  list[k] = NULL;
  out->envp = list; out->mem = mem; out->mem_size = size;
  return list;
}

static void free_env(struct exec_env *env) { if (env->mem) munmap(env->mem, env->mem_size); }

DECLARE_REAL(int, execve, const char *, char *const[], char *const[]);
DECLARE_REAL(int, execvpe, const char *, char *const[], char *const[]);
DECLARE_REAL(int, execveat, int, const char *, char *const[], char *const[], int);
DECLARE_REAL(int, fexecve, int, char *const[], char *const[]);
DECLARE_REAL(int, posix_spawn, pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *, char *const[], char *const[]);
DECLARE_REAL(int, posix_spawnp, pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *, char *const[], char *const[]);
DECLARE_REAL(int, posix_spawn_file_actions_addopen, posix_spawn_file_actions_t *, int, const char *, int, mode_t);
DECLARE_REAL(void *, dlopen, const char *, int);
DECLARE_REAL(int, system, const char *);
DECLARE_REAL(FILE *, popen, const char *, const char *);

extern char **environ;

static int do_execve(const char *path, char *const argv[], char *const envp[]) {
  RESOLVE(execve);
  if (!g_enabled) return REAL(execve)(path, argv, envp);
  struct exec_env env;
  ENTER();
  record_exec_target(path);
  char *const *e = traced_env(envp, &env);
  finish_thread_log();
  LEAVE();
  int r = REAL(execve)(path, argv, e);
  int err = errno;
  free_env(&env);
  if (is_absent_errno(err)) { ENTER(); record_at('A', "-", AT_FDCWD, path); LEAVE(); }
  errno = err;
  return r;
}

static int do_execvpe(const char *file, char *const argv[], char *const envp[]) {
  RESOLVE(execvpe);
  if (!g_enabled) return REAL(execvpe)(file, argv, envp);
  struct exec_env env;
  char found[PM_PATH_MAX];
  ENTER();
  if (search_path(file, found) == 0) record_exec_target(found);
  char *const *e = traced_env(envp, &env);
  finish_thread_log();
  LEAVE();
  int r = REAL(execvpe)(file, argv, e);
  int err = errno;
  free_env(&env);
  errno = err;
  return r;
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[]) { return do_execve(path, argv, envp); }
EXPORT int execv(const char *path, char *const argv[]) { return do_execve(path, argv, environ); }
EXPORT int execvp(const char *file, char *const argv[]) { return do_execvpe(file, argv, environ); }
EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]) { return do_execvpe(file, argv, envp); }

#define COLLECT_ARGS(first, argv, with_env)                                  \
  va_list ap; size_t argc = 1;                                               \
  va_start(ap, first); while (va_arg(ap, char *)) argc++; va_end(ap);        \
  char *argv[argc + 1]; char *const *envp_l = environ; (void)envp_l;         \
  va_start(ap, first); argv[0] = (char *)first;                              \
  for (size_t i = 1; i <= argc; i++) argv[i] = va_arg(ap, char *);           \
  if (with_env) envp_l = va_arg(ap, char *const *);                          \
  va_end(ap);

EXPORT int execl(const char *path, const char *arg, ...) { COLLECT_ARGS(arg, argv, 0); return do_execve(path, argv, environ); }
EXPORT int execlp(const char *file, const char *arg, ...) { COLLECT_ARGS(arg, argv, 0); return do_execvpe(file, argv, environ); }
EXPORT int execle(const char *path, const char *arg, ...) { COLLECT_ARGS(arg, argv, 1); return do_execve(path, argv, envp_l); }

EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags) {
  RESOLVE(execveat);
  if (!g_enabled) return REAL(execveat)(dirfd, path, argv, envp, flags);
  struct exec_env env;
  char abs[PM_PATH_MAX];
  ENTER();
  if (resolve_at(dirfd, path, abs) == 0) record_exec_target(abs);
  char *const *e = traced_env(envp, &env);
  finish_thread_log();
  LEAVE();
  int r = REAL(execveat)(dirfd, path, argv, e, flags);
  int err = errno; free_env(&env); errno = err;
  return r;
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[]) {
  RESOLVE(fexecve);
  if (!g_enabled) return REAL(fexecve)(fd, argv, envp);
  struct exec_env env;
  char abs[PM_PATH_MAX];
  ENTER();
  if (fd_path(fd, abs) == 0) record_exec_target(abs);
  char *const *e = traced_env(envp, &env);
  finish_thread_log();
  LEAVE();
  int r = REAL(fexecve)(fd, argv, e);
  int err = errno; free_env(&env); errno = err;
  return r;
}

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                       const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
  RESOLVE(posix_spawn);
  if (!g_enabled) return REAL(posix_spawn)(pid, path, fa, attr, argv, envp);
  struct exec_env env;
  ENTER();
  record_exec_target(path);
  char *const *e = traced_env(envp, &env);
  LEAVE();
  int r = REAL(posix_spawn)(pid, path, fa, attr, argv, e);
  free_env(&env);
  if (is_absent_errno(r)) { int err = errno; ENTER(); record_at('A', "-", AT_FDCWD, path); LEAVE(); errno = err; }
  return r;
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                        const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
  RESOLVE(posix_spawnp);
  if (!g_enabled) return REAL(posix_spawnp)(pid, file, fa, attr, argv, envp);
  struct exec_env env;
  char found[PM_PATH_MAX];
  ENTER();
  if (search_path(file, found) == 0) record_exec_target(found);
  char *const *e = traced_env(envp, &env);
  LEAVE();
  int r = REAL(posix_spawnp)(pid, file, fa, attr, argv, e);
  free_env(&env);
  return r;
}

/* The child opens these files inside libc: record them when they are registered. */
EXPORT int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *fa, int fd, const char *path, int flags, mode_t mode) {
  RESOLVE(posix_spawn_file_actions_addopen);
  int r = REAL(posix_spawn_file_actions_addopen)(fa, fd, path, flags, mode);
  AFTER(r == 0, record_open(AT_FDCWD, path, flags, NO_FD, 0));
  return r;
}

/* system and popen start /bin/sh inside libc, with `environ`, where no exec wrapper sees it: a
 * program that dropped LD_PRELOAD from its environment would run the shell untraced. Lend them
 * a traced environment for the call. (Another thread's setenv meanwhile keeps pointers into it:
 * then it is not given back.) */
static char **lend_traced_environ(struct exec_env *env) {
  char **saved = environ;
  ENTER();
  char *const *e = traced_env(environ, env);
  LEAVE();
  environ = (char **)e;
  return saved;
}

static void give_back_environ(char **saved, struct exec_env *env) {
  if (!env->mem) return;   /* the environment was traced already: nothing lent */
  if (environ == env->envp) { environ = saved; free_env(env); }
}

EXPORT int system(const char *cmd) {
  RESOLVE(system);
  if (!g_enabled || !cmd) return REAL(system)(cmd);
  struct exec_env env;
  char **saved = lend_traced_environ(&env);
  int r = REAL(system)(cmd);
  int e = errno; give_back_environ(saved, &env); errno = e;
  return r;
}

EXPORT FILE *popen(const char *cmd, const char *mode) {
  RESOLVE(popen);
  if (!g_enabled) return REAL(popen)(cmd, mode);
  struct exec_env env;
  char **saved = lend_traced_environ(&env);
  FILE *f = REAL(popen)(cmd, mode);
  int e = errno; give_back_environ(saved, &env); errno = e;
  return f;
}

/* vfork is not wrapped (PROBE turns it into fork; measured here, that doubled the cost of every
 * command a shell starts, as dash uses vfork). A vfork child shares our state with its parent,
 * which is suspended until the child execs or exits: records the child writes land in the
 * parent's log window, in order, and the exec'd program starts a log of its own. Scratch memory
 * for exec environments is mmap'ed, never the program's malloc. */

EXPORT void *dlopen(const char *file, int mode) {
  RESOLVE(dlopen);
  void *h = REAL(dlopen)(file, mode);
  if (ACTIVE()) {
    int e = errno; ENTER();
    if (h) dl_iterate_phdr(record_loaded_object, NULL);
    else if (file && strchr(file, '/')) record_at('A', "-", AT_FDCWD, file);
    LEAVE(); errno = e;
  }
  return h;
}

/* ---------------------------------------------------------------- start-up */

static void after_fork_child(void) {
  if (!g_enabled) return;
  /* the inherited mapping belongs to the parent's log: drop it without writing */
  if (t_log.window) munmap(t_log.window, t_log.window_size);
  memset(&t_log, 0, sizeof t_log);
  /* the child's log is created by its first record: a fork that only execs costs nothing */
}

static void copy_env_entry(char *dst, size_t cap, const char *name, const char *value) {
  size_t nl = strlen(name), vl = strlen(value);
  if (nl + 1 + vl + 1 > cap) { dst[0] = 0; return; }
  memcpy(dst, name, nl); dst[nl] = '='; memcpy(dst + nl + 1, value, vl + 1);
}

__attribute__((constructor)) static void provmake_init(void) {
  const char *dir = getenv("PROVMAKE_LOG_DIR");
  if (!dir || dir[0] != '/' || strlen(dir) >= PM_PATH_MAX - 80) return;
  strcpy(g_log_dir, dir);
  g_log_dir_len = strlen(g_log_dir);
  while (g_log_dir_len > 1 && g_log_dir[g_log_dir_len - 1] == '/') g_log_dir[--g_log_dir_len] = 0;

  Dl_info self;
  if (dladdr((void *)provmake_init, &self) && self.dli_fname) {
    strncpy(g_self_path, self.dli_fname, sizeof g_self_path - 1);
  }
  const char *preload = getenv("LD_PRELOAD");
  copy_env_entry(g_env_preload, sizeof g_env_preload, "LD_PRELOAD", preload && strstr(preload, g_self_path) ? preload : g_self_path);
  copy_env_entry(g_env_logdir, sizeof g_env_logdir, "PROVMAKE_LOG_DIR", g_log_dir);
  long page = sysconf(_SC_PAGESIZE);
  if (page > 0) g_page = (size_t)page;
  const char *max = getenv("PROVMAKE_LOG_MAX");
  if (max && *max) {
    g_log_max = strtoull(max, NULL, 10);
    copy_env_entry(g_env_logmax, sizeof g_env_logmax, "PROVMAKE_LOG_MAX", max);
  }

  refresh_cwd();
  g_enabled = 1;

  ENTER();
  char ppid[24];
  fmt_u64(ppid, (uint64_t)syscall(SYS_getppid))[0] = 0;
  char exe[PM_PATH_MAX];
  long n = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = 0;
  write_record('P', ppid, exe, NULL, 0);
  if (exe[0] == '/') write_record('X', "p", exe, NULL, 1);
  /* The name it was started by (a symlink such as /bin/sh, or the script for #! programs). */
  const char *execfn = (const char *)getauxval(AT_EXECFN);
  if (execfn) record_at('X', "p", AT_FDCWD, execfn);
  dl_iterate_phdr(record_loaded_object, NULL);
  LEAVE();
  pthread_atfork(NULL, NULL, after_fork_child);
  /* keys past the first block (32) make pthread_setspecific allocate: then do without */
  if (pthread_key_create(&g_exit_key, thread_exit) == 0) {
    if (g_exit_key < 32) g_exit_key_ok = 1;
    else pthread_key_delete(g_exit_key);
  }
}

/* exit() and the end of main: the main thread's log gives back its reserved space too
 * (each exec does the same before the program image goes). */
__attribute__((destructor)) static void provmake_fini(void) {
  if (!g_enabled) return;
  int e = errno;
  ENTER(); finish_thread_log(); LEAVE();
  errno = e;
}
