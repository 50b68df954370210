/*
 * supervisor-loop.c: the tracer's loop. Every stop of every tracee comes here and is answered so
 * that the program behaves as untraced: a signal is delivered as it came, a group stop stays a stop
 * (PTRACE_LISTEN: the parent sees the stop and the continue), threads, forks and vforks are followed
 * (they run what their creator runs), and the only stops added are those of the filtered calls.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include "supervisor.h"

#define BUCKETS 256u
static struct tracee *g_table[BUCKETS];

static unsigned g_live;   /* tracees not yet at their exit */

/* Every traced program is ending: say so in the log's header before the last of them is gone (its
 * parent, and so the launcher, learns of its end only after that). Missing, it tells the launcher
 * that this supervisor died. */
static void all_ended(void) {
  static int said;
  struct pm_log_header *h = said ? NULL : pm_log_header();
  if (h) __atomic_fetch_add(&h->finished, 1, __ATOMIC_RELEASE);
  said = 1;
}

/* What tracing cost, in stops (bench/esbuild.mjs reads them from $PROV_MAKE_SUPERVISOR_STATS, with
 * the tracer's CPU time): seccomp stops, those of programs the supervisor records, call exits,
 * signals, other events. */
static struct { unsigned long seccomp, recorded, exits, signals, events; } g_stops;

static struct tracee **bucket(pid_t tid) { return &g_table[(unsigned)tid % BUCKETS]; }

static struct tracee *find(pid_t tid) {
  for (struct tracee *t = *bucket(tid); t; t = t->next) if (t->tid == tid) return t;
  return NULL;
}

static struct tracee *add(pid_t tid, enum mode mode) {
  struct tracee *t = calloc(1, sizeof *t);
  if (!t) abort();   /* the tracees die with us (PTRACE_O_EXITKILL): never a silent gap */
  t->tid = tid;
  t->mode = mode;
  t->nr = -1;
  t->next = *bucket(tid);
  *bucket(tid) = t;
  g_live++;
  return t;
}

static void drop(pid_t tid) {
  for (struct tracee **p = bucket(tid); *p; p = &(*p)->next) {
    if ((*p)->tid != tid) continue;
    struct tracee *t = *p;
    *p = t->next;
    if (!t->exiting) g_live--;
    tracee_gone(t);
    free(t);
    return;
  }
}

/* ESRCH (killed meanwhile) is fine: its end is the next thing waitpid reports. */
static void resume(struct tracee *t, int request, int sig) { ptrace(request, t->tid, 0, sig); }

/* A new thread or process runs what its creator runs. */
static void adopt(struct tracee *creator) {
  unsigned long tid;
  if (ptrace(PTRACE_GETEVENTMSG, creator->tid, 0, &tid) != 0) return;
  struct tracee *child = find((pid_t)tid);
  if (!child) child = add((pid_t)tid, creator->mode);
  child->mode = creator->mode;
}

/* The first stop of a tracee may come before its creator's event (or never with it, when a SIGKILL
 * cut the creator short): its creator is its thread group's leader or its parent. */
static enum mode creator_mode(pid_t tid) {
  pid_t group = 0, parent = 0;
  proc_ids(tid, &group, &parent);
  struct tracee *creator = find(group != tid ? group : parent);
  return creator && creator->mode != MODE_UNKNOWN ? creator->mode : MODE_RECORD;
}

/* A thread other than the leader that execs takes the leader's tid; its old tid is gone. */
static void exec_done(struct tracee *t) {
  unsigned long former;
  if (ptrace(PTRACE_GETEVENTMSG, t->tid, 0, &former) == 0 && (pid_t)former != t->tid) drop((pid_t)former);
  t->nr = -1;
  if (t->exiting) g_live++;
  t->exiting = 0;
  program_started(t);
}

static int is_stop_signal(int sig) { return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU; }

static void stopped(struct tracee *t, int status) {
  int sig = WSTOPSIG(status), event = (unsigned)status >> 16;
  if (sig == (SIGTRAP | 0x80)) {   /* the exit of a call whose seccomp stop asked for it */
    g_stops.exits++;
    if (t->nr >= 0) call_exited(t);
    t->nr = -1;
    resume(t, PTRACE_CONT, 0);
    return;
  }
  if (event && event != PTRACE_EVENT_SECCOMP) g_stops.events++;
  switch (event) {
    case 0:   /* a signal on its way: delivered as it came */
      g_stops.signals++;
      resume(t, PTRACE_CONT, sig);
      return;
    case PTRACE_EVENT_SECCOMP: {
      g_stops.seccomp++;
      g_stops.recorded += t->mode == MODE_RECORD;
      resume(t, t->mode == MODE_RECORD && call_entered(t) ? PTRACE_SYSCALL : PTRACE_CONT, 0);
      return;
    }
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE:
      adopt(t);
      break;
    case PTRACE_EVENT_EXEC:
      exec_done(t);
      break;
    case PTRACE_EVENT_EXIT:
      if (!t->exiting && --g_live == 0) all_ended();
      t->exiting = 1;
      break;
    case PTRACE_EVENT_STOP:
      if (is_stop_signal(sig)) {   /* a group stop: stays stopped until SIGCONT */
        ptrace(PTRACE_LISTEN, t->tid, 0, 0);
        return;
      }
      if (t->mode == MODE_UNKNOWN) t->mode = creator_mode(t->tid);   /* a new tracee's first stop */
      break;
  }
  resume(t, PTRACE_CONT, 0);
}

static void write_stats(void) {
  const char *path = getenv("PROV_MAKE_SUPERVISOR_STATS");
  FILE *f = path ? fopen(path, "a") : NULL;
  if (!f) return;
  struct rusage self;
  long cpu_us = getrusage(RUSAGE_SELF, &self) != 0 ? -1 :
    (self.ru_utime.tv_sec + self.ru_stime.tv_sec) * 1000000L + self.ru_utime.tv_usec + self.ru_stime.tv_usec;
  fprintf(f, "seccomp %lu recorded %lu exits %lu signals %lu events %lu cpu_us %ld\n", g_stops.seccomp, g_stops.recorded,
          g_stops.exits, g_stops.signals, g_stops.events, cpu_us);
  fclose(f);
}

void supervise(pid_t pid) {
  add(pid, MODE_RECORD);
  for (;;) {
    int status;
    pid_t tid = waitpid(-1, &status, __WALL);
    if (tid < 0) {
      if (errno == EINTR) continue;
      all_ended();   /* when no exit stop was seen (SIGKILL) */
      write_stats();
      return;   /* ECHILD: no tracee is left */
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      drop(tid);
      continue;
    }
    if (!WIFSTOPPED(status)) continue;
    struct tracee *t = find(tid);
    if (!t) t = add(tid, MODE_UNKNOWN);
    stopped(t, status);
  }
}
