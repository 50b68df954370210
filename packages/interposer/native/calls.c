/*
 * calls.c: the file system calls the trace records, by number (calls.h), and what one of them did
 * as records (events.c).
 */
#include <linux/openat2.h>
#include <sys/stat.h>
#include "interposer.h"
#include "calls.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

#define NO NO_ARG
#define SHAPE(call, dirfd, path, dirfd2, path2, flags, buf, fixed) {call, dirfd, path, dirfd2, path2, flags, buf, fixed}

const struct call_shape CALL_SHAPES[] = {
#ifdef SYS_open   /* the legacy calls of x86-64 (arm64 has only the *at forms) */
  [SYS_open] = SHAPE(CALL_OPEN, NO, 0, NO, NO, 1, NO, 0),
  [SYS_creat] = SHAPE(CALL_OPEN, NO, 0, NO, NO, NO, NO, O_CREAT | O_WRONLY | O_TRUNC),
  [SYS_stat] = SHAPE(CALL_STAT, NO, 0, NO, NO, NO, 1, 0),
  [SYS_lstat] = SHAPE(CALL_STAT, NO, 0, NO, NO, NO, 1, AT_SYMLINK_NOFOLLOW),
  [SYS_access] = SHAPE(CALL_LOOKUP, NO, 0, NO, NO, NO, NO, 0),
  [SYS_readlink] = SHAPE(CALL_LOOKUP, NO, 0, NO, NO, NO, NO, 0),
  [SYS_getdents] = SHAPE(CALL_LIST, 0, NO, NO, NO, NO, NO, 0),
  [SYS_rename] = SHAPE(CALL_RENAME, NO, 0, NO, 1, NO, NO, 0),
  [SYS_unlink] = SHAPE(CALL_REMOVE, NO, 0, NO, NO, NO, NO, 0),
  [SYS_rmdir] = SHAPE(CALL_REMOVE, NO, 0, NO, NO, NO, NO, AT_REMOVEDIR),
  [SYS_link] = SHAPE(CALL_LINK, NO, 0, NO, 1, NO, NO, 0),
  [SYS_symlink] = SHAPE(CALL_SYMLINK, NO, 1, NO, NO, NO, NO, 0),
  [SYS_mkdir] = SHAPE(CALL_MKDIR, NO, 0, NO, NO, NO, NO, 0),
  [SYS_chmod] = SHAPE(CALL_METADATA, NO, 0, NO, NO, NO, NO, 0),
  [SYS_chown] = SHAPE(CALL_METADATA, NO, 0, NO, NO, NO, NO, 0),
  [SYS_lchown] = SHAPE(CALL_METADATA, NO, 0, NO, NO, NO, NO, 0),
  [SYS_utime] = SHAPE(CALL_METADATA, NO, 0, NO, NO, NO, NO, 0),
  [SYS_utimes] = SHAPE(CALL_METADATA, NO, 0, NO, NO, NO, NO, 0),
  [SYS_futimesat] = SHAPE(CALL_METADATA, 0, 1, NO, NO, NO, NO, 0),
#endif
  [SYS_openat] = SHAPE(CALL_OPEN, 0, 1, NO, NO, 2, NO, 0),
  [SYS_openat2] = SHAPE(CALL_OPENAT2, 0, 1, NO, NO, NO, 2, 0),
  [SYS_newfstatat] = SHAPE(CALL_STAT, 0, 1, NO, NO, 3, 2, 0),
  [SYS_statx] = SHAPE(CALL_STATX, 0, 1, NO, NO, 2, 4, 0),
  [SYS_faccessat] = SHAPE(CALL_LOOKUP, 0, 1, NO, NO, NO, NO, 0),
  [SYS_faccessat2] = SHAPE(CALL_LOOKUP, 0, 1, NO, NO, 3, NO, 0),
  [SYS_readlinkat] = SHAPE(CALL_LOOKUP, 0, 1, NO, NO, NO, NO, 0),
  [SYS_getdents64] = SHAPE(CALL_LIST, 0, NO, NO, NO, NO, NO, 0),
  [SYS_renameat] = SHAPE(CALL_RENAME, 0, 1, 2, 3, NO, NO, 0),
  [SYS_renameat2] = SHAPE(CALL_RENAME, 0, 1, 2, 3, 4, NO, 0),
  [SYS_unlinkat] = SHAPE(CALL_REMOVE, 0, 1, NO, NO, 2, NO, 0),
  [SYS_linkat] = SHAPE(CALL_LINK, 0, 1, 2, 3, 4, NO, 0),
  [SYS_symlinkat] = SHAPE(CALL_SYMLINK, 1, 2, NO, NO, NO, NO, 0),
  [SYS_mkdirat] = SHAPE(CALL_MKDIR, 0, 1, NO, NO, NO, NO, 0),
  [SYS_truncate] = SHAPE(CALL_TRUNCATE, NO, 0, NO, NO, NO, NO, 0),
  [SYS_ftruncate] = SHAPE(CALL_TRUNCATE, 0, NO, NO, NO, NO, NO, 0),
  [SYS_fchmod] = SHAPE(CALL_METADATA, 0, NO, NO, NO, NO, NO, 0),
  [SYS_fchmodat] = SHAPE(CALL_METADATA, 0, 1, NO, NO, NO, NO, 0),
  [SYS_fchmodat2] = SHAPE(CALL_METADATA, 0, 1, NO, NO, 3, NO, 0),
  [SYS_fchown] = SHAPE(CALL_METADATA, 0, NO, NO, NO, NO, NO, 0),
  [SYS_fchownat] = SHAPE(CALL_METADATA, 0, 1, NO, NO, 4, NO, 0),
  [SYS_utimensat] = SHAPE(CALL_METADATA, 0, 1, NO, NO, 3, NO, 0),
  [SYS_chdir] = SHAPE(CALL_CHDIR, NO, 0, NO, NO, NO, NO, 0),
  [SYS_fchdir] = SHAPE(CALL_FCHDIR, 0, NO, NO, NO, NO, NO, 0),
  [SYS_execve] = SHAPE(CALL_EXEC, NO, 0, NO, NO, NO, NO, 0),
  [SYS_execveat] = SHAPE(CALL_EXEC, 0, 1, NO, NO, 4, NO, 0),
  [SYS_copy_file_range] = SHAPE(CALL_COPY, 0, NO, 2, NO, NO, NO, 0),
};
const unsigned CALL_SHAPE_COUNT = sizeof CALL_SHAPES / sizeof CALL_SHAPES[0];


const struct call_shape *call_shape(long nr) {
  if (nr < 0 || (unsigned long)nr >= CALL_SHAPE_COUNT || CALL_SHAPES[nr].kind == CALL_NONE) return NULL;
  return &CALL_SHAPES[nr];
}

int call_flags(const struct call_shape *s, const long *a) {
  if (s->kind == CALL_OPENAT2) {   /* struct open_how starts with its open flags */
    const struct open_how *how = (const struct open_how *)a[(int)s->buf];
    return how ? (int)how->flags : 0;
  }
  return s->flags >= 0 ? (int)a[(int)s->flags] : s->fixed;
}

#define ARG_FD(i) ((i) >= 0 ? (int)a[(int)(i)] : AT_FDCWD)
#define ARG_PATH(i) ((i) >= 0 ? (const char *)a[(int)(i)] : NULL)

void record_call(long nr, const long *a, long r, int e) {
  const struct call_shape *s = call_shape(nr);
  if (!s) return;
  int ok = r >= 0, flags = call_flags(s, a);
  int dirfd = ARG_FD(s->dirfd), dirfd2 = ARG_FD(s->dirfd2);
  const char *path = ARG_PATH(s->path), *path2 = ARG_PATH(s->path2);
  const void *buf = s->buf >= 0 ? (const void *)a[(int)s->buf] : NULL;
  /* "" with AT_EMPTY_PATH: the call works on the descriptor itself */
  int on_fd = path && !opaque(path)[0] && (flags & AT_EMPTY_PATH);
  switch (s->kind) {
    case CALL_OPEN:
    case CALL_OPENAT2: record_open(dirfd, path, flags, ok ? (int)r : -1, e); break;
    case CALL_STAT: record_stat(dirfd, path, flags, ok ? 0 : -1, e, ok ? ((const struct stat *)buf)->st_mode : 0); break;
    case CALL_STATX: record_statx(dirfd, path, flags, ok ? 0 : -1, e, buf); break;
    case CALL_LOOKUP: record_metadata(ok, e, dirfd, path); break;
    case CALL_LIST: if (ok) record_fd(PM_LISTED, PM_ARG_NONE, dirfd); break;
    case CALL_RENAME: record_rename(ok, dirfd, path, dirfd2, path2, (unsigned)flags); break;
    case CALL_REMOVE: record_removed(ok, dirfd, path, flags); break;
    /* linkat(AT_EMPTY_PATH) names an O_TMPFILE file: the absence of "" means nothing */
    case CALL_LINK: if (ok || !on_fd) record_link(ok, e, dirfd, path, dirfd2, path2); break;
    case CALL_SYMLINK: if (ok) record_at(PM_WRITE, PM_WRITE_NEW_NAME, dirfd, path); break;
    case CALL_MKDIR: record_made(ok, e, PM_WRITE_MKDIR, dirfd, path); break;
    case CALL_TRUNCATE: record_change(ok, PM_WRITE_TRUNCATE, dirfd, on_fd ? NULL : path); break;
    case CALL_METADATA: record_change(ok, PM_WRITE_METADATA, dirfd, on_fd ? NULL : path); break;
    case CALL_CHDIR: if (ok) refresh_cwd(); else record_absent(e, AT_FDCWD, path); break;
    case CALL_FCHDIR: if (ok) refresh_cwd(); break;
    case CALL_EXEC: if (!ok && !on_fd) record_absent(e, dirfd, path); break;
    case CALL_COPY:   /* copy_file_range: the source read, the target written */
      if (ok) {
        record_fd(PM_READ, PM_ARG_NONE, dirfd);
        record_fd(PM_WRITE, PM_ARG_NONE, dirfd2);
      }
      break;
  }
}
