/*
 * collect.h: pm-collect, the reader of a big trace log (log.h). The launcher (src/collector.ts)
 * starts it beside a step whose log grows large, or on a finished log. It follows the log while
 * the step runs, so that parsing is done by the time the step ends; then it orders the records,
 * drops the repeats the reducer has no use for, looks at every path it will need on the disk (in
 * threads), and writes a summary (collect-summary.c) that src/summary.ts reads: each distinct path
 * once, the remaining records as numbers, and what lstat says of the paths. The reduction rules
 * stay in src/reduce.ts; this program knows the records' syntax (record.h), not what they mean,
 * but for the one invariant the launcher passes it: which kinds repeat for nothing.
 *
 *   collect-log.c      following the log's windows, parsing records into events
 *   collect-paths.c    paths interned: one id and one copy per distinct path
 *   collect-events.c   events in order, repeats dropped
 *   collect-disk.c     lstat of the paths (threads), their folders, real paths
 *   collect-summary.c  the summary file
 *   collect-main.c     arguments, the follow loop
 */
#ifndef PM_COLLECT_H
#define PM_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#define PM_NONE 0xffffffffu

/* ---------------------------------------------------------------- paths (collect-paths.c) */

struct pm_paths {
  char *bytes;            /* the strings, each NUL-terminated */
  size_t used, room;
  uint64_t *at;           /* id -> offset in bytes */
  uint32_t count, ids_room;
  uint32_t *slots;        /* open addressing: id + 1, 0 when empty */
  uint32_t slot_mask;
  uint64_t *hashes;       /* id -> hash */
};

/* The id of path[0..n) (no NUL inside), added when new. */
uint32_t paths_intern(struct pm_paths *t, const char *path, size_t n);
static inline const char *paths_get(const struct pm_paths *t, uint32_t id) { return t->bytes + t->at[id]; }
/* Puts the paths in byte order (the launcher then lists them without sorting) and returns each old
 * id's new one, or NULL when they were in order already. No path can be added after. */
uint32_t *paths_sort(struct pm_paths *t);

/* ---------------------------------------------------------------- events (collect-events.c) */

struct pm_event {
  uint64_t time;          /* the record's TIME: the monotonic clock of its writer */
  uint32_t path, path2;   /* path2: PM_NONE unless a rename */
  uint32_t pid;
  uint8_t kind;           /* record.h's letter */
  uint8_t arg;            /* index in the args table */
};

struct pm_events {
  struct pm_event *v;
  size_t count, room;
  char args[256][16];     /* distinct ARG strings (record.h: a few letters, or a reason) */
  unsigned args_count;
};

void events_add(struct pm_events *e, const struct pm_event *ev);
/* The index of an ARG string; an ARG too long or past the table's room is -1 (the record is dropped
 * and counted as malformed). */
int events_arg(struct pm_events *e, const char *arg, size_t n);
/* Sorts by time (stable), then drops repeats: a record of a kind in `repeatable` whose (kind, arg,
 * path) came before with no write or removal of that path and no rename in between. */
void events_finish(struct pm_events *e, uint32_t path_count, const char *repeatable);
/* Path ids renumbered: id -> rank[id]. */
void events_renumber(struct pm_events *e, const uint32_t *rank);

/* ---------------------------------------------------------------- the log (collect-log.c) */

struct pm_window_seen { uint64_t pos; uint32_t parsed; };

struct pm_follower {
  int fd;
  const char *map;        /* the log, mapped read-only up to `mapped` */
  size_t mapped;
  struct pm_window_seen *windows;   /* by position: windows only ever appear after the last */
  size_t count, room;
  uint64_t lost, processes, supervisors, finished;   /* the header's counters, at the last scan */
  uint64_t malformed;     /* lines that are not records */
  uint64_t cut_short;     /* windows whose last record has no newline yet, at the last scan (at the
                           * end: a writer killed while it wrote; the call it records was made) */
};

/* 0, or -1 with errno (ENOENT: no log; EINVAL: not a trace log). */
int follower_open(struct pm_follower *f, const char *log_path);
/* Parses what was committed since the last scan; returns how many records were new. */
size_t follower_scan(struct pm_follower *f, struct pm_paths *paths, struct pm_events *events);

/* ---------------------------------------------------------------- the disk (collect-disk.c) */

enum pm_kind { PM_KIND_UNKNOWN = 0, PM_KIND_MISSING, PM_KIND_FILE, PM_KIND_DIR, PM_KIND_SYMLINK, PM_KIND_OTHER };

struct pm_disk {
  uint8_t *kind;          /* id -> enum pm_kind; UNKNOWN when not looked at */
  uint32_t *parent;       /* id -> its folder's id (PM_NONE for /) */
  uint32_t *real;         /* id -> its fully resolved path's id, itself when it is one; PM_NONE: unknown */
  uint64_t *dev, *ino, *mode, *size, *mtime_ns, *ctime_ns;
  uint32_t count;
};

/* Looks at the paths that need it (those with an event other than a failed lookup or a listing),
 * their folders and real paths; interns the folders and real paths it finds. */
void disk_look(struct pm_disk *d, struct pm_paths *paths, const struct pm_events *events);
/* Path ids renumbered: id -> rank[id] (the arrays are put in the new order). */
void disk_renumber(struct pm_disk *d, const uint32_t *rank);

/* ---------------------------------------------------------------- output (collect-summary.c) */

int summary_write(const char *file, const struct pm_follower *f, const struct pm_paths *paths,
                  const struct pm_events *events, const struct pm_disk *disk);

/* malloc and realloc that end the program on failure (exit 3: the launcher reads the log itself) */
void *pm_alloc(size_t n);
void *pm_grow(void *p, size_t n);

#endif
