/**
 * Calls made through glibc's syscall() (as libuv, so Node, makes them) and io_uring: C programs
 * compiled for the test, traced by the real interposer, compared with the same program untraced.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileC, runPlain, trace, workspace } from './helpers.js';

const PROGRAMS: Record<string, string> = {
  // every file-related number the wrapper records, each result and errno printed
  rawcalls: `#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
static void show(const char *what, long r) {
  printf("%s %s errno=%d\\n", what, r < 0 ? "-1" : "ok", r < 0 ? errno : 0);
  errno = 0;
}
int main(void) {
  struct statx sx; struct stat st; char buf[4096];
  errno = 0;
  show("statx missing", syscall(SYS_statx, AT_FDCWD, "missing.txt", 0, STATX_BASIC_STATS, &sx));
  show("statx in", syscall(SYS_statx, AT_FDCWD, "in.txt", 0, STATX_BASIC_STATS, &sx));
  show("newfstatat", syscall(SYS_newfstatat, AT_FDCWD, "stat.txt", &st, 0));
  show("openat in", syscall(SYS_openat, AT_FDCWD, "in.txt", O_RDONLY));
  show("openat nodir", syscall(SYS_openat, AT_FDCWD, "nodir/x", O_RDONLY));
  struct open_how how = { .flags = O_WRONLY | O_CREAT | O_TRUNC, .mode = 0644 };
  long out = syscall(SYS_openat2, AT_FDCWD, "out.txt", &how, sizeof how);
  show("openat2 out", out);
  show("write out", write((int)out, "x", 1));
  show("faccessat2 nope", syscall(SYS_faccessat2, AT_FDCWD, "nope", R_OK, 0));
  show("readlinkat link", syscall(SYS_readlinkat, AT_FDCWD, "link", buf, sizeof buf));
  long dir = open("dir", O_RDONLY | O_DIRECTORY);
  show("getdents64", syscall(SYS_getdents64, dir, buf, sizeof buf));
  show("mkdirat", syscall(SYS_mkdirat, AT_FDCWD, "made", 0755));
  show("mkdirat again", syscall(SYS_mkdirat, AT_FDCWD, "made", 0755));
  show("renameat2", syscall(SYS_renameat2, AT_FDCWD, "old.txt", AT_FDCWD, "new.txt", 0));
  show("unlinkat", syscall(SYS_unlinkat, AT_FDCWD, "gone.txt", 0));
  show("unlinkat missing", syscall(SYS_unlinkat, AT_FDCWD, "gone.txt", 0));
  show("symlinkat", syscall(SYS_symlinkat, "in.txt", AT_FDCWD, "sym"));
  show("linkat", syscall(SYS_linkat, AT_FDCWD, "in.txt", AT_FDCWD, "hard", 0));
  long src = open("src.txt", O_RDONLY), dst = open("copy.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  show("copy_file_range", syscall(SYS_copy_file_range, src, NULL, dst, NULL, 100, 0));
  show("chdir", syscall(SYS_chdir, "dir"));
  show("openat after chdir", syscall(SYS_openat, AT_FDCWD, "inside.txt", O_RDONLY));
  fflush(stdout);
  /* an exec through syscall() with an environment that drops LD_PRELOAD: still traced */
  char *argv[] = { "sh", "-c", "cat ../exec.txt", 0 }, *envp[] = { "PATH=/usr/bin:/bin", 0 };
  syscall(SYS_execve, "/bin/sh", argv, envp);
  return 1;
}`,
  // io_uring_setup through syscall() (libuv) and raw (liburing 2.2+ on x86-64)
  uring: `#include <errno.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
  struct io_uring_params p = {0};
  long a = syscall(SYS_io_uring_setup, 4, &p);
  printf("syscall %s\\n", a >= 0 ? "ring" : errno == ENOSYS ? "ENOSYS" : "other");
  long b;
  __asm__ volatile("syscall" : "=a"(b) : "a"(SYS_io_uring_setup), "D"(4L), "S"(&p) : "rcx", "r11", "memory");
  printf("raw %s\\n", b >= 0 ? "ring" : b == -ENOSYS ? "ENOSYS" : "other");
  return 0;
}`,
};

let bin: Record<string, string>;
beforeAll(async () => {
  bin = await compileC(workspace(), PROGRAMS);
});

function callsWorkspace(): string {
  const ws = workspace({
    'in.txt': 'in\n', 'stat.txt': 's\n', 'old.txt': 'o\n', 'gone.txt': 'g\n', 'src.txt': 'copy me\n',
    'exec.txt': 'from exec\n', 'dir/inside.txt': 'i\n',
  });
  symlinkSync('in.txt', join(ws, 'link'));
  return ws;
}

describe('syscall()', () => {
  it('every file-related number is recorded as its named wrapper is, with the same results and errno', async () => {
    const plain = runPlain([bin.rawcalls], callsWorkspace());
    const ws = callsWorkspace();
    const t = await trace([bin.rawcalls], ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.stdout).toBe(plain.stdout);
    expect(t.stdout).toContain('mkdirat again -1 errno=17\n');
    expect(t.stdout).toContain('unlinkat missing -1 errno=2\n');
    expect(t.stdout).toContain('openat nodir -1 errno=2\n');
    expect(t.stdout.endsWith('from exec\n')).toBe(true);
    expect(readFileSync(join(ws, 'copy.txt'), 'utf8')).toBe('copy me\n');
    expect(t.ws).toEqual({
      reads: ['dir/inside.txt', 'exec.txt', 'in.txt', 'link', 'old.txt', 'src.txt', 'stat.txt'],
      writes: ['copy.txt', 'hard', 'made', 'new.txt', 'out.txt', 'sym'],
      deleted: ['gone.txt', 'old.txt'],
      absent: ['missing.txt', 'nodir/x', 'nope'],
      listed: ['dir'],
      executed: [],
      untraced: [],
    });
    expect(t.result.fullyObserved).toBe(true);
  });

  it('io_uring is refused inside a step, through syscall() and raw, and works outside', async () => {
    const ws = workspace();
    const t = await trace([bin.uring], ws);
    expect(t.stdout).toBe('syscall ENOSYS\nraw ENOSYS\n');
    expect(runPlain([bin.uring], ws).stdout).toBe('syscall ring\nraw ring\n');
  });

  it('a step started without privileges gets the filter too, with no_new_privs set', () => {
    // the launcher itself runs as nobody: the kernel then accepts a filter only with no_new_privs
    const ws = workspace();
    chmodSync(ws, 0o777);
    chmodSync(dirname(bin.uring), 0o755);
    mkdirSync(join(ws, 'logs'));
    chownSync(join(ws, 'logs'), 65534, 65534);
    const launcher = `import('${join(import.meta.dirname, '..', 'dist', 'index.js')}').then(async (m) => {
      const r = await m.traceCommand(['sh', '-c', '${bin.uring}; grep NoNewPrivs /proc/self/status'], { cwd: '${ws}', logDir: '${ws}/logs/trace', stdio: 'inherit' });
      process.exitCode = r.exitCode ?? 1;
    })`;
    const r = spawnSync(process.execPath, ['-e', launcher], { uid: 65534, gid: 65534, encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(r.stderr).toBe('');
    expect(r.stdout.replace(/[ \t]+/g, ' ')).toBe('syscall ENOSYS\nraw ENOSYS\nNoNewPrivs: 1\n');
  });
});
