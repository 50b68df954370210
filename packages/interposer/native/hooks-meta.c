/*
 * hooks-meta.c: looking at files without opening them (stat, access, readlink, realpath) and
 * reading folders (opendir, scandir, getdents64, glob).
 */
#include <dirent.h>
#include <glob.h>
#include <string.h>
#include <sys/stat.h>
#include "interposer.h"


#define MODE_OF(r, st) ((r) == 0 ? (st)->st_mode : 0)

WRAP(int, stat, (const char *path, struct stat *st), (path, st), record_stat(AT_FDCWD, path, 0, r, e, MODE_OF(r, st)))
WRAP(int, stat64, (const char *path, struct stat64 *st), (path, st), record_stat(AT_FDCWD, path, 0, r, e, MODE_OF(r, st)))
WRAP(int, lstat, (const char *path, struct stat *st), (path, st), record_stat(AT_FDCWD, path, 0, r, e, MODE_OF(r, st)))
WRAP(int, lstat64, (const char *path, struct stat64 *st), (path, st), record_stat(AT_FDCWD, path, 0, r, e, MODE_OF(r, st)))
WRAP(int, fstatat, (int dirfd, const char *path, struct stat *st, int flags), (dirfd, path, st, flags),
     record_stat(dirfd, path, flags, r, e, MODE_OF(r, st)))
WRAP(int, fstatat64, (int dirfd, const char *path, struct stat64 *st, int flags), (dirfd, path, st, flags),
     record_stat(dirfd, path, flags, r, e, MODE_OF(r, st)))
/* glibc before 2.33 compiled stat() into these */
WRAP(int, __xstat, (int ver, const char *path, struct stat *st), (ver, path, st), record_stat(AT_FDCWD, path, 0, r, e, MODE_OF(r, st)))
WRAP(int, __xstat64, (int ver, const char *path, struct stat64 *st), (ver, path, st), record_stat(AT_FDCWD, path, 0, r, e, MODE_OF(r, st)))
WRAP(int, __lxstat, (int ver, const char *path, struct stat *st), (ver, path, st), record_stat(AT_FDCWD, path, 0, r, e, MODE_OF(r, st)))
WRAP(int, __lxstat64, (int ver, const char *path, struct stat64 *st), (ver, path, st), record_stat(AT_FDCWD, path, 0, r, e, MODE_OF(r, st)))
WRAP(int, __fxstatat, (int ver, int dirfd, const char *path, struct stat *st, int flags), (ver, dirfd, path, st, flags),
     record_stat(dirfd, path, flags, r, e, MODE_OF(r, st)))
WRAP(int, __fxstatat64, (int ver, int dirfd, const char *path, struct stat64 *st, int flags), (ver, dirfd, path, st, flags),
     record_stat(dirfd, path, flags, r, e, MODE_OF(r, st)))

WRAP(int, statx, (int dirfd, const char *path, int flags, unsigned int mask, struct statx *st), (dirfd, path, flags, mask, st),
     record_statx(dirfd, path, flags, r, e, st))

WRAP(int, access, (const char *path, int how), (path, how), record_metadata(r == 0, e, AT_FDCWD, path))
WRAP(int, euidaccess, (const char *path, int how), (path, how), record_metadata(r == 0, e, AT_FDCWD, path))
WRAP(int, eaccess, (const char *path, int how), (path, how), record_metadata(r == 0, e, AT_FDCWD, path))
WRAP(int, faccessat, (int dirfd, const char *path, int how, int flags), (dirfd, path, how, flags),
     record_metadata(r == 0, e, dirfd, path))
WRAP(ssize_t, readlink, (const char *path, char *buf, size_t size), (path, buf, size), record_metadata(r >= 0, e, AT_FDCWD, path))
WRAP(ssize_t, readlinkat, (int dirfd, const char *path, char *buf, size_t size), (dirfd, path, buf, size),
     record_metadata(r >= 0, e, dirfd, path))

/* realpath resolves inside libc: record the name asked for when it is absent. */
WRAP(char *, realpath, (const char *path, char *resolved), (path, resolved), if (!r) record_absent(e, AT_FDCWD, path))
WRAP(char *, canonicalize_file_name, (const char *path), (path), if (!r) record_absent(e, AT_FDCWD, path))

/* ---------------------------------------------------------------- folders */

/* A listing, in the role Python's audit hook gave it (python.c), if any. */
static void record_listing(int ok, int err, int dirfd, const char *path) {
  record_lookup(ok, err, PM_LISTED, take_listing_role(), dirfd, path);
}

WRAP(DIR *, opendir, (const char *path), (path), record_listing(r != NULL, e, AT_FDCWD, path))
WRAP(DIR *, fdopendir, (int fd), (fd), { const char *role = take_listing_role(); if (r) record_fd(PM_LISTED, role, fd); })
WRAP(int, scandir, (const char *path, struct dirent ***list, int (*sel)(const struct dirent *),
                    int (*cmp)(const struct dirent **, const struct dirent **)),
     (path, list, sel, cmp), record_listing(r >= 0, e, AT_FDCWD, path))
WRAP(int, scandir64, (const char *path, struct dirent64 ***list, int (*sel)(const struct dirent64 *),
                      int (*cmp)(const struct dirent64 **, const struct dirent64 **)),
     (path, list, sel, cmp), record_listing(r >= 0, e, AT_FDCWD, path))
WRAP(int, scandirat, (int dirfd, const char *path, struct dirent ***list, int (*sel)(const struct dirent *),
                      int (*cmp)(const struct dirent **, const struct dirent **)),
     (dirfd, path, list, sel, cmp), record_listing(r >= 0, e, dirfd, path))
WRAP(ssize_t, getdents64, (int fd, void *buf, size_t n), (fd, buf, n), if (r >= 0) record_fd(PM_LISTED, PM_ARG_NONE, fd))

/* glob() lists folders inside libc: record the folder part of the pattern when it is literal. */
static void record_glob_dir(const char *pattern) {
  if (!opaque(pattern)) return;
  const char *slash = strrchr(pattern, '/');
  char dir[PM_PATH_MAX];
  size_t len = slash ? (size_t)(slash - pattern) : 0;
  if (len >= PM_PATH_MAX) return;
  if (slash) { memcpy(dir, pattern, len); dir[len] = 0; if (!len) strcpy(dir, "/"); }
  else strcpy(dir, ".");
  if (strpbrk(dir, "*?[")) return;      /* wildcards in folders: not a single listing */
  if (!strpbrk(slash ? slash : pattern, "*?[")) return;   /* no wildcard: no listing */
  record_at(PM_LISTED, PM_ARG_NONE, AT_FDCWD, dir);
}

WRAP(int, glob, (const char *pattern, int flags, int (*errfn)(const char *, int), glob_t *g), (pattern, flags, errfn, g),
     record_glob_dir(pattern))
WRAP(int, glob64, (const char *pattern, int flags, int (*errfn)(const char *, int), glob64_t *g), (pattern, flags, errfn, g),
     record_glob_dir(pattern))
