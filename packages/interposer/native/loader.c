/*
 * loader.c: the libraries a process runs, and where the loader looked for them first.
 *
 * Every object mapped into the process (program, libraries loaded at start-up or by dlopen) is
 * recorded as executed. The loader (ld.so) opens files without libc, so its failed lookups are not
 * seen; they are reconstructed here from its documented order instead. For a library asked for by
 * name (DT_NEEDED, dlopen), the places tried before the one it came from are recorded as absent,
 * so that a library appearing earlier in the order reruns the step:
 *   1. DT_RPATH of the object asking, then of the program (only when the asker has no DT_RUNPATH);
 *   2. LD_LIBRARY_PATH;
 *   3. DT_RUNPATH of the object asking;
 *   4. ld.so.cache, then the default folders.
 * $ORIGIN (the asker's folder) is expanded. Not modelled: among the cache and default folders
 * (ldconfig decides), the hwcaps subfolders of each folder (glibc-hwcaps/x86-64-v3/...), and
 * entries with $LIB or $PLATFORM. Nothing is done, and no system call made, for a process whose
 * program and libraries have no RPATH/RUNPATH and that runs without LD_LIBRARY_PATH.
 */
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include "interposer.h"

#define MAX_OBJECTS 128

struct object {
  const char *name;          /* as the loader has it ("" for the program) */
  ElfW(Addr) base;
  const ElfW(Dyn) *dynamic;
  const char *strtab;
};

static const char *g_library_path;   /* LD_LIBRARY_PATH as the loader read it, at start-up */
static const char *g_program;        /* the program's file (its $ORIGIN) */

/* ---------------------------------------------------------------- claims */

/* Lock-free sets of 64-bit keys: the first thread to add one does the work (objects recorded,
 * names searched); a full set claims nothing new (records are then simply repeated). */
#define CLAIM_SLOTS 1024
static uint64_t g_objects_done[CLAIM_SLOTS], g_names_searched[CLAIM_SLOTS];

static int claim(uint64_t *set, uint64_t key) {
  key |= 1;
  for (unsigned i = (unsigned)(key ^ (key >> 29)) % CLAIM_SLOTS, n = 0; n < CLAIM_SLOTS; i = (i + 1) % CLAIM_SLOTS, n++) {
    uint64_t cur = __atomic_load_n(&set[i], __ATOMIC_ACQUIRE);
    if (cur == key) return 0;
    if (cur == 0) {
      if (__atomic_compare_exchange_n(&set[i], &cur, key, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return 1;
      if (cur == key) return 0;
    }
  }
  return 1;
}

static uint64_t text_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) { h ^= (unsigned char)*s; h *= 1099511628211ull; }
  return h;
}

/* ---------------------------------------------------------------- the objects of the process */

/* The vDSO is the object whose program headers are those of the image the kernel mapped. */
static int is_vdso(const struct dl_phdr_info *info) {
  const ElfW(Ehdr) *vdso = (const ElfW(Ehdr) *)getauxval(AT_SYSINFO_EHDR);
  return vdso && (const char *)info->dlpi_phdr == (const char *)vdso + vdso->e_phoff;
}

/* A pointer from the dynamic section: glibc relocates them in place, except where .dynamic is
 * read-only; an unrelocated one is below the load address. */
static const char *dyn_pointer(ElfW(Addr) base, ElfW(Addr) value) {
  return (const char *)(value < base ? base + value : value);
}

static void read_dynamic(struct object *o) {
  for (const ElfW(Dyn) *d = o->dynamic; d && d->d_tag != DT_NULL; d++)
    if (d->d_tag == DT_STRTAB) o->strtab = dyn_pointer(o->base, d->d_un.d_ptr);
}

/* A string of the dynamic section (DT_RPATH, DT_RUNPATH, DT_SONAME), or NULL. */
static const char *dyn_string(const struct object *o, ElfW(Sxword) tag) {
  if (!o->strtab) return NULL;
  for (const ElfW(Dyn) *d = o->dynamic; d && d->d_tag != DT_NULL; d++)
    if (d->d_tag == tag) return o->strtab + d->d_un.d_val;
  return NULL;
}

struct objects { struct object list[MAX_OBJECTS]; int count; };

static int collect(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  struct objects *all = data;
  if (all->count >= MAX_OBJECTS || is_vdso(info)) return 0;
  struct object *o = &all->list[all->count++];
  memset(o, 0, sizeof *o);
  o->name = info->dlpi_name ? info->dlpi_name : "";
  o->base = info->dlpi_addr;
  for (int i = 0; i < info->dlpi_phnum; i++)
    if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) o->dynamic = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
  read_dynamic(o);
  return 0;
}

/* ---------------------------------------------------------------- the search */

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* The loaded object a DT_NEEDED name stands for (its soname, or its file's name). */
static const struct object *loaded_as(const struct objects *all, const char *needed) {
  for (int i = 1; i < all->count; i++) {
    const struct object *o = &all->list[i];
    const char *soname = dyn_string(o, DT_SONAME);
    if ((soname && !strcmp(soname, needed)) || (o->name[0] && !strcmp(base_name(o->name), needed))) return o;
  }
  return NULL;
}

/* The folder of an object's file, for $ORIGIN. */
static int origin_of(const struct object *o, char *out) {
  if (resolve_at(AT_FDCWD, o->name[0] ? o->name : g_program, out) != 0) return -1;
  char *slash = strrchr(out, '/');
  if (slash == out) slash[1] = 0; else *slash = 0;
  return 0;
}

/* One search folder as written (dir[0..len)) made absolute into out, $ORIGIN expanded. */
static int search_folder(const struct object *o, const char *dir, size_t len, char *out) {
  char text[PM_PATH_MAX], origin[PM_PATH_MAX];
  size_t n = 0;
  for (size_t i = 0; i < len;) {
    const char *token = !strncmp(dir + i, "${ORIGIN}", 9) ? "${ORIGIN}" : !strncmp(dir + i, "$ORIGIN", 7) ? "$ORIGIN" : NULL;
    if (dir[i] == '$' && !token) return -1;   /* $LIB, $PLATFORM: not modelled */
    const char *add = token ? origin : dir + i;
    size_t add_len = token ? (origin_of(o, origin) == 0 ? strlen(origin) : (size_t)-1) : 1;
    if (add_len == (size_t)-1 || n + add_len >= sizeof text) return -1;
    memcpy(text + n, add, add_len);
    n += add_len;
    i += token ? strlen(token) : 1;
  }
  text[n] = 0;
  return resolve_at(AT_FDCWD, n ? text : ".", out);   /* an empty entry is the working folder */
}

/* Walk one colon-separated list; 1 when `found` (the folder the library came from) is in it.
 * Folders before it are where `needed` is absent. */
static int walk(const struct object *o, const char *list, const char *needed, const char *found) {
  for (const char *p = list; p; p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL) {
    size_t len = strchr(p, ':') ? (size_t)(strchr(p, ':') - p) : strlen(p);
    char folder[PM_PATH_MAX];
    if (search_folder(o, p, len, folder) != 0) continue;
    size_t flen = strlen(folder);
    /* the library in this folder, or in one of its hwcaps subfolders */
    if (!strncmp(found, folder, flen) && (found[flen] == '/' || (flen == 1 && folder[0] == '/'))) return 1;
    char candidate[PM_PATH_MAX];
    if (flen + 1 + strlen(needed) >= sizeof candidate) continue;
    memcpy(candidate, folder, flen);
    candidate[flen] = '/';
    strcpy(candidate + flen + 1, needed);
    if (!is_ignored(candidate)) write_record(PM_ABSENT, PM_ARG_NONE, candidate, NULL, 1);
  }
  return 0;
}

/* Where the loader looked for `needed`, asked for by `asker`, before it found it at `found`. */
static void record_search(const struct objects *all, const struct object *asker, const char *needed, const char *found) {
  const struct object *program = &all->list[0];
  const char *rpath = dyn_string(asker, DT_RPATH), *runpath = dyn_string(asker, DT_RUNPATH);
  const char *program_rpath = dyn_string(program, DT_RPATH);
  if (!runpath) {
    if (rpath && walk(asker, rpath, needed, found)) return;
    if (asker != program && !dyn_string(program, DT_RUNPATH) && program_rpath && walk(program, program_rpath, needed, found)) return;
  }
  if (g_library_path && walk(asker, g_library_path, needed, found)) return;
  if (runpath) walk(asker, runpath, needed, found);
}

static int has_search_path(const struct objects *all) {
  if (g_library_path) return 1;
  for (int i = 0; i < all->count; i++)
    if (dyn_string(&all->list[i], DT_RPATH) || dyn_string(&all->list[i], DT_RUNPATH)) return 1;
  return 0;
}

/* The DT_NEEDED libraries of `asker`, each searched for by the first object that asked. The
 * interpreter is mapped by the kernel and matched by its name: it is never searched for. */
static void record_needed(const struct objects *all, const struct object *asker, ElfW(Addr) interpreter) {
  for (const ElfW(Dyn) *d = asker->dynamic; d && d->d_tag != DT_NULL && asker->strtab; d++) {
    if (d->d_tag != DT_NEEDED) continue;
    const char *needed = asker->strtab + d->d_un.d_val;
    const struct object *lib = loaded_as(all, needed);
    char found[PM_PATH_MAX];
    if (strchr(needed, '/') || !lib || lib->base == interpreter || !claim(g_names_searched, text_hash(needed))) continue;
    if (resolve_at(AT_FDCWD, lib->name, found) == 0) record_search(all, asker, needed, found);
  }
}

/* ---------------------------------------------------------------- entry points */

void loader_init(const char *program) {
  const char *path = getenv("LD_LIBRARY_PATH");
  if (path && *path) g_library_path = keep_string(path, NULL, NULL);
  g_program = program;
}

void record_libraries(void) {
  struct objects all;
  all.count = 0;
  dl_iterate_phdr(collect, &all);
  int search = has_search_path(&all);
  ElfW(Addr) interpreter = getauxval(AT_BASE);
  for (int i = 0; i < all.count; i++) {
    const struct object *o = &all.list[i];
    if (!claim(g_objects_done, (uint64_t)o->base ^ text_hash(o->name))) continue;
    /* the program records itself; this library's own needs are not the program's */
    int self = o->name[0] && !strcmp(o->name, g_self_path);
    if (o->name[0] && !self) record_at(PM_EXECUTED, PM_EXEC_LIBRARY, AT_FDCWD, o->name);
    if (search && !self) record_needed(&all, o, interpreter);
  }
}

void record_dlopen_search(const char *file, const void *caller) {
  if (!file || strchr(file, '/')) return;
  struct objects all;
  all.count = 0;
  dl_iterate_phdr(collect, &all);
  if (!has_search_path(&all)) return;
  /* the object that called dlopen asks (its RUNPATH counts); the program when it cannot be told */
  Dl_info who;
  const struct object *asker = &all.list[0], *lib = loaded_as(&all, file);
  if (dladdr(caller, &who))
    for (int i = 1; i < all.count; i++) if (all.list[i].base == (ElfW(Addr))who.dli_fbase) asker = &all.list[i];
  char found[PM_PATH_MAX];
  if (lib && resolve_at(AT_FDCWD, lib->name, found) == 0) record_search(&all, asker, file, found);
}
