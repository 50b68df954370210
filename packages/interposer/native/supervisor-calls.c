/*
 * supervisor-calls.c: the seccomp filter, and the records of a traced call. A filtered call stops
 * twice: at its seccomp stop its path arguments are copied (the program may reuse the memory), at
 * its exit the result decides the records, as the interposer's wrappers decide them (calls.c,
 * events.c): a failed call leaves no record, or an absence. A lookup stops once (look_up_as_tracee).
 */
#include "supervisor.h"

#ifdef __x86_64__
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <unistd.h>
#include "calls.h"

/* PTRACE_GET_SYSCALL_INFO (Linux 5.3), declared here: older C libraries do not have it. */
#define GET_SYSCALL_INFO 0x420e
#define INFO_EXIT 2
#define INFO_SECCOMP 3
struct syscall_info {   /* the kernel's struct ptrace_syscall_info */
  uint8_t op;
  uint32_t arch __attribute__((aligned(4)));
  uint64_t instruction_pointer, stack_pointer;
  union {
    struct { int64_t rval; uint8_t is_error; } exit;
    struct { uint64_t nr, args[6]; uint32_t ret_data; } seccomp;
  };
};

#define X32_SYSCALL_BIT 0x40000000u
#define ERESTART_FIRST 512   /* -ERESTARTSYS .. -ERESTART_RESTARTBLOCK: the call runs again */
#define ERESTART_LAST 516

/* ---------------------------------------------------------------- the filter */

#define MAX_FILTER 128

/* TRACE for the calls the trace records (calls.c), for x32 numbers and other architectures (the loop marks those
 * untraced); ENOSYS for io_uring, whose I/O no stop would see; everything else runs untouched. */
int install_filter(void) {
  struct sock_filter prog[MAX_FILTER];
  unsigned short n = 0;
  prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
  prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
  prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
  prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
  prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_io_uring_setup, 0, 1);
  prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
  unsigned short first_jump = n;
  prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 0);
  for (unsigned nr = 0; nr < CALL_SHAPE_COUNT; nr++)
    if (CALL_SHAPES[nr].kind != CALL_NONE) prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 0);
  prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  unsigned short trace = n;
  prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
  for (unsigned short i = first_jump; i < trace - 1; i++) prog[i].jt = (unsigned char)(trace - i - 1);
  struct sock_fprog fprog = {n, prog};
  /* SPEC_ALLOW: no speculative-store-bypass mitigation forced on the program (it costs speed) */
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &fprog);
  if (rc != 0 && errno == EINVAL) rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog);
  if (rc != 0 && errno == EACCES) {
    /* without CAP_SYS_ADMIN a filter needs no_new_privs (setuid programs then run unprivileged,
     * as they would under any tracer) */
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &fprog);
    if (rc != 0 && errno == EINVAL) rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog);
  }
  return rc == 0 ? 0 : errno;
}

static int syscall_info(pid_t tid, struct syscall_info *info) {
  if (ptrace((enum __ptrace_request)GET_SYSCALL_INFO, tid, sizeof *info, info) > 0) return 0;
  if (errno != ESRCH) pm_log_lost();   /* kernel before 5.3: the trace is incomplete, and says so */
  return -1;
}

/* ---------------------------------------------------------------- a call */

/* A path argument copied here (or left NULL); 0 when the tracee's pointer cannot be read (the call
 * then fails with EFAULT). */
static int copy_path(struct tracee *t, int index, char *out) {
  if (index < 0 || !t->raw[index]) return 1;
  if (read_string(t->tid, t->raw[index], out) != 0) return 0;
  t->args[index] = (long)out;
  return 1;
}

/* A stat, access or readlink of "" with AT_EMPTY_PATH looks at the descriptor itself (fstat): it
 * looks nothing up, and its exit need not be seen (glibc's and Go's fstat are such calls). */
static int looks_up_nothing(const struct call_shape *s, const long *a) {
  int lookup = s->kind == CALL_STAT || s->kind == CALL_STATX || s->kind == CALL_LOOKUP;
  return lookup && s->path >= 0 && a[(int)s->path] && !((const char *)a[(int)s->path])[0] && (call_flags(s, a) & AT_EMPTY_PATH);
}

/*
 * A lookup (stat, statx, access, readlink, and an open for reading, whose record says only whether
 * the name was there) changes nothing, so the supervisor makes it itself at the seccomp stop, on
 * the name the tracee passed as the tracee resolves it (through its /proc/PID/cwd or fd/N, with the
 * same credentials), records that result, and lets the call run without an exit stop: half the
 * stops of a resolver, which opens and stats. The two results differ only if the name changes in
 * between (the record then describes it before the change: the step runs again), or when an open
 * fails where a stat does not (no permission, too many files): a read recorded for nothing.
 * Returns the result, or -errno.
 */
static long look_up_as_tracee(struct tracee *t, long nr, const struct call_shape *s) {
  const char *path = (const char *)t->args[(int)s->path];
  int dirfd = s->dirfd >= 0 ? (int)t->args[(int)s->dirfd] : AT_FDCWD, flags = call_flags(s, t->args);
  char name[PM_PATH_MAX + 64];
  if (!path || !path[0]) return path ? -ENOENT : -EFAULT;
  if (path[0] == '/') snprintf(name, sizeof name, "%s", path);
  else if (dirfd == AT_FDCWD) snprintf(name, sizeof name, "/proc/%d/cwd/%s", (int)t->tid, path);
  else snprintf(name, sizeof name, "/proc/%d/fd/%d/%s", (int)t->tid, dirfd, path);
  if (s->kind == CALL_STAT || s->kind == CALL_STATX) t->args[(int)s->buf] = (long)&t->buf;   /* the result, here */
  if (s->kind == CALL_STAT) return pm_sys(SYS_newfstatat, AT_FDCWD, name, &t->buf.st, flags);
  if (s->kind == CALL_OPEN || s->kind == CALL_OPENAT2)
    return pm_sys(SYS_newfstatat, AT_FDCWD, name, &t->buf.st, (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0);
  if (s->kind == CALL_STATX) return pm_sys(SYS_statx, AT_FDCWD, name, flags, t->raw[3], &t->buf.stx);
  if (nr == SYS_readlink || nr == SYS_readlinkat) {   /* a symlink's target: there, and a symlink */
    long r = pm_sys(SYS_newfstatat, AT_FDCWD, name, &t->buf.st, AT_SYMLINK_NOFOLLOW);
    return r == 0 && !S_ISLNK(t->buf.st.st_mode) ? -EINVAL : r;
  }
  int mode = (int)t->args[(int)s->path + 1];   /* access: the mode follows the path */
  long r = pm_sys(SYS_faccessat2, AT_FDCWD, name, mode, flags);
  return r == -ENOSYS ? pm_sys(SYS_faccessat, AT_FDCWD, name, mode) : r;
}

/*
 * Names a lookup found, by hash. Looking one up again changes nothing the step depends on: a stat
 * and a read are the same dependency and the first access of a name decides it (src/reduce.ts),
 * its records would be duplicates (record.c), and a name gone since is gone in its version, which
 * the launcher takes after the step. So the lookup is not made again: esbuild looks at each of its
 * sources three times (lstat, stat, open). When the table is half full, lookups are made.
 */
#define FOUND_SLOTS 16384u
static uint64_t g_found[FOUND_SLOTS];
static unsigned g_found_count;

/* Whether `abs` was found before; with `add`, it is from now on. */
static int found_before(const char *abs, int add) {
  uint64_t h = name_hash(abs);
  for (unsigned i = (unsigned)h & (FOUND_SLOTS - 1);; i = (i + 1) & (FOUND_SLOTS - 1)) {
    if (g_found[i] == h) return 1;
    if (g_found[i]) continue;
    if (add && g_found_count < FOUND_SLOTS / 2) g_found[i] = h, g_found_count++;
    return 0;
  }
}

/* A lookup's records, unless it is of a name found before or never recorded (/proc...). */
static void look_up(struct tracee *t, long nr, const struct call_shape *s) {
  char abs[PM_PATH_MAX];
  look_at(t);
  int dirfd = s->dirfd >= 0 ? (int)t->args[(int)s->dirfd] : AT_FDCWD;
  const char *path = (const char *)t->args[(int)s->path];
  int named = path && path[0] && resolve_at(dirfd, path, abs) == 0;   /* "": not a name */
  if (named && (is_ignored(abs) || found_before(abs, 0))) return;
  long r = look_up_as_tracee(t, nr, s);
  record_call(nr, t->args, r >= 0 ? r : -1, r >= 0 ? 0 : (int)-r);
  if (named && r >= 0) found_before(abs, 1);
}

/* The calls look_up_as_tracee answers: lookups, and opens that neither write nor create. */
static int is_lookup(const struct call_shape *s, const long *a) {
  if (s->kind == CALL_STAT || s->kind == CALL_STATX || s->kind == CALL_LOOKUP) return 1;
  int flags = s->kind == CALL_OPEN || s->kind == CALL_OPENAT2 ? call_flags(s, a) : O_WRONLY;
  return (flags & O_ACCMODE) == O_RDONLY && !(flags & (O_CREAT | O_TRUNC | __O_TMPFILE));
}

int call_entered(struct tracee *t) {
  struct syscall_info info;
  if (syscall_info(t->tid, &info) != 0 || info.op != INFO_SECCOMP) return 0;
  if (info.arch != AUDIT_ARCH_X86_64 || info.seccomp.nr >= X32_SYSCALL_BIT) {
    mark_other_architecture(t);
    return 0;
  }
  const struct call_shape *s = call_shape((long)info.seccomp.nr);
  if (!s) return 0;
  memcpy(t->raw, info.seccomp.args, sizeof t->raw);
  memcpy(t->args, info.seccomp.args, sizeof t->args);
  if (s->kind == CALL_LIST) {
    /* recorded now, saving a stop: a listing that then fails only adds a dependency */
    look_at(t);
    record_fd(PM_LISTED, PM_ARG_NONE, (int)t->args[(int)s->dirfd]);
    return 0;
  }
  if (!copy_path(t, s->path, t->path) || !copy_path(t, s->path2, t->path2)) return 0;
  if (s->kind == CALL_OPENAT2) {
    if (!t->raw[(int)s->buf] || read_memory(t->tid, t->raw[(int)s->buf], &t->buf.how, sizeof t->buf.how) != 0) return 0;
    t->args[(int)s->buf] = (long)&t->buf.how;
  }
  if (looks_up_nothing(s, t->args)) return 0;
  if (is_lookup(s, t->args)) {
    look_up(t, (long)info.seccomp.nr, s);
    return 0;
  }
  t->nr = (long)info.seccomp.nr;
  return 1;
}

void call_exited(struct tracee *t) {
  struct syscall_info info;
  if (syscall_info(t->tid, &info) != 0 || info.op != INFO_EXIT) return;
  long r = (long)info.exit.rval;
  if (r <= -ERESTART_FIRST && r >= -ERESTART_LAST) return;   /* it comes back as a new call */
  int ok = !info.exit.is_error;
  look_at(t);
  record_call(t->nr, t->args, ok ? r : -1, ok ? 0 : (int)-r);
}

#else   /* other architectures: pm-supervise refuses them before tracing (supervisor-main.c) */
int install_filter(void) { return ENOSYS; }
int call_entered(struct tracee *t) { (void)t; return 0; }
void call_exited(struct tracee *t) { (void)t; }
#endif
