/*
 * collect-disk.c: what the disk says of a trace's paths after the step, for the reducer (kinds,
 * real paths) and the engine (versions: src/summary.ts hands them over as lstat results). Every
 * path is looked at once, by several threads when there are many (a system call costs about as
 * much as the open it follows). Paths only looked for (absent) or listed are left to whoever
 * needs them; folders are looked at so that real paths are known without a realpath() per file.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "collect.h"
#include "record.h"

#define THREADS_MAX 4
#define PER_THREAD_MIN 2048   /* fewer paths than this per thread: not worth a thread */

static void grow_to(struct pm_disk *d, uint32_t count) {
  if (count <= d->count) return;
  d->kind = pm_grow(d->kind, count);
  d->parent = pm_grow(d->parent, count * sizeof *d->parent);
  d->real = pm_grow(d->real, count * sizeof *d->real);
  uint64_t **fields[] = { &d->dev, &d->ino, &d->mode, &d->size, &d->mtime_ns, &d->ctime_ns };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) *fields[i] = pm_grow(*fields[i], count * sizeof(uint64_t));
  for (uint32_t id = d->count; id < count; id++) {
    d->kind[id] = PM_KIND_UNKNOWN;
    d->parent[id] = d->real[id] = PM_NONE;
    d->dev[id] = d->ino[id] = d->mode[id] = d->size[id] = d->mtime_ns[id] = d->ctime_ns[id] = 0;
  }
  d->count = count;
}

/* ---------------------------------------------------------------- lstat, in threads */

struct look_job { struct pm_disk *d; const struct pm_paths *paths; const uint32_t *ids; size_t from, to; };

static void look_at(struct pm_disk *d, const struct pm_paths *paths, uint32_t id) {
  struct stat st;
  if (lstat(paths_get(paths, id), &st) != 0) { d->kind[id] = PM_KIND_MISSING; return; }
  d->kind[id] = S_ISREG(st.st_mode) ? PM_KIND_FILE : S_ISDIR(st.st_mode) ? PM_KIND_DIR : S_ISLNK(st.st_mode) ? PM_KIND_SYMLINK : PM_KIND_OTHER;
  d->dev[id] = (uint64_t)st.st_dev;
  d->ino[id] = (uint64_t)st.st_ino;
  d->mode[id] = (uint64_t)st.st_mode;
  d->size[id] = (uint64_t)st.st_size;
  d->mtime_ns[id] = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
  d->ctime_ns[id] = (uint64_t)st.st_ctim.tv_sec * 1000000000ull + (uint64_t)st.st_ctim.tv_nsec;
}

static void *look_chunk(void *arg) {
  struct look_job *j = arg;
  for (size_t i = j->from; i < j->to; i++) look_at(j->d, j->paths, j->ids[i]);
  return NULL;
}

/* lstat of every id in ids[0..n) (the paths table does not change meanwhile) */
static void look_all(struct pm_disk *d, const struct pm_paths *paths, const uint32_t *ids, size_t n) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  size_t threads = n / PER_THREAD_MIN;
  if (threads > (size_t)(cpus > 0 ? cpus : 1)) threads = (size_t)(cpus > 0 ? cpus : 1);
  if (threads > THREADS_MAX) threads = THREADS_MAX;
  if (threads < 2) { struct look_job j = { d, paths, ids, 0, n }; look_chunk(&j); return; }
  struct look_job jobs[THREADS_MAX];
  pthread_t tids[THREADS_MAX];
  size_t started = 0;
  for (size_t t = 0; t < threads; t++) {
    jobs[t] = (struct look_job){ d, paths, ids, n * t / threads, n * (t + 1) / threads };
    if (t == 0 || pthread_create(&tids[t], NULL, look_chunk, &jobs[t]) != 0) continue;
    started |= (size_t)1 << t;
  }
  look_chunk(&jobs[0]);
  for (size_t t = 1; t < threads; t++) {
    if (started & ((size_t)1 << t)) pthread_join(tids[t], NULL);
    else look_chunk(&jobs[t]);
  }
}

/* ---------------------------------------------------------------- folders and real paths */

/* The id of path[0..n) joined with `name` ("/" + name at the root). */
static uint32_t intern_join(struct pm_paths *paths, uint32_t folder, const char *name, size_t name_n) {
  static char *buf;
  static size_t room;
  size_t dn = strlen(paths_get(paths, folder));
  if (dn == 1) dn = 0;   /* the root */
  if (dn + name_n + 2 > room) { room = (dn + name_n + 2) * 2; buf = pm_grow(buf, room); }
  memcpy(buf, paths_get(paths, folder), dn);
  buf[dn] = '/';
  memcpy(buf + dn + 1, name, name_n);
  return paths_intern(paths, buf, dn + 1 + name_n);
}

/* Interns the folders of `id` up to / (those not interned yet); parent[] grows with them. */
static void intern_folders(struct pm_disk *d, struct pm_paths *paths, uint32_t id) {
  static char *buf;
  static size_t room;
  while (d->parent[id] == PM_NONE) {
    const char *p = paths_get(paths, id);
    const char *slash = strrchr(p, '/');
    if (p[0] != '/' || p[1] == 0) return;   /* the root, or not an absolute path */
    size_t n = slash == p ? 1 : (size_t)(slash - p);
    if (n + 1 > room) { room = (n + 1) * 2; buf = pm_grow(buf, room); }
    memcpy(buf, p, n);
    uint32_t parent = paths_intern(paths, buf, n);
    grow_to(d, paths->count);
    d->parent[id] = parent;
    id = parent;
  }
}

/* The real path of `id` (looked at already): itself when no symlink leads to it, PM_NONE when it
 * cannot be resolved or does not exist. A symlink is resolved by realpath(); anything else is its
 * folder's real path and its name, so a folder is resolved once for all it holds. Memoised. */
static uint32_t real_of(struct pm_disk *d, struct pm_paths *paths, uint32_t id) {
  if (d->real[id] != PM_NONE || d->kind[id] == PM_KIND_MISSING || d->kind[id] == PM_KIND_UNKNOWN) return d->real[id];
  uint32_t parent = d->parent[id], real = PM_NONE;
  if (d->kind[id] == PM_KIND_SYMLINK) {
    char *resolved = realpath(paths_get(paths, id), NULL);
    if (resolved) { real = paths_intern(paths, resolved, strlen(resolved)); free(resolved); }
  } else if (parent == PM_NONE) {
    real = strcmp(paths_get(paths, id), "/") == 0 ? id : PM_NONE;
  } else {
    uint32_t real_parent = real_of(d, paths, parent);
    if (real_parent == parent) real = id;
    else if (real_parent != PM_NONE) {
      const char *base = strrchr(paths_get(paths, id), '/') + 1;
      char name[NAME_MAX + 1];
      size_t n = strlen(base) < sizeof name ? strlen(base) : sizeof name - 1;
      memcpy(name, base, n);
      real = intern_join(paths, real_parent, name, n);
    }
  }
  grow_to(d, paths->count);
  d->real[id] = real;
  return real;
}

/* ---------------------------------------------------------------- all of it */

void disk_look(struct pm_disk *d, struct pm_paths *paths, const struct pm_events *events) {
  uint32_t traced = paths->count;
  uint8_t *needed = pm_alloc(traced);
  memset(needed, 0, traced);
  for (size_t i = 0; i < events->count; i++) {
    const struct pm_event *ev = &events->v[i];
    if (ev->kind == PM_ABSENT || ev->kind == PM_LISTED) continue;
    needed[ev->path] = 1;
    if (ev->path2 != PM_NONE) needed[ev->path2] = 1;
  }
  grow_to(d, traced);
  for (uint32_t id = 0; id < traced; id++) if (needed[id]) intern_folders(d, paths, id);
  /* the needed paths and every folder on their way (a folder may be a traced path too) */
  uint8_t *look = pm_alloc(paths->count);
  memset(look, 0, paths->count);
  for (uint32_t id = 0; id < paths->count; id++) {
    if (id >= traced || needed[id]) look[id] = 1;
    if (d->parent[id] != PM_NONE) look[d->parent[id]] = 1;
  }
  uint32_t *ids = pm_alloc((size_t)paths->count * sizeof *ids);
  size_t n = 0;
  for (uint32_t id = 0; id < paths->count; id++) if (look[id]) ids[n++] = id;
  free(look);
  look_all(d, paths, ids, n);
  /* real paths; those they lead to are looked at in turn */
  uint32_t before = paths->count;
  for (uint32_t id = 0; id < traced; id++) if (needed[id]) real_of(d, paths, id);
  n = 0;
  ids = pm_grow(ids, (size_t)(paths->count - before + 1) * sizeof *ids);
  for (uint32_t id = before; id < paths->count; id++) ids[n++] = id;
  look_all(d, paths, ids, n);
  free(ids);
  free(needed);
}

/* a[rank[id]] = a[id] for every id, through a copy */
static void permute(void *array, size_t size, uint32_t count, const uint32_t *rank) {
  char *copy = pm_alloc((size_t)count * size);
  memcpy(copy, array, (size_t)count * size);
  for (uint32_t id = 0; id < count; id++) memcpy((char *)array + (size_t)rank[id] * size, copy + (size_t)id * size, size);
  free(copy);
}

void disk_renumber(struct pm_disk *d, const uint32_t *rank) {
  for (uint32_t id = 0; id < d->count; id++) {
    if (d->parent[id] != PM_NONE) d->parent[id] = rank[d->parent[id]];
    if (d->real[id] != PM_NONE) d->real[id] = rank[d->real[id]];
  }
  permute(d->kind, 1, d->count, rank);
  permute(d->parent, 4, d->count, rank);
  permute(d->real, 4, d->count, rank);
  uint64_t *fields[] = { d->dev, d->ino, d->mode, d->size, d->mtime_ns, d->ctime_ns };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) permute(fields[i], 8, d->count, rank);
}
