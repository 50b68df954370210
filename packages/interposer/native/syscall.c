/*
 * syscall.c: glibc's syscall(), the door to system calls that libc has no wrapper for or that a
 * program prefers raw. libuv (so Node, and tsc, webpack, vite, eslint under it) stats every path
 * with syscall(SYS_statx) and starts io_uring with syscall(SYS_io_uring_setup). File-related calls
 * get the same records as the named wrappers; exec goes through the exec wrappers; io_uring is
 * refused, so that its users fall back to calls that are seen.
 *
 * The interposer's own system calls are raw (raw-syscall.h): they never come back in here.
 */
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include "interposer.h"

/* ---------------------------------------------------------------- io_uring */

/*
 * io_uring does opens, reads and stats in the kernel, where no wrapper sees them. It is refused
 * with ENOSYS, which every user handles by falling back to ordinary calls (libuv: the thread
 * pool), in two ways:
 *  - here, for io_uring_setup through syscall() (libuv, older liburing, Rust's io-uring crate);
 *  - by a seccomp filter for the whole step, for programs that make the call raw (liburing 2.2+).
 *    The first process of the step installs it (the launcher marks it with PM_ENV_STEP_ROOT);
 *    every process of the step inherits it. Without CAP_SYS_ADMIN the kernel accepts a filter
 *    only with no_new_privs set, which makes setuid programs run without their privileges (as in
 *    Nix's build sandbox): those programs escape LD_PRELOAD anyway, and a step that runs one is
 *    never trusted, so soundness wins. The filter costs nothing per call: it looks only at the
 *    call number, so the kernel caches its verdict for every other one.
 */
static void refuse_io_uring_in_step(void) {
  /* io_uring_setup is 425 on x86-64, i386 and arm64 alike: no architecture check needed */
  struct sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_io_uring_setup, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { sizeof filter / sizeof filter[0], filter };
  long rc = pm_sys(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
  if (rc == -EACCES && pm_sys(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
    pm_sys(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
}

void step_root_init(void) {
  if (!getenv(PM_ENV_STEP_ROOT)) return;
  unsetenv(PM_ENV_STEP_ROOT);   /* the processes it starts inherit the filter, not the task */
  refuse_io_uring_in_step();
}

/* ---------------------------------------------------------------- file-related calls */

/* A file-related call, in the shape of its *at form. */
struct file_call {
  enum { CALL_OPEN, CALL_STAT, CALL_STATX, CALL_LOOKUP, CALL_LIST, CALL_RENAME, CALL_REMOVE, CALL_MKDIR,
         CALL_LINK, CALL_SYMLINK, CALL_COPY } how;
  int fd, fd2, flags;
  const char *path, *path2;
  void *buf;
};

#define PATH(v) ((const char *)(v))

/* Which call `nr` with arguments `a` is; 0 when it is not one the trace records. */
static int describe(long nr, const long *a, struct file_call *c) {
  const struct file_call none = { 0 };
  *c = none;
  c->fd = c->fd2 = AT_FDCWD;
  switch (nr) {
#ifdef SYS_open   /* the legacy calls of x86-64 (arm64 has only the *at forms) */
    case SYS_open: c->how = CALL_OPEN; c->path = PATH(a[0]); c->flags = (int)a[1]; return 1;
    case SYS_creat: c->how = CALL_OPEN; c->path = PATH(a[0]); c->flags = O_CREAT | O_WRONLY | O_TRUNC; return 1;
    case SYS_stat: c->how = CALL_STAT; c->path = PATH(a[0]); c->buf = (void *)a[1]; return 1;
    case SYS_lstat: c->how = CALL_STAT; c->path = PATH(a[0]); c->buf = (void *)a[1]; return 1;
    case SYS_access: c->how = CALL_LOOKUP; c->path = PATH(a[0]); return 1;
    case SYS_readlink: c->how = CALL_LOOKUP; c->path = PATH(a[0]); return 1;
    case SYS_getdents: c->how = CALL_LIST; c->fd = (int)a[0]; return 1;
    case SYS_rename: c->how = CALL_RENAME; c->path = PATH(a[0]); c->path2 = PATH(a[1]); return 1;
    case SYS_unlink: c->how = CALL_REMOVE; c->path = PATH(a[0]); return 1;
    case SYS_rmdir: c->how = CALL_REMOVE; c->path = PATH(a[0]); c->flags = AT_REMOVEDIR; return 1;
    case SYS_mkdir: c->how = CALL_MKDIR; c->path = PATH(a[0]); return 1;
    case SYS_link: c->how = CALL_LINK; c->path = PATH(a[0]); c->path2 = PATH(a[1]); return 1;
    case SYS_symlink: c->how = CALL_SYMLINK; c->path = PATH(a[1]); return 1;
#endif
    case SYS_openat: c->how = CALL_OPEN; c->fd = (int)a[0]; c->path = PATH(a[1]); c->flags = (int)a[2]; return 1;
    case SYS_openat2:
      c->how = CALL_OPEN; c->fd = (int)a[0]; c->path = PATH(a[1]);
      c->flags = a[2] ? (int)((const struct open_how *)a[2])->flags : 0;
      return 1;
    case SYS_newfstatat:
      c->how = CALL_STAT; c->fd = (int)a[0]; c->path = PATH(a[1]); c->buf = (void *)a[2]; c->flags = (int)a[3];
      return 1;
    case SYS_statx:
      c->how = CALL_STATX; c->fd = (int)a[0]; c->path = PATH(a[1]); c->flags = (int)a[2]; c->buf = (void *)a[4];
      return 1;
    case SYS_faccessat:
    case SYS_faccessat2:
    case SYS_readlinkat: c->how = CALL_LOOKUP; c->fd = (int)a[0]; c->path = PATH(a[1]); return 1;
    case SYS_getdents64: c->how = CALL_LIST; c->fd = (int)a[0]; return 1;
    case SYS_renameat:
    case SYS_renameat2:
      c->how = CALL_RENAME; c->fd = (int)a[0]; c->path = PATH(a[1]); c->fd2 = (int)a[2]; c->path2 = PATH(a[3]);
      c->flags = nr == SYS_renameat2 ? (int)a[4] : 0;
      return 1;
    case SYS_unlinkat: c->how = CALL_REMOVE; c->fd = (int)a[0]; c->path = PATH(a[1]); c->flags = (int)a[2]; return 1;
    case SYS_mkdirat: c->how = CALL_MKDIR; c->fd = (int)a[0]; c->path = PATH(a[1]); return 1;
    case SYS_linkat:
      c->how = CALL_LINK; c->fd = (int)a[0]; c->path = PATH(a[1]); c->fd2 = (int)a[2]; c->path2 = PATH(a[3]);
      return 1;
    case SYS_symlinkat: c->how = CALL_SYMLINK; c->fd = (int)a[1]; c->path = PATH(a[2]); return 1;
    case SYS_copy_file_range: c->how = CALL_COPY; c->fd = (int)a[0]; c->fd2 = (int)a[2]; return 1;
    default: return 0;
  }
}

/* The records of a call that returned r (-1 and errno e on failure, as glibc's syscall() does). */
static void record_call(const struct file_call *c, long r, int e) {
  int ok = r >= 0;
  switch (c->how) {
    case CALL_OPEN: record_open(c->fd, c->path, c->flags, (int)r, e); break;
    case CALL_STAT: record_stat(c->fd, c->path, c->flags, (int)r, e, ok ? ((const struct stat *)c->buf)->st_mode : 0); break;
    case CALL_STATX: record_statx(c->fd, c->path, c->flags, (int)r, e, c->buf); break;
    case CALL_LOOKUP: record_metadata(ok, e, c->fd, c->path); break;
    case CALL_LIST: if (ok) record_fd(PM_LISTED, PM_ARG_NONE, c->fd); break;
    case CALL_RENAME: record_rename(ok, c->fd, c->path, c->fd2, c->path2, (unsigned int)c->flags); break;
    case CALL_REMOVE: record_removed(ok, c->fd, c->path, c->flags); break;
    case CALL_MKDIR: record_made(ok, e, PM_WRITE_MKDIR, c->fd, c->path); break;
    case CALL_LINK: record_link(ok, e, c->fd, c->path, c->fd2, c->path2); break;
    case CALL_SYMLINK: if (ok) record_at(PM_WRITE, PM_WRITE_NEW_NAME, c->fd, c->path); break;
    case CALL_COPY:
      if (ok) {
        record_fd(PM_READ, PM_ARG_NONE, c->fd);
        record_fd(PM_WRITE, PM_ARG_NONE, c->fd2);
      }
      break;
  }
}

/* A child made by a fork-like clone returns here with its parent's log window: not its own. */
static int is_fork_child(long nr, const long *a, long r) {
  if (r != 0) return 0;
#ifdef SYS_fork
  if (nr == SYS_fork) return 1;
#endif
  if (nr == SYS_clone) return !(a[0] & CLONE_VM);
  if (nr == SYS_clone3) return a[0] && !(((const struct clone_args *)a[0])->flags & CLONE_VM);
  return 0;
}

static long (*real_syscall)(long, ...);

/*
 * Not WRAP: variadic with six arguments at most, all passed as long (the kernel's ABI, and what
 * glibc's own syscall() reads, whether the caller passed them or not); some calls are answered
 * before the real one.
 */
EXPORT long syscall(long nr, ...) {
  va_list ap;
  va_start(ap, nr);
  long a[6];
  for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
  if (g_enabled) {
    if (nr == SYS_io_uring_setup) { errno = ENOSYS; return -1; }
    if (nr == SYS_execve) return traced_execve(PATH(a[0]), (char *const *)a[1], (char *const *)a[2]);
    if (nr == SYS_execveat) return traced_execveat((int)a[0], PATH(a[1]), (char *const *)a[2], (char *const *)a[3], (int)a[4]);
  }
  RESOLVE(syscall);
  long r = real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  if (!g_enabled) return r;
  int e = errno;
  struct file_call call;
  if (is_fork_child(nr, a, r)) log_forget_thread();
  else if ((nr == SYS_chdir || nr == SYS_fchdir) && r == 0) refresh_cwd();
  else if (describe(nr, a, &call) && ACTIVE()) { ENTER(); record_call(&call, r, e); LEAVE(); }
  errno = e;
  return r;
}
