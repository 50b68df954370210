/*
 * record.h: the trace log's records, named once. src/types.ts mirrors this file in its RECORD
 * table (test/record-names.test.ts checks that the two agree).
 *
 * A record is one line, fields separated by tabs, paths escaped (\\ \t \n):
 *    KIND \t TIME \t ARG \t PATH [\t PATH2] \n
 * TIME is the monotonic clock in ns, so the reducer can order events across processes and threads;
 * one writer's records also keep their order in the log. ARG is PM_ARG_NONE or letters below.
 */
#ifndef PM_RECORD_H
#define PM_RECORD_H

/* KIND */
#define PM_READ 'R'      /* opened for reading */
#define PM_WRITE 'W'     /* contents, type or metadata changed; ARG: PM_WRITE_* letters */
#define PM_ABSENT 'A'    /* looked up and not found (ENOENT, ENOTDIR) */
#define PM_STAT 'S'      /* metadata read: stat, access, readlink, O_PATH */
#define PM_LISTED 'D'    /* folder entries read */
#define PM_EXECUTED 'X'  /* ARG: PM_EXEC_* */
#define PM_UNTRACED 'U'  /* a program that escapes the interposer; ARG: PM_WHY_* */
#define PM_RENAMED 'M'   /* PATH renamed to PATH2 */
#define PM_REMOVED 'K'   /* ARG: PM_REMOVED_* */
#define PM_PROCESS 'P'   /* a process started; ARG its parent's pid, PATH its executable */
#define PM_LOOKED_UP 'L' /* a name looked up among a folder's entries (Python's import system): PATH is folder/name */

/* ARG of records without one */
#define PM_ARG_NONE "-"

/* ARG of PM_WRITE: string literals, so that they concatenate ("c" "e") */
#define PM_WRITE_CREATE "c"     /* O_CREAT */
#define PM_WRITE_TRUNCATE "t"   /* O_TRUNC, truncate(): nothing of the old content survives */
#define PM_WRITE_APPEND "a"     /* O_APPEND */
#define PM_WRITE_ALSO_READ "r"  /* O_RDWR */
#define PM_WRITE_EMPTY "e"      /* it was empty when opened: nothing of an old version survives */
#define PM_WRITE_MKDIR "d"      /* a folder made */
#define PM_WRITE_NEW_NAME "n"   /* a new name: link, symlink */
#define PM_WRITE_METADATA "m"   /* chmod, chown, utime */

/* ARG of PM_LISTED: the role a listing was made in (python.c), PM_ARG_NONE for any other */
#define PM_LISTED_PYTHON_IMPORT "i"   /* Python's import system, on a sys.path folder */
#define PM_LISTED_PYTHON_SITE "s"     /* Python's site module, on a site-packages folder */
#define PM_LISTED_PYTHON_LOOKUPS "n"  /* Python's import system, its lookups there reported (PM_LOOKED_UP) */

/* ARG of PM_EXECUTED */
#define PM_EXEC_PROGRAM "p"
#define PM_EXEC_LIBRARY "l"

/* ARG of PM_REMOVED */
#define PM_REMOVED_FILE "f"
#define PM_REMOVED_FOLDER "d"

/* ARG of PM_UNTRACED: why the program escapes LD_PRELOAD. The first three are what the ptrace
 * supervisor (supervisor-*.c) takes over; a program is recorded untraced with one of them only
 * when it could not be started under the supervisor. */
#define PM_WHY_STATIC "static"          /* no PT_INTERP */
#define PM_WHY_GO "go"                  /* a Go program: raw system calls, even when dynamic */
#define PM_WHY_LOADER "loader"          /* a program loader other than glibc's (musl) */
#define PM_WHY_SETUID "setuid"          /* setuid to another user */
#define PM_WHY_SETGID "setgid"
#define PM_WHY_CAPABILITIES "capabilities"
#define PM_WHY_ARCHITECTURE "architecture"  /* another architecture (32-bit, x32): neither can enter it */
#define PM_WHY_PTRACE "ptrace"          /* the supervisor may not trace (Yama, no capability, a debugger) */
#define PM_WHY_SECCOMP "seccomp"        /* no seccomp filters here */

#endif
