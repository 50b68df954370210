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

/* A setuid/setgid program (to someone else) or one with file capabilities runs with privileges
 * the loader will not preload into. */
static const char *privilege_reason(long fd, const struct stat *st) {
  if ((st->st_mode & S_ISUID) && st->st_uid != (uid_t)pm_sys(SYS_geteuid)) return PM_WHY_SETUID;
  if ((st->st_mode & S_ISGID) && (st->st_mode & S_IXGRP) && st->st_gid != (gid_t)pm_sys(SYS_getegid)) return PM_WHY_SETGID;
  if (pm_sys(SYS_fgetxattr, fd, "security.capability", NULL, 0) > 0) return PM_WHY_CAPABILITIES;
  return NULL;
}

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

/* Why a 64-bit ELF program escapes: another machine's, a Go program, no program interpreter
 * (static), or another loader. */
static const char *elf64_reason(long fd, const unsigned char *head, size_t n) {
  if (n < sizeof(Elf64_Ehdr)) return NULL;
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)head;
  if (eh->e_machine != HOST_MACHINE) return PM_WHY_ARCHITECTURE;   /* run by an emulator (binfmt_misc) */
  int interp = 0, glibc = 1;
  for (int i = 0; i < eh->e_phnum; i++) {
    size_t off = eh->e_phoff + (size_t)i * eh->e_phentsize;
    if (off + sizeof(Elf64_Phdr) > n) return NULL;   /* headers beyond what was read: assume traced */
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(head + off);
    if (ph->p_type == PT_INTERP) interp = 1, glibc = is_glibc_loader(head, n, ph);
    if (has_go_note(head, n, ph)) return PM_WHY_GO;
  }
  if (has_go_sections(fd, eh)) return PM_WHY_GO;
  return !interp ? PM_WHY_STATIC : glibc ? NULL : PM_WHY_LOADER;
}

/* The verdicts on the last programs this process started: a shell runs the same ones again. */
struct verdict { dev_t dev; ino_t ino; struct timespec mtime; const char *why; };
static struct verdict g_verdicts[8];
static unsigned g_next_verdict;

#define VERDICTS (sizeof g_verdicts / sizeof g_verdicts[0])

/* Threads may exec at once: an entry's inode is written last and read first, so an entry that
 * matches was complete. */
static struct verdict *known(const struct stat *st) {
  for (unsigned i = 0; i < VERDICTS; i++) {
    struct verdict *v = &g_verdicts[i];
    if (__atomic_load_n(&v->ino, __ATOMIC_ACQUIRE) == st->st_ino && v->dev == st->st_dev &&
        v->mtime.tv_sec == st->st_mtim.tv_sec && v->mtime.tv_nsec == st->st_mtim.tv_nsec)
      return v;
  }
  return NULL;
}

static const char *remember(const struct stat *st, const char *why) {
  struct verdict *v = &g_verdicts[__atomic_fetch_add(&g_next_verdict, 1, __ATOMIC_RELAXED) % VERDICTS];
  __atomic_store_n(&v->ino, 0, __ATOMIC_RELEASE);
  v->why = why;
  v->dev = st->st_dev;
  v->mtime = st->st_mtim;
  __atomic_store_n(&v->ino, st->st_ino, __ATOMIC_RELEASE);
  return why;
}

/* Why a script's interpreter escapes (a script runs its #! interpreter). */
static const char *script_reason(const unsigned char *head, size_t n, int depth) {
  char interp[256];
  size_t i = 2, j = 0;
  while (i < n && (head[i] == ' ' || head[i] == '\t')) i++;
  while (i < n && j < sizeof interp - 1 && head[i] != ' ' && head[i] != '\t' && head[i] != '\n') interp[j++] = (char)head[i++];
  interp[j] = 0;
  return j ? untraced_reason(interp, depth + 1, NULL) : NULL;
}

const char *untraced_reason(const char *path, int depth, int *exists) {
  long fd = pm_sys(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  if (pm_failed(fd)) {
    if (exists && is_absent_errno((int)-fd)) *exists = 0;
    return NULL;
  }
  const char *why = NULL;
  struct stat st;
  struct verdict *v = NULL;
  if (pm_sys(SYS_fstat, fd, &st) == 0 && !(why = privilege_reason(fd, &st)) && !(v = known(&st))) {
    unsigned char head[HEAD];
    long n = pm_sys(SYS_pread64, fd, head, sizeof head, 0);
    if (n >= 4 && head[0] == '#' && head[1] == '!') why = depth < 2 ? script_reason(head, (size_t)n, depth) : NULL;
    else if (n >= 4 && !memcmp(head, ELFMAG, SELFMAG) && head[EI_CLASS] == ELFCLASS64) why = remember(&st, elf64_reason(fd, head, (size_t)n));
    /* a 32-bit program: neither this 64-bit library nor the supervisor can enter it */
    else if (n >= 4 && !memcmp(head, ELFMAG, SELFMAG) && head[EI_CLASS] == ELFCLASS32) why = PM_WHY_ARCHITECTURE;
  } else if (v) {
    why = v->why;
  }
  pm_sys(SYS_close, fd);
  return why;
}
