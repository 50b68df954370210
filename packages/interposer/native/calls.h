/*
 * calls.h: the file system calls the trace records, by number: where their arguments are (a
 * shape), and what a call did as records. Glibc's syscall() wrapper (syscall.c) and the ptrace
 * supervisor (supervisor-calls.c) decode calls with it; the supervisor first copies a tracee's paths
 * and buffers into its own memory, so record_call() always reads this process's memory.
 */
#ifndef PM_CALLS_H
#define PM_CALLS_H

enum call_kind {
  CALL_NONE, CALL_OPEN, CALL_OPENAT2, CALL_STAT, CALL_STATX, CALL_LOOKUP, CALL_LIST, CALL_RENAME,
  CALL_REMOVE, CALL_LINK, CALL_SYMLINK, CALL_MKDIR, CALL_TRUNCATE, CALL_METADATA, CALL_CHDIR,
  CALL_FCHDIR, CALL_EXEC, CALL_COPY,
};

/* Where a call's arguments are: indexes, or NO_ARG (a dirfd of NO_ARG is AT_FDCWD; fixed: the
 * flags of a call without a flags argument; buf: a stat or statx result, or openat2's struct
 * open_how). A call with a dirfd and no path works on the descriptor. */
#define NO_ARG -1
struct call_shape {
  unsigned char kind;   /* enum call_kind */
  signed char dirfd, path, dirfd2, path2, flags, buf;
  int fixed;
};

/* Indexed by call number; kind CALL_NONE for the calls the trace does not record. */
extern const struct call_shape CALL_SHAPES[];
extern const unsigned CALL_SHAPE_COUNT;

/* The shape of call nr, or NULL when the trace does not record it. */
const struct call_shape *call_shape(long nr);
/* The call's open or AT_* flags (openat2: from its struct open_how). */
int call_flags(const struct call_shape *s, const long *a);
/* The records of call nr with arguments a, which returned r (-1 and errno e on failure). */
void record_call(long nr, const long *a, long r, int e);

#endif
