/*
 * events.c: what an event on files means as records, whoever saw it: the interposer's wrappers
 * (hooks-*.c) after the libc call, or the ptrace supervisor (supervisor-calls.c) at a system call's
 * exit. Paths are resolved through resolve_at()/fd_path(), which each side implements for the
 * process that made the call (paths.c, supervisor-view.c).
 */
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
  if ((flags & (O_CREAT | O_APPEND)) && !(flags & O_TRUNC) && fd >= 0 && fd != NO_FD && fd_is_empty(fd)) *p++ = PM_WRITE_EMPTY[0];
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

/* fstat through a name: fstatat(fd, "", AT_EMPTY_PATH) looks nothing up (the fd was recorded
 * when it was opened) */
static int is_fstat(const char *path, int flags) {
  const char *p = opaque(path);
  return p && !p[0] && (flags & AT_EMPTY_PATH);
}

/* A stat of a folder says only that it exists; a stat of anything else is a metadata read. */
void record_stat(int dirfd, const char *path, int flags, int r, int err, mode_t mode) {
  if ((r == 0 && S_ISDIR(mode)) || is_fstat(path, flags)) return;
  record_lookup(r == 0, err, PM_STAT, PM_ARG_NONE, dirfd, path);
}

void record_statx(int dirfd, const char *path, int flags, int r, int err, const struct statx *st) {
  record_stat(dirfd, path, flags, r, err, (r == 0 && (st->stx_mask & STATX_TYPE)) ? st->stx_mode : 0);
}

/* access, readlink: the metadata of what the name leads to, or its absence */
void record_metadata(int ok, int err, int dirfd, const char *path) {
  record_lookup(ok, err, PM_STAT, PM_ARG_NONE, dirfd, path);
}

void record_removed(int ok, int dirfd, const char *path, int flags) {
  if (ok) record_at(PM_REMOVED, (flags & AT_REMOVEDIR) ? PM_REMOVED_FOLDER : PM_REMOVED_FILE, dirfd, path);
}

void record_rename(int ok, int fd1, const char *from, int fd2, const char *to, unsigned int flags) {
  if (!ok) return;
  if (flags & RENAME_EXCHANGE) {   /* two names swapped: both are rewritten */
    record_at(PM_WRITE, PM_WRITE_CREATE, fd1, from);
    record_at(PM_WRITE, PM_WRITE_CREATE, fd2, to);
    return;
  }
  char a[PM_PATH_MAX], b[PM_PATH_MAX];
  if (resolve_at(fd1, from, a) != 0 || resolve_at(fd2, to, b) != 0) return;
  int ia = is_ignored(a), ib = is_ignored(b);
  if (ia && ib) return;
  /* moved in from an ignored place: new content */
  if (ia) write_record(PM_WRITE, PM_WRITE_CREATE PM_WRITE_TRUNCATE, b, NULL, 0);
  else if (ib) write_record(PM_REMOVED, PM_REMOVED_FILE, a, NULL, 0);   /* moved out to an ignored place */
  else write_record(PM_RENAMED, PM_ARG_NONE, a, b, 0);
}

/* A new name for an existing file (link): the file is looked at, the name written. */
void record_link(int ok, int err, int fd1, const char *from, int fd2, const char *to) {
  if (ok) {
    record_at(PM_STAT, PM_ARG_NONE, fd1, from);
    record_at(PM_WRITE, PM_WRITE_NEW_NAME, fd2, to);
  } else {
    record_absent(err, fd1, from);
  }
}

/* A folder made, or the absence of the folder it was to go in. */
void record_made(int ok, int err, const char *arg, int dirfd, const char *path) {
  if (ok) record_at(PM_WRITE, arg, dirfd, path);
  else record_absent(err, dirfd, path);
}

/* A change through a name, or through a descriptor when there is no name (utimensat(fd, NULL)). */
void record_change(int ok, const char *arg, int dirfd, const char *path) {
  if (!ok) return;
  if (opaque(path)) record_at(PM_WRITE, arg, dirfd, path);
  else record_fd(PM_WRITE, arg, dirfd);
}
