/*
 * interposer.h: what the interposer's files share (private; nothing here is exported).
 *
 * libprovmake.so is preloaded (LD_PRELOAD) into every process of a traced step. It wraps the glibc
 * functions that touch files or start programs and appends one record (record.h) per event to the
 * step's log (log.c). The TypeScript side (src/logs.ts, src/reduce.ts) reads the log and reduces it
 * to the step's dependencies.
 *
 *   paths.c        a (dirfd, path) made absolute as the kernel resolves it; what is never recorded
 *   record.c       from an event to a record: de-duplication
 *   thread-log.c   each thread's log writer
 *   events.c       what an event means as records (shared with the ptrace supervisor)
 *   calls.c        the file system calls recorded, by number: syscall() and the supervisor decode with it
 *   log.c          the step's shared log the records go to (log.h)
 *   hooks-open.c   open family, fopen, mkstemp
 *   hooks-meta.c   stat, access, readlink, realpath, folder listings
 *   hooks-change.c working folder, names (unlink, rename, link, mkdir), contents and metadata
 *   syscall.c      glibc's syscall(): the same records for raw calls; io_uring refused
 *   exec.c         exec family, posix_spawn, system, popen: the environment that keeps them traced
 *   program.c      what a program is before it runs (static, Go, setuid...: escapes LD_PRELOAD)
 *   loader.c       the libraries a process runs, and where the loader looked for them first
 *   startup.c      the constructor: the process and its program; fork; dlopen
 *
 * Programs it cannot enter (static, Go, another loader: program.c) are handed by exec.c to the ptrace
 * supervisor pm-supervise (supervisor.h), which links events.c, record.c and log.c and writes the same
 * records to the same log.
 *
 * Rules that keep it fast and invisible to the traced program:
 *  - no extra system call on the hot path: the working folder is cached (kept by the chdir/fchdir
 *    wrappers), records go straight into mapped memory, and file versions are taken by the launcher
 *    after the step (an fstat per open measured +23% on an open/close loop here);
 *  - no malloc: paths are resolved on the stack, the log is mmap'ed, exec environments are built in
 *    mmap'ed scratch memory; the interposer's own system calls are raw (raw-syscall.h);
 *  - errno is preserved; a full or broken log never fails a call: the loss is counted and the step
 *    is reported as not fully observed.
 */
#ifndef PM_INTERPOSER_H
#define PM_INTERPOSER_H

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "raw-syscall.h"
#include "log.h"
#include "record.h"
#include "program.h"

#define EXPORT __attribute__((visibility("default")))
#define PM_PATH_MAX 4096

/* The environment variables the launcher (src/launch.ts) sets, and exec wrappers put back. */
#define PM_ENV_LOG_DIR "PROV_MAKE_LOG_DIR"
#define PM_ENV_SUPERVISOR "PROV_MAKE_SUPERVISOR"   /* pm-supervise, for what LD_PRELOAD cannot enter */
/* The program's LD_PRELOAD, renamed while pm-supervise runs so that the interposer does not enter
 * pm-supervise itself; it puts it back for the program. */
#define PM_ENV_PRELOAD "PROV_MAKE_PRELOAD"
#define PM_ENV_STEP_ROOT "PROV_MAKE_STEP_ROOT"   /* set for the step's first process only */

/* ---------------------------------------------------------------- state (startup.c) */

extern int g_enabled;                 /* the constructor found a log folder: record */
extern const char *g_log_dir;         /* $PROV_MAKE_LOG_DIR, without a trailing '/' */
extern size_t g_log_dir_len;
extern const char *g_self_path;       /* this library's own file */
extern const char *g_supervisor;      /* $PROV_MAKE_SUPERVISOR, or NULL */
/* a + b + c (b, c may be NULL) kept for the life of the process; NULL when there is no room */
const char *keep_string(const char *a, const char *b, const char *c);

/* ---------------------------------------------------------------- the wrapper idiom */

/* dlsym finds default versions only; old binaries may call compat-only symbols (__xstat). */
void *resolve_real(const char *name);
#define RESOLVE(name) \
  do { if (!real_##name) real_##name = (__typeof__(real_##name))resolve_real(#name); } while (0)

/* Inside a hook our own code calls nothing wrapped: a nested call is a signal handler's, and what it
 * does cannot be recorded (the log is mid-record), so it counts as lost. volatile: the optimiser
 * would otherwise drop the increments around code it can see does not read it. */
extern __thread volatile int t_in_hook __attribute__((tls_model("initial-exec")));
#define ACTIVE() (g_enabled && (!t_in_hook || (pm_log_lost(), 0)))
#define ENTER() (t_in_hook++)
#define LEAVE() (t_in_hook--)

/*
 * WRAP(ret, name, (params), (args), record...): the wrapper of a libc function `name`. It calls the
 * real one, then, while tracing and not re-entered, runs `record` with the result in `r` and the
 * call's errno in `e`; errno is given back as the call left it.
 *
 *   WRAP(int, unlink, (const char *p), (p), if (r == 0) record_at(PM_REMOVED, PM_REMOVED_FILE, AT_FDCWD, p))
 */
#define WRAP(ret, name, params, args, ...)   \
  static ret(*real_##name) params;           \
  EXPORT ret name params {                   \
    RESOLVE(name);                           \
    ret r = real_##name args;                \
    if (ACTIVE()) {                          \
      int e = errno;                         \
      ENTER();                               \
      __VA_ARGS__;                           \
      (void)e;                               \
      LEAVE();                               \
      errno = e;                             \
    }                                        \
    return r;                                \
  }

/* ---------------------------------------------------------------- paths.c */

/* Resolve (dirfd, path) to an absolute normalised path in out[PM_PATH_MAX]; 0, or -1 to skip. */
int resolve_at(int dirfd, const char *path, char *out);
/* The path of an open descriptor (not of a deleted file); 0 or -1. */
int fd_path(int fd, char *out);
/* The open file is empty (an open that created it, or kept nothing of an old version). */
int fd_is_empty(int fd);
/* /proc, /sys, /dev, the logs and relative paths are never recorded. */
int is_ignored(const char *abs);
/* The working folder changed (chdir, fchdir); it is otherwise asked for once, when first needed. */
void refresh_cwd(void);
/* Resolve paths as process `pid` sees them from now on (the supervisor, for each tracee). */
void paths_follow(int pid);
/* A 64-bit hash of a path (never 0). */
uint64_t name_hash(const char *s);
/* glibc declares many path parameters nonnull, yet callers do pass NULL (utimensat with an fd):
 * hide the pointer from the optimiser so our NULL checks stay. */
static inline const char *opaque(const char *p) { __asm__("" : "+r"(p)); return p; }
static inline int is_absent_errno(int e) { return e == ENOENT || e == ENOTDIR; }

/* ---------------------------------------------------------------- record.c */

/* Append a record of absolute paths; dedup: drop it when this process wrote the same before. */
void write_record(char kind, const char *arg, const char *path, const char *path2, int dedup);
/* Record an event on (dirfd, path) or on an open descriptor. */
void record_at(char kind, const char *arg, int dirfd, const char *path);
void record_fd(char kind, const char *arg, int fd);
/* A lookup that failed: absent when err says so (ENOENT, ENOTDIR). */
void record_absent(int err, int dirfd, const char *path);
/* The outcome of a lookup: found (kind) or, when err says so, absent. */
void record_lookup(int ok, int err, char kind, const char *arg, int dirfd, const char *path);
/* Append a record to the log (thread-log.c: this thread's writer). */
void log_record(char kind, const char *arg, const char *path, const char *path2);
/* This thread's log writer: its window goes back before exec and at the end of the thread and the
 * process; a fork child drops the window it inherited. */
void log_finish_thread(void);
void log_forget_thread(void);
void log_watch_thread_exits(void);

/* ---------------------------------------------------------------- events.c */

/* What a call did as records, shared by the libc wrappers (hooks-*.c), the syscall() wrapper
 * (syscall.c) and the supervisor (supervisor-calls.c); ok/r/result: the outcome, err its errno. */
#define NO_FD INT32_MAX   /* an open that happens later (posix_spawn file actions) */
void record_open(int dirfd, const char *path, int flags, int result, int err);
/* stat: a metadata read, or the absence; not for a folder, nor for an fstat (AT_EMPTY_PATH, "") */
void record_stat(int dirfd, const char *path, int flags, int r, int err, mode_t mode);
void record_statx(int dirfd, const char *path, int flags, int r, int err, const struct statx *st);
/* access, readlink: the metadata of what the name leads to, or its absence */
void record_metadata(int ok, int err, int dirfd, const char *path);
void record_removed(int ok, int dirfd, const char *path, int flags);
void record_rename(int ok, int fd1, const char *from, int fd2, const char *to, unsigned int flags);
/* A new name for an existing file (link): the file is looked at, the name written. */
void record_link(int ok, int err, int fd1, const char *from, int fd2, const char *to);
/* A folder made, or the absence of the folder it was to go in. */
void record_made(int ok, int err, const char *arg, int dirfd, const char *path);
/* A change through a name, or through a descriptor when there is no name (utimensat(fd, NULL)). */
void record_change(int ok, const char *arg, int dirfd, const char *path);

/* ---------------------------------------------------------------- python.c */

/* In a process with Python's C API: an audit hook that gives the import system's listings a role. */
void python_hook_init(void);
/* The role of this thread's next listing (PM_LISTED_*, or PM_ARG_NONE), taken: it is for one listing. */
const char *take_listing_role(void);

/* ---------------------------------------------------------------- loader.c */

/* At start-up: the program's file (for $ORIGIN; NULL if unknown) and LD_LIBRARY_PATH. */
void loader_init(const char *program);
/* Every object mapped and not recorded yet: executed, and where the loader looked for it first. */
void record_libraries(void);
/* After dlopen(file) succeeded: where the loader looked for file, asked for by caller's object. */
void record_dlopen_search(const char *file, const void *caller);

/* ---------------------------------------------------------------- syscall.c */

/* In the step's first process: what holds for the whole step (io_uring refused). */
void step_root_init(void);

/* ---------------------------------------------------------------- program.c, exec.c */

/* execve and execveat as the wrappers do them (traced environment, escapes recorded). */
int traced_execve(const char *path, char *const argv[], char *const envp[]);
int traced_execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags);

/* The entries exec wrappers put back: LD_PRELOAD as we were started, and our variables. 0, or -1
 * when they cannot be kept (then nothing is traced: a program could not be kept traced). */
int exec_env_init(const char *preload, const char *supervisor);

#endif
