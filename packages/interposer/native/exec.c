/*
 * exec.c: starting programs (the exec family, posix_spawn, system, popen). A traced program
 * records itself when it starts (startup.c); what is written here is what it cannot write: failed
 * execs, the places a PATH search missed, and programs that escape LD_PRELOAD. Every exec gets an
 * environment that keeps the new program traced, even when the caller dropped our variables.
 */
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "interposer.h"

extern char **environ;

static void record_untraced(const char *abs, const char *why) {
  write_record(PM_EXECUTED, PM_EXEC_PROGRAM, abs, NULL, 1);
  write_record(PM_UNTRACED, why, abs, NULL, 1);
}

/* The program about to run: NULL when the interposer enters it; else why not, with its absolute
 * path in abs. The supervisor takes over what it can trace (handed_off); the rest is recorded as
 * executed and untraced. */
static const char *escape_of(const char *path, char *abs) {
  if (resolve_at(AT_FDCWD, path, abs) != 0 || is_ignored(abs)) return NULL;
  int exists = 1;
  const char *why = untraced_reason(abs, 0, &exists);
  if (!exists) return NULL;   /* the exec fails: nothing ran, and the caller records the absence */
  /* A traced program records itself (AT_EXECFN, in its constructor): writing here would make
   * every fork-then-exec child start a log of its own. Only programs that escape are written. */
  if (why && !(supervisor_traces(why) && g_supervisor)) record_untraced(abs, why);
  return why;
}

/* Find `file` on PATH as execvp does, recording the places it is absent from; copies the hit. */
static int search_path(const char *file, char *found) {
  if (strchr(file, '/')) {
    if (strlen(file) >= PM_PATH_MAX) return -1;
    strcpy(found, file);
    return 0;
  }
  const char *path = getenv("PATH");
  if (!path) path = "/bin:/usr/bin";
  size_t flen = strlen(file);
  while (*path) {
    const char *end = strchr(path, ':');
    size_t dlen = end ? (size_t)(end - path) : strlen(path);
    char cand[PM_PATH_MAX];
    if (dlen + flen + 2 < PM_PATH_MAX) {
      if (dlen) { memcpy(cand, path, dlen); cand[dlen] = '/'; memcpy(cand + dlen + 1, file, flen + 1); }
      else memcpy(cand, file, flen + 1);
      struct stat st;
      long rc = pm_sys(SYS_newfstatat, AT_FDCWD, cand, &st, 0);
      if (rc == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
        strcpy(found, cand);
        return 0;
      }
      if (rc != 0) record_absent((int)-rc, AT_FDCWD, cand);
    }
    if (!end) break;
    path = end + 1;
  }
  return -1;
}

/* The program execvp would run (in found), or NULL; the places it is not are recorded. */
static const char *on_path(const char *file, char *found) {
  ENTER();
  int ok = search_path(file, found) == 0;
  LEAVE();
  return ok ? found : NULL;
}

/* ---------------------------------------------------------------- the environment of an exec */

static const char *g_env_preload;      /* "LD_PRELOAD=..." as we were started */
static const char *g_env_logdir;       /* PM_ENV_LOG_DIR "=..." */
static const char *g_env_supervisor;   /* PM_ENV_SUPERVISOR "=...", or NULL */

int exec_env_init(const char *preload, const char *supervisor) {
  int ours = preload && g_self_path[0] && strstr(preload, g_self_path);
  g_env_preload = keep_string("LD_PRELOAD=", ours ? preload : g_self_path, NULL);
  g_env_logdir = keep_string(PM_ENV_LOG_DIR "=", g_log_dir, NULL);
  if (supervisor && supervisor[0] == '/') {
    g_env_supervisor = keep_string(PM_ENV_SUPERVISOR "=", supervisor, NULL);
    if (g_env_supervisor) g_supervisor = g_env_supervisor + sizeof PM_ENV_SUPERVISOR;
  }
  return g_env_preload && g_env_logdir ? 0 : -1;
}

/* The environment a traced program passes to exec, with our variables put back if it dropped
 * or changed them (env -i, or a program that builds its own environment). Scratch memory is
 * mmap'ed: the program's malloc is not ours to use here (e.g. between vfork and exec). */
struct scratch { void *mem; size_t size; };
struct exec_env { char **envp; struct scratch env, handoff; };

static void *scratch_alloc(struct scratch *s, size_t size) {
  long mem = pm_sys(SYS_mmap, NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (pm_failed(mem)) return NULL;
  s->mem = (void *)mem;
  s->size = size;
  return s->mem;
}

static void scratch_free(struct scratch *s) {
  if (s->mem) pm_sys(SYS_munmap, s->mem, s->size);
  s->mem = NULL;
}

static int env_has(char *const *envp, const char *entry) {
  for (char *const *e = envp; e && *e; e++) if (!strcmp(*e, entry)) return 1;
  return 0;
}

static int is_ours(const char *entry) {
  return !strncmp(entry, "LD_PRELOAD=", 11) || !strncmp(entry, PM_ENV_LOG_DIR "=", sizeof PM_ENV_LOG_DIR) ||
         !strncmp(entry, PM_ENV_SUPERVISOR "=", sizeof PM_ENV_SUPERVISOR);
}

static char *const *traced_env(char *const *envp, struct exec_env *out) {
  out->env.mem = out->handoff.mem = NULL;
  if (env_has(envp, g_env_preload) && env_has(envp, g_env_logdir) && (!g_env_supervisor || env_has(envp, g_env_supervisor)))
    return envp;
  size_t n = 0;
  for (char *const *e = envp; e && *e; e++) n++;
  const char *their_preload = NULL;
  for (char *const *e = envp; e && *e; e++) if (!strncmp(*e, "LD_PRELOAD=", 11)) their_preload = *e + 11;
  size_t preload_len = strlen(g_env_preload) + (their_preload ? strlen(their_preload) + 1 : 0) + 1;
  char **list = scratch_alloc(&out->env, (n + 4) * sizeof(char *) + preload_len);
  if (!list) return envp;
  char *preload = (char *)(list + n + 4);
  strcpy(preload, g_env_preload);
  if (their_preload && !strstr(their_preload, g_self_path)) { strcat(preload, ":"); strcat(preload, their_preload); }
  size_t k = 0;
  for (char *const *e = envp; e && *e; e++) if (!is_ours(*e)) list[k++] = *e;
  list[k++] = preload;
  list[k++] = (char *)g_env_logdir;
  if (g_env_supervisor) list[k++] = (char *)g_env_supervisor;
  list[k] = NULL;
  out->envp = list;
  return list;
}

static void free_env(struct exec_env *env) {
  scratch_free(&env->env);
  scratch_free(&env->handoff);
}

/* ---------------------------------------------------------------- the hand-off to the supervisor */

/* An exec about to happen: the environment it gets, and whether the supervisor runs the program
 * (`pm-supervise TARGET ARGV...`, its own argv and envp). */
struct exec_call {
  char *const *envp;
  const char *handed_off;   /* why the supervisor runs it, or NULL */
  char target[PM_PATH_MAX];
  char **sv_argv, **sv_envp;
  struct exec_env env;
};

/* The supervisor's argv, and the environment with LD_PRELOAD renamed PM_ENV_PRELOAD. */
static int hand_off(struct exec_call *c, char *const argv[]) {
  size_t argc = 0, envc = 0, preload = 0;
  for (char *const *a = argv; a && *a; a++) argc++;
  for (char *const *e = c->envp; e && *e; e++, envc++) if (!strncmp(*e, "LD_PRELOAD=", 11)) preload = strlen(*e + 11);
  size_t lists = (argc + 3 + envc + 1) * sizeof(char *);
  char **sv_argv = scratch_alloc(&c->env.handoff, lists + sizeof PM_ENV_PRELOAD + preload + 1);
  if (!sv_argv) return -1;
  char **sv_envp = sv_argv + argc + 3, *renamed = (char *)sv_argv + lists;
  sv_argv[0] = (char *)g_supervisor;
  sv_argv[1] = c->target;
  for (size_t i = 0; i < argc; i++) sv_argv[i + 2] = argv[i];
  sv_argv[argc + 2] = NULL;
  size_t k = 0;
  for (char *const *e = c->envp; e && *e; e++) {
    if (strncmp(*e, "LD_PRELOAD=", 11)) { sv_envp[k++] = *e; continue; }
    memcpy(renamed, PM_ENV_PRELOAD "=", sizeof PM_ENV_PRELOAD);
    strcpy(renamed + sizeof PM_ENV_PRELOAD, *e + 11);
    sv_envp[k++] = renamed;
  }
  sv_envp[k] = NULL;
  c->sv_argv = sv_argv;
  c->sv_envp = sv_envp;
  return 0;
}

/* The supervisor could not be started: the program runs untraced, and is recorded so. */
static void handoff_failed(struct exec_call *c, int replaces_image) {
  ENTER();
  record_untraced(c->target, c->handed_off);
  if (replaces_image) log_finish_thread();
  LEAVE();
  c->handed_off = NULL;
}

/*
 * Every exec and spawn goes through these two. before_exec: look at the program that is about to
 * run (`target`, NULL when unknown), hand it to the supervisor when LD_PRELOAD cannot enter it,
 * and give the traced environment. For an exec (not a spawn), the log window goes back first: the
 * program image, and with it the mapping, is about to go.
 */
static void before_exec(const char *target, char *const argv[], char *const envp[], struct exec_call *c, int replaces_image) {
  ENTER();
  c->handed_off = NULL;
  const char *why = target ? escape_of(target, c->target) : NULL;
  c->envp = traced_env(envp, &c->env);
  if (supervisor_traces(why) && g_supervisor && pm_sys(SYS_faccessat, AT_FDCWD, c->target, X_OK) == 0 && hand_off(c, argv) == 0)
    c->handed_off = why;
  if (replaces_image) log_finish_thread();
  LEAVE();
}

/* after_exec: the exec failed (or the spawn returned): scratch memory back; `absent`, the program,
 * when `failure` (errno of an exec, the result of a spawn) says it was not there. errno is kept. */
static void after_exec(struct exec_env *env, int failure, const char *absent) {
  int e = errno;
  free_env(env);
  if (absent && is_absent_errno(failure)) { ENTER(); record_at(PM_ABSENT, PM_ARG_NONE, AT_FDCWD, absent); LEAVE(); }
  errno = e;
}

static int (*real_execve)(const char *, char *const[], char *const[]);
static int (*real_execvpe)(const char *, char *const[], char *const[]);
static int (*real_execveat)(int, const char *, char *const[], char *const[], int);
static int (*real_fexecve)(int, char *const[], char *const[]);
typedef int spawn_fn(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *, char *const[], char *const[]);
static spawn_fn *real_posix_spawn, *real_posix_spawnp;

/* The supervisor runs the program under this pid; returns only when it could not be started. */
static void exec_supervisor(struct exec_call *c) {
  RESOLVE(execve);
  real_execve(g_supervisor, c->sv_argv, c->sv_envp);
  handoff_failed(c, 1);
}

/* An exec of `target` (NULL when unknown) by `exec`: the program itself, or the supervisor. */
#define TRACED_EXEC(target, argv, envp, absent, exec)                            \
  ({                                                                            \
    struct exec_call c_;                                                        \
    before_exec(target, argv, envp, &c_, 1);                                    \
    if (c_.handed_off) exec_supervisor(&c_);                                    \
    char *const *envp_ = c_.envp;                                               \
    (void)envp_;                                                                \
    int r_ = exec;                                                              \
    after_exec(&c_.env, errno, absent);                                         \
    r_;                                                                         \
  })

int traced_execve(const char *path, char *const argv[], char *const envp[]) {
  RESOLVE(execve);
  if (!g_enabled) return real_execve(path, argv, envp);
  return TRACED_EXEC(path, argv, envp, path, real_execve(path, argv, envp_));
}

static int traced_execvpe(const char *file, char *const argv[], char *const envp[]) {
  RESOLVE(execvpe);
  if (!g_enabled) return real_execvpe(file, argv, envp);
  char found[PM_PATH_MAX];
  return TRACED_EXEC(on_path(file, found), argv, envp, NULL, real_execvpe(file, argv, envp_));
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[]) { return traced_execve(path, argv, envp); }
EXPORT int execv(const char *path, char *const argv[]) { return traced_execve(path, argv, environ); }
EXPORT int execvp(const char *file, char *const argv[]) { return traced_execvpe(file, argv, environ); }
EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]) { return traced_execvpe(file, argv, envp); }

/* The arguments of execl, execlp and execle as an argv (and, for execle, the envp after them). */
#define COLLECT_ARGS(first, argv, with_env)                                  \
  va_list ap; size_t argc = 1;                                               \
  va_start(ap, first); while (va_arg(ap, char *)) argc++; va_end(ap);        \
  char *argv[argc + 1]; char *const *envp_l = environ; (void)envp_l;         \
  va_start(ap, first); argv[0] = (char *)first;                              \
  for (size_t i = 1; i <= argc; i++) argv[i] = va_arg(ap, char *);           \
  if (with_env) envp_l = va_arg(ap, char *const *);                          \
  va_end(ap);

EXPORT int execl(const char *path, const char *arg, ...) { COLLECT_ARGS(arg, argv, 0); return traced_execve(path, argv, environ); }
EXPORT int execlp(const char *file, const char *arg, ...) { COLLECT_ARGS(arg, argv, 0); return traced_execvpe(file, argv, environ); }
EXPORT int execle(const char *path, const char *arg, ...) { COLLECT_ARGS(arg, argv, 1); return traced_execve(path, argv, envp_l); }

int traced_execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags) {
  RESOLVE(execveat);
  if (!g_enabled) return real_execveat(dirfd, path, argv, envp, flags);
  char abs[PM_PATH_MAX];
  const char *target = resolve_at(dirfd, path, abs) == 0 ? abs : NULL;
  return TRACED_EXEC(target, argv, envp, NULL, real_execveat(dirfd, path, argv, envp_, flags));
}

EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags) {
  return traced_execveat(dirfd, path, argv, envp, flags);
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[]) {
  RESOLVE(fexecve);
  if (!g_enabled) return real_fexecve(fd, argv, envp);
  char abs[PM_PATH_MAX];
  const char *target = fd_path(fd, abs) == 0 ? abs : NULL;
  return TRACED_EXEC(target, argv, envp, NULL, real_fexecve(fd, argv, envp_));
}

/* A spawn starts `file` (found on PATH by posix_spawnp: `target`, the program that runs). */
static int traced_spawn(spawn_fn *real, const char *target, pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                        const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
  struct exec_call c;
  before_exec(target, argv, envp, &c, 0);
  RESOLVE(posix_spawn);
  int r = c.handed_off ? real_posix_spawn(pid, g_supervisor, fa, attr, c.sv_argv, c.sv_envp) : -1;
  if (r > 0) handoff_failed(&c, 0);
  if (!c.handed_off) r = real(pid, file, fa, attr, argv, c.envp);
  after_exec(&c.env, r, target == file ? file : NULL);
  return r;
}

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                       const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
  RESOLVE(posix_spawn);
  if (!g_enabled) return real_posix_spawn(pid, path, fa, attr, argv, envp);
  return traced_spawn(real_posix_spawn, path, pid, path, fa, attr, argv, envp);
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                        const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
  RESOLVE(posix_spawnp);
  if (!g_enabled) return real_posix_spawnp(pid, file, fa, attr, argv, envp);
  char found[PM_PATH_MAX];
  return traced_spawn(real_posix_spawnp, on_path(file, found), pid, file, fa, attr, argv, envp);
}

/* The child opens these files inside libc: record them when they are registered. */
WRAP(int, posix_spawn_file_actions_addopen, (posix_spawn_file_actions_t *fa, int fd, const char *path, int flags, mode_t mode),
     (fa, fd, path, flags, mode), if (r == 0) record_open(AT_FDCWD, path, flags, NO_FD, 0))

/* system and popen start /bin/sh inside libc, with `environ`, where no exec wrapper sees it: a
 * program that dropped LD_PRELOAD from its environment would run the shell untraced. Lend them
 * a traced environment for the call. (Another thread's setenv meanwhile keeps pointers into it:
 * then it is not given back.) */
static char **lend_traced_environ(struct exec_env *env) {
  char **saved = environ;
  ENTER();
  char *const *e = traced_env(environ, env);
  LEAVE();
  environ = (char **)e;
  return saved;
}

static void give_back_environ(char **saved, struct exec_env *env) {
  if (!env->env.mem) return;   /* the environment was traced already: nothing lent */
  if (environ == env->envp) { environ = saved; free_env(env); }
}

static int (*real_system)(const char *);
static FILE *(*real_popen)(const char *, const char *);

EXPORT int system(const char *cmd) {
  RESOLVE(system);
  if (!g_enabled || !cmd) return real_system(cmd);
  struct exec_env env;
  char **saved = lend_traced_environ(&env);
  int r = real_system(cmd);
  int e = errno; give_back_environ(saved, &env); errno = e;
  return r;
}

EXPORT FILE *popen(const char *cmd, const char *mode) {
  RESOLVE(popen);
  if (!g_enabled) return real_popen(cmd, mode);
  struct exec_env env;
  char **saved = lend_traced_environ(&env);
  FILE *f = real_popen(cmd, mode);
  int e = errno; give_back_environ(saved, &env); errno = e;
  return f;
}

/* vfork is not wrapped (PROBE turns it into fork; measured here, that doubled the cost of every
 * command a shell starts, as dash uses vfork). A vfork child shares our state with its parent,
 * which is suspended until the child execs or exits: records the child writes land in the
 * parent's log window, in order, and the exec'd program records itself. Scratch memory for exec
 * environments is mmap'ed, never the program's malloc. */
