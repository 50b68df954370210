/*
 * hooks-open.c: the open family, fopen and the mkstemp family.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "interposer.h"

static int is_write_open(int flags) {
  return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC));
}

/* The PM_WRITE letters of an open for writing. */
static void write_open_arg(int flags, int fd, char *arg) {
  char *p = arg;
  if (flags & O_CREAT) *p++ = PM_WRITE_CREATE[0];
  if (flags & O_TRUNC) *p++ = PM_WRITE_TRUNCATE[0];
  if (flags & O_APPEND) *p++ = PM_WRITE_APPEND[0];
  if ((flags & O_ACCMODE) == O_RDWR) *p++ = PM_WRITE_ALSO_READ[0];
  /* Created or kept? Only this rare case (O_CREAT without O_TRUNC: touch, loggers) pays an
   * fstat: an empty file keeps nothing of an old version, so it is not an input. */
  if ((flags & (O_CREAT | O_APPEND)) && !(flags & O_TRUNC) && fd >= 0 && fd != NO_FD) {
    struct stat st;
    if (pm_sys(SYS_fstat, fd, &st) == 0 && st.st_size == 0) *p++ = PM_WRITE_EMPTY[0];
  }
  if (p == arg) *p++ = PM_ARG_NONE[0];
  *p = 0;
}

void record_open(int dirfd, const char *path, int flags, int result, int err) {
  /* result: the new fd, NO_FD when the open happens later (spawn file actions), -1 failed */
  if ((flags & __O_TMPFILE) == __O_TMPFILE) return;   /* no name until linkat gives it one */
  if (flags & O_PATH) {                   /* a handle, not a read: existence only */
    record_lookup(result >= 0, err, PM_STAT, PM_ARG_NONE, dirfd, path);
    return;
  }
  if (result < 0) {
    if (is_absent_errno(err)) record_at(PM_ABSENT, PM_ARG_NONE, dirfd, path);
    return;
  }
  if (is_write_open(flags)) {
    char arg[8];
    write_open_arg(flags, result, arg);
    record_at(PM_WRITE, arg, dirfd, path);
  } else {
    record_at((flags & O_DIRECTORY) ? PM_STAT : PM_READ, PM_ARG_NONE, dirfd, path);
  }
}

/* The mode argument of open(): present only with O_CREAT or O_TMPFILE. */
#define OPEN_MODE(flags) ({                                     \
  mode_t mode_ = 0;                                             \
  if ((flags) & (O_CREAT | __O_TMPFILE)) {                      \
    va_list ap; va_start(ap, flags); mode_ = va_arg(ap, mode_t); va_end(ap); \
  }                                                             \
  mode_; })

WRAP(int, open, (const char *path, int flags, ...), (path, flags, OPEN_MODE(flags)),
     record_open(AT_FDCWD, path, flags, r, e))
WRAP(int, open64, (const char *path, int flags, ...), (path, flags, OPEN_MODE(flags)),
     record_open(AT_FDCWD, path, flags, r, e))
WRAP(int, openat, (int dirfd, const char *path, int flags, ...), (dirfd, path, flags, OPEN_MODE(flags)),
     record_open(dirfd, path, flags, r, e))
WRAP(int, openat64, (int dirfd, const char *path, int flags, ...), (dirfd, path, flags, OPEN_MODE(flags)),
     record_open(dirfd, path, flags, r, e))
WRAP(int, __open_2, (const char *path, int flags), (path, flags), record_open(AT_FDCWD, path, flags, r, e))
WRAP(int, __open64_2, (const char *path, int flags), (path, flags), record_open(AT_FDCWD, path, flags, r, e))
WRAP(int, __openat_2, (int dirfd, const char *path, int flags), (dirfd, path, flags), record_open(dirfd, path, flags, r, e))
WRAP(int, __openat64_2, (int dirfd, const char *path, int flags), (dirfd, path, flags), record_open(dirfd, path, flags, r, e))
WRAP(int, creat, (const char *path, mode_t mode), (path, mode), record_open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, r, e))
WRAP(int, creat64, (const char *path, mode_t mode), (path, mode), record_open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, r, e))

static int fopen_flags(const char *mode) {
  if (!mode) return O_RDONLY;
  int plus = strchr(mode, '+') != NULL;
  switch (mode[0]) {
    case 'w': return (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC;
    case 'a': return (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND;
    default: return plus ? O_RDWR : O_RDONLY;
  }
}

static void record_fopen(const char *path, const char *mode, FILE *f, int err) {
  if (opaque(path)) record_open(AT_FDCWD, path, fopen_flags(mode), f ? fileno(f) : -1, err);
}

WRAP(FILE *, fopen, (const char *path, const char *mode), (path, mode), record_fopen(path, mode, r, e))
WRAP(FILE *, fopen64, (const char *path, const char *mode), (path, mode), record_fopen(path, mode, r, e))
/* freopen(NULL, mode, f) changes the mode of the same file: nothing new is opened */
WRAP(FILE *, freopen, (const char *path, const char *mode, FILE *s), (path, mode, s), record_fopen(path, mode, r, e))
WRAP(FILE *, freopen64, (const char *path, const char *mode, FILE *s), (path, mode, s), record_fopen(path, mode, r, e))

/* mkstemp and friends open inside libc, where our open wrapper cannot see them. The file is
 * always new and empty (O_EXCL): nothing of an old version is read. */
static void record_temp(int made, const char *arg, const char *name) {
  if (made) record_at(PM_WRITE, arg, AT_FDCWD, name);
}

#define TEMP_FILE PM_WRITE_CREATE PM_WRITE_EMPTY
WRAP(int, mkstemp, (char *t), (t), record_temp(r >= 0, TEMP_FILE, t))
WRAP(int, mkstemp64, (char *t), (t), record_temp(r >= 0, TEMP_FILE, t))
WRAP(int, mkostemp, (char *t, int f), (t, f), record_temp(r >= 0, TEMP_FILE, t))
WRAP(int, mkostemp64, (char *t, int f), (t, f), record_temp(r >= 0, TEMP_FILE, t))
WRAP(int, mkstemps, (char *t, int s), (t, s), record_temp(r >= 0, TEMP_FILE, t))
WRAP(int, mkstemps64, (char *t, int s), (t, s), record_temp(r >= 0, TEMP_FILE, t))
WRAP(int, mkostemps, (char *t, int s, int f), (t, s, f), record_temp(r >= 0, TEMP_FILE, t))
WRAP(int, mkostemps64, (char *t, int s, int f), (t, s, f), record_temp(r >= 0, TEMP_FILE, t))
WRAP(char *, mkdtemp, (char *t), (t), record_temp(r != NULL, PM_WRITE_MKDIR, t))
