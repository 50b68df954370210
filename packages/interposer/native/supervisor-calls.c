/*
 * supervisor-calls.c: the seccomp filter, and the records of a traced call. A filtered call stops
 * twice: at its seccomp stop its path arguments are copied (the program may reuse the memory), at
 * its exit the result decides the records, as the interposer's wrappers decide them (calls.c,
 * events.c): a failed call leaves no record, or an absence. A lookup stops once (look_up_as_tracee).
 */
#ifdef __x86_64__
#include <elf.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "supervisor.h"
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

/* ---------------------------------------------------------------- where records go */

static struct tracee *g_writing;   /* whose records write_record() writes now */
static struct pm_log_writer g_own; /* pm-supervise's own (a program it could not trace) */

void log_record(char kind, const char *arg, const char *path, const char *path2) {
  pm_log_write(g_writing ? &g_writing->log : &g_own, kind, arg, path, path2);
}

void own_log_finish(void) { pm_log_finish(&g_own); }
void tracee_gone(struct tracee *t) {
  pm_log_finish(&t->log);
  if (g_writing == t) g_writing = NULL;
}

void proc_ids(pid_t tid, pid_t *group, pid_t *parent) {
  char path[64], status[2048];
  snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, status, sizeof status - 1) : -1;
  if (fd >= 0) close(fd);
  status[n > 0 ? n : 0] = 0;
  const char *tgid = strstr(status, "\nTgid:"), *ppid = strstr(status, "\nPPid:");
  *group = tgid ? (pid_t)atoi(tgid + 6) : 0;
  *parent = ppid ? (pid_t)atoi(ppid + 6) : 0;
}

/* From now on, paths are the tracee's and records go to its writer. */
static void look_at(struct tracee *t) {
  paths_follow(t->tid);
  g_writing = t;
  if (!t->log.pid) {
    pid_t group, parent;
    proc_ids(t->tid, &group, &parent);
    t->log.pid = (uint32_t)(group ? group : t->tid);
  }
}

/* ---------------------------------------------------------------- the tracee's memory */

static int read_memory(pid_t tid, uint64_t addr, void *out, size_t size) {
  struct iovec local = {out, size}, remote = {(void *)addr, size};
  return process_vm_readv(tid, &local, 1, &remote, 1, 0) == (ssize_t)size ? 0 : -1;
}

/* A NUL-terminated string of at most PM_PATH_MAX bytes, read page by page (the next page may not
 * be mapped). */
static int read_string(pid_t tid, uint64_t addr, char *out) {
  size_t got = 0;
  while (got < PM_PATH_MAX) {
    size_t chunk = 4096 - ((addr + got) & 4095);
    if (chunk > PM_PATH_MAX - got) chunk = PM_PATH_MAX - got;
    struct iovec local = {out + got, chunk}, remote = {(void *)(addr + got), chunk};
    ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
    if (n <= 0) return -1;
    if (memchr(out + got, 0, (size_t)n)) return 0;
    got += (size_t)n;
  }
  return -1;
}

static int syscall_info(pid_t tid, struct syscall_info *info) {
  if (ptrace((enum __ptrace_request)GET_SYSCALL_INFO, tid, sizeof *info, info) > 0) return 0;
  if (errno != ESRCH) pm_log_lost();   /* kernel before 5.3: the trace is incomplete, and says so */
  return -1;
}

/* ---------------------------------------------------------------- a call */

static void mark_other_architecture(struct tracee *t);

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
    long r = look_up_as_tracee(t, (long)info.seccomp.nr, s);
    look_at(t);
    record_call((long)info.seccomp.nr, t->args, r >= 0 ? r : -1, r >= 0 ? 0 : (int)-r);
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

/* ---------------------------------------------------------------- a program starts */

/* /proc/PID/NAME into buf (NUL-terminated); its length, or -1. */
static ssize_t read_proc(pid_t pid, const char *name, char *buf, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t got = 0;
  for (ssize_t n; got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0;) got += (size_t)n;
  close(fd);
  buf[got] = 0;
  return (ssize_t)got;
}

static ssize_t proc_link(pid_t pid, const char *name, char *out) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
  ssize_t n = readlink(path, out, PM_PATH_MAX - 1);
  out[n > 0 ? n : 0] = 0;
  return n;
}

/* The interposer will enter the program: its environment preloads it and names the log. */
static int preloads_interposer(pid_t pid) {
  if (!g_library[0]) return 0;
  static char env[1 << 20];
  ssize_t n = read_proc(pid, "environ", env, sizeof env);
  int preload = 0, log_dir = 0;
  for (ssize_t i = 0; i < n; i += (ssize_t)strlen(env + i) + 1) {
    if (!strncmp(env + i, "LD_PRELOAD=", 11) && strstr(env + i, g_library)) preload = 1;
    if (!strncmp(env + i, PM_ENV_LOG_DIR "=", sizeof PM_ENV_LOG_DIR)) log_dir = 1;
  }
  return preload && log_dir;
}

/* What the interposer's constructor records (startup.c): the process, its program under its file
 * name and under the name it was started by (AT_EXECFN, from the auxiliary vector). */
static void record_process(struct tracee *t, const char *exe) {
  char stat[1024], ppid[24] = "0";
  if (read_proc(t->tid, "stat", stat, sizeof stat) > 0) {
    const char *end = strrchr(stat, ')');   /* "pid (comm) state ppid ...": comm may hold anything */
    if (end) snprintf(ppid, sizeof ppid, "%d", atoi(end + 3));
  }
  write_record(PM_PROCESS, ppid, exe, NULL, 0);
  if (exe[0] == '/') write_record(PM_EXECUTED, PM_EXEC_PROGRAM, exe, NULL, 1);
  uint64_t auxv[512];
  ssize_t n = read_proc(t->tid, "auxv", (char *)auxv, sizeof auxv);
  for (ssize_t i = 0; i + 1 < n / 8; i += 2) {
    char execfn[PM_PATH_MAX];
    if (auxv[i] == AT_EXECFN && read_string(t->tid, auxv[i + 1], execfn) == 0) record_at(PM_EXECUTED, PM_EXEC_PROGRAM, AT_FDCWD, execfn);
  }
}

static void mark_other_architecture(struct tracee *t) {
  char exe[PM_PATH_MAX];
  look_at(t);
  if (proc_link(t->tid, "exe", exe) > 0) write_record(PM_UNTRACED, PM_WHY_ARCHITECTURE, exe, NULL, 1);
  t->mode = MODE_PASS;
}

static int is_this_program(const char *exe) {
  static char self[PM_PATH_MAX];
  if (!self[0] && readlink("/proc/self/exe", self, sizeof self - 1) <= 0) return 0;
  return !strcmp(exe, self);
}

void program_started(struct tracee *t) {
  char exe[PM_PATH_MAX];
  if (proc_link(t->tid, "exe", exe) <= 0) return;
  t->log.pid = (uint32_t)t->tid;   /* after an exec the thread leads its process */
  look_at(t);
  /* pm-supervise exec'd by a program we trace: it execs its program at once, and we see that */
  if (is_this_program(exe)) { t->mode = MODE_PASS; return; }
  const char *why = untraced_reason(exe, 0, NULL);
  if (!why && preloads_interposer(t->tid)) { t->mode = MODE_PASS; return; }
  t->mode = MODE_RECORD;
  record_process(t, exe);
  if (why && !strcmp(why, PM_WHY_ARCHITECTURE)) mark_other_architecture(t);
}
#endif
