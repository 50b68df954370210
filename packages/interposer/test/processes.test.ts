/**
 * Processes, threads, descriptors and programs that try to escape: C programs compiled for the
 * test, traced by the real interposer.
 */
import { chmodSync, chownSync, copyFileSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { LIBC, PYTHON, compileC, trace, workspace } from './helpers.js';

const PROGRAMS: Record<string, string> = {
  // posix_spawn of /bin/cat with its stdout redirected by a file action
  spawn: `#include <spawn.h>
#include <fcntl.h>
#include <sys/wait.h>
extern char **environ;
int main(void) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "spawned.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  char *argv[] = { "cat", "input.txt", 0 };
  pid_t pid;
  if (posix_spawn(&pid, "/bin/cat", &fa, 0, argv, environ) != 0) return 10;
  int st; waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 11;
}`,
  // vfork + execv
  vfork: `#include <unistd.h>
#include <sys/wait.h>
int main(void) {
  pid_t p = vfork();
  if (p == 0) { char *argv[] = { "cat", "input.txt", 0 }; execv("/bin/cat", argv); _exit(127); }
  int st; waitpid(p, &st, 0);
  return WEXITSTATUS(st);
}`,
  // chdir / fchdir, then relative names
  chdir: `#include <fcntl.h>
#include <unistd.h>
int main(void) {
  int top = open(".", O_RDONLY | O_DIRECTORY);
  if (chdir("sub") != 0) return 1;
  int a = open("f.txt", O_RDONLY);
  int w = open("made-in-sub.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fchdir(top) != 0) return 2;
  int b = open("g.txt", O_RDONLY);
  return (a < 0 || w < 0 || b < 0) ? 3 : 0;
}`,
  // openat relative to a real directory descriptor
  openat: `#include <fcntl.h>
#include <unistd.h>
int main(void) {
  int d = open("data", O_RDONLY | O_DIRECTORY);
  int f = openat(d, "x.csv", O_RDONLY);
  int g = openat(d, "new.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int h = openat(d, "nope.csv", O_RDONLY);
  if (g >= 0) write(g, "x", 1);
  return (d < 0 || f < 0 || g < 0 || h >= 0) ? 1 : 0;
}`,
  // 32 threads x 200 opens of distinct existing files
  threads: `#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
static void *run(void *arg) {
  long t = (long)arg; char p[64];
  for (int i = 0; i < 200; i++) {
    snprintf(p, sizeof p, "files/%ld_%d", t, i);
    int fd = open(p, O_RDONLY);
    if (fd < 0) return (void *)1;
    close(fd);
  }
  return 0;
}
int main(void) {
  pthread_t th[32]; long bad = 0;
  for (long i = 0; i < 32; i++) pthread_create(&th[i], 0, run, (void *)i);
  for (int i = 0; i < 32; i++) { void *r; pthread_join(th[i], &r); bad += (long)r; }
  return bad != 0;
}`,
  // threads started and ended one after the other: the process must not run out of mappings
  churn: `#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static int maps(void) {
  FILE *f = fopen("/proc/self/maps", "r"); int n = 0, c;
  while ((c = fgetc(f)) != EOF) n += c == '\\n';
  fclose(f); return n;
}
static void *run(void *arg) { char p[32]; snprintf(p, sizeof p, "miss/%ld", (long)arg); open(p, O_RDONLY); return 0; }
int main(int argc, char **argv) {
  int n = atoi(argv[1]);
  pthread_t t; pthread_create(&t, 0, run, (void *)-1L); pthread_join(t, 0);
  int before = maps();
  for (long i = 0; i < n; i++) { if (pthread_create(&t, 0, run, (void *)i)) return 1; pthread_join(t, 0); }
  printf("%d\\n", maps() - before);
  return 0;
}`,
  // opens, writes, then dies by SIGKILL
  killed: `#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
int main(void) {
  int r = open("input.txt", O_RDONLY);
  int w = open("partial.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  write(w, "x", 1);
  open("not-there.txt", O_RDONLY);
  (void)r;
  raise(SIGKILL);
  return 0;
}`,
  // prints a file with stdio (built dynamic, static, and setuid below)
  printer: `#include <stdio.h>
int main(void) {
  FILE *f = fopen("input.txt", "r"); char b[64];
  if (!f || !fgets(b, sizeof b, f)) return 1;
  fputs(b, stdout);
  return 0;
}`,
  // dlopen of the library named on the command line
  dlopen: `#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    void *h = dlopen(argv[i], RTLD_NOW);
    if (!h) { printf("fail %s\\n", argv[i]); continue; }
    int (*fn)(void) = (int (*)(void))dlsym(h, "plugin_value");
    printf("ok %d\\n", fn ? fn() : -1);
  }
  return 0;
}`,
  // drops LD_PRELOAD (or all of its environment), then runs shells through system() and popen()
  noenv: `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "clearenv")) clearenv(); else unsetenv("LD_PRELOAD");
  int r = system("cat input.txt > copied.txt");
  FILE *p = popen("cat other.txt", "r");
  char b[64] = "";
  if (!p || !fgets(b, sizeof b, p)) return 1;
  pclose(p);
  printf("%d %s", r, b);
  printf("LD_PRELOAD after: %s\\n", getenv("LD_PRELOAD") ? "set" : "unset");
  return 0;
}`,
  // exec of a program that is not there, then of one that is
  execmissing: `#include <errno.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  char *argv[] = { "x", "input.txt", 0 };
  execv("./no-such-tool", argv);
  if (errno != ENOENT) return 1;
  execv("/bin/cat", argv);
  return 2;
}`,
  // an atomic write in C: O_EXCL temp, then rename; and a mkstemp temp removed again
  atomic: `#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(void) {
  int fd = open("result.txt.tmp", O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0 || write(fd, "ok\\n", 3) != 3 || close(fd) != 0) return 1;
  if (rename("result.txt.tmp", "result.txt") != 0) return 2;
  char tmpl[] = "scratch-XXXXXX";
  int t = mkstemp(tmpl);
  if (t < 0) return 3;
  write(t, "tmp", 3); close(t); unlink(tmpl);
  return 0;
}`,
  // an unnamed O_TMPFILE file given a name by linkat
  tmpfile: `#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  int fd = open(".", O_TMPFILE | O_WRONLY, 0644);
  if (fd < 0) return 1;
  write(fd, "hi\\n", 3);
  char p[64]; snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
  return linkat(AT_FDCWD, p, AT_FDCWD, "named.txt", AT_SYMLINK_FOLLOW) != 0;
}`,
};

const execFileP = promisify(execFile);
/** esbuild's own binary (a Go program), as npm installs it (a devDependency of the repository). */
const ESBUILD = realpathSync(join(import.meta.dirname, '..', '..', '..', 'node_modules', 'esbuild', 'bin', 'esbuild'));

const PLUGIN = 'int plugin_value(void) { return 42; }\n';

let bin: Record<string, string>;

beforeAll(async () => {
  const bins = workspace();
  bin = await compileC(bins, { ...PROGRAMS, 'printer-static': PROGRAMS.printer, libplugin: PLUGIN }, {
    dlopen: ['-ldl'],
    threads: ['-pthread'],
    churn: ['-pthread'],
    'printer-static': ['-static'],
    libplugin: ['-shared', '-fPIC'],
  });
  // a setuid copy owned by another user: the kernel makes the loader ignore LD_PRELOAD
  bin.setuid = join(bins, 'printer-setuid');
  copyFileSync(bin.printer, bin.setuid);
  chownSync(bin.setuid, 65534, 65534); // nobody
  chmodSync(bin.setuid, 0o4755);
});

describe('starting programs', () => {
  it('posix_spawn: the spawned cat is traced, and the file action that redirects its stdout is a write', async () => {
    const ws = workspace({ 'input.txt': 'spawned\n' });
    const t = await trace([bin.spawn], ws);
    expect(t.result.exitCode).toBe(0);
    expect(readFileSync(join(ws, 'spawned.out'), 'utf8')).toBe('spawned\n');
    expect(t.ws).toEqual({ reads: ['input.txt'], writes: ['spawned.out'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
    expect(t.result.deps.executed).toEqual(expect.arrayContaining([bin.spawn, realpathSync('/bin/cat'), LIBC]));
  });

  it('vfork + execv: the child program is traced', async () => {
    const ws = workspace({ 'input.txt': 'vforked\n' });
    const t = await trace([bin.vfork], ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.stdout).toBe('vforked\n');
    expect(t.ws).toEqual({ reads: ['input.txt'], writes: [], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
    expect(t.result.deps.executed).toEqual(expect.arrayContaining([bin.vfork, realpathSync('/bin/cat')]));
  });

  for (const how of ['unsetenv', 'clearenv']) {
    it(`system() and popen() after ${how}: the shells they start are still traced`, async () => {
      const ws = workspace({ 'input.txt': 'in\n', 'other.txt': 'other\n' });
      const t = await trace([bin.noenv, how], ws);
      expect(t.result.exitCode).toBe(0);
      // the program's own view of its environment is what it made it
      expect(t.stdout).toBe('0 other\nLD_PRELOAD after: unset\n');
      expect(t.ws).toEqual({ reads: ['input.txt', 'other.txt'], writes: ['copied.txt'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
      expect(t.result.deps.executed).toContain(realpathSync('/bin/sh'));
    });
  }

  it('exec of a program that is not there: absent, and not executed', async () => {
    const ws = workspace({ 'input.txt': 'after\n' });
    const t = await trace([bin.execmissing], ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.stdout).toBe('after\n');
    expect(t.ws).toEqual({ reads: ['input.txt'], writes: [], deleted: [], absent: ['no-such-tool'], listed: [], executed: [], untraced: [] });
  });

  it('libraries loaded at start-up and through dlopen are executed', async () => {
    const ws = workspace();
    const t = await trace([bin.dlopen, 'libm.so.6', bin.libplugin, join(ws, 'missing-plugin.so')], ws);
    expect(t.stdout).toBe('ok -1\nok 42\nfail ' + join(ws, 'missing-plugin.so') + '\n');
    const executed = t.result.deps.executed;
    expect(executed).toEqual(expect.arrayContaining([bin.dlopen, LIBC, realpathSync('/lib/x86_64-linux-gnu/libm.so.6'), bin.libplugin]));
    expect(t.ws.absent).toEqual(['missing-plugin.so']);
    expect(t.ws.executed).toEqual([]);
  });
});

describe('shared libraries', () => {
  it('a library found through a relative LD_LIBRARY_PATH is executed, under its full path; the vDSO is not a file', async () => {
    const ws = workspace({ 'lib/dep.c': 'int dep(void) { return 7; }\n', 'main.c': 'int dep(void);\nint main(void) { return dep(); }\n' });
    await execFileP('gcc', ['-shared', '-fPIC', '-o', join(ws, 'lib/libdep.so'), join(ws, 'lib/dep.c')]);
    await execFileP('gcc', ['-o', join(ws, 'main'), join(ws, 'main.c'), `-L${join(ws, 'lib')}`, '-ldep']);
    const t = await trace(['./main'], ws, { env: { ...process.env, LD_LIBRARY_PATH: 'lib' } });
    expect(t.result.exitCode).toBe(7);
    expect(t.ws.executed).toEqual(['lib/libdep.so', 'main']);
    expect(t.result.deps.executed.filter((p) => p.includes('vdso'))).toEqual([]);
  });
});

describe('names and folders', () => {
  it('chdir and fchdir: relative names follow the working folder', async () => {
    const ws = workspace({ 'sub/f.txt': 'f', 'g.txt': 'g', 'f.txt': 'top f' });
    const t = await trace([bin.chdir], ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.ws).toEqual({ reads: ['g.txt', 'sub/f.txt'], writes: ['sub/made-in-sub.txt'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
  });

  it('openat with a real folder descriptor resolves names against that folder', async () => {
    const ws = workspace({ 'data/x.csv': '1' });
    const t = await trace([bin.openat], ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.ws).toEqual({ reads: ['data/x.csv'], writes: ['data/new.txt'], deleted: [], absent: ['data/nope.csv'], listed: [], executed: [], untraced: [] });
  });

  it('an atomic write in C (O_EXCL temp + rename) and a mkstemp scratch file: only the final name is written', async () => {
    const ws = workspace();
    const t = await trace([bin.atomic], ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.ws).toEqual({ reads: [], writes: ['result.txt'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
  });

  it('a file renamed in from an ignored place replaces the old content: written, not read', async () => {
    const ws = workspace({ 'out.txt': 'old\n' });
    const python = 'import os; d = os.environ["PROV_MAKE_LOG_DIR"]; open(d + "/new", "w").write("new\\n"); os.rename(d + "/new", "out.txt")';
    const t = await trace([PYTHON, '-c', python], ws);
    expect(t.result.exitCode).toBe(0);
    expect(readFileSync(join(ws, 'out.txt'), 'utf8')).toBe('new\n');
    expect(t.ws).toEqual({ reads: [], writes: ['out.txt'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
  });

  it('an O_TMPFILE file named by linkat: only the name is written, the folder is not', async () => {
    const ws = workspace();
    const t = await trace([bin.tmpfile], ws);
    expect(t.result.exitCode).toBe(0);
    expect(readFileSync(join(ws, 'named.txt'), 'utf8')).toBe('hi\n');
    expect(t.ws).toEqual({ reads: [], writes: ['named.txt'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
  });

  it("the program's own descriptors are its own: `exec 3>out` in a long shell loop leaves out intact", async () => {
    // the interposer used to keep its log open as fd 3; dup2 over it made the log grow into the program's file
    const ws = workspace();
    const t = await trace('exec 3>out; i=0; while [ $i -lt 3000 ]; do [ -e probe$i ]; i=$((i+1)); done; echo done >&3', ws);
    expect(t.result.exitCode).toBe(0);
    expect(readFileSync(join(ws, 'out'), 'utf8')).toBe('done\n');
    expect(t.ws.writes).toEqual(['out']);
    expect(t.ws.absent).toHaveLength(3000);
    expect(t.result.problems).toEqual([]);
  });
});

describe('threads', () => {
  it('32 threads x 200 opens of distinct files: all 6,400 are reads', async () => {
    const files: Record<string, string> = {};
    const expected: string[] = [];
    for (let t = 0; t < 32; t++) for (let i = 0; i < 200; i++) { files[`files/${t}_${i}`] = ''; expected.push(`files/${t}_${i}`); }
    const ws = workspace(files);
    const t = await trace([bin.threads], ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.ws.reads).toEqual(expected.sort());
    expect(t.ws.writes).toEqual([]);
    expect(t.result.problems).toEqual([]);
  });

  it('threads that come and go do not leak the mappings of their logs', async () => {
    const ws = workspace();
    const t = await trace([bin.churn, '1000'], ws);
    expect(t.result.exitCode).toBe(0);
    // each exiting thread used to keep its 64 KiB window mapped (vm.max_map_count is 65530)
    expect(Number(t.stdout)).toBeLessThan(20);
    expect(t.ws.absent).toHaveLength(1001);
    expect(t.result.problems).toEqual([]);
  });
});

describe('killed programs', () => {
  it('a program killed by SIGKILL: what it did before is recorded', async () => {
    const ws = workspace({ 'input.txt': 'in' });
    const t = await trace([bin.killed], ws);
    expect(t.result.signal).toBe('SIGKILL');
    expect(t.result.exitCode).toBeNull();
    expect(t.ws).toEqual({ reads: ['input.txt'], writes: ['partial.out'], deleted: [], absent: ['not-there.txt'], listed: [], executed: [], untraced: [] });
    expect(t.result.fullyObserved).toBe(true);
  });

  it('a shell that kills itself with kill -9 after cat', async () => {
    const ws = workspace({ a: 'A\n' });
    const t = await trace("cat a > copy; kill -9 $$", ws);
    expect(t.result.signal).toBe('SIGKILL');
    expect(t.ws).toEqual({ reads: ['a'], writes: ['copy'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
  });
});

describe('programs that escape the interposer', () => {
  it('a setuid program is untraced, and the trace is not fully observed (a static one is traced by the supervisor)', async () => {
    const ws = workspace({ 'input.txt': 'line\n' });
    chmodSync(ws, 0o755); // the setuid program runs as nobody
    expect(statSync(bin.setuid).mode & 0o4000).toBe(0o4000);
    const t = await trace(`${bin['printer-static']} && ${bin.setuid} && ${bin.printer}`, ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.stdout).toBe('line\nline\nline\n');
    expect(t.result.deps.untraced).toEqual([{ path: bin.setuid, reason: 'setuid' }]);
    expect(t.result.fullyObserved).toBe(false);
    expect(t.ws.reads).toEqual(['input.txt']);
    expect(t.result.deps.executed).toEqual(expect.arrayContaining([bin['printer-static'], bin.setuid, bin.printer]));
  });

  it('a static program alone (argv, no shell) is started under the supervisor: traced, fully observed', async () => {
    const ws = workspace({ 'input.txt': 'alone\n' });
    const t = await trace([bin['printer-static']], ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.stdout).toBe('alone\n');
    expect(t.ws.reads).toEqual(['input.txt']);
    expect(t.result.deps.executed).toContain(bin['printer-static']);
    expect(t.result.fullyObserved).toBe(true);
  });

  it('a program rewritten in place within the step is looked at again before it runs', async () => {
    const ws = workspace({ 'input.txt': 'line\n', 'sub/input.txt': 'sub\n' });
    const t = await trace(`cp ${bin.printer} prog && ./prog && cp ${bin['printer-static']} prog && cd sub && ../prog`, ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.stdout).toBe('line\nsub\n');
    // the static copy was handed to the supervisor, which saw its read
    expect(t.ws.reads).toEqual(['input.txt', 'sub/input.txt']);
    expect(t.result.fullyObserved).toBe(true);
  });

  it('a Go program (esbuild from npm) is traced by the supervisor, from a shell and alone', async () => {
    const ws = workspace({ 'main.ts': 'export const x: number = 1;\n' });
    for (const command of [`${ESBUILD} main.ts --outfile=out.js`, [ESBUILD, 'main.ts', '--outfile=out.js']]) {
      const t = await trace(command, ws);
      expect(t.result.exitCode).toBe(0);
      expect(readFileSync(join(ws, 'out.js'), 'utf8')).toContain('x = 1');
      expect(t.ws.reads).toEqual(['main.ts']);
      expect(t.result.deps.untraced).toEqual([]);
      expect(t.result.fullyObserved).toBe(true);
    }
  });

  it('a setuid program alone (argv): untraced', async () => {
    const ws = workspace({ 'input.txt': 'suid\n' });
    chmodSync(ws, 0o755);
    const t = await trace([bin.setuid], ws);
    expect(t.stdout).toBe('suid\n');
    expect(t.result.deps.untraced).toEqual([{ path: bin.setuid, reason: 'setuid' }]);
    expect(t.result.fullyObserved).toBe(false);
  });
});
