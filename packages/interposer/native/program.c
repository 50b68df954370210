/*
 * program.c: what a program is before it runs: whether LD_PRELOAD can enter it. The same test as
 * programEscape() in src/launch.ts, which looks at the command the launcher itself starts.
 */
#include <elf.h>
#include <string.h>
#include <sys/stat.h>
#include "interposer.h"

/* Whether an ELF image asks for a program interpreter (the dynamic loader, which preloads us).
 * 1 yes, 0 no, -1 its program headers lie beyond the bytes read (then assume it does). */
#define HAS_INTERP(Ehdr, Phdr)                                                   \
  static int has_interp_##Ehdr(const unsigned char *head, size_t n) {           \
    if (n < sizeof(Ehdr)) return -1;                                             \
    const Ehdr *eh = (const Ehdr *)head;                                         \
    for (int i = 0; i < eh->e_phnum; i++) {                                      \
      size_t off = eh->e_phoff + (size_t)i * eh->e_phentsize;                    \
      if (off + sizeof(Phdr) > n) return -1;                                     \
      if (((const Phdr *)(head + off))->p_type == PT_INTERP) return 1;           \
    }                                                                            \
    return 0;                                                                    \
  }
HAS_INTERP(Elf64_Ehdr, Elf64_Phdr)
HAS_INTERP(Elf32_Ehdr, Elf32_Phdr)

/* A setuid/setgid program (to someone else) or one with file capabilities runs with privileges
 * the loader will not preload into. */
static const char *privilege_reason(long fd) {
  struct stat st;
  if (pm_sys(SYS_fstat, fd, &st) != 0) return NULL;
  if ((st.st_mode & S_ISUID) && st.st_uid != (uid_t)pm_sys(SYS_geteuid)) return PM_WHY_SETUID;
  if ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP) && st.st_gid != (gid_t)pm_sys(SYS_getegid)) return PM_WHY_SETGID;
  if (pm_sys(SYS_fgetxattr, fd, "security.capability", NULL, 0) > 0) return PM_WHY_CAPABILITIES;
  return NULL;
}

const char *untraced_reason(const char *path, int depth, int *exists) {
  long fd = pm_sys(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  if (pm_failed(fd)) {
    if (exists && is_absent_errno((int)-fd)) *exists = 0;
    return NULL;
  }
  unsigned char head[1024];
  const char *reason = privilege_reason(fd);
  long n = reason ? 0 : pm_sys(SYS_pread64, fd, head, sizeof head, 0);
  pm_sys(SYS_close, fd);
  if (reason || n < 4) return reason;
  if (head[0] == '#' && head[1] == '!' && depth < 2) {
    /* a script: its interpreter is what runs */
    char interp[256];
    size_t i = 2, j = 0;
    while (i < (size_t)n && (head[i] == ' ' || head[i] == '\t')) i++;
    while (i < (size_t)n && j < sizeof interp - 1 && head[i] != ' ' && head[i] != '\t' && head[i] != '\n') interp[j++] = (char)head[i++];
    interp[j] = 0;
    return j ? untraced_reason(interp, depth + 1, NULL) : NULL;
  }
  if (memcmp(head, ELFMAG, SELFMAG) != 0) return NULL;
  if (head[EI_CLASS] == ELFCLASS64) return has_interp_Elf64_Ehdr(head, (size_t)n) == 0 ? PM_WHY_STATIC : NULL;
  /* a 32-bit program cannot load this 64-bit library: it runs untraced */
  if (head[EI_CLASS] == ELFCLASS32) return has_interp_Elf32_Ehdr(head, (size_t)n) >= 0 ? PM_WHY_STATIC : NULL;
  return NULL;
}
