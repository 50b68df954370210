/*
 * record.c: from an event to a record: absolute paths, what is never recorded, and one record per
 * (kind, path) and process.
 */
#include <string.h>
#include <sys/mman.h>
#include "interposer.h"

/* ---------------------------------------------------------------- records */

/* A process records each (kind, path) once: builds stat and open the same headers many times.
 * Lock-free open addressing over 64-bit hashes; when it fills up, records are simply kept. A
 * lookup usually misses the CPU's caches (~100-300 ns here); a small cache of recent records
 * stalled less but wrote 5x the records on Node's stat loop, which the launcher then reads: the
 * user waited longer.
 * Changes (W, M, K) are always kept: between two writes of a name, this or another process
 * may have removed it (`echo a > f; rm f; echo b > f`), and the last one must be seen. */
#define SEEN_SLOTS (1u << 16)
static uint64_t *g_seen;   /* mapped when a process starts de-duplicating */
static uint32_t g_seen_count;

/* Records a process writes before it starts de-duplicating: a short-lived process gains nothing
 * from the table, and each record would touch (page-fault) a random page of it. */
#define DEDUP_AFTER 64
static uint32_t g_records;

/* Eight bytes at a time (a byte at a time cost 5% of a Node stat loop): a word mixed in
 * murmur3's way, the length and a final avalanche, so that no two records in a process collide
 * but by a 2^-64 chance (a collision would drop a record). */
static uint64_t mix(uint64_t h, uint64_t v) {
  v *= 0x87c37b91114253d5ull;
  v = (v << 31) | (v >> 33);
  v *= 0x4cf5ad432745937full;
  h ^= v;
  return ((h << 27) | (h >> 37)) * 5 + 0x52dce729;
}

static uint64_t hash_text(uint64_t h, const char *s) {
  size_t n = strlen(s), i = 0;
  uint64_t v;
  for (; i + 8 <= n; i += 8) { memcpy(&v, s + i, 8); h = mix(h, v); }
  v = 0;
  memcpy(&v, s + i, n - i);
  return mix(h, v ^ ((uint64_t)n << 56));
}

static uint64_t hash_record(char kind, const char *arg, const char *path) {
  uint64_t h = hash_text(hash_text((unsigned char)kind, arg), path);
  h ^= h >> 33; h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h | 1;   /* 0 marks an empty slot */
}

/* The table, mapped by the first thread that needs it; NULL when there is no memory. */
static uint64_t *seen_table(void) {
  uint64_t *t = __atomic_load_n(&g_seen, __ATOMIC_ACQUIRE);
  if (t) return t;
  size_t size = SEEN_SLOTS * sizeof(uint64_t);
  long p = pm_sys(SYS_mmap, NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (pm_failed(p)) return NULL;
  if (__atomic_compare_exchange_n(&g_seen, &t, (uint64_t *)p, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return (uint64_t *)p;
  pm_sys(SYS_munmap, p, size);   /* another thread mapped it first */
  return t;
}

/* True when the record was seen before in this process. */
static int seen_before(uint64_t h) {
  if (__atomic_load_n(&g_records, __ATOMIC_RELAXED) < DEDUP_AFTER) {
    __atomic_fetch_add(&g_records, 1, __ATOMIC_RELAXED);
    return 0;
  }
  uint64_t *seen = seen_table();
  if (!seen || __atomic_load_n(&g_seen_count, __ATOMIC_RELAXED) > SEEN_SLOTS / 2) return 0;
  uint32_t i = (uint32_t)(h ^ (h >> 32)) & (SEEN_SLOTS - 1);
  for (;;) {
    uint64_t cur = __atomic_load_n(&seen[i], __ATOMIC_RELAXED);
    if (cur == h) return 1;
    if (cur == 0) {
      uint64_t expected = 0;
      if (__atomic_compare_exchange_n(&seen[i], &expected, h, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        __atomic_fetch_add(&g_seen_count, 1, __ATOMIC_RELAXED);
        return 0;
      }
      if (expected == h) return 1;
    }
    i = (i + 1) & (SEEN_SLOTS - 1);
  }
}

void write_record(char kind, const char *arg, const char *path, const char *path2, int dedup) {
  if (dedup && seen_before(hash_record(kind, arg, path))) return;
  log_record(kind, arg, path, path2);
}

/* Changes are never de-duplicated (see SEEN_SLOTS). */
static int is_change(char kind) { return kind == PM_WRITE || kind == PM_RENAMED || kind == PM_REMOVED; }

void record_at(char kind, const char *arg, int dirfd, const char *path) {
  char abs[PM_PATH_MAX];
  if (resolve_at(dirfd, path, abs) != 0 || is_ignored(abs)) return;
  write_record(kind, arg, abs, NULL, !is_change(kind));
}

void record_fd(char kind, const char *arg, int fd) {
  char abs[PM_PATH_MAX];
  if (fd_path(fd, abs) != 0 || is_ignored(abs)) return;
  write_record(kind, arg, abs, NULL, !is_change(kind));
}

void record_absent(int err, int dirfd, const char *path) {
  if (is_absent_errno(err)) record_at(PM_ABSENT, PM_ARG_NONE, dirfd, path);
}

void record_lookup(int ok, int err, char kind, const char *arg, int dirfd, const char *path) {
  if (ok) record_at(kind, arg, dirfd, path);
  else record_absent(err, dirfd, path);
}
