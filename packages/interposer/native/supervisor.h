/*
 * supervisor.h: pm-supervise, the ptrace + seccomp supervisor for the programs LD_PRELOAD cannot
 * enter (program.h: static, Go, another loader). It writes the interposer's records (events.c,
 * record.c) to the same log, resolving paths as the tracee sees them (paths.c, paths_follow).
 *
 *   supervisor-main.c   the hand-off: started in place of the program, under its pid, it forks the
 *                       tracer, lets it attach, installs the seccomp filter and execs the program
 *   supervisor-loop.c   the tracer's loop: every ptrace stop (seccomp, system call exit, fork,
 *                       clone, exec, exit, signals, group stops) and the table of tracees
 *   supervisor-calls.c  the seccomp filter, and a traced call made into records (calls.c, once its
 *                       paths and buffers are copied from the tracee); x86-64 only
 *   supervisor-tracee.c a tracee: its log writer and paths, its memory, the program it starts
 *
 * Only the file system calls the reducer needs stop (SECCOMP_RET_TRACE); everything else runs at
 * full speed. A seccomp filter cannot be removed, and a SECCOMP_RET_TRACE call without a tracer
 * fails with ENOSYS: so the tracer never detaches; a program that the interposer enters (a dynamic
 * program exec'd by a traced static one) is passed through (MODE_PASS): its filtered calls stop
 * and go on at once, and the interposer records them.
 */
#ifndef PM_SUPERVISOR_H
#define PM_SUPERVISOR_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <linux/openat2.h>
#include "interposer.h"

enum mode {
  MODE_UNKNOWN,   /* a new tracee whose creator's event has not been seen yet */
  MODE_RECORD,    /* the supervisor records its calls */
  MODE_PASS,      /* the interposer records it (or nobody can: another architecture) */
};

struct tracee {
  pid_t tid;
  enum mode mode;
  int exiting;               /* PTRACE_EVENT_EXIT seen */
  long nr;                   /* the call between its seccomp stop and its exit, or -1 */
  uint64_t raw[6];           /* its arguments, as the tracee passed them */
  long args[6];              /* the same, with paths and buffers copied here (calls.h) */
  char path[PM_PATH_MAX];    /* the call's path arguments, copied at its seccomp stop */
  char path2[PM_PATH_MAX];
  union { struct stat st; struct statx stx; struct open_how how; } buf;   /* its buffer (calls.h) */
  struct pm_log_writer log;  /* its records; log.pid: its process (thread group) */
  struct tracee *next;       /* in its hash bucket */
};

/* supervisor-main.c */
extern char g_library[PM_PATH_MAX];   /* the interposer, as LD_PRELOAD named it; "" if none */

/* supervisor-loop.c: trace `pid` (attached, filtered) and its descendants until none is left. */
void supervise(pid_t pid);

/* supervisor-calls.c */
/* Install the seccomp filter in this process (inherited by what it execs); 0 or an errno. */
int install_filter(void);
/* At a seccomp stop: record a lookup or a listing at once, or copy what the call's exit will need
 * (then 1: its exit must be seen). */
int call_entered(struct tracee *t);
/* At the call's exit: its records. */
void call_exited(struct tracee *t);

/* supervisor-tracee.c */
/* From now on, paths are the tracee's and records go to its writer. */
void look_at(struct tracee *t);
/* The tracee's memory: `size` bytes, or a NUL-terminated string of at most PM_PATH_MAX; 0 or -1. */
int read_memory(pid_t tid, uint64_t addr, void *out, size_t size);
int read_string(pid_t tid, uint64_t addr, char *out);
/* A thread's process (thread group) and parent, from /proc (0 when unknown). */
void proc_ids(pid_t tid, pid_t *group, pid_t *parent);
/* After a successful exec: the new program's mode, and its records when the supervisor keeps them. */
void program_started(struct tracee *t);
/* Its calls are of another architecture (int 0x80, x32): untraced, passed through. */
void mark_other_architecture(struct tracee *t);
/* The tracee is gone: its log window goes back. */
void tracee_gone(struct tracee *t);
/* The supervisor's own records (before it traces anything) go back. */
void own_log_finish(void);

#endif
