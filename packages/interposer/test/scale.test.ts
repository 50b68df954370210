/** Big traces, and logs that fill up or disappear: the traced program never notices, the trace says so. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readTraceLog } from '../src/index.js';
import { compileC, trace, workspace } from './helpers.js';

const MANY = `#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* many N missing: opens miss/0 .. miss/N-1 (none exist); many N same: opens input.txt N times */
int main(int argc, char **argv) {
  int n = atoi(argv[1]), same = !strcmp(argv[2], "same"), found = 0;
  char p[64];
  for (int i = 0; i < n; i++) {
    int fd;
    if (same) fd = open("input.txt", O_RDONLY);
    else { snprintf(p, sizeof p, "miss/%d", i); fd = open(p, O_RDONLY); }
    if (fd >= 0) { found++; close(fd); }
  }
  printf("opened %d of %d\\n", found, n);
  return 0;
}`;

let many: string;
beforeAll(async () => {
  ({ many } = await compileC(workspace(), { many: MANY }));
});

describe('a million opens', () => {
  it('1,000,000 distinct missing paths: all absent', async () => {
    const ws = workspace();
    const started = Date.now();
    const t = await trace([many, '1000000', 'missing'], ws);
    const seconds = (Date.now() - started) / 1000;
    expect(t.result.exitCode).toBe(0);
    expect(t.stdout).toBe('opened 0 of 1000000\n');
    expect(t.result.problems).toEqual([]);
    expect(t.ws.absent).toHaveLength(1_000_000);
    const absent = new Set(t.ws.absent);
    for (let i = 0; i < 1_000_000; i++) if (!absent.has(`miss/${i}`)) throw new Error(`miss/${i} is not in absent`);
    expect(t.ws.reads).toEqual([]);
    expect(t.ws.writes).toEqual([]);
    expect(seconds).toBeLessThan(40); // ~6 s on an idle 2-core machine: launch, a million records, reduction
  }, 90_000);

  it('the same file opened 1,000,000 times: one read', async () => {
    const ws = workspace({ 'input.txt': 'x' });
    const started = Date.now();
    const t = await trace([many, '1000000', 'same'], ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.stdout).toBe('opened 1000000 of 1000000\n');
    expect(t.ws).toEqual({ reads: ['input.txt'], writes: [], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
    expect(t.result.fullyObserved).toBe(true);
    expect((Date.now() - started) / 1000).toBeLessThan(30); // ~3 s on an idle 2-core machine
  }, 60_000);
});

describe('logs that fill up or go away', () => {
  it('a log capped at 12 KiB: the program runs to the end, the loss is reported', async () => {
    const ws = workspace({ 'input.txt': 'x' });
    const t = await trace([many, '20000', 'missing'], ws, { logMaxBytes: 12 * 1024 });
    expect(t.result.exitCode).toBe(0);
    expect(t.stdout).toBe('opened 0 of 20000\n');
    expect(t.result.problems.map((p) => p.kind)).toContain('log-lost');
    expect(t.result.fullyObserved).toBe(false);
    // what fitted is there
    expect(t.ws.absent.length).toBeGreaterThan(0);
    expect(t.ws.absent.length).toBeLessThan(20000);
  });

  it('a command that deletes its own log folder keeps working; the trace reports the problem', async () => {
    const ws = workspace({ 'input.txt': 'still here\n' });
    const t = await trace(
      'rm -rf "$PROV_MAKE_LOG_DIR"; cat input.txt; echo made > out.txt; cat out.txt; ' +
        // this shell keeps recording: its log has to grow into a folder that is gone
        'i=0; while [ $i -lt 3000 ]; do [ -e probe$i ]; i=$((i+1)); done; echo end',
      ws,
    );
    expect(t.result.exitCode).toBe(0);
    expect(t.stdout).toBe('still here\nmade\nend\n');
    expect(readFileSync(join(ws, 'out.txt'), 'utf8')).toBe('made\n');
    expect(t.result.problems.length).toBeGreaterThan(0);
    expect(t.result.problems.map((p) => p.kind)).toContain('log-missing');
    expect(t.result.fullyObserved).toBe(false);
  });

  it('a log the command replaces with a folder is reported, not thrown', async () => {
    const ws = workspace({ 'input.txt': 'in\n' });
    const t = await trace('rm "$PROV_MAKE_LOG_DIR/trace.log" && mkdir "$PROV_MAKE_LOG_DIR/trace.log" && cat input.txt', ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.stdout).toBe('in\n');
    expect(t.result.problems.map((p) => p.kind)).toEqual(['log-unreadable']);
    expect(t.result.fullyObserved).toBe(false);
  });

  it('one log file for the whole step, whatever the umask; it counts the programs that ran', async () => {
    const ws = workspace({ 'input.txt': 'in\n' });
    const logDir = join(mkdtempSync(join(tmpdir(), 'pm-interposer-logs-')), 'logs');
    const t = await trace('umask 777; cat input.txt; sh -c "cat input.txt"', ws, { logDir, keepLogs: true });
    expect(t.stdout).toBe('in\nin\n');
    expect(t.ws.reads).toEqual(['input.txt']);
    expect(readdirSync(logDir)).toEqual(['trace.log']);
    expect(readTraceLog(logDir).status).toEqual({ lost: 0, processes: 4, supervisors: 0, supervisorsFinished: 0, malformed: 0 }); // sh, cat, sh, cat
    rmSync(dirname(logDir), { recursive: true, force: true });
  });

  it('a command that replaces its log folder with a file: programs still run, the trace is incomplete', async () => {
    const ws = workspace({ 'input.txt': 'in\n' });
    const t = await trace('rm -rf "$PROV_MAKE_LOG_DIR" && echo not-a-folder > "$PROV_MAKE_LOG_DIR" && cat input.txt && sh -c "cat input.txt"', ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.stdout).toBe('in\nin\n');
    expect(t.result.fullyObserved).toBe(false);
    expect(t.result.problems.length).toBeGreaterThan(0);
    expect(existsSync(join(ws, 'input.txt'))).toBe(true);
  });
});
