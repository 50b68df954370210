/*
 * hooks-open.c: the open family, fopen and the mkstemp family.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "interposer.h"


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
