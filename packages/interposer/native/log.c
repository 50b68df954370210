/*
 * log.c: the writer of a step's shared trace log (log.h). Raw system calls only.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <time.h>
#include "log.h"
#include "raw-syscall.h"

#define WINDOW_FIRST (16u * 1024)        /* most processes write a few hundred bytes */
#define WINDOW_MAX (8u * 1024 * 1024)
#define ALLOCATE_AHEAD (64u * 1024)      /* fallocate for the next few short processes too */

static const char *g_path;
/* Mapped once per process image (a fork child inherits it), shared by its threads. */
static struct pm_log_header *g_header;

void pm_log_init(const char *log_path) { g_path = log_path; }

/* mmap offsets are multiples of the page size (AT_PAGESZ: no system call) */
static size_t page_size(void) {
  static size_t page;
  if (!page) page = getauxval(AT_PAGESZ) ? getauxval(AT_PAGESZ) : 4096;
  return page;
}

static uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) & ~(to - 1); }

static void *map_shared(size_t size, long fd, uint64_t offset, int populate) {
  long p = pm_sys(SYS_mmap, NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, offset);
  return pm_failed(p) ? NULL : (void *)p;
}

/* The log, opened for a growth (never kept open: the program owns its descriptor table, and a
 * number it reuses, `exec 3>out`, would make us write into its file), with its header mapped. */
static long open_log(void) {
  if (!g_path) return -1;
  long fd = pm_sys(SYS_openat, AT_FDCWD, g_path, O_RDWR | O_CLOEXEC, 0);
  if (pm_failed(fd) || __atomic_load_n(&g_header, __ATOMIC_ACQUIRE)) return fd;
  struct pm_log_header *h = map_shared(PM_LOG_HEADER_SIZE, fd, 0, 0);
  if (!h) return fd;
  if (h->magic != PM_LOG_MAGIC) {   /* not a log the launcher made */
    pm_sys(SYS_munmap, h, PM_LOG_HEADER_SIZE);
    return fd;
  }
  struct pm_log_header *none = NULL;
  if (__atomic_compare_exchange_n(&g_header, &none, h, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    __atomic_fetch_add(&h->processes, 1, __ATOMIC_RELAXED);
  else
    pm_sys(SYS_munmap, h, PM_LOG_HEADER_SIZE);   /* another thread mapped it first */
  return fd;
}

struct pm_log_header *pm_log_header(void) {
  if (!__atomic_load_n(&g_header, __ATOMIC_ACQUIRE)) {
    long fd = open_log();
    if (!pm_failed(fd)) pm_sys(SYS_close, fd);
  }
  return __atomic_load_n(&g_header, __ATOMIC_ACQUIRE);
}

void pm_log_lost(void) {
  struct pm_log_header *h = pm_log_header();
  if (h) __atomic_fetch_add(&h->lost, 1, __ATOMIC_RELAXED);
}

void *pm_log_shared(void) {
  char *h = (char *)__atomic_load_n(&g_header, __ATOMIC_ACQUIRE);
  return h ? h + PM_LOG_SHARED_OFFSET : NULL;
}

/* Reserve [*start, *start + *size) after `next`; within the cap, at least `need` bytes. */
static int reserve(struct pm_log_header *h, uint64_t need, uint64_t *start, uint64_t *size) {
  uint64_t cur = __atomic_load_n(&h->next, __ATOMIC_RELAXED);
  for (;;) {
    uint64_t at = round_up(cur, page_size()), n = *size;
    if (h->cap && at + n > h->cap) {   /* a capped log fills up to the cap */
      n = h->cap > at ? (h->cap - at) & ~(uint64_t)(page_size() - 1) : 0;
      if (n < need) return -1;
    }
    if (__atomic_compare_exchange_n(&h->next, &cur, at + n, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
      *start = at;
      *size = n;
      return 0;
    }
  }
}

/* Back [start, end) with real space, so that writing to the mapping cannot fail later. The file is
 * allocated without holes up to `allocated`, a little ahead, so that short processes one after
 * another rarely need a system call for it. */
static int allocate(struct pm_log_header *h, long fd, uint64_t start, uint64_t end) {
  uint64_t done = __atomic_load_n(&h->allocated, __ATOMIC_ACQUIRE);
  if (end <= done) return 0;
  uint64_t upto = end + ALLOCATE_AHEAD;
  if (h->cap && upto > h->cap) upto = end;
  long rc = pm_sys(SYS_fallocate, fd, 0, done, upto - done);
  if (rc == -EOPNOTSUPP) {
    /* a file system without fallocate (some network ones): extend it without a reservation */
    char zero = 0;
    rc = pm_sys(SYS_pwrite64, fd, &zero, 1, upto - 1) == 1 ? 0 : -1;
  } else if (rc != 0) {
    upto = end;   /* no room ahead (a nearly full disk): just the window */
    rc = pm_sys(SYS_fallocate, fd, 0, start, end - start);
    if (rc == 0) return 0;
  }
  if (rc != 0) return -1;
  while (done < upto && !__atomic_compare_exchange_n(&h->allocated, &done, upto, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {}
  return 0;
}

/* Unmap the window; its unused pages go back when it is still the last one. */
static void finish(struct pm_log_writer *w) {
  uint64_t kept = round_up(w->used, page_size());
  struct pm_log_header *h = __atomic_load_n(&g_header, __ATOMIC_ACQUIRE);
  if (h && kept < w->size) {
    /* The header says the smaller size first: a kill before the exchange leaves zero pages that
     * the reader steps over. */
    struct pm_window *head = (struct pm_window *)w->window;
    uint64_t end = w->offset + w->size;
    head->size = (uint32_t)kept;
    if (!__atomic_compare_exchange_n(&h->next, &end, w->offset + kept, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
      head->size = w->size;
  }
  pm_sys(SYS_munmap, w->window, w->size);
  w->window = NULL;
  w->size = w->used = 0;
}

/* A new window able to hold `need` more bytes. -1: the record is lost, and so are the writer's
 * next ones (a full disk or the cap: trying again would cost system calls per record). */
static int grow(struct pm_log_writer *w, size_t need) {
  int again = w->size != 0;   /* not this writer's first window */
  uint64_t size = again ? (uint64_t)w->size * 2 : WINDOW_FIRST;
  if (size > WINDOW_MAX) size = WINDOW_MAX;
  uint64_t least = round_up(need + sizeof(struct pm_window), page_size());
  if (size < least) size = least;
  if (w->window) finish(w);
  long fd = open_log();
  if (pm_failed(fd)) return -1;
  struct pm_log_header *h = __atomic_load_n(&g_header, __ATOMIC_ACQUIRE);
  uint64_t start = 0;
  char *window = NULL;
  if (h && reserve(h, least, &start, &size) == 0 && allocate(h, fd, start, start + size) == 0)
    /* a writer that filled its first window writes on: its next ones are mapped in one go, which
     * costs a fraction of a page fault per page (a fault per page was half of a stat's cost) */
    window = map_shared(size, fd, start, again);
  pm_sys(SYS_close, fd);
  if (!window) { w->broken = 1; return -1; }
  if (!w->pid) w->pid = (uint32_t)pm_sys(SYS_getpid);
  struct pm_window *head = (struct pm_window *)window;
  head->size = (uint32_t)size;
  head->pid = w->pid;
  /* last: a reader that follows the log (pm-collect) takes the window as set up once it sees it */
  __atomic_store_n(&head->magic, PM_WINDOW_MAGIC, __ATOMIC_RELEASE);
  w->window = window;
  w->size = (uint32_t)size;
  w->used = sizeof(struct pm_window);
  w->offset = start;
  return 0;
}

void pm_log_finish(struct pm_log_writer *w) {
  if (!w->window || w->busy) return;
  w->busy = 1;   /* a signal handler must not write into the window as it goes */
  finish(w);
  w->busy = 0;
}

void pm_log_forget(struct pm_log_writer *w) {
  if (w->window) pm_sys(SYS_munmap, w->window, w->size);
  memset(w, 0, sizeof *w);
}

char *pm_fmt_u64(char *p, uint64_t v) {
  char tmp[24];
  int n = 0;
  do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n) *p++ = tmp[--n];
  return p;
}

/* Event order across every process and thread of the trace: the monotonic clock (vDSO, no system
 * call). One writer's records also keep their order in its windows, even at equal times. */
static uint64_t event_time(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* s with \\, tab and newline escaped; runs without them are copied whole (paths rarely hold any). */
static char *put_escaped(char *p, const char *s) {
  for (;;) {
    size_t run = strcspn(s, "\\\t\n");
    memcpy(p, s, run);
    p += run;
    s += run;
    if (!*s) return p;
    *p++ = '\\';
    *p++ = *s == '\t' ? 't' : *s == '\n' ? 'n' : '\\';
    s++;
  }
}

void pm_log_write(struct pm_log_writer *w, char kind, const char *arg, const char *path, const char *path2) {
  if (w->busy) { pm_log_lost(); return; }   /* re-entered from a signal handler */
  w->busy = 1;
  size_t need = 64 + strlen(arg) + 2 * strlen(path) + (path2 ? 2 * strlen(path2) + 2 : 0);
  if ((!w->window || w->size - w->used < need) && (w->broken || grow(w, need) != 0)) {
    w->busy = 0;
    pm_log_lost();
    return;
  }
  char *start = w->window + w->used, *p = start;
  *p++ = kind; *p++ = '\t';
  p = pm_fmt_u64(p, event_time());
  *p++ = '\t';
  for (const char *a = arg; *a; a++) *p++ = *a;
  *p++ = '\t';
  p = put_escaped(p, path);
  if (path2) { *p++ = '\t'; p = put_escaped(p, path2); }
  /* last: a reader that follows the log takes everything before a newline as written */
  __atomic_store_n(p++, '\n', __ATOMIC_RELEASE);
  w->used += (uint32_t)(p - start);
  w->busy = 0;
}
