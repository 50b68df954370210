/**
 * The ptrace + seccomp supervisor (native/supervisor-*.c): programs LD_PRELOAD cannot enter (static
 * C programs built with gcc -static, threads and all; esbuild, a static Go program; a dynamic Go-like
 * program making raw system calls) are traced as completely as the interposer traces the others, and
 * behave exactly as untraced: exit codes, errno, signals, stop and continue.
 */
import { copyFileSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { programEscape, startTrace, supervisorProgram } from '../src/index.js';
import { LIBC, compileC, runPlain, trace, workspace, write } from './helpers.js';

const ESBUILD = resolve(import.meta.dirname, '..', '..', '..', 'node_modules', '.bin', 'esbuild');

const PROGRAMS: Record<string, string> = {
  // reads, a failed stat, dirfd-relative opens, a failed mkdir, a new folder, a write renamed into place
  reader: `#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
  char buf[256];
  int fd = open("input.txt", O_RDONLY);
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  struct stat st;
  int a = stat("missing.txt", &st); int ea = errno;
  int d = open("data", O_RDONLY | O_DIRECTORY);
  int f = openat(d, "x.csv", O_RDONLY);
  int g = openat(d, "nope.csv", O_RDONLY); int eg = errno;
  int b = mkdir("data", 0755); int eb = errno;
  mkdir("made", 0755);
  int o = open("made/out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (write(o, buf, n) != n) return 9;
  close(o);
  rename("made/out.txt", "made/final.txt");
  printf("%d %s|%d %s|%d %s|%d\\n", a, strerror(ea), g, strerror(eg), b, strerror(eb), f >= 0);
  return 3;
}`,
  // 8 threads, each reading in/N.txt and writing out/N.txt
  threads: `#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static void *work(void *arg) {
  long i = (long)arg;
  char path[32], buf[64];
  snprintf(path, sizeof path, "in/%ld.txt", i);
  int fd = open(path, O_RDONLY);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
  if (fd >= 0) close(fd);
  snprintf(path, sizeof path, "out/%ld.txt", i);
  int o = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (o >= 0 && n > 0 && write(o, buf, n) != n) return (void *)1;
  if (o >= 0) close(o);
  return 0;
}
int main(void) {
  pthread_t t[8];
  for (long i = 0; i < 8; i++) pthread_create(&t[i], 0, work, (void *)i);
  for (int i = 0; i < 8; i++) pthread_join(t[i], 0);
  puts("joined");
  return 0;
}`,
  // vfork + exec of a dynamic shell command, then waits for it
  'run-shell': `#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
  pid_t p = vfork();
  if (p == 0) { execl("/bin/sh", "sh", "-c", argv[1], (char *)0); _exit(127); }
  int st; waitpid(p, &st, 0);
  printf("child %d\\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  return 0;
}`,
  // its own handler, a signal from a child, then death by SIGTERM
  signals: `#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
static volatile int count;
static void on_usr1(int s) { (void)s; count++; }
int main(void) {
  signal(SIGUSR1, on_usr1);
  raise(SIGUSR1); raise(SIGUSR1);
  pid_t p = fork();
  if (p == 0) { kill(getppid(), SIGUSR1); _exit(0); }
  waitpid(p, 0, 0);
  while (count < 3) usleep(1000);
  printf("handled %d\\n", count);
  fflush(stdout);
  raise(SIGTERM);
  return 0;
}`,
  // stopped and continued by its parent (jobctl): "self" stops itself again while its stdin says x;
  // "outside" is stopped by its parent while two threads make traced calls (a stat: one stop; an open
  // for writing: two) and the main thread blocks in a read. It ends at the end of its stdin, so
  // only after its parent has seen its last continue (the kernel forgets a continue once the child
  // exits: a parent still waiting for it would see the exit instead, untraced too).
  stopper: `#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
static volatile int done, went[2];
static void *busy(void *arg) {
  char path[32];
  struct stat st;
  snprintf(path, sizeof path, "busy%ld.txt", (long)arg);
  while (!done) {
    stat("missing.txt", &st);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) close(fd);
    went[(long)arg] = 1;
  }
  return 0;
}
int main(int argc, char **argv) {
  char c;
  if (argc > 1 && !strcmp(argv[1], "self")) {
    do raise(SIGSTOP); while (read(0, &c, 1) == 1 && c == 'x');
    return 7;
  }
  pthread_t t[2];
  for (long i = 0; i < 2; i++) pthread_create(&t[i], 0, busy, (void *)i);
  while (read(0, &c, 1) > 0) {}
  while (!went[0] || !went[1]) usleep(1000);
  done = 1;
  for (int i = 0; i < 2; i++) pthread_join(t[i], 0);
  return 7;
}`,
  // reads input.txt, says ready, then waits (to be killed)
  waiter: `#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  char buf[16];
  int fd = open("input.txt", O_RDONLY);
  if (read(fd, buf, sizeof buf) < 0) return 1;
  puts("ready");
  fflush(stdout);
  for (int i = 0; i < 2000 && access("never", F_OK) != 0; i++) usleep(10000);
  return 0;
}`,
};

// every kind of call, once static (the supervisor) and once dynamic (the interposer)
const EVERY_CALL = `#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
int main(void) {
  struct stat st;
  char buf[64];
  int d = open("data", O_RDONLY | O_DIRECTORY);
  stat("data/x.csv", &st); stat("missing", &st); lstat("dangling", &st); stat("dangling", &st);
  access("data/x.csv", F_OK); access("nope", F_OK); faccessat(d, "x.csv", R_OK, 0); faccessat(d, "gone", R_OK, 0);
  readlink("dangling", buf, sizeof buf); readlink("data/x.csv", buf, sizeof buf); readlinkat(d, "none", buf, sizeof buf);
  fstatat(d, "x.csv", &st, 0); fstatat(d, "", &st, AT_EMPTY_PATH);
  close(open("data/x.csv", O_RDONLY)); close(open("absent.txt", O_RDONLY));
  close(openat(d, "new.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644));
  mkdir("made", 0755); mkdir("no/such", 0755);
  rename("data/new.txt", "made/moved.txt"); symlink("moved.txt", "made/link"); link("made/moved.txt", "made/hard");
  truncate("made/hard", 0); chmod("made/moved.txt", 0600); utimensat(AT_FDCWD, "data/x.csv", NULL, 0);
  unlink("made/link"); unlinkat(d, "old.txt", 0);
  if (chdir("made") == 0) close(open("moved.txt", O_RDONLY));
  chdir("nowhere");
  puts("done");
  return 0;
}`;

// dynamic programs: the parent that watches a stop and a continue; a "Go" program (its section
// names say so) that opens a file with a raw system call no libc wrapper sees
const DYNAMIC: Record<string, string> = {
  // jobctl PROGRAM ROUNDS self|outside: PROGRAM stops (by itself, or by our SIGSTOP) and is continued
  // ROUNDS times; a byte on its stdin after each continue says whether it is to stop again
  jobctl: `#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
  int rounds = atoi(argv[2]), outside = !strcmp(argv[3], "outside"), go[2], st;
  if (pipe(go) != 0) return 1;
  pid_t p = fork();
  if (p == 0) { dup2(go[0], 0); close(go[1]); execl(argv[1], argv[1], argv[3], (char *)0); _exit(127); }
  close(go[0]);
  for (int i = 0; i < rounds; i++) {
    if (outside) kill(p, SIGSTOP);
    waitpid(p, &st, WUNTRACED);
    printf("stopped %d\\n", WIFSTOPPED(st) ? WSTOPSIG(st) : -1);
    kill(p, SIGCONT);
    waitpid(p, &st, WCONTINUED);
    printf("continued %d\\n", WIFCONTINUED(st));
    if (write(go[1], i + 1 < rounds ? "x" : "q", 1) != 1) return 1;
  }
  close(go[1]);
  waitpid(p, &st, 0);
  printf("exit %d\\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  return 0;
}`,
  'go-raw': `#include <fcntl.h>
#include <unistd.h>
#include <sys/syscall.h>
__attribute__((section(".go.buildinfo"), used)) static const char buildinfo[] = "\\xff Go buildinf:";
static long raw_openat(const char *path) {
  long r;
  register long r10 __asm__("r10") = 0;
  __asm__ volatile("syscall" : "=a"(r) : "a"(SYS_openat), "D"(AT_FDCWD), "S"(path), "d"(O_RDONLY), "r"(r10) : "rcx", "r11", "memory");
  return r;
}
int main(void) { return raw_openat("raw.txt") >= 0 && raw_openat("raw-missing.txt") < 0 ? 0 : 1; }`,
};

let bin: Record<string, string>;
beforeAll(async () => {
  const dir = workspace();
  const programs = { ...PROGRAMS, 'every-call-static': EVERY_CALL };
  const flags = Object.fromEntries(Object.keys(programs).map((n) => [n, ['-static', '-pthread']]));
  bin = { ...(await compileC(dir, programs, flags)), ...(await compileC(dir, { ...DYNAMIC, 'every-call': EVERY_CALL })) };
}, 120_000);

describe('static programs under the supervisor', () => {
  it('a gcc -static reader: reads, absences, writes and renames as the interposer records them; exit code and errno unchanged', async () => {
    const files = { 'input.txt': 'static input\n', 'data/x.csv': '1,2\n' };
    const ws = workspace(files);
    const t = await trace([bin.reader], ws);
    const plain = runPlain([bin.reader], workspace(files));
    expect(t.result.exitCode).toBe(3);
    expect(t.stdout).toBe(plain.stdout);
    expect(t.stdout).toBe('-1 No such file or directory|-1 No such file or directory|-1 File exists|1\n');
    expect(t.ws).toEqual({
      reads: ['data/x.csv', 'input.txt'],
      writes: ['made', 'made/final.txt'],
      deleted: [],
      absent: ['data/nope.csv', 'missing.txt'],
      listed: [],
      executed: [],
      untraced: [],
    });
    expect(t.result.deps.executed).toContain(bin.reader);
    expect(readFileSync(join(ws, 'made/final.txt'), 'utf8')).toBe('static input\n');
    expect(t.result.fullyObserved).toBe(true);
  });

  it('every kind of call gets the records the interposer gives the same program built dynamic', async () => {
    const files = { 'data/x.csv': '1\n', 'data/old.txt': 'old\n' };
    const traced = async (program: string) => {
      const ws = workspace(files);
      symlinkSync('nowhere-target', join(ws, 'dangling'));
      const t = await trace([program], ws);
      expect(t.stdout).toBe('done\n');
      return { ...t.ws, executed: [] };
    };
    const supervised = await traced(bin['every-call-static']);
    expect(supervised).toEqual(await traced(bin['every-call']));
    expect(supervised.absent).toEqual(['absent.txt', 'data/gone', 'data/none', 'made/nowhere', 'missing', 'no/such', 'nope']);
    expect(supervised.writes).toEqual(['data/x.csv', 'made', 'made/hard', 'made/moved.txt']);
  });

  it('a static multi-threaded reader/writer: every thread is traced', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 8; i++) files[`in/${i}.txt`] = `thread ${i}\n`;
    const ws = workspace({ ...files, 'out/.keep': '' });
    const t = await trace([bin.threads], ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.stdout).toBe('joined\n');
    expect(t.ws.reads).toEqual(Object.keys(files).sort());
    expect(t.ws.writes).toEqual(Object.keys(files).map((f) => f.replace('in/', 'out/')).sort());
    expect(readFileSync(join(ws, 'out/5.txt'), 'utf8')).toBe('thread 5\n');
  });

  it('a static program that vforks a dynamic shell: the shell and its cat are preloaded again (libraries executed, not read)', async () => {
    const ws = workspace({ 'input.txt': 'via sh\n' });
    const t = await trace([bin['run-shell'], 'cat input.txt > copy.txt; cat copy.txt'], ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.stdout).toBe('via sh\nchild 0\n');
    expect(t.ws.reads).toEqual(['input.txt']);
    expect(t.ws.writes).toEqual(['copy.txt']);
    expect(t.result.deps.executed).toEqual(expect.arrayContaining([bin['run-shell'], LIBC, '/usr/bin/cat']));
    expect(t.result.deps.reads).not.toContain(LIBC);
    expect(t.result.fullyObserved).toBe(true);
  });

  it('a dynamic shell that runs a static program, from a static program: handed to the supervisor that already traces it', async () => {
    const ws = workspace({ 'input.txt': 'nested\n', 'data/x.csv': '' });
    const t = await trace(`${bin['run-shell']} ${bin.reader}`, ws);
    expect(t.stdout).toBe('-1 No such file or directory|-1 No such file or directory|-1 File exists|1\nchild 3\n');
    expect(t.ws.reads).toEqual(['data/x.csv', 'input.txt']);
    expect(t.ws.absent).toEqual(['data/nope.csv', 'missing.txt']);
    expect(t.ws.writes).toEqual(['made', 'made/final.txt']);
    expect(t.result.deps.executed).not.toContain(supervisorProgram);
    expect(t.result.fullyObserved).toBe(true);
  });

  it('signals: a handler, a signal from a child, and death by SIGTERM, as untraced', async () => {
    const ws = workspace();
    const t = await trace([bin.signals], ws);
    const plain = runPlain([bin.signals], ws);
    expect(plain).toMatchObject({ status: null, signal: 'SIGTERM', stdout: 'handled 3\n' });
    expect(t.result.signal).toBe('SIGTERM');
    expect(t.stdout).toBe('handled 3\n');
  });

  it('stop and continue: the parent sees the static child stop, continue and exit, each time, also when stopped in traced calls', async () => {
    for (const [rounds, how] of [[3, 'self'], [20, 'outside']] as const) {
      const ws = workspace();
      const command = [bin.jobctl, bin.stopper, String(rounds), how];
      const plain = runPlain(command, ws);
      expect(plain.stdout).toBe(`${'stopped 19\ncontinued 1\n'.repeat(rounds)}exit 7\n`);
      const t = await trace(command, ws);
      expect(t.stdout).toBe(plain.stdout);
      expect(t.result.fullyObserved).toBe(true);
      if (how === 'outside') expect(t.ws).toMatchObject({ writes: ['busy0.txt', 'busy1.txt'], absent: ['missing.txt'] });
    }
  });

  it('a Go program (dynamic, raw system calls) is traced by the supervisor, not the interposer', async () => {
    const ws = workspace({ 'raw.txt': 'raw' });
    expect(programEscape(bin['go-raw'], ws, process.env)).toEqual({ path: bin['go-raw'], reason: 'go' });
    const t = await trace(`${bin['go-raw']} && echo ok`, ws);
    expect(t.stdout).toBe('ok\n');
    expect(t.ws.reads).toEqual(['raw.txt']);
    expect(t.ws.absent).toEqual(['raw-missing.txt']);
    expect(t.result.fullyObserved).toBe(true);
  });

  it('a program under another tracer (strace) cannot be supervised: untraced, reason ptrace', async () => {
    const ws = workspace({ 'input.txt': 'x', 'data/x.csv': '' });
    const t = await trace(['strace', '-f', '-o', '/dev/null', bin.reader], ws);
    expect(t.result.exitCode).toBe(3);
    expect(t.result.deps.untraced).toEqual([{ path: bin.reader, reason: 'ptrace' }]);
    expect(t.result.fullyObserved).toBe(false);
  });

  it('a full log is an incomplete trace, as with the interposer', async () => {
    const files: Record<string, string> = { 'out/.keep': '' };
    for (let i = 0; i < 8; i++) files[`in/${i}.txt`] = `thread ${i}\n`;
    const ws = workspace(files);
    // room for the header and one page: eight threads each need a window of their own
    const t = await trace([bin.threads], ws, { logMaxBytes: 2 * 4096 });
    expect(t.result.exitCode).toBe(0);
    expect(t.result.problems.map((p) => p.kind)).toEqual(['log-lost']);
    expect(t.result.fullyObserved).toBe(false);
  });

  it('a killed supervisor takes its program with it: the step failed, and its trace is incomplete', async () => {
    for (const command of [[bin.waiter], `${bin.waiter}; echo the shell goes on`]) {
      const ws = workspace({ 'input.txt': 'x' });
      const running = startTrace(command, { cwd: ws, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      await new Promise<void>((ready) => running.child.stdout!.on('data', (d: Buffer) => ((out += d), out.includes('ready') && ready())));
      const waiter = typeof command === 'string' ? Number(readFileSync(`/proc/${running.child.pid}/task/${running.child.pid}/children`, 'utf8').trim()) : running.child.pid!;
      const tracer = Number(/TracerPid:\s*(\d+)/.exec(readFileSync(`/proc/${waiter}/status`, 'utf8'))![1]);
      expect(readlinkSync(`/proc/${tracer}/exe`)).toBe(supervisorProgram);
      process.kill(tracer, 'SIGKILL');
      const result = await running.result;
      if (typeof command !== 'string') expect(result.signal).toBe('SIGKILL');
      else expect(result.exitCode).toBe(1); // the shell said 0
      expect(result.problems.map((p) => p.kind)).toEqual(['supervisor-died']);
      expect(result.fullyObserved).toBe(false);
      expect(result.deps.reads).toContain(join(ws, 'input.txt'));
    }
  });
});

describe('esbuild 0.28 (a static Go program from npm)', () => {
  const project = {
    'src/main.ts': `import { greet } from './util';\nimport { n } from './num';\nconsole.log(greet('you'), n);\n`,
    'src/util/index.ts': `export const greet = (s: string): string => 'hi ' + s;\n`,
    'src/num.ts': `export const n: number = 42;\n`,
  };

  it('bundling a TypeScript project: its reads, its write and the folders it looked in to resolve imports', async () => {
    const ws = workspace(project);
    const t = await trace([ESBUILD, 'src/main.ts', '--bundle', '--outfile=out.js', '--log-level=warning'], ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.ws.reads).toEqual(['src/main.ts', 'src/num.ts', 'src/util/index.ts']);
    expect(t.ws.writes).toEqual(['out.js']);
    // esbuild resolves `./util` from the entries of src/ (a util.ts appearing there changes them)
    expect(t.ws.listed).toEqual(expect.arrayContaining(['src', 'src/util']));
    expect(t.result.deps.untraced).toEqual([]);
    expect(t.result.fullyObserved).toBe(true);
    expect(readFileSync(join(ws, 'out.js'), 'utf8')).toContain('hi ');
  });

  it('esbuild started by a shell through its npm wrapper script is handed to the supervisor too', async () => {
    const ws = workspace(project);
    const t = await trace(`${ESBUILD} src/main.ts --bundle --outfile=out.js --log-level=warning && node out.js`, ws);
    expect(t.stdout).toBe('hi you 42\n');
    // node then reads the step's own output: not an input
    expect(t.ws.reads).toEqual(['src/main.ts', 'src/num.ts', 'src/util/index.ts']);
    expect(t.ws.writes).toEqual(['out.js']);
    expect(t.result.fullyObserved).toBe(true);
  });

  it("esbuild's JavaScript API (as vite calls it): node spawns the binary, which is handed to the supervisor", async () => {
    const ws = workspace({ ...project, 'build.cjs': `require('esbuild').buildSync({ entryPoints: ['src/main.ts'], bundle: true, outfile: 'out.js' });\n` });
    const t = await trace(['node', 'build.cjs'], ws, { env: { ...process.env, NODE_PATH: resolve(ESBUILD, '..', '..') } });
    expect(t.result.exitCode).toBe(0);
    expect(t.ws.reads).toEqual(['build.cjs', 'src/main.ts', 'src/num.ts', 'src/util/index.ts']);
    expect(t.ws.writes).toEqual(['out.js']);
    expect(t.result.fullyObserved).toBe(true);
  });
});

describe('what the supervisor can and cannot take', () => {
  it('programEscape: static, Go, another loader (musl), another architecture (32-bit), or entered by LD_PRELOAD', () => {
    const ws = workspace();
    expect(programEscape(bin.reader, ws, process.env)?.reason).toBe('static');
    expect(programEscape(bin.jobctl, ws, process.env)).toBeNull();
    // the same dynamic program asking for musl's loader
    const musl = join(ws, 'musl');
    copyFileSync(bin.jobctl, musl);
    const bytes = readFileSync(musl);
    const at = bytes.indexOf('/lib64/ld-linux-x86-64.so.2');
    Buffer.from('/lib/ld-musl-x86_64.so.1\0').copy(bytes, at);
    writeFileSync(musl, bytes, { mode: 0o755 });
    expect(programEscape(musl, ws, process.env)?.reason).toBe('loader');
    // a 32-bit ELF header
    const elf32 = write(ws, 'elf32', '');
    const head = Buffer.alloc(64);
    head.write('\x7fELF', 0, 'latin1');
    head[4] = 1;
    writeFileSync(elf32, head, { mode: 0o755 });
    expect(programEscape(elf32, ws, process.env)?.reason).toBe('architecture');
    expect(readdirSync(ws)).toContain('elf32');
  });
});
