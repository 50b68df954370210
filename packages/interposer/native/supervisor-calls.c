/*
 * supervisor-calls.c: the seccomp filter, and the records of a traced call. A filtered call stops
 * twice: at its seccomp stop its path arguments are copied (the program may reuse the memory), at
 * its exit the result decides the records, as the interposer's wrappers decide them (events.c): a
 * failed call leaves no record, or an absence.
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

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#define X32_SYSCALL_BIT 0x40000000u
#define ERESTART_FIRST 512   /* -ERESTARTSYS .. -ERESTART_RESTARTBLOCK: the call runs again */
#define ERESTART_LAST 516

enum call {
  CALL_NONE, CALL_OPEN, CALL_OPENAT2, CALL_STAT, CALL_STATX, CALL_LOOKUP, CALL_LIST, CALL_RENAME,
  CALL_REMOVE, CALL_LINK, CALL_SYMLINK, CALL_MKDIR, CALL_TRUNCATE, CALL_METADATA, CALL_CHDIR,
  CALL_FCHDIR, CALL_EXEC,
};

/* Where a call's arguments are: indexes, or NO (a dirfd of NO is AT_FDCWD; fixed: the flags of a
 * call without a flags argument). A call with a dirfd and no path works on the descriptor. */
struct shape {
  unsigned char call;
  signed char dirfd, path, dirfd2, path2, flags, buf;
  int fixed;
};
#define NO -1
#define SHAPE(call, dirfd, path, dirfd2, path2, flags, buf, fixed) {call, dirfd, path, dirfd2, path2, flags, buf, fixed}

static const struct shape SHAPES[] = {
  [SYS_open] = SHAPE(CALL_OPEN, NO, 0, NO, NO, 1, NO, 0),
  [SYS_creat] = SHAPE(CALL_OPEN, NO, 0, NO, NO, NO, NO, O_CREAT | O_WRONLY | O_TRUNC),
  [SYS_openat] = SHAPE(CALL_OPEN, 0, 1, NO, NO, 2, NO, 0),
  [SYS_openat2] = SHAPE(CALL_OPENAT2, 0, 1, NO, NO, NO, 2, 0),
  [SYS_stat] = SHAPE(CALL_STAT, NO, 0, NO, NO, NO, 1, 0),
  [SYS_lstat] = SHAPE(CALL_STAT, NO, 0, NO, NO, NO, 1, 0),
  [SYS_newfstatat] = SHAPE(CALL_STAT, 0, 1, NO, NO, 3, 2, 0),
  [SYS_statx] = SHAPE(CALL_STATX, 0, 1, NO, NO, 2, 4, 0),
  [SYS_access] = SHAPE(CALL_LOOKUP, NO, 0, NO, NO, NO, NO, 0),
  [SYS_faccessat] = SHAPE(CALL_LOOKUP, 0, 1, NO, NO, NO, NO, 0),
  [SYS_faccessat2] = SHAPE(CALL_LOOKUP, 0, 1, NO, NO, 3, NO, 0),
  [SYS_readlink] = SHAPE(CALL_LOOKUP, NO, 0, NO, NO, NO, NO, 0),
  [SYS_readlinkat] = SHAPE(CALL_LOOKUP, 0, 1, NO, NO, NO, NO, 0),
  [SYS_getdents] = SHAPE(CALL_LIST, 0, NO, NO, NO, NO, NO, 0),
  [SYS_getdents64] = SHAPE(CALL_LIST, 0, NO, NO, NO, NO, NO, 0),
  [SYS_rename] = SHAPE(CALL_RENAME, NO, 0, NO, 1, NO, NO, 0),
  [SYS_renameat] = SHAPE(CALL_RENAME, 0, 1, 2, 3, NO, NO, 0),
  [SYS_renameat2] = SHAPE(CALL_RENAME, 0, 1, 2, 3, 4, NO, 0),
  [SYS_unlink] = SHAPE(CALL_REMOVE, NO, 0, NO, NO, NO, NO, 0),
  [SYS_unlinkat] = SHAPE(CALL_REMOVE, 0, 1, NO, NO, 2, NO, 0),
  [SYS_rmdir] = SHAPE(CALL_REMOVE, NO, 0, NO, NO, NO, NO, AT_REMOVEDIR),
  [SYS_link] = SHAPE(CALL_LINK, NO, 0, NO, 1, NO, NO, 0),
  [SYS_linkat] = SHAPE(CALL_LINK, 0, 1, 2, 3, 4, NO, 0),
  [SYS_symlink] = SHAPE(CALL_SYMLINK, NO, 1, NO, NO, NO, NO, 0),
  [SYS_symlinkat] = SHAPE(CALL_SYMLINK, 1, 2, NO, NO, NO, NO, 0),
  [SYS_mkdir] = SHAPE(CALL_MKDIR, NO, 0, NO, NO, NO, NO, 0),
  [SYS_mkdirat] = SHAPE(CALL_MKDIR, 0, 1, NO, NO, NO, NO, 0),
  [SYS_truncate] = SHAPE(CALL_TRUNCATE, NO, 0, NO, NO, NO, NO, 0),
  [SYS_ftruncate] = SHAPE(CALL_TRUNCATE, 0, NO, NO, NO, NO, NO, 0),
  [SYS_chmod] = SHAPE(CALL_METADATA, NO, 0, NO, NO, NO, NO, 0),
  [SYS_fchmod] = SHAPE(CALL_METADATA, 0, NO, NO, NO, NO, NO, 0),
  [SYS_fchmodat] = SHAPE(CALL_METADATA, 0, 1, NO, NO, NO, NO, 0),
  [SYS_fchmodat2] = SHAPE(CALL_METADATA, 0, 1, NO, NO, 3, NO, 0),
  [SYS_chown] = SHAPE(CALL_METADATA, NO, 0, NO, NO, NO, NO, 0),
  [SYS_lchown] = SHAPE(CALL_METADATA, NO, 0, NO, NO, NO, NO, 0),
  [SYS_fchown] = SHAPE(CALL_METADATA, 0, NO, NO, NO, NO, NO, 0),
  [SYS_fchownat] = SHAPE(CALL_METADATA, 0, 1, NO, NO, 4, NO, 0),
  [SYS_utime] = SHAPE(CALL_METADATA, NO, 0, NO, NO, NO, NO, 0),
  [SYS_utimes] = SHAPE(CALL_METADATA, NO, 0, NO, NO, NO, NO, 0),
  [SYS_futimesat] = SHAPE(CALL_METADATA, 0, 1, NO, NO, NO, NO, 0),
  [SYS_utimensat] = SHAPE(CALL_METADATA, 0, 1, NO, NO, 3, NO, 0),
  [SYS_chdir] = SHAPE(CALL_CHDIR, NO, 0, NO, NO, NO, NO, 0),
  [SYS_fchdir] = SHAPE(CALL_FCHDIR, 0, NO, NO, NO, NO, NO, 0),
  [SYS_execve] = SHAPE(CALL_EXEC, NO, 0, NO, NO, NO, NO, 0),
  [SYS_execveat] = SHAPE(CALL_EXEC, 0, 1, NO, NO, 4, NO, 0),
};
#define SHAPE_COUNT (sizeof SHAPES / sizeof SHAPES[0])

/* ---------------------------------------------------------------- the filter */

#define MAX_FILTER 128

/* TRACE for the calls above, for x32 numbers and other architectures (the loop marks those
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
  for (unsigned nr = 0; nr < SHAPE_COUNT; nr++)
    if (SHAPES[nr].call != CALL_NONE) prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 0);
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

static int call_flags(const struct shape *s, struct tracee *t) {
  if (s->call == CALL_OPENAT2) {
    uint64_t how_flags;   /* struct open_how starts with its open flags */
    return read_memory(t->tid, t->args[2], &how_flags, sizeof how_flags) == 0 ? (int)how_flags : 0;
  }
  return s->flags >= 0 ? (int)t->args[(int)s->flags] : s->fixed;
}

static int copy_path(struct tracee *t, int index, char *out) {
  if (index < 0 || !t->args[index]) return 0;
  return read_string(t->tid, t->args[index], out) == 0;
}

/* A stat, access or readlink of "" with AT_EMPTY_PATH looks at the descriptor itself (fstat): it
 * looks nothing up, and its exit need not be seen (glibc's and Go's fstat are such calls). */
static int looks_up_nothing(const struct shape *s, const struct tracee *t) {
  int lookup = s->call == CALL_STAT || s->call == CALL_STATX || s->call == CALL_LOOKUP;
  return lookup && t->has_path && !t->path[0] && (t->flags & AT_EMPTY_PATH);
}

int call_entered(struct tracee *t) {
  struct syscall_info info;
  if (syscall_info(t->tid, &info) != 0 || info.op != INFO_SECCOMP) return 0;
  if (info.arch != AUDIT_ARCH_X86_64 || info.seccomp.nr >= X32_SYSCALL_BIT) {
    mark_other_architecture(t);
    return 0;
  }
  if (info.seccomp.nr >= SHAPE_COUNT || SHAPES[info.seccomp.nr].call == CALL_NONE) return 0;
  const struct shape *s = &SHAPES[info.seccomp.nr];
  memcpy(t->args, info.seccomp.args, sizeof t->args);
  if (s->call == CALL_LIST) {
    /* recorded now, saving a stop: a listing that then fails only adds a dependency */
    look_at(t);
    record_fd(PM_LISTED, PM_ARG_NONE, (int)t->args[(int)s->dirfd]);
    return 0;
  }
  t->has_path = copy_path(t, s->path, t->path);
  t->has_path2 = copy_path(t, s->path2, t->path2);
  /* a path that cannot be read makes the call fail (EFAULT): nothing to record */
  if ((s->path >= 0 && t->args[(int)s->path] && !t->has_path) || (s->path2 >= 0 && t->args[(int)s->path2] && !t->has_path2)) return 0;
  t->flags = call_flags(s, t);
  if (looks_up_nothing(s, t)) return 0;
  t->nr = (long)info.seccomp.nr;
  return 1;
}

/* The file type of a successful stat or statx, from the buffer the tracee passed. */
static mode_t stat_mode(struct tracee *t, const struct shape *s) {
  if (s->call == CALL_STAT) {
    struct stat st;
    return read_memory(t->tid, t->args[(int)s->buf], &st, sizeof st) == 0 ? st.st_mode : 0;
  }
  struct statx stx;
  if (read_memory(t->tid, t->args[(int)s->buf], &stx, sizeof stx) != 0 || !(stx.stx_mask & STATX_TYPE)) return 0;
  return stx.stx_mode;
}

void call_exited(struct tracee *t) {
  struct syscall_info info;
  if (syscall_info(t->tid, &info) != 0 || info.op != INFO_EXIT) return;
  long r = (long)info.exit.rval;
  if (r <= -ERESTART_FIRST && r >= -ERESTART_LAST) return;   /* it comes back as a new call */
  int ok = !info.exit.is_error, err = ok ? 0 : (int)-r;
  const struct shape *s = &SHAPES[t->nr];
  int dirfd = s->dirfd >= 0 ? (int)t->args[(int)s->dirfd] : AT_FDCWD;
  int dirfd2 = s->dirfd2 >= 0 ? (int)t->args[(int)s->dirfd2] : AT_FDCWD;
  const char *path = t->has_path ? t->path : NULL, *path2 = t->has_path2 ? t->path2 : NULL;
  /* "" with AT_EMPTY_PATH: the call works on the descriptor itself */
  int on_fd = path && !path[0] && (t->flags & AT_EMPTY_PATH);
  look_at(t);
  switch (s->call) {
    case CALL_OPEN:
    case CALL_OPENAT2: record_open(dirfd, path, t->flags, ok ? (int)r : -1, err); break;
    case CALL_STAT:
    case CALL_STATX: record_stat(dirfd, path, t->flags, ok ? 0 : -1, err, ok ? stat_mode(t, s) : 0); break;
    case CALL_LOOKUP: record_metadata(ok, err, dirfd, path); break;
    case CALL_RENAME: record_rename(ok, dirfd, path, dirfd2, path2, (unsigned)t->flags); break;
    case CALL_REMOVE: record_removed(ok, dirfd, path, t->flags); break;
    case CALL_LINK: if (ok || !on_fd) record_link(ok, err, dirfd, path, dirfd2, path2); break;
    case CALL_SYMLINK: if (ok) record_at(PM_WRITE, PM_WRITE_NEW_NAME, dirfd, path); break;
    case CALL_MKDIR: record_made(ok, err, PM_WRITE_MKDIR, dirfd, path); break;
    case CALL_TRUNCATE: record_change(ok, PM_WRITE_TRUNCATE, dirfd, on_fd ? NULL : path); break;
    case CALL_METADATA: record_change(ok, PM_WRITE_METADATA, dirfd, on_fd ? NULL : path); break;
    case CALL_CHDIR: if (!ok) record_absent(err, AT_FDCWD, path); break;
    case CALL_EXEC: if (!ok && !on_fd) record_absent(err, dirfd, path); break;
  }
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
