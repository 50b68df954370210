/*
 * log.h: the writer of a step's trace log: one file for every process and thread of the step,
 * <log folder>/trace.log, written through shared memory mappings, so records survive a SIGKILL of
 * their writer. Raw system calls only (no libc wrapper, no errno, no malloc, no locks): the
 * interposer and a separate tracer program (a ptrace supervisor) link the same code and write the
 * same records (record.h).
 *
 * Layout. Page 0 is the header (struct pm_log_header), created by the launcher (src/launch.ts).
 * The rest is windows: a writer reserves a window by moving `next` atomically (no file per process,
 * no lock), maps it, and appends text records to it. A window starts with struct pm_window and
 * holds whole records; its unused tail is zero. A writer that finishes gives the unused pages back
 * when its window is still the last one, so short processes one after another share pages.
 *
 * Growth never fails or blocks the writer's caller: space is reserved with fallocate, so a full
 * disk is an error here (never a SIGBUS later), and a record that does not fit (full disk, the
 * header's cap, re-entry from a signal handler) is counted in `lost`: the trace is then reported
 * as incomplete.
 */
#ifndef PM_LOG_H
#define PM_LOG_H

#include <stddef.h>
#include <stdint.h>

#define PM_LOG_FILE "trace.log"            /* in the log folder */
#define PM_LOG_MAGIC 0x31474f4c4d50ull     /* "PMLOG1" */
#define PM_WINDOW_MAGIC 0x00574d50u        /* "PMW\0": no text record holds a NUL byte */
#define PM_LOG_HEADER_SIZE 4096u           /* windows start at page boundaries after it */

struct pm_log_header {        /* page 0 of trace.log; every field little-endian, 8 bytes */
  uint64_t magic;             /* PM_LOG_MAGIC */
  uint64_t next;              /* file offset where the next window goes (atomic) */
  uint64_t cap;               /* 0, or the file size windows must stay within */
  uint64_t lost;              /* records that could not be written (atomic) */
  uint64_t processes;         /* programs that attached (exec'd images; forks share their parent's) */
  uint64_t allocated;         /* the file is fallocated up to here (atomic, only grows) */
  uint64_t supervisors;       /* ptrace supervisors that attached to a program (supervisor.h) */
  uint64_t finished;          /* supervisors that saw every program they traced end: fewer means one died */
};

/* Page 0 from this offset on belongs to the writers, shared by all processes of the step: the
 * interposer keeps what it learnt about programs there (program.c). The reader ignores it. */
#define PM_LOG_SHARED_OFFSET 1024u

struct pm_window {            /* at the start of every window */
  uint32_t magic;             /* PM_WINDOW_MAGIC */
  uint32_t size;              /* bytes of the window, this header included (a page multiple) */
  uint32_t pid;               /* the writer's process */
  uint32_t reserved;
};

/* One writer: one thread of a traced process, or what a tracer writes for one tracee. Zeroed is
 * ready; `pid` goes into the window headers. */
struct pm_log_writer {
  char *window;
  uint32_t size, used;
  uint64_t offset;            /* of the window in the file */
  uint32_t pid;
  int busy;                   /* inside a record: a nested call (a signal handler's) is lost */
  int broken;                 /* the log refused to grow: the writer's records are lost */
};

/* Where the log is: the string is kept (not copied). No system call: the file is opened on the
 * first record. */
void pm_log_init(const char *log_path);
/* Append one record; PATH2 may be NULL. The time is taken here. */
void pm_log_write(struct pm_log_writer *w, char kind, const char *arg, const char *path, const char *path2);
/* Give back the window (before exec, at thread or process exit); the writer stays usable. */
void pm_log_finish(struct pm_log_writer *w);
/* In a fork child: the inherited window belongs to the parent; unmap it without writing. */
void pm_log_forget(struct pm_log_writer *w);
/* Count a record that could not be written. */
void pm_log_lost(void);
/* The header, mapped (NULL when the log cannot be opened), for the supervisors' counts. */
struct pm_log_header *pm_log_header(void);
/* The shared part of page 0 (PM_LOG_SHARED_OFFSET..PM_LOG_HEADER_SIZE), or NULL until this
 * process has mapped the log (its first record, or its parent's before a fork). */
void *pm_log_shared(void);
/* Decimal digits of v at p; returns the end. */
char *pm_fmt_u64(char *p, uint64_t v);

#endif
