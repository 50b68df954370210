/*
 * program.c: what a program is before it runs (program.h): whether LD_PRELOAD can enter it, and if
 * not, why. The same test as programEscape() in src/program.ts, which looks at the command the
 * launcher itself starts. Raw system calls only: this runs inside exec wrappers, between vfork and
 * exec too, and in the supervisor.
 */
#include <elf.h>
#include <string.h>
#include <sys/stat.h>
#include "interposer.h"

#define HEAD 4096   /* the ELF and program headers, and usually a Go binary's build-id note */

#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#define HOST_LOADER "ld-linux-x86-64.so.2"
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#define HOST_LOADER "ld-linux-aarch64.so.1"
#endif

/* What a program file is: bits 0-2 what LD_PRELOAD can do with it, bit 3 file capabilities. */
enum { PROGRAM_TRACED, PROGRAM_STATIC, PROGRAM_GO, PROGRAM_LOADER, PROGRAM_FOREIGN };
#define PROGRAM_KIND 7u
#define HAS_CAPABILITIES 8u

/* A note named "Go" of type 4 (the Go build ID) in a PT_NOTE segment within the bytes read. */
static int has_go_note(const unsigned char *head, size_t n, const Elf64_Phdr *ph) {
  if (ph->p_type != PT_NOTE || ph->p_offset >= n) return 0;
  size_t at = ph->p_offset, end = ph->p_offset + ph->p_filesz < n ? ph->p_offset + ph->p_filesz : n;
  while (at + sizeof(Elf64_Nhdr) <= end) {
    const Elf64_Nhdr *note = (const Elf64_Nhdr *)(head + at);
    const char *name = (const char *)(note + 1);
    if (note->n_namesz == 3 && note->n_type == 4 && at + sizeof *note + 3 <= end && !memcmp(name, "Go", 3)) return 1;
    at += sizeof *note + ((note->n_namesz + 3) & ~3u) + ((note->n_descsz + 3) & ~3u);
  }
  return 0;
}

/* Sections only Go's linker makes (.gopclntab, .go.buildinfo, .note.go.buildid...), found by
 * their names: Go programs make raw system calls, dynamic or not. Two reads, done once per
 * program file and process (repeated execs of one program hit the cache). */
static int has_go_sections(long fd, const Elf64_Ehdr *eh) {
  Elf64_Shdr names;
  if (eh->e_shentsize != sizeof names || eh->e_shstrndx == SHN_UNDEF || eh->e_shstrndx >= eh->e_shnum) return 0;
  if (pm_sys(SYS_pread64, fd, &names, sizeof names, eh->e_shoff + (uint64_t)eh->e_shstrndx * sizeof names) != sizeof names) return 0;
  char text[2048];
  size_t n = names.sh_size < sizeof text - 1 ? names.sh_size : sizeof text - 1;
  long got = pm_sys(SYS_pread64, fd, text, n, names.sh_offset);
  if (got <= 0) return 0;
  text[got] = 0;
  for (const char *s = text; s < text + got; s += strlen(s) + 1)
    if (!strcmp(s, ".gopclntab") || !strncmp(s, ".go.", 4) || !strcmp(s, ".note.go.buildid")) return 1;
  return 0;
}

/* The program interpreter (PT_INTERP) is glibc's loader, which preloads the interposer: 1 yes
 * (or not within the bytes read: assumed), 0 another one (musl's, another architecture's). */
static int is_glibc_loader(const unsigned char *head, size_t n, const Elf64_Phdr *ph) {
  if (ph->p_offset + ph->p_filesz > n || ph->p_filesz < 2) return 1;
  const char *interp = (const char *)head + ph->p_offset;
  size_t len = strnlen(interp, ph->p_filesz), base = len;
  while (base > 0 && interp[base - 1] != '/') base--;
  return len - base == sizeof HOST_LOADER - 1 && !memcmp(interp + base, HOST_LOADER, len - base);
}

/* What a 64-bit ELF program is: another machine's, a Go program, static (no program interpreter),
 * for another loader, or traced. */
static uint32_t elf64_kind(long fd, const unsigned char *head, size_t n) {
  if (n < sizeof(Elf64_Ehdr)) return PROGRAM_TRACED;
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)head;
  if (eh->e_machine != HOST_MACHINE) return PROGRAM_FOREIGN;   /* run by an emulator (binfmt_misc) */
  int interp = 0, glibc = 1;
  for (int i = 0; i < eh->e_phnum; i++) {
    size_t off = eh->e_phoff + (size_t)i * eh->e_phentsize;
    if (off + sizeof(Elf64_Phdr) > n) return PROGRAM_TRACED;   /* headers beyond what was read: assume traced */
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(head + off);
    if (ph->p_type == PT_INTERP) interp = 1, glibc = is_glibc_loader(head, n, ph);
    if (has_go_note(head, n, ph)) return PROGRAM_GO;
  }
  if (has_go_sections(fd, eh)) return PROGRAM_GO;
  return !interp ? PROGRAM_STATIC : glibc ? PROGRAM_TRACED : PROGRAM_LOADER;
}

/* ---------------------------------------------------------------- verdicts shared by the step */

/*
 * What a program file is does not change while its inode, ctime and size stay (ctime may be coarse:
 * a program rewritten in place within a tick keeps it, but not its size): the verdicts are kept in
 * the shared part of the log's first page, for every process of the step (find -exec and make
 * fork a child per program, whose own memory is gone at exec). A cached exec costs one stat.
 * Entries are written by any process at any time: `check` (a hash of the rest) is written last
 * and verified on every read, so a torn entry is only a miss.
 */
struct verdict { uint64_t dev, ino, size; int64_t ctime_ns; uint32_t what; uint32_t check; };
#define VERDICTS ((PM_LOG_HEADER_SIZE - PM_LOG_SHARED_OFFSET) / sizeof(struct verdict))


static uint32_t verdict_check(const struct verdict *v, uint32_t what) {
  uint64_t h = (v->dev * 0x9e3779b97f4a7c15ull) ^ (v->ino * 0xc2b2ae3d27d4eb4full) ^ (v->size * 0x27d4eb2f165667c5ull) ^
               ((uint64_t)v->ctime_ns * 0x165667b19e3779f9ull) ^ what;
  return (uint32_t)(h ^ (h >> 32)) | 1;
}

static struct verdict *verdict_slot(const struct stat *st) {
  struct verdict *table = pm_log_shared();
  return table ? &table[(st->st_ino ^ st->st_dev) % VERDICTS] : NULL;
}

static int64_t ctime_ns(const struct stat *st) { return (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec; }

/* The cached verdict on this file, or -1. */
static int known(const struct stat *st) {
  struct verdict *v = verdict_slot(st);
  if (!v) return -1;
  uint32_t check = __atomic_load_n(&v->check, __ATOMIC_ACQUIRE);
  uint32_t what = v->what;
  if (v->dev != st->st_dev || v->ino != st->st_ino || v->size != (uint64_t)st->st_size || v->ctime_ns != ctime_ns(st)) return -1;
  return check == verdict_check(v, what) ? (int)what : -1;
}

static void remember(const struct stat *st, uint32_t what) {
  struct verdict *v = verdict_slot(st);
  if (!v) return;
  __atomic_store_n(&v->check, 0, __ATOMIC_RELEASE);
  v->dev = st->st_dev;
  v->ino = st->st_ino;
  v->size = (uint64_t)st->st_size;
  v->ctime_ns = ctime_ns(st);
  v->what = what;
  __atomic_store_n(&v->check, verdict_check(v, what), __ATOMIC_RELEASE);
}

/* ---------------------------------------------------------------- the verdict */

/* Why a script's interpreter escapes (a script runs its #! interpreter). */
static const char *script_reason(const unsigned char *head, size_t n, int depth) {
  char interp[256];
  size_t i = 2, j = 0;
  while (i < n && (head[i] == ' ' || head[i] == '\t')) i++;
  while (i < n && j < sizeof interp - 1 && head[i] != ' ' && head[i] != '\t' && head[i] != '\n') interp[j++] = (char)head[i++];
  interp[j] = 0;
  return j ? untraced_reason(interp, depth + 1, NULL) : NULL;
}

/* What the file is (PROGRAM_*, | HAS_CAPABILITIES); a script's interpreter's reason in *script. */
static uint32_t inspect(const char *path, int depth, const char **script, int *is_script) {
  long fd = pm_sys(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  if (pm_failed(fd)) return PROGRAM_TRACED;
  uint32_t what = PROGRAM_TRACED;
  if (pm_sys(SYS_fgetxattr, fd, "security.capability", NULL, 0) > 0) what = HAS_CAPABILITIES;
  unsigned char head[HEAD];
  long n = pm_sys(SYS_pread64, fd, head, sizeof head, 0);
  if (n >= 4 && head[0] == '#' && head[1] == '!') {
    *is_script = 1;
    *script = depth < 2 ? script_reason(head, (size_t)n, depth) : NULL;
  } else if (n >= 4 && !memcmp(head, ELFMAG, SELFMAG) && head[EI_CLASS] == ELFCLASS64) {
    what |= elf64_kind(fd, head, (size_t)n);
  } else if (n >= 4 && !memcmp(head, ELFMAG, SELFMAG) && head[EI_CLASS] == ELFCLASS32) {
    what |= PROGRAM_FOREIGN;   /* a 32-bit program: neither this 64-bit library nor the supervisor enters it */
  }
  pm_sys(SYS_close, fd);
  return what;
}

const char *untraced_reason(const char *path, int depth, int *exists) {
  struct stat st;
  long rc = pm_sys(SYS_newfstatat, AT_FDCWD, path, &st, 0);
  if (rc != 0) {
    if (exists && is_absent_errno((int)-rc)) *exists = 0;
    return NULL;
  }
  const char *script = NULL;
  int is_script = 0, cached = known(&st);
  uint32_t what = cached >= 0 ? (uint32_t)cached : inspect(path, depth, &script, &is_script);
  /* a script's verdict is its interpreter's, which may change on its own: not kept */
  if (cached < 0 && !is_script) remember(&st, what);
  /* setuid/setgid to someone else, or file capabilities: privileges the loader will not preload into */
  if ((st.st_mode & S_ISUID) && st.st_uid != (uid_t)pm_sys(SYS_geteuid)) return PM_WHY_SETUID;
  if ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP) && st.st_gid != (gid_t)pm_sys(SYS_getegid)) return PM_WHY_SETGID;
  if (what & HAS_CAPABILITIES) return PM_WHY_CAPABILITIES;
  if (is_script) return script;
  static const char *const why[] = {
    [PROGRAM_TRACED] = NULL, [PROGRAM_STATIC] = PM_WHY_STATIC, [PROGRAM_GO] = PM_WHY_GO,
    [PROGRAM_LOADER] = PM_WHY_LOADER, [PROGRAM_FOREIGN] = PM_WHY_ARCHITECTURE,
  };
  return (what & PROGRAM_KIND) <= PROGRAM_FOREIGN ? why[what & PROGRAM_KIND] : NULL;
}
