/*
 * collect-log.c: following a step's trace log (log.h) while its writers append to it, and parsing
 * its records (record.h) into events. The same reading as src/logs.ts: windows walked from the
 * header's end to `next`, each read up to its first NUL, whole lines only.
 *
 * A writer publishes a window's header with its magic last and each record with its newline last
 * (release stores, log.c), so a newline seen here means the whole record before it is there. A
 * window keeps its position once it has a header, so the windows seen so far are kept in order of
 * position with how much of each was parsed; every scan walks the windows from the start again
 * (a window being set up is seen by a later scan; a window that gave pages back is shorter).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "collect.h"
#include "log.h"
#include "record.h"

#define PAGE 4096u   /* windows start at page boundaries; the smallest page is 4 KiB */

static const char KINDS[] = { PM_READ, PM_WRITE, PM_ABSENT, PM_STAT, PM_LISTED, PM_EXECUTED, PM_UNTRACED,
                              PM_RENAMED, PM_REMOVED, PM_PROCESS, PM_LOOKED_UP, 0 };

int follower_open(struct pm_follower *f, const char *log_path) {
  memset(f, 0, sizeof *f);
  f->fd = open(log_path, O_RDONLY | O_CLOEXEC);
  if (f->fd < 0) return -1;
  uint64_t magic = 0;
  if (pread(f->fd, &magic, sizeof magic, 0) != (ssize_t)sizeof magic || magic != PM_LOG_MAGIC) {
    close(f->fd);
    errno = EINVAL;
    return -1;
  }
  return 0;
}

/* Maps the log as far as it goes now (it only grows). */
static int remap(struct pm_follower *f) {
  struct stat st;
  if (fstat(f->fd, &st) != 0) return -1;
  size_t size = (size_t)st.st_size;
  if (size <= f->mapped) return 0;
  void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, f->fd, 0);
  if (p == MAP_FAILED) return -1;
  if (f->map) munmap((void *)f->map, f->mapped);
  f->map = p;
  f->mapped = size;
  return 0;
}

/* A field's text with record.h's escapes (\\ \t \n) undone, in a buffer of the follower's. */
static const char *unescape(const char *s, size_t n, size_t *out_n) {
  static char *buf;
  static size_t room;
  if (!memchr(s, '\\', n)) { *out_n = n; return s; }
  if (n > room) { room = n * 2; buf = pm_grow(buf, room); }
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '\\' && i + 1 < n) { c = s[++i]; c = c == 'n' ? '\n' : c == 't' ? '\t' : c; }
    buf[o++] = c;
  }
  *out_n = o;
  return buf;
}

/* One line (without its newline): KIND \t TIME \t ARG \t PATH [\t PATH2]. 0, or -1: not a record. */
static int parse_line(const char *s, const char *end, uint32_t pid, struct pm_paths *paths, struct pm_events *events) {
  const char *field[5];
  size_t len[5];
  int n = 0;
  for (const char *p = s;;) {
    const char *tab = memchr(p, '\t', (size_t)(end - p));
    const char *stop = tab ? tab : end;
    if (n < 5) { field[n] = p; len[n] = (size_t)(stop - p); }
    n++;
    if (!tab) break;
    p = tab + 1;
  }
  if (n < 4 || n > 5 || len[0] != 1 || !field[0][0] || !strchr(KINDS, field[0][0]) || len[1] == 0) return -1;
  struct pm_event ev = { .kind = (uint8_t)field[0][0], .pid = pid, .path2 = PM_NONE };
  for (size_t i = 0; i < len[1]; i++) {
    if (field[1][i] < '0' || field[1][i] > '9') return -1;
    ev.time = ev.time * 10 + (uint64_t)(field[1][i] - '0');
  }
  int arg = events_arg(events, field[2], len[2]);
  if (arg < 0) return -1;
  ev.arg = (uint8_t)arg;
  size_t plen;
  const char *path = unescape(field[3], len[3], &plen);
  ev.path = paths_intern(paths, path, plen);
  if (n >= 5) {
    path = unescape(field[4], len[4], &plen);
    ev.path2 = paths_intern(paths, path, plen);
  }
  events_add(events, &ev);
  return 0;
}

/* Parses the whole records committed in [from, limit) of a window; returns the bytes consumed. A
 * record still without its newline is counted in f->cut_short. */
static size_t parse_window(struct pm_follower *f, const char *from, const char *limit, uint32_t pid, size_t *records,
                           struct pm_paths *paths, struct pm_events *events) {
  const char *nul = memchr(from, 0, (size_t)(limit - from));
  const char *stop = nul ? nul : limit;
  const char *last = stop > from ? memrchr(from, '\n', (size_t)(stop - from)) : NULL;
  if ((last ? last + 1 : from) < stop) f->cut_short++;
  if (!last) return 0;
  __atomic_thread_fence(__ATOMIC_ACQUIRE);   /* the records before a newline seen are there */
  for (const char *p = from; p <= last;) {
    const char *nl = memchr(p, '\n', (size_t)(last + 1 - p));
    if (nl > p) {
      if (parse_line(p, nl, pid, paths, events) == 0) (*records)++;
      else f->malformed++;
    }
    p = nl + 1;
  }
  return (size_t)(last + 1 - from);
}

/* The entry for the window at `pos`, added in order when first seen (at `*k` or after). */
static struct pm_window_seen *window_at(struct pm_follower *f, size_t *k, uint64_t pos) {
  while (*k < f->count && f->windows[*k].pos < pos) (*k)++;
  if (*k < f->count && f->windows[*k].pos == pos) return &f->windows[*k];
  if (f->count == f->room) {
    f->room = f->room ? f->room * 2 : 256;
    f->windows = pm_grow(f->windows, f->room * sizeof *f->windows);
  }
  memmove(&f->windows[*k + 1], &f->windows[*k], (f->count - *k) * sizeof *f->windows);
  f->count++;
  f->windows[*k] = (struct pm_window_seen){ .pos = pos, .parsed = 0 };
  return &f->windows[*k];
}

size_t follower_scan(struct pm_follower *f, struct pm_paths *paths, struct pm_events *events) {
  if (remap(f) != 0 || f->mapped < PM_LOG_HEADER_SIZE) return 0;
  const struct pm_log_header *h = (const void *)f->map;
  f->lost = __atomic_load_n(&h->lost, __ATOMIC_RELAXED);
  f->processes = __atomic_load_n(&h->processes, __ATOMIC_RELAXED);
  f->supervisors = __atomic_load_n(&h->supervisors, __ATOMIC_RELAXED);
  f->finished = __atomic_load_n(&h->finished, __ATOMIC_RELAXED);
  uint64_t end = __atomic_load_n(&h->next, __ATOMIC_ACQUIRE);
  if (end > f->mapped) end = f->mapped;
  size_t records = 0, k = 0;
  f->cut_short = 0;
  for (uint64_t pos = PM_LOG_HEADER_SIZE; pos + sizeof(struct pm_window) <= end;) {
    const struct pm_window *w = (const void *)(f->map + pos);
    uint32_t magic = __atomic_load_n(&w->magic, __ATOMIC_ACQUIRE);
    uint32_t size = __atomic_load_n(&w->size, __ATOMIC_RELAXED);
    if (magic != PM_WINDOW_MAGIC || size < PAGE || size % PAGE != 0) {
      /* being set up (the next scan walks here again), or a kill left it without its header:
       * step over it, as src/logs.ts does */
      pos += PAGE;
      continue;
    }
    struct pm_window_seen *seen = window_at(f, &k, pos);
    uint64_t limit = pos + size < end ? pos + size : end;
    const char *from = f->map + pos + sizeof(struct pm_window) + seen->parsed;
    if (from < f->map + limit)
      seen->parsed += (uint32_t)parse_window(f, from, f->map + limit, w->pid, &records, paths, events);
    pos += size;
  }
  return records;
}
