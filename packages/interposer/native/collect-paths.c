/*
 * collect-paths.c: every distinct path once, by id (in the order first seen), found by hash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collect.h"

void *pm_alloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) { fputs("pm-collect: out of memory\n", stderr); exit(3); }
  return p;
}

void *pm_grow(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p) { fputs("pm-collect: out of memory\n", stderr); exit(3); }
  return p;
}

/* FNV-1a over 8 bytes at a time, then an avalanche: paths share long prefixes */
static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull, v;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) { memcpy(&v, s + i, 8); h = (h ^ v) * 0x100000001b3ull; h ^= h >> 29; }
  v = 0;
  memcpy(&v, s + i, n - i);
  h = (h ^ v ^ ((uint64_t)n << 56)) * 0x100000001b3ull;
  h ^= h >> 33; h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

static void rehash(struct pm_paths *t) {
  uint32_t size = t->slots ? (t->slot_mask + 1) * 2 : 1u << 12;
  free(t->slots);
  t->slots = pm_alloc(size * sizeof *t->slots);
  memset(t->slots, 0, size * sizeof *t->slots);
  t->slot_mask = size - 1;
  for (uint32_t id = 0; id < t->count; id++) {
    uint32_t i = (uint32_t)t->hashes[id] & t->slot_mask;
    while (t->slots[i]) i = (i + 1) & t->slot_mask;
    t->slots[i] = id + 1;
  }
}

uint32_t paths_intern(struct pm_paths *t, const char *path, size_t n) {
  if (!t->slots || t->count * 2 >= t->slot_mask) rehash(t);
  uint64_t h = hash_bytes(path, n);
  uint32_t i = (uint32_t)h & t->slot_mask;
  for (uint32_t id; (id = t->slots[i]); i = (i + 1) & t->slot_mask) {
    const char *s = t->bytes + t->at[id - 1];
    if (t->hashes[id - 1] == h && memcmp(s, path, n) == 0 && s[n] == 0) return id - 1;
  }
  if (t->count == t->ids_room) {
    t->ids_room = t->ids_room ? t->ids_room * 2 : 1024;
    t->at = pm_grow(t->at, t->ids_room * sizeof *t->at);
    t->hashes = pm_grow(t->hashes, t->ids_room * sizeof *t->hashes);
  }
  if (t->used + n + 1 > t->room) {
    while (t->used + n + 1 > t->room) t->room = t->room ? t->room * 2 : 1 << 16;
    t->bytes = pm_grow(t->bytes, t->room);
  }
  uint32_t id = t->count++;
  memcpy(t->bytes + t->used, path, n);
  t->bytes[t->used + n] = 0;
  t->at[id] = t->used;
  t->hashes[id] = h;
  t->used += n + 1;
  t->slots[i] = id + 1;
  return id;
}

static int before(const struct pm_paths *t, uint32_t a, uint32_t b) { return strcmp(paths_get(t, a), paths_get(t, b)) < 0; }

/* Ids in order of their paths (1: they were already): a merge sort of the runs already in order (paths come mostly in
 * order: a folder's files one after another, the folders interned after them). */
static int sort_ids(const struct pm_paths *t, uint32_t *ids, uint32_t n) {
  uint32_t *tmp = pm_alloc((size_t)n * sizeof *tmp), *from = ids, *to = tmp;
  uint32_t *runs = pm_alloc(((size_t)n + 1) * sizeof *runs), count = 0;
  for (uint32_t i = 0; i < n; i++) if (i == 0 || !before(t, from[i - 1], from[i])) runs[count++] = i;
  runs[count] = n;
  int sorted = count <= 1;
  while (count > 1) {
    uint32_t merged = 0;
    for (uint32_t r = 0; r < count; r += 2) {
      uint32_t a = runs[r], mid = runs[r + 1], end = r + 2 <= count ? runs[r + 2] : n, b = mid, o = a;
      if (r + 1 == count) { mid = end = n; b = n; }
      while (a < mid && b < end) to[o++] = before(t, from[b], from[a]) ? from[b++] : from[a++];
      while (a < mid) to[o++] = from[a++];
      while (b < end) to[o++] = from[b++];
      runs[merged++] = runs[r];
    }
    runs[merged] = n;
    count = merged;
    uint32_t *swap = from; from = to; to = swap;
  }
  if (from != ids) memcpy(ids, from, (size_t)n * sizeof *ids);
  free(tmp);
  free(runs);
  return sorted;
}

uint32_t *paths_sort(struct pm_paths *t) {
  uint32_t *order = pm_alloc((size_t)t->count * sizeof *order);
  for (uint32_t id = 0; id < t->count; id++) order[id] = id;
  if (sort_ids(t, order, t->count)) { free(order); return NULL; }
  /* the strings again, in order; the hash table is not needed any more */
  char *bytes = pm_alloc(t->used);
  uint64_t *at = pm_alloc((size_t)t->count * sizeof *at);
  uint32_t *rank = pm_alloc((size_t)t->count * sizeof *rank);
  size_t used = 0;
  for (uint32_t i = 0; i < t->count; i++) {
    const char *s = paths_get(t, order[i]);
    size_t n = strlen(s) + 1;
    memcpy(bytes + used, s, n);
    at[i] = used;
    used += n;
    rank[order[i]] = i;
  }
  free(t->bytes);
  free(t->at);
  free(t->slots);
  free(order);
  t->bytes = bytes;
  t->at = at;
  t->slots = NULL;
  return rank;
}
