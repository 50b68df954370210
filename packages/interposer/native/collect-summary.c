/*
 * collect-summary.c: the summary pm-collect leaves for the launcher (src/summary.ts reads it).
 * Little-endian, every section at a multiple of 8 bytes, arrays indexed by path id or event:
 *
 *   header (struct below)
 *   path strings      each NUL-terminated, in id order, which is byte order
 *   ARG strings       args x 16 bytes, NUL-padded
 *   kind   u8[paths]  enum pm_kind          parent u32[paths]   real u32[paths] (PM_NONE: unknown)
 *   dev, ino, mode, size, mtime_ns, ctime_ns   u64[paths] each (what lstat said; 0 unless looked at)
 *   event kind u8[events], arg u8[events], pid u32[events], path u32[events], path2 u32[events]
 */
#include <stdio.h>
#include <string.h>
#include "collect.h"

#define PM_SUMMARY_MAGIC 0x314d55534d50ull   /* "PMSUM1" */

/* flags: how the path strings can be decoded and ordered (paths are always in byte order) */
#define PM_SUMMARY_ASCII 1u        /* every byte below 0x80: each byte is one character */

struct pm_summary_header {
  uint64_t magic;
  uint32_t paths, events, args, path_bytes;
  uint32_t flags, reserved;
  uint64_t lost, processes, supervisors, finished;   /* the log header's counters (log.h) */
  uint64_t malformed;                                  /* records that could not be read: lines that were not records, records cut short */
};

static int pad(FILE *out, size_t n) {
  static const char zeros[8];
  size_t k = (8 - n % 8) % 8;
  return k && fwrite(zeros, 1, k, out) != k ? -1 : 0;
}

static int put(FILE *out, const void *p, size_t n) {
  if (n && fwrite(p, 1, n, out) != n) return -1;
  return pad(out, n);
}

/* One field of every event (at `offset`, `size` bytes), as an array. */
static int put_events(FILE *out, const struct pm_events *e, size_t offset, size_t size) {
  char buf[4096];
  size_t at = 0;
  for (size_t i = 0; i < e->count; i++) {
    memcpy(buf + at, (const char *)&e->v[i] + offset, size);
    at += size;
    if ((at + size > sizeof buf || i + 1 == e->count) && fwrite(buf, 1, at, out) != at) return -1;
    if (at + size > sizeof buf) at = 0;
  }
  return pad(out, e->count * size);
}

int summary_write(const char *file, const struct pm_follower *f, const struct pm_paths *paths,
                  const struct pm_events *events, const struct pm_disk *disk) {
  FILE *out = fopen(file, "we");
  if (!out) return -1;
  static char buffer[1 << 16];
  setvbuf(out, buffer, _IOFBF, sizeof buffer);
  struct pm_summary_header h = {
    .magic = PM_SUMMARY_MAGIC, .paths = paths->count, .events = (uint32_t)events->count, .args = events->args_count,
    .path_bytes = (uint32_t)paths->used, .flags = PM_SUMMARY_ASCII, .lost = f->lost, .processes = f->processes, .supervisors = f->supervisors,
    .finished = f->finished, .malformed = f->malformed + f->cut_short,
  };
  for (size_t i = 0; i < paths->used; i++)
    if ((unsigned char)paths->bytes[i] >= 0x80) {
      h.flags &= ~PM_SUMMARY_ASCII;
      break;
    }
  size_t n = paths->count;
  int rc = put(out, &h, sizeof h) | put(out, paths->bytes, paths->used) | put(out, events->args, events->args_count * sizeof events->args[0]);
  rc |= put(out, disk->kind, n) | put(out, disk->parent, n * 4) | put(out, disk->real, n * 4);
  const uint64_t *fields[] = { disk->dev, disk->ino, disk->mode, disk->size, disk->mtime_ns, disk->ctime_ns };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) rc |= put(out, fields[i], n * 8);
  rc |= put_events(out, events, offsetof(struct pm_event, kind), 1) | put_events(out, events, offsetof(struct pm_event, arg), 1);
  rc |= put_events(out, events, offsetof(struct pm_event, pid), 4) | put_events(out, events, offsetof(struct pm_event, path), 4);
  rc |= put_events(out, events, offsetof(struct pm_event, path2), 4);
  return fclose(out) != 0 || rc ? -1 : 0;
}
