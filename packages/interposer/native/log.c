/*
 * log.c: per-thread memory-mapped logs (<log folder>/<pid>.<tid>.<unique>.log) and the shared
 * status page (<log folder>/status) that counts lost records.
 */
#include <pthread.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <time.h>
#include "interposer.h"
#include "log.h"

struct status_page {          /* <logdir>/status, created zeroed by the launcher, shared by all */
  uint64_t reserved;
  uint64_t lost;              /* records that could not be written */
  uint64_t processes;         /* not counted (yet): read as 0 */
};

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
};

/* No descriptor is kept open between growths: the program owns its descriptor table (a shell's
 * `exec 3>out` dup2s over fd 3, a daemon closes every fd), and a reused number would make us
 * extend and map the program's own file. */
static __thread struct thread_log t_log __attribute__((tls_model("initial-exec")));
static pthread_key_t g_exit_key;   /* its destructor unmaps an exiting thread's window */
static int g_exit_key_ok;
static struct status_page *g_status;

/* mmap offsets are multiples of the page size (AT_PAGESZ: no system call) */
static size_t page_size(void) {
  static size_t page;
  if (!page) page = getauxval(AT_PAGESZ) ? getauxval(AT_PAGESZ) : 4096;
  return page;
}
#define WINDOW_FIRST (16u * 1024)   /* most processes write a few hundred bytes */
#define WINDOW_MAX (8u * 1024 * 1024)

char *fmt_u64(char *p, uint64_t v) {
  char tmp[24];
  int n = 0;
  do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n) *p++ = tmp[--n];
  return p;
}

static void *map_shared(size_t size, long fd, size_t offset) {
  long p = pm_sys(SYS_mmap, NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
  return pm_failed(p) ? NULL : (void *)p;
}

/* The status page is mapped only when there is a loss to count: a process that loses nothing
 * (nearly all) saves an open, an mmap, a close and a page fault. Raw system calls: this also runs
 * in signal handlers. */
static void map_status(void) {
  char status_path[PM_PATH_MAX];
  memcpy(status_path, g_log_dir, g_log_dir_len);
  memcpy(status_path + g_log_dir_len, "/status", 8);
  long fd = pm_sys(SYS_openat, AT_FDCWD, status_path, O_RDWR | O_CLOEXEC, 0);
  if (pm_failed(fd)) return;
  struct status_page *p = map_shared(page_size(), fd, 0);
  if (p) {
    struct status_page *expected = NULL;
    if (!__atomic_compare_exchange_n(&g_status, &expected, p, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      pm_sys(SYS_munmap, p, page_size());   /* another thread mapped it first */
  }
  pm_sys(SYS_close, fd);
}

void log_note_lost(void) {
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
    size = g_log_max > next_offset ? (g_log_max - next_offset) & ~(page_size() - 1) : 0;
    if (size < need) return -1;
  }
  if (t_log.window) {
    /* pad the unused tail with newlines: the reader skips empty lines and stops at NUL */
    memset(t_log.window + t_log.window_used, '\n', t_log.window_size - t_log.window_used);
    pm_sys(SYS_munmap, t_log.window, t_log.window_size);
    t_log.window = NULL;
  }
  int flags = O_RDWR | O_CLOEXEC;
  if (!t_log.opened) {
    t_log.pid = (uint32_t)pm_sys(SYS_getpid);
    t_log.tid = (uint32_t)pm_sys(SYS_gettid);
    t_log.unique = event_time();
    flags |= O_CREAT | O_EXCL;
  }
  char name[PM_PATH_MAX + 80];
  thread_log_name(name);
  long fd = pm_sys(SYS_openat, AT_FDCWD, name, flags, 0644);
  if (pm_failed(fd)) return -1;
  /* the program's umask (`umask 777`) must not make the log unreadable, or unopenable to grow */
  if (!t_log.opened) pm_sys(SYS_fchmod, fd, 0644);
  t_log.opened = 1;
  void *w = NULL;
  long rc = pm_sys(SYS_fallocate, fd, 0, next_offset, size);
  if (rc == -EOPNOTSUPP) rc = pm_sys(SYS_ftruncate, fd, next_offset + size);
  if (rc == 0) w = map_shared(size, fd, next_offset);
  pm_sys(SYS_close, fd);
  if (!w) return -1;
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
void log_finish_thread(void) {
  if (!t_log.window || t_log.busy) return;
  t_log.busy = 1;   /* a signal handler must not write into the window as it goes */
  size_t kept = (t_log.window_used + page_size() - 1) & ~(page_size() - 1);
  memset(t_log.window + t_log.window_used, '\n', kept - t_log.window_used);
  size_t end = t_log.file_offset + kept;
  pm_sys(SYS_munmap, t_log.window, t_log.window_size);
  t_log.window = NULL;
  t_log.window_size = 0;
  t_log.window_used = 0;
  t_log.file_offset = end;
  t_log.busy = 0;
}

void log_forget_thread(void) {
  if (t_log.window) pm_sys(SYS_munmap, t_log.window, t_log.window_size);
  memset(&t_log, 0, sizeof t_log);
}

static void thread_exit(void *unused) {
  (void)unused;
  log_finish_thread();
}

void log_watch_thread_exits(void) {
  /* keys past the first block (32) make pthread_setspecific allocate: then do without */
  if (pthread_key_create(&g_exit_key, thread_exit) == 0) {
    if (g_exit_key < 32) g_exit_key_ok = 1;
    else pthread_key_delete(g_exit_key);
  }
}

/* Space for `need` bytes in this thread's log; NULL when the record must be dropped. */
static char *reserve(size_t need) {
  if (t_log.broken) { log_note_lost(); return NULL; }
  if (!t_log.window || t_log.window_size - t_log.window_used < need) {
    if (grow_thread_log(need) != 0) { t_log.broken = 1; log_note_lost(); return NULL; }
  }
  return t_log.window + t_log.window_used;
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

void log_record(char kind, const char *arg, const char *path, const char *path2) {
  if (t_log.busy) { log_note_lost(); return; }   /* re-entered from a signal handler */
  t_log.busy = 1;
  size_t need = 64 + strlen(arg) + 2 * strlen(path) + (path2 ? 2 * strlen(path2) + 2 : 0);
  char *start = reserve(need);
  if (start) {
    char *p = start;
    *p++ = kind; *p++ = '\t';
    p = fmt_u64(p, event_time());
    *p++ = '\t';
    for (const char *a = arg; *a; a++) *p++ = *a;
    *p++ = '\t';
    p = put_escaped(p, path);
    if (path2) { *p++ = '\t'; p = put_escaped(p, path2); }
    *p++ = '\n';
    t_log.window_used += (size_t)(p - start);
  }
  t_log.busy = 0;
}
