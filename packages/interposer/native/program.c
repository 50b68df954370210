/*
 * program.c: what a program is before it runs (program.h). Raw system calls only: this runs inside
 * exec wrappers, between vfork and exec too.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "program.h"
#include "raw-syscall.h"

#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#define HOST_LOADER "ld-linux-x86-64.so.2"
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#define HOST_LOADER "ld-linux-aarch64.so.1"
#endif

#define HEAD_SIZE 1024   /* the ELF header, the program headers and PT_INTERP's string */

/* A setuid/setgid program (to someone else) or one with file capabilities runs with privileges
 * the loader will not preload into (and that a ptrace'd exec would drop). */
static const char *privilege_reason(long fd) {
  struct stat st;
  if (pm_sys(SYS_fstat, fd, &st) != 0) return NULL;
  if ((st.st_mode & S_ISUID) && st.st_uid != (uid_t)pm_sys(SYS_geteuid)) return PM_WHY_SETUID;
  if ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP) && st.st_gid != (gid_t)pm_sys(SYS_getegid)) return PM_WHY_SETGID;
  if (pm_sys(SYS_fgetxattr, fd, "security.capability", NULL, 0) > 0) return PM_WHY_CAPABILITIES;
  return NULL;
}

/* The loader a dynamic program asks for (PT_INTERP) is glibc's: 1 yes, 0 no (musl's, another
 * one), -1 no PT_INTERP (static). Headers beyond the bytes read: assume glibc's. */
static int glibc_interp(const unsigned char *head, size_t n) {
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)head;
  for (int i = 0; i < eh->e_phnum; i++) {
    size_t off = eh->e_phoff + (size_t)i * eh->e_phentsize;
    if (off + sizeof(Elf64_Phdr) > n) return 1;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(head + off);
    if (ph->p_type != PT_INTERP) continue;
    if (ph->p_offset + ph->p_filesz > n || ph->p_filesz < 2) return 1;
    const char *interp = (const char *)head + ph->p_offset;
    size_t len = strnlen(interp, ph->p_filesz), base = len;
    while (base > 0 && interp[base - 1] != '/') base--;
    return len - base == sizeof HOST_LOADER - 1 && !memcmp(interp + base, HOST_LOADER, len - base);
  }
  return -1;
}

/* Go programs name their sections .gopclntab, .go.buildinfo, .note.go.buildid: look for the
 * names in the section-name table (two reads; stripped Go programs keep them). */
static int is_go(long fd, const Elf64_Ehdr *eh) {
  if (!eh->e_shoff || eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shstrndx >= eh->e_shnum) return 0;
  Elf64_Shdr names;
  if (pm_sys(SYS_pread64, fd, &names, sizeof names, eh->e_shoff + (uint64_t)eh->e_shstrndx * sizeof names) != sizeof names) return 0;
  char table[4096];
  size_t size = names.sh_size < sizeof table ? names.sh_size : sizeof table;
  long n = pm_sys(SYS_pread64, fd, table, size, names.sh_offset);
  if (n <= 0) return 0;
  return memmem(table, (size_t)n, ".gopclntab", 11) || memmem(table, (size_t)n, ".go.buildinfo", 14);
}

static const char *elf_reason(long fd, const unsigned char *head, size_t n) {
  if (head[EI_CLASS] != ELFCLASS64 || n < sizeof(Elf64_Ehdr)) return PM_WHY_ARCHITECTURE;   /* 32-bit */
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)head;
  if (eh->e_machine != HOST_MACHINE) return PM_WHY_ARCHITECTURE;   /* run by an emulator (binfmt_misc) */
  int glibc = glibc_interp(head, n);
  if (glibc < 0) return PM_WHY_STATIC;
  if (!glibc) return PM_WHY_LOADER;
  return is_go(fd, eh) ? PM_WHY_GO : NULL;
}

const char *untraced_reason(const char *path, int depth, int *exists) {
  long fd = pm_sys(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  if (pm_failed(fd)) {
    if (exists && (fd == -ENOENT || fd == -ENOTDIR)) *exists = 0;
    return NULL;
  }
  unsigned char head[HEAD_SIZE];
  const char *reason = privilege_reason(fd);
  long n = reason ? 0 : pm_sys(SYS_pread64, fd, head, sizeof head, 0);
  if (!reason && n >= 4 && head[0] == '#' && head[1] == '!' && depth < 2) {
    /* a script: its interpreter is what runs */
    char interp[256];
    size_t i = 2, j = 0;
    while (i < (size_t)n && (head[i] == ' ' || head[i] == '\t')) i++;
    while (i < (size_t)n && j < sizeof interp - 1 && head[i] != ' ' && head[i] != '\t' && head[i] != '\n') interp[j++] = (char)head[i++];
    interp[j] = 0;
    reason = j ? untraced_reason(interp, depth + 1, NULL) : NULL;
  } else if (!reason && n >= SELFMAG && !memcmp(head, ELFMAG, SELFMAG)) {
    reason = elf_reason(fd, head, (size_t)n);
  }
  pm_sys(SYS_close, fd);
  return reason;
}
