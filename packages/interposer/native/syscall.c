/*
 * syscall.c: glibc's syscall(), the door to system calls that libc has no wrapper for or that a
 * program prefers raw. libuv (so Node, and tsc, webpack, vite, eslint under it) stats every path
 * with syscall(SYS_statx) and starts io_uring with syscall(SYS_io_uring_setup). File-related calls
 * get the same records as the named wrappers (calls.c, shared with the ptrace supervisor); exec goes through the exec wrappers; io_uring is
 * refused, so that its users fall back to calls that are seen.
 *
 * The interposer's own system calls are raw (raw-syscall.h): they never come back in here.
 */
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include "interposer.h"
#include "calls.h"

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
    if (nr == SYS_execve) return traced_execve((const char *)a[0], (char *const *)a[1], (char *const *)a[2]);
    if (nr == SYS_execveat) return traced_execveat((int)a[0], (const char *)a[1], (char *const *)a[2], (char *const *)a[3], (int)a[4]);
  }
  RESOLVE(syscall);
  long r = real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  if (!g_enabled) return r;
  int e = errno;
  if (is_fork_child(nr, a, r)) log_forget_thread();
  else if ((nr == SYS_chdir || nr == SYS_fchdir) && r == 0) refresh_cwd();
  else if (call_shape(nr) && ACTIVE()) { ENTER(); record_call(nr, a, r, e); LEAVE(); }
  errno = e;
  return r;
}
