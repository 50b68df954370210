/*
 * supervisor-main.c: pm-supervise PROGRAM [ARGV0 ARGS...]: run PROGRAM (with argv ARGV0 ARGS...)
 * traced by ptrace + seccomp.
 *
 * It is started in place of the program: exec'd by the interposer's exec wrappers (exec.c) under the
 * caller's pid, or spawned by the launcher (src/launch.ts). It keeps that pid for the program, so the
 * program's parent, exit status, signals and job control are the program's own. It forks the tracer
 * as a grandchild (a child would be a child the program never made: `wait` would see it), which
 * attaches with PTRACE_SEIZE; then it installs the seccomp filter and execs the program. Where that
 * is not possible (Yama, a container without the capability, no seccomp, another architecture), the
 * program runs untraced, and is recorded so.
 */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/seccomp.h>
#include "supervisor.h"

extern char **environ;

/* What the interposer's startup.c defines; here from the environment. */
const char *g_log_dir;
size_t g_log_dir_len;
char g_library[PM_PATH_MAX];

#define OPTIONS (PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | \
                 PTRACE_O_TRACEEXEC | PTRACE_O_TRACESECCOMP | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXIT)

/* Put the program's LD_PRELOAD back; the interposer is its first entry. */
static void restore_preload(void) {
  const char *preload = getenv(PM_ENV_PRELOAD);
  if (!preload) return;
  size_t n = strcspn(preload, ": ");
  if (n < sizeof g_library) { memcpy(g_library, preload, n); g_library[n] = 0; }
  setenv("LD_PRELOAD", preload, 1);
  unsetenv(PM_ENV_PRELOAD);
}

/* $PROV_MAKE_LOG_DIR names the log folder, as for the interposer (startup.c). */
static int read_config(void) {
  static char dir[PM_PATH_MAX], log[PM_PATH_MAX + 16];
  const char *env = getenv(PM_ENV_LOG_DIR);
  if (!env || env[0] != '/' || strlen(env) >= PM_PATH_MAX) return 0;
  strcpy(dir, env);
  g_log_dir_len = strlen(dir);
  while (g_log_dir_len > 1 && dir[g_log_dir_len - 1] == '/') dir[--g_log_dir_len] = 0;
  g_log_dir = dir;
  snprintf(log, sizeof log, "%s/" PM_LOG_FILE, dir);
  pm_log_init(log);
  return 1;
}

/* The pid of this process's tracer, 0 when there is none. */
static pid_t tracer_of_self(void) {
  char status[4096];
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, status, sizeof status - 1);
  close(fd);
  status[n > 0 ? n : 0] = 0;
  const char *line = strstr(status, "\nTracerPid:");
  return line ? (pid_t)atoi(line + 11) : 0;
}

static int same_program(pid_t other) {
  char link[64], theirs[PM_PATH_MAX], ours[PM_PATH_MAX];
  snprintf(link, sizeof link, "/proc/%d/exe", (int)other);
  ssize_t a = readlink(link, theirs, sizeof theirs), b = readlink("/proc/self/exe", ours, sizeof ours);
  return a > 0 && a == b && !memcmp(theirs, ours, (size_t)a);
}

/* Why the program cannot be supervised here (PM_WHY_*), "" when a supervisor of ours already traces
 * this process (it goes on tracing what it execs), NULL when it can. */
static const char *refusal(void) {
#ifndef __x86_64__
  return PM_WHY_ARCHITECTURE;   /* the supervisor decodes x86-64 system calls only */
#else
  pid_t tracer = tracer_of_self();
  if (tracer) return same_program(tracer) ? "" : PM_WHY_PTRACE;
  unsigned int action = SECCOMP_RET_TRACE;
  if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) != 0) return PM_WHY_SECCOMP;
  return NULL;
#endif
}

static void record_untraced(const char *program, const char *why) {
  char abs[PM_PATH_MAX];
  if (resolve_at(AT_FDCWD, program, abs) != 0 || is_ignored(abs)) return;
  write_record(PM_EXECUTED, PM_EXEC_PROGRAM, abs, NULL, 0);
  write_record(PM_UNTRACED, why, abs, NULL, 0);
  own_log_finish();
}

static void run(const char *program, char **argv) {
  execve(program, argv, environ);
  int e = errno;
  fprintf(stderr, "prov-make: cannot run %s: %s\n", program, strerror(e));
  exit(e == ENOENT ? 127 : 126);
}

/* ---------------------------------------------------------------- the tracer */

/* The tracer holds nothing of the program's: no descriptor (a pipe it kept open would never see
 * EOF), no terminal signal (Ctrl-C is the program's to handle; the tracer ends when its tracees
 * end). Faults still kill it, and its tracees with it (PTRACE_O_EXITKILL). */
static void detach_from_program(int keep) {
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3; fd++) if (null >= 0) dup2(null, fd);
  if (syscall(SYS_close_range, 3, keep - 1, 0) != 0 || syscall(SYS_close_range, keep + 1, ~0u, 0) != 0) {
    DIR *d = opendir("/proc/self/fd");   /* before Linux 5.9 */
    for (struct dirent *e; d && (e = readdir(d));) {
      int fd = atoi(e->d_name);
      if (fd > 2 && fd != keep && fd != dirfd(d)) close(fd);
    }
    if (d) closedir(d);
  }
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGCHLD || sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGABRT) continue;
    signal(sig, SIG_IGN);
  }
}

/* In the grandchild: attach to `program`, say whether it could, and trace it. It never waits for
 * the program once attached: the program may stop at any signal (the SIGCHLD of our middle
 * process), and only the tracer can let it go on. */
static void be_tracer(pid_t program, int sock) {
  detach_from_program(sock);
  int err = ptrace(PTRACE_SEIZE, program, 0, OPTIONS) == 0 ? 0 : errno;
  struct pm_log_header *h = err ? NULL : pm_log_header();
  if (h) __atomic_fetch_add(&h->supervisors, 1, __ATOMIC_RELEASE);
  if (write(sock, &err, sizeof err) != sizeof err || err) _exit(0);
  close(sock);
  supervise(program);
  _exit(0);
}

/* Start the tracer and let it attach to this process; NULL, or why it could not. */
static const char *hand_off(void) {
  int sock[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) != 0) return PM_WHY_PTRACE;
  prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);   /* Yama scope 1: our descendant may */
  pid_t self = getpid();
  pid_t child = fork();
  if (child == 0) {
    close(sock[0]);
    if (fork() == 0) be_tracer(self, sock[1]);
    _exit(0);
  }
  close(sock[1]);
  if (child > 0) waitpid(child, NULL, 0);
  int seized = EPERM;   /* what the tracer says (it died saying nothing: EPERM) */
  while (child > 0 && read(sock[0], &seized, sizeof seized) < 0 && errno == EINTR) {}
  close(sock[0]);
  prctl(PR_SET_PTRACER, 0, 0, 0, 0);
  if (child <= 0 || seized) return PM_WHY_PTRACE;
  /* Attached without a filter (a kernel that refuses this one): the tracer sees no call, and the
   * program is recorded as untraced. */
  return install_filter() == 0 ? NULL : PM_WHY_SECCOMP;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: pm-supervise PROGRAM [ARGV0 ARGS...]\n");
    return 2;
  }
  restore_preload();
  const char *program = argv[1];
  char *no_args[] = {NULL};
  char **program_argv = argc > 2 ? argv + 2 : no_args;
  if (!read_config()) run(program, program_argv);
  const char *why = refusal();
  if (why && !*why) run(program, program_argv);   /* our supervisor sees the exec */
  if (!why) why = hand_off();
  if (why) record_untraced(program, why);
  run(program, program_argv);
}
