/*
 * log.h: the trace log writer. Records (record.h) go into memory-mapped windows of per-thread log
 * files under the log folder; they survive a SIGKILL of the writer. Growth never fails the caller:
 * a record that cannot be written (full disk, a size cap, re-entry from a signal handler) is counted
 * as lost in the folder's status page, and the trace is then reported as incomplete.
 */
#ifndef PM_LOG_H
#define PM_LOG_H

#include <stddef.h>
#include <stdint.h>

/* Append one record (PATH2 may be NULL); the time is taken here. */
void log_record(char kind, const char *arg, const char *path, const char *path2);
/* Give back this thread's window (before exec, at thread and process exit). */
void log_finish_thread(void);
/* In a fork child: the inherited window is the parent's; drop it without writing. */
void log_forget_thread(void);
/* Count a record that could not be written. */
void log_note_lost(void);
/* Windows of exiting threads are given back (called once, from the constructor). */
void log_watch_thread_exits(void);
/* Decimal digits of v at p; returns the end. */
char *fmt_u64(char *p, uint64_t v);

#endif
