/*
 * startup.c: the constructor (a process records itself: its parent, its program under every name it
 * was started by, its libraries), fork, dlopen, and the end of the process.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include "interposer.h"

int g_enabled;
const char *g_log_dir;
size_t g_log_dir_len;
const char *g_self_path = "";
const char *g_supervisor;

/* The strings a process keeps (log folder and file, this library, the environment entries exec
 * wrappers put back), packed together: a page or so for all of them, where a fixed buffer each
 * cost a page fault each in every process. */
static char g_strings[6 * PM_PATH_MAX];
static size_t g_strings_used;

const char *keep_string(const char *a, const char *b, const char *c) {
  size_t la = strlen(a), lb = b ? strlen(b) : 0, lc = c ? strlen(c) : 0;
  if (g_strings_used + la + lb + lc + 1 > sizeof g_strings) return NULL;
  char *s = g_strings + g_strings_used;
  memcpy(s, a, la);
  if (b) memcpy(s + la, b, lb);
  if (c) memcpy(s + la + lb, c, lc);
  s[la + lb + lc] = 0;
  g_strings_used += la + lb + lc + 1;
  return s;
}
__thread volatile int t_in_hook __attribute__((tls_model("initial-exec")));

void *resolve_real(const char *name) {
  void *f = dlsym(RTLD_NEXT, name);
  if (!f) f = dlvsym(RTLD_NEXT, name, "GLIBC_2.2.5");
  if (!f) f = dlvsym(RTLD_NEXT, name, "GLIBC_2.0");
  return f;
}

/* ---------------------------------------------------------------- the process and its program */

/* The process, and its program under every name: the file (/proc/self/exe) and the name it was
 * started by (a symlink such as /bin/sh, or the script of a #! program: AT_EXECFN). */
static void record_process(void) {
  char ppid[24];
  pm_fmt_u64(ppid, (uint64_t)pm_sys(SYS_getppid))[0] = 0;
  char exe[PM_PATH_MAX];
  long n = pm_sys(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = 0;
  write_record(PM_PROCESS, ppid, exe, NULL, 0);
  if (exe[0] == '/') write_record(PM_EXECUTED, PM_EXEC_PROGRAM, exe, NULL, 1);
  const char *execfn = (const char *)getauxval(AT_EXECFN);
  if (execfn) record_at(PM_EXECUTED, PM_EXEC_PROGRAM, AT_FDCWD, execfn);
  loader_init(exe[0] == '/' ? keep_string(exe, NULL, NULL) : NULL);
  record_libraries();
}

/* A library loaded later: the new objects, and where the loader looked for this one. */
static void record_dlopen(const char *file, void *handle, const void *caller) {
  if (handle) {
    record_libraries();
    record_dlopen_search(file, caller);
  } else if (file && strchr(file, '/')) {
    record_at(PM_ABSENT, PM_ARG_NONE, AT_FDCWD, file);
  }
}

WRAP(void *, dlopen, (const char *file, int mode), (file, mode), record_dlopen(file, r, __builtin_return_address(0)))

/* ---------------------------------------------------------------- start and end */

static void after_fork_child(void) {
  /* the child's log is started by its first record: a fork that only execs costs nothing */
  if (g_enabled) log_forget_thread();
}

/* $PROV_MAKE_LOG_DIR names the log folder: without it, nothing is recorded. */
static int read_config(void) {
  const char *dir = getenv(PM_ENV_LOG_DIR);
  if (!dir || dir[0] != '/' || strlen(dir) >= PM_PATH_MAX - 80) return 0;
  char *log_dir = (char *)keep_string(dir, NULL, NULL);
  g_log_dir_len = strlen(log_dir);
  while (g_log_dir_len > 1 && log_dir[g_log_dir_len - 1] == '/') log_dir[--g_log_dir_len] = 0;
  g_log_dir = log_dir;
  pm_log_init(keep_string(g_log_dir, "/", PM_LOG_FILE));
  Dl_info self;
  if (dladdr((void *)read_config, &self) && self.dli_fname && strlen(self.dli_fname) < PM_PATH_MAX)
    g_self_path = keep_string(self.dli_fname, NULL, NULL);
  return exec_env_init(getenv("LD_PRELOAD"), getenv(PM_ENV_SUPERVISOR)) == 0;
}

__attribute__((constructor)) static void provmake_init(void) {
  if (!read_config()) return;
  step_root_init();
  g_enabled = 1;
  ENTER();
  record_process();
  python_hook_init();
  LEAVE();
  pthread_atfork(NULL, NULL, after_fork_child);
  log_watch_thread_exits();
}

/* exit() and the end of main: the main thread's log gives back its window too (each exec does
 * the same before the program image goes). */
__attribute__((destructor)) static void provmake_fini(void) {
  if (!g_enabled) return;
  ENTER(); log_finish_thread(); LEAVE();
}
