/** A traced program behaves exactly as an untraced one: exit code, output, errno, signals. */
import { beforeAll, describe, expect, it } from 'vitest';
import { compileC, runPlain, trace, workspace } from './helpers.js';

const ERRNO = `#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#define SHOW(what, call) do { errno = 0; long r_ = (long)(call); printf("%s -> %ld errno=%d (%s)\\n", what, r_, errno, strerror(errno)); } while (0)
int main(void) {
  struct stat st;
  SHOW("open missing", open("missing", O_RDONLY));
  SHOW("open folder for writing", open(".", O_WRONLY));
  SHOW("open through a file", open("file.txt/x", O_RDONLY));
  SHOW("create in missing folder", open("nodir/new", O_WRONLY | O_CREAT, 0644));
  SHOW("open existing O_EXCL", open("file.txt", O_WRONLY | O_CREAT | O_EXCL, 0644));
  SHOW("fopen missing", fopen("missing", "r") != NULL);
  SHOW("stat missing", stat("missing/x", &st));
  SHOW("lstat ok", lstat("file.txt", &st));
  SHOW("access not executable", access("file.txt", X_OK));
  SHOW("opendir missing", opendir("missing") != NULL);
  SHOW("mkdir existing", mkdir("sub", 0755));
  SHOW("rmdir not empty", rmdir("sub"));
  SHOW("unlink missing", unlink("missing"));
  SHOW("rename missing", rename("missing", "other"));
  SHOW("readlink not a link", readlink("file.txt", (char[64]){0}, 64));
  SHOW("chdir missing", chdir("missing"));
  SHOW("execl missing", execl("./missing", "missing", (char *)0));
  SHOW("read-only open then write", write(open("file.txt", O_RDONLY), "x", 1));
  /* errno survives a successful traced call that follows a failed untraced-by-libc one */
  errno = 0; open("missing", O_RDONLY); int saved = errno; open("file.txt", O_RDONLY);
  printf("errno after a successful open: %d then %d\\n", saved, errno);
  return 3;
}`;

const SIGNALS = `#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
static volatile sig_atomic_t got;
static void on_usr1(int s) { got = s; int fd = open("in-handler.txt", O_RDONLY); if (fd >= 0) close(fd); }
int main(void) {
  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, 0);
  raise(SIGUSR1);
  printf("handled %d\\n", got);
  signal(SIGUSR2, SIG_IGN);
  raise(SIGUSR2);
  printf("ignored\\n");
  sigset_t set; sigemptyset(&set); sigaddset(&set, SIGUSR1); sigprocmask(SIG_BLOCK, &set, 0);
  raise(SIGUSR1);
  sigset_t pending; sigpending(&pending);
  printf("pending %d\\n", sigismember(&pending, SIGUSR1));
  fprintf(stderr, "to stderr\\n");
  return 0;
}`;

/* A timer signal every 20 us whose handler opens sig/<n>, while main opens main/0 .. main/N-1. */
const INTERRUPTED = `#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
static volatile long calls;
static void put_num(char *p, long v) { char t[24]; int n = 0; do { t[n++] = (char)('0' + v % 10); v /= 10; } while (v); while (n) *p++ = t[--n]; *p = 0; }
static void on_alarm(int s) { (void)s; char p[32] = "sig/"; put_num(p + 4, calls++); open(p, O_RDONLY); }
int main(int argc, char **argv) {
  int n = atoi(argv[1]);
  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_handler = on_alarm; sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, 0);
  struct itimerval it = { { 0, 20 }, { 0, 20 } };
  setitimer(ITIMER_REAL, &it, 0);
  char p[32];
  for (int i = 0; i < n; i++) { snprintf(p, sizeof p, "main/%d", i); open(p, O_RDONLY); }
  struct itimerval off = { { 0, 0 }, { 0, 0 } };
  setitimer(ITIMER_REAL, &off, 0);
  printf("%ld\\n", calls);
  return 0;
}`;

let bin: Record<string, string>;
beforeAll(async () => {
  bin = await compileC(workspace(), { errno: ERRNO, signals: SIGNALS, interrupted: INTERRUPTED });
});

function setup(): string {
  return workspace({ 'file.txt': 'content\n', 'sub/keep': '', 'in-handler.txt': 'h' });
}

describe('transparency', () => {
  it('exit code, stdout and stderr are the same as untraced', async () => {
    const ws = setup();
    const command = "echo out; echo err >&2; printf 'no newline'; exit 3";
    const t = await trace(command, ws);
    const plain = runPlain(['/bin/sh', '-c', command], ws);
    expect(t.result.exitCode).toBe(3);
    expect(plain.status).toBe(3);
    expect(t.stdout).toBe(plain.stdout);
    expect(t.stderr).toBe(plain.stderr);
    expect(t.stdout).toBe('out\nno newline');
  });

  it('every failing call returns the same result and errno as untraced', async () => {
    const ws = setup();
    const plain = runPlain([bin.errno], ws);
    const t = await trace([bin.errno], ws);
    expect(plain.status).toBe(3);
    expect(t.result.exitCode).toBe(3);
    expect(t.stdout).toBe(plain.stdout);
    expect(t.stdout).toContain('open missing -> -1 errno=2 (No such file or directory)');
    expect(t.stdout).toContain('open folder for writing -> -1 errno=21 (Is a directory)');
    expect(t.stdout).toContain('errno after a successful open: 2 then 2');
    // and the failed lookups were recorded
    expect(t.ws.absent).toEqual(['file.txt/x', 'missing', 'missing/x', 'nodir/new']);
  });

  it('signal handlers, ignored and blocked signals behave the same; a handler that opens a file is fine', async () => {
    const ws = setup();
    const plain = runPlain([bin.signals], ws);
    const t = await trace([bin.signals], ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.stdout).toBe(plain.stdout);
    expect(t.stderr).toBe(plain.stderr);
    expect(t.stdout).toBe('handled 10\nignored\npending 1\n');
    expect(t.ws.reads).toEqual(['in-handler.txt']);
  });

  it('signal handlers that open files while the program is inside the interposer: recorded, or the loss is reported', async () => {
    const ws = workspace();
    const t = await trace([bin.interrupted, '100000'], ws);
    expect(t.result.exitCode).toBe(0);
    const calls = Number(t.stdout);
    expect(calls).toBeGreaterThan(100);
    const fromHandler = t.ws.absent.filter((p) => p.startsWith('sig/')).length;
    expect(t.ws.absent.filter((p) => p.startsWith('main/'))).toHaveLength(100000);
    // never a silent gap: every handler open is in the trace, or the trace says it is incomplete
    if (fromHandler < calls) expect(t.result.problems.map((p) => p.kind)).toContain('log-lost');
    else expect(t.result.problems).toEqual([]);
  });

  it('a command killed by a signal reports the signal, like untraced', async () => {
    const ws = setup();
    const t = await trace('kill -TERM $$', ws);
    const plain = runPlain(['/bin/sh', '-c', 'kill -TERM $$'], ws);
    expect(t.result.signal).toBe('SIGTERM');
    expect(plain.signal).toBe('SIGTERM');
    expect(t.result.exitCode).toBeNull();
  });
});
