/*
 * hooks-change.c: the working folder; changes to names (unlink, rename, link, symlink, mkdir) and
 * to contents and metadata (truncate, chmod, chown, utime).
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <utime.h>
#include "interposer.h"

/* ---------------------------------------------------------------- working folder */

/* Not WRAP: the cached working folder must follow every chdir, even one made by a signal handler
 * inside a hook (whose records are lost). */
static int (*real_chdir)(const char *);
static int (*real_fchdir)(int);

EXPORT int chdir(const char *path) {
  RESOLVE(chdir);
  int r = real_chdir(path);
  if (g_enabled) {
    int e = errno;
    if (r == 0) refresh_cwd();
    else if (!t_in_hook) { ENTER(); record_absent(e, AT_FDCWD, path); LEAVE(); }
    errno = e;
  }
  return r;
}

EXPORT int fchdir(int fd) {
  RESOLVE(fchdir);
  int r = real_fchdir(fd);
  if (g_enabled && r == 0) { int e = errno; refresh_cwd(); errno = e; }
  return r;
}

/* ---------------------------------------------------------------- names */


WRAP(int, unlink, (const char *p), (p), record_removed(r == 0, AT_FDCWD, p, 0))
WRAP(int, unlinkat, (int fd, const char *p, int fl), (fd, p, fl), record_removed(r == 0, fd, p, fl))
WRAP(int, remove, (const char *p), (p), record_removed(r == 0, AT_FDCWD, p, 0))
WRAP(int, rmdir, (const char *p), (p), record_removed(r == 0, AT_FDCWD, p, AT_REMOVEDIR))


WRAP(int, rename, (const char *a, const char *b), (a, b), record_rename(r == 0, AT_FDCWD, a, AT_FDCWD, b, 0))
WRAP(int, renameat, (int f1, const char *a, int f2, const char *b), (f1, a, f2, b), record_rename(r == 0, f1, a, f2, b, 0))
WRAP(int, renameat2, (int f1, const char *a, int f2, const char *b, unsigned int fl), (f1, a, f2, b, fl),
     record_rename(r == 0, f1, a, f2, b, fl))


WRAP(int, link, (const char *a, const char *b), (a, b), record_link(r == 0, e, AT_FDCWD, a, AT_FDCWD, b))
/* linkat(AT_EMPTY_PATH) names an O_TMPFILE file: the absence of "" means nothing */
WRAP(int, linkat, (int f1, const char *a, int f2, const char *b, int fl), (f1, a, f2, b, fl),
     if (r == 0) record_link(1, 0, f1, a, f2, b))


WRAP(int, symlink, (const char *target, const char *p), (target, p), if (r == 0) record_at(PM_WRITE, PM_WRITE_NEW_NAME, AT_FDCWD, p))
WRAP(int, symlinkat, (const char *target, int fd, const char *p), (target, fd, p), if (r == 0) record_at(PM_WRITE, PM_WRITE_NEW_NAME, fd, p))
WRAP(int, mkdir, (const char *p, mode_t m), (p, m), record_made(r == 0, e, PM_WRITE_MKDIR, AT_FDCWD, p))
WRAP(int, mkdirat, (int fd, const char *p, mode_t m), (fd, p, m), record_made(r == 0, e, PM_WRITE_MKDIR, fd, p))

/* ---------------------------------------------------------------- contents and metadata */


#define NO_NAME ((const char *)NULL)
WRAP(int, truncate, (const char *p, off_t n), (p, n), record_change(r == 0, PM_WRITE_TRUNCATE, AT_FDCWD, p))
WRAP(int, truncate64, (const char *p, off64_t n), (p, n), record_change(r == 0, PM_WRITE_TRUNCATE, AT_FDCWD, p))
WRAP(int, ftruncate, (int fd, off_t n), (fd, n), record_change(r == 0, PM_WRITE_TRUNCATE, fd, NO_NAME))
WRAP(int, ftruncate64, (int fd, off64_t n), (fd, n), record_change(r == 0, PM_WRITE_TRUNCATE, fd, NO_NAME))
WRAP(int, chmod, (const char *p, mode_t m), (p, m), record_change(r == 0, PM_WRITE_METADATA, AT_FDCWD, p))
WRAP(int, fchmod, (int fd, mode_t m), (fd, m), record_change(r == 0, PM_WRITE_METADATA, fd, NO_NAME))
WRAP(int, fchmodat, (int fd, const char *p, mode_t m, int fl), (fd, p, m, fl), record_change(r == 0, PM_WRITE_METADATA, fd, p))
WRAP(int, chown, (const char *p, uid_t u, gid_t g), (p, u, g), record_change(r == 0, PM_WRITE_METADATA, AT_FDCWD, p))
WRAP(int, lchown, (const char *p, uid_t u, gid_t g), (p, u, g), record_change(r == 0, PM_WRITE_METADATA, AT_FDCWD, p))
WRAP(int, fchown, (int fd, uid_t u, gid_t g), (fd, u, g), record_change(r == 0, PM_WRITE_METADATA, fd, NO_NAME))
WRAP(int, fchownat, (int fd, const char *p, uid_t u, gid_t g, int fl), (fd, p, u, g, fl),
     record_change(r == 0, PM_WRITE_METADATA, fd, p))
WRAP(int, utime, (const char *p, const struct utimbuf *t), (p, t), record_change(r == 0, PM_WRITE_METADATA, AT_FDCWD, p))
WRAP(int, utimes, (const char *p, const struct timeval *t), (p, t), record_change(r == 0, PM_WRITE_METADATA, AT_FDCWD, p))
WRAP(int, lutimes, (const char *p, const struct timeval *t), (p, t), record_change(r == 0, PM_WRITE_METADATA, AT_FDCWD, p))
WRAP(int, futimes, (int fd, const struct timeval *t), (fd, t), record_change(r == 0, PM_WRITE_METADATA, fd, NO_NAME))
WRAP(int, futimesat, (int fd, const char *p, const struct timeval *t), (fd, p, t), record_change(r == 0, PM_WRITE_METADATA, fd, p))
WRAP(int, utimensat, (int fd, const char *p, const struct timespec *t, int fl), (fd, p, t, fl),
     record_change(r == 0, PM_WRITE_METADATA, fd, p))
WRAP(int, futimens, (int fd, const struct timespec *t), (fd, t), record_change(r == 0, PM_WRITE_METADATA, fd, NO_NAME))
