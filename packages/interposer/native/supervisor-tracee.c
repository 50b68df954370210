/*
 * supervisor-tracee.c: a tracee as the supervisor sees it: where its records go (its own log
 * writer, its paths through paths_follow), its memory, and the program it starts (its mode: the
 * supervisor records it, or the interposer does).
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "supervisor.h"

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
void look_at(struct tracee *t) {
  paths_follow(t->tid);
  g_writing = t;
  if (!t->log.pid) {
    pid_t group, parent;
    proc_ids(t->tid, &group, &parent);
    t->log.pid = (uint32_t)(group ? group : t->tid);
  }
}

/* ---------------------------------------------------------------- the tracee's memory */

int read_memory(pid_t tid, uint64_t addr, void *out, size_t size) {
  struct iovec local = {out, size}, remote = {(void *)addr, size};
  return process_vm_readv(tid, &local, 1, &remote, 1, 0) == (ssize_t)size ? 0 : -1;
}

/* A NUL-terminated string of at most PM_PATH_MAX bytes, read page by page (the next page may not
 * be mapped). */
int read_string(pid_t tid, uint64_t addr, char *out) {
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

void mark_other_architecture(struct tracee *t) {
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
