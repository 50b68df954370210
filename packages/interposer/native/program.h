/*
 * program.h: what a program is before it runs: can LD_PRELOAD enter it, and if not, can the ptrace
 * supervisor trace it? Shared by the interposer (exec.c) and the supervisor (supervisor-*.c), and
 * mirrored by programEscape() in src/launch.ts for the command the launcher itself starts.
 */
#ifndef PM_PROGRAM_H
#define PM_PROGRAM_H

#include <string.h>
#include "record.h"

/* Why the program at `path` escapes LD_PRELOAD (PM_WHY_*), or NULL when the interposer enters it.
 * `depth` counts #! interpreters followed; *exists (optional) is cleared when the file is missing. */
const char *untraced_reason(const char *path, int depth, int *exists);

/* Reasons the ptrace supervisor takes over: the program runs native code of this architecture. */
static inline int supervisor_traces(const char *why) {
  return why && (!strcmp(why, PM_WHY_STATIC) || !strcmp(why, PM_WHY_GO) || !strcmp(why, PM_WHY_LOADER));
}

#endif
