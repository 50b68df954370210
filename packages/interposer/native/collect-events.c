/*
 * collect-events.c: the records as events, put in event order, and the repeats the reducer has no
 * use for dropped, so that what the launcher reads grows with the distinct paths, not the records.
 */
#include <stdlib.h>
#include <string.h>
#include "collect.h"
#include "record.h"

void events_add(struct pm_events *e, const struct pm_event *ev) {
  if (e->count == e->room) {
    e->room = e->room ? e->room * 2 : 1 << 14;
    e->v = pm_grow(e->v, e->room * sizeof *e->v);
  }
  e->v[e->count++] = *ev;
}

int events_arg(struct pm_events *e, const char *arg, size_t n) {
  if (n >= sizeof e->args[0]) return -1;
  for (unsigned i = 0; i < e->args_count; i++)
    if (strncmp(e->args[i], arg, n) == 0 && e->args[i][n] == 0) return (int)i;
  if (e->args_count == sizeof e->args / sizeof e->args[0]) return -1;
  memcpy(e->args[e->args_count], arg, n);
  e->args[e->args_count][n] = 0;
  return (int)e->args_count++;
}

/* Stable LSD radix sort by time, 16 bits at a time; a digit every time shares is skipped. Each
 * writer's records come in time order already; the sort merges the writers. */
static void sort_by_time(struct pm_events *e) {
  size_t n = e->count;
  struct pm_event *tmp = pm_alloc(n * sizeof *tmp), *from = e->v, *to = tmp;
  static size_t count[1 << 16];
  for (int shift = 0; shift < 64; shift += 16) {
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++) count[(from[i].time >> shift) & 0xffff]++;
    if (n == 0 || count[(from[0].time >> shift) & 0xffff] == n) continue;
    size_t at = 0;
    for (size_t d = 0; d < 1 << 16; d++) { size_t c = count[d]; count[d] = at; at += c; }
    for (size_t i = 0; i < n; i++) to[count[(from[i].time >> shift) & 0xffff]++] = from[i];
    struct pm_event *swap = from; from = to; to = swap;
  }
  if (from != e->v) memcpy(e->v, from, n * sizeof *from);
  free(tmp);
}

/* (kind, arg, path) -> index of the event last kept with that key, plus one; open addressing. */
struct seen { uint64_t *keys; uint32_t *at; size_t mask; };

static uint32_t *seen_slot(struct seen *s, uint64_t key) {
  uint64_t h = key * 0x9e3779b97f4a7c15ull;
  for (size_t i = (size_t)(h >> 20) & s->mask;; i = (i + 1) & s->mask)
    if (s->keys[i] == key || !s->at[i]) { s->keys[i] = key; return &s->at[i]; }
}

void events_finish(struct pm_events *e, uint32_t path_count, const char *repeatable) {
  sort_by_time(e);
  /* the index (plus one) of the last write or removal of each path, and of the last rename */
  uint32_t *changed = pm_alloc(path_count * sizeof *changed);
  memset(changed, 0, path_count * sizeof *changed);
  uint32_t renamed = 0;
  struct seen s;
  size_t slots = 1024;
  while (slots < e->count * 2) slots *= 2;
  s.mask = slots - 1;
  s.keys = pm_alloc(slots * sizeof *s.keys);
  s.at = pm_alloc(slots * sizeof *s.at);
  memset(s.at, 0, slots * sizeof *s.at);
  size_t kept = 0;
  for (size_t i = 0; i < e->count; i++) {
    struct pm_event ev = e->v[i];
    uint32_t index = (uint32_t)kept + 1;
    if (ev.kind == PM_WRITE || ev.kind == PM_REMOVED) {
      changed[ev.path] = index;
    } else if (ev.kind == PM_RENAMED) {
      renamed = index;
    } else if (strchr(repeatable, ev.kind)) {
      uint32_t *last = seen_slot(&s, (uint64_t)ev.path << 24 | (uint64_t)ev.arg << 8 | ev.kind);
      uint32_t barrier = changed[ev.path] > renamed ? changed[ev.path] : renamed;
      if (*last && *last > barrier) continue;   /* the same record since the last change: nothing new */
      *last = index;
    }
    e->v[kept++] = ev;
  }
  e->count = kept;
  free(changed);
  free(s.keys);
  free(s.at);
}

void events_renumber(struct pm_events *e, const uint32_t *rank) {
  for (size_t i = 0; i < e->count; i++) {
    e->v[i].path = rank[e->v[i].path];
    if (e->v[i].path2 != PM_NONE) e->v[i].path2 = rank[e->v[i].path2];
  }
}
