/**
 * `prov-make watch` through the real CLI, in a pipe (plain lines) and in a real pty (tmux): real
 * edits of real files, each answered with the decisions and reasons `run` gives.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fsPath } from '@prov-make/interposer/byte-path';
import { CLI, cli, inTerminal, runJson, sleep, until, workspace, write } from './cli-helpers.js';

interface Watcher {
  output(): string;
  /** Where the output is now: waitFor and since look after it. */
  mark(): number;
  waitFor(re: RegExp, from?: number, ms?: number): Promise<void>;
  since(from: number): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const running: Watcher[] = [];
afterEach(async () => {
  for (const w of running.splice(0)) await w.stop('SIGKILL');
});

/** `prov-make watch` in a pipe; `wrap` runs it under another command (unshare). */
function watch(ws: string, args: string[] = [], wrap: string[] = []): Watcher {
  const argv = [...wrap, process.execPath, CLI, 'watch', ...args];
  const child = spawn(argv[0], argv.slice(1), { cwd: ws, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  let done = false;
  void exited.then(() => (done = true));
  const w: Watcher = {
    output: () => out,
    mark: () => out.length,
    since: (from) => out.slice(from),
    waitFor: (re, from = 0, ms = 30_000) => until(() => re.test(out.slice(from)), ms, `${re} in:\n${out.slice(from)}`),
    async stop(signal = 'SIGINT') {
      if (!done) child.kill(signal);
      return exited;
    },
  };
  running.push(w);
  return w;
}

const WATCHING = /prov-make: watching \d+ path\(s\) in \d+ folder\(s\)/;

/** Waits for the end of the next cycle: its summary and the watching line. */
async function cycle(w: Watcher, from: number): Promise<string> {
  await w.waitFor(new RegExp(`prov-make: (ok|FAILED)[^\\n]*\\n(?:[^\\n]*\\n)*?${WATCHING.source}`), from);
  return w.since(from);
}

const CHAIN = 'steps:\n  up:\n    run: tr a-z A-Z < data/in.txt > up.txt\n  count:\n    run: wc -c < up.txt > count.txt\n  other:\n    run: cat other.txt > other.out\n';

describe('prov-make watch', () => {
  it('runs, then on an edit runs the affected steps with run\'s reasons; untraced files, touches and the steps\' own outputs run nothing', async () => {
    const ws = workspace({ 'pipeline.yml': CHAIN, 'data/in.txt': 'hello\n', 'other.txt': 'x\n' });
    const w = watch(ws);
    const first = await cycle(w, 0);
    expect(first).toMatch(/^\[up\] running: it has never run$/m);
    expect(first).toMatch(/prov-make: ok: 3 ran, 0 up to date/);

    await sleep(300);
    let at = w.mark();
    appendFileSync(join(ws, 'data/in.txt'), 'world\n');
    const edit = await cycle(w, at);
    expect(edit).toMatch(/^prov-make: data\/in\.txt changed$/m);
    expect(edit).toMatch(/^\[up\] running: input data\/in\.txt changed$/m);
    expect(edit).toMatch(/^\[count\] running: input up\.txt changed$/m);
    expect(edit).not.toMatch(/\[other\] running/);
    expect(readFileSync(join(ws, 'count.txt'), 'utf8').trim()).toBe('12');

    at = w.mark();
    write(ws, 'data/untraced.txt', 'nobody reads me\n');
    const now = new Date();
    utimesSync(join(ws, 'data/in.txt'), now, now);
    writeFileSync(join(ws, 'other.txt'), 'x\n'); // the same bytes again
    await sleep(1500);
    expect(w.since(at)).not.toMatch(/running:/);
    // the same decisions as run: nothing is out of date
    expect(runJson(ws, [], 'status').steps.every((s) => s.status === 'up-to-date')).toBe(true);
  });

  it('an edit of a file whose name is not UTF-8 runs the step that read it', async () => {
    const ws = workspace({ 'pipeline.yml': String.raw`steps:
  copy:
    run: cat "$(printf 'in\377.txt')" > out.txt
` });
    writeFileSync(fsPath(join(ws, 'in\udcff.txt')), 'a\n');
    const w = watch(ws);
    await cycle(w, 0);
    await sleep(300);
    const at = w.mark();
    writeFileSync(fsPath(join(ws, 'in\udcff.txt')), 'b\n');
    const edit = await cycle(w, at);
    expect(edit).toMatch(/^prov-make: in\\xff\.txt changed$/m);
    expect(edit).toMatch(/^\[copy\] running: input in\\xff\.txt changed$/m);
    expect(readFileSync(join(ws, 'out.txt'), 'utf8')).toBe('b\n');
  });

  it('a burst of saves is one run', async () => {
    const ws = workspace({ 'pipeline.yml': CHAIN, 'data/in.txt': 'a\n', 'other.txt': 'x\n' });
    const w = watch(ws);
    await cycle(w, 0);
    await sleep(300);
    const at = w.mark();
    for (let i = 0; i < 5; i++) writeFileSync(join(ws, 'data/in.txt'), `save ${i}\n`);
    await cycle(w, at);
    await sleep(800);
    expect(w.since(at).match(/\[up\] running:/g)).toHaveLength(1);
    expect(readFileSync(join(ws, 'up.txt'), 'utf8')).toBe('SAVE 4\n');
  });

  it('an input changed under a running step makes that execution untrusted: it runs again after, on the new version', async () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  slow:\n    run: cat in.txt > slow.out; sleep 1.5\n', 'in.txt': 'v1\n' });
    const w = watch(ws);
    await cycle(w, 0);
    await sleep(300);
    let at = w.mark();
    writeFileSync(join(ws, 'in.txt'), 'v2\n');
    await w.waitFor(/\[slow\] running: input in\.txt changed/, at);
    await sleep(400); // it has read v2, and sleeps
    writeFileSync(join(ws, 'in.txt'), 'v3\n');
    at = w.mark();
    await w.waitFor(/in\.txt changed while step "slow" was running/, at);
    await w.waitFor(/\[slow\] running: its last run cannot be trusted: input in\.txt changed while the step ran/, at);
    await cycle(w, w.mark());
    expect(readFileSync(join(ws, 'slow.out'), 'utf8')).toBe('v3\n');
    expect(runJson(ws, [], 'status').steps[0].status).toBe('up-to-date');
  });

  it('an edit made while another step runs is taken after it: a step that already read the new version does not run twice', async () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  a:\n    run: cat a.txt > a.out; sleep 1.5\n  b:\n    run: cat b.txt > b.out\n', 'a.txt': '1\n', 'b.txt': '1\n' });
    const w = watch(ws);
    await cycle(w, 0);
    await sleep(300);
    const at = w.mark();
    writeFileSync(join(ws, 'a.txt'), '2\n');
    await w.waitFor(/\[a\] running:/, at);
    writeFileSync(join(ws, 'b.txt'), '2\n'); // b has not started yet: this run takes it
    await cycle(w, at);
    await sleep(1000);
    expect(w.since(at).match(/\[b\] running:/g)).toHaveLength(1);
    expect(readFileSync(join(ws, 'b.out'), 'utf8')).toBe('2\n');
  });

  it('runs that keep changing what an earlier step read stop after five in a row, and wait for an edit', async () => {
    // "read" reads f.txt, which the later step "write" rewrites each time it runs: a read-before-write hazard
    const ws = workspace({ 'pipeline.yml': 'steps:\n  read:\n    run: cat f.txt > copy.txt\n  write:\n    run: cat copy.txt > /dev/null; date +%s%N > f.txt\n', 'f.txt': 'start\n' });
    const w = watch(ws);
    await w.waitFor(/prov-make: waiting for an edit: 5 runs in a row each changed what an earlier step read \(see the hazards above\)/, 0, 60_000);
    const runs = (w.output().match(/\[read\] running:/g) ?? []).length;
    expect(runs).toBeGreaterThanOrEqual(5);
    expect(runs).toBeLessThanOrEqual(7);
    expect(w.output()).toMatch(/step "read" reads f\.txt, which the later step "write" writes/);
    await sleep(1000);
    expect((w.output().match(/\[read\] running:/g) ?? []).length).toBe(runs); // paused
  });

  it('the watch set follows each new trace', async () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  pick:\n    run: cat $(cat which.txt) > picked.txt\n', 'which.txt': 'a.txt\n', 'a.txt': 'A\n', 'b.txt': 'B\n' });
    const w = watch(ws);
    await cycle(w, 0);
    await sleep(300);
    let at = w.mark();
    writeFileSync(join(ws, 'which.txt'), 'b.txt\n');
    await cycle(w, at);
    at = w.mark();
    writeFileSync(join(ws, 'a.txt'), 'A2\n'); // no longer read
    await sleep(1000);
    expect(w.since(at)).not.toMatch(/running:/);
    writeFileSync(join(ws, 'b.txt'), 'B2\n');
    expect(await cycle(w, at)).toMatch(/\[pick\] running: input b\.txt changed/);
    expect(readFileSync(join(ws, 'picked.txt'), 'utf8')).toBe('B2\n');
  });

  it('a broken edit of pipeline.yml shows the error and watching goes on; the fixed file runs', async () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  x:\n    run: echo one > x.txt\n' });
    const w = watch(ws);
    await cycle(w, 0);
    let at = w.mark();
    writeFileSync(join(ws, 'pipeline.yml'), 'steps:\n  x:\n    nedds: []\n    run: echo two > x.txt\n');
    await w.waitFor(/pipeline\.yml:3:5: error: unknown key "nedds" in step "x"\. Did you mean "needs"\?[\s\S]*fix it and save: watching goes on/, at);
    at = w.mark();
    writeFileSync(join(ws, 'pipeline.yml'), 'steps:\n  x:\n    run: echo two > x.txt\n');
    expect(await cycle(w, at)).toMatch(/\[x\] running: its command changed/);
    expect(readFileSync(join(ws, 'x.txt'), 'utf8')).toBe('two\n');
  });

  it('a new file matching a foreach glob adds a step and runs it; a removed one drops it', async () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  up:\n    foreach: raw/*.txt\n    run: tr a-z A-Z < {item} > {stem}.up\n', 'raw/a.txt': 'a\n' });
    const w = watch(ws);
    await cycle(w, 0);
    let at = w.mark();
    write(ws, 'raw/b.txt', 'b\n');
    expect(await cycle(w, at)).toMatch(/\[up\.b\.txt\] running: it has never run/);
    expect(readFileSync(join(ws, 'b.up'), 'utf8')).toBe('B\n');
    at = w.mark();
    write(ws, 'raw/notes.md', 'not matched\n');
    await sleep(1000);
    expect(w.since(at)).not.toMatch(/running:/);
    rmSync(join(ws, 'raw/a.txt'));
    await cycle(w, at);
    expect(runJson(ws, [], 'status').steps.map((s) => s.name)).toEqual(['up.b.txt']);
  });

  it('Ctrl-C stops the running step and exits 130; nothing is recorded for it and no lock is left', async () => {
    const ws = workspace({ 'pipeline.yml': 'steps:\n  long:\n    run: echo $$ > pid.txt; test -e quick || sleep 30; echo done > long.out\n' });
    const w = watch(ws);
    await w.waitFor(/\[long\] running: it has never run/);
    await until(() => existsSync(join(ws, 'pid.txt')) && readFileSync(join(ws, 'pid.txt'), 'utf8').trim() !== '', 10_000, 'the step to start');
    const pid = Number(readFileSync(join(ws, 'pid.txt'), 'utf8'));
    expect(await w.stop('SIGINT')).toBe(130);
    expect(spawnSync('kill', ['-0', String(pid)]).status).not.toBe(0); // the step's process is gone
    write(ws, 'quick', '');
    const r = runJson(ws, ['--no-wait']);
    expect(r.code, r.stderr).toBe(0); // no lock left
    expect(r.steps[0].reason).toBe('it has never run');
  });

  it('when the inotify limit is reached it says so and how to raise it, and still watches the workspace', async () => {
    const ws = workspace({ 'pipeline.yml': CHAIN, 'data/in.txt': 'hello\n', 'other.txt': 'x\n' });
    // a user namespace of our own, with room for 3 watches (the steps' programs live in more folders)
    const w = watch(ws, [], ['unshare', '-U', '-r', 'sh', '-c', 'echo 3 > /proc/sys/user/max_inotify_watches && exec "$@"', 'sh']);
    await cycle(w, 0);
    expect(w.output()).toMatch(/prov-make: warning: the system's limit of inotify watches is reached \(fs\.inotify\.max_user_watches = \d+\): \d+ folder\(s\) are not watched/);
    expect(w.output()).toMatch(/hint: raise it: sudo sysctl fs\.inotify\.max_user_watches=\d+/);
    const at = w.mark();
    appendFileSync(join(ws, 'data/in.txt'), 'more\n');
    expect(await cycle(w, at)).toMatch(/\[up\] running: input data\/in\.txt changed/);
  });

  it('in a terminal: the run view for each run that does something, and Ctrl-C ends it', async () => {
    const ws = workspace({ 'pipeline.yml': CHAIN, 'data/in.txt': 'hello\n', 'other.txt': 'x\n' });
    const term = inTerminal(ws, ['watch'], { height: 40 });
    try {
      const screen = term.screen;
      await until(() => WATCHING.test(screen()), 30_000, 'the first run and the watching line');
      expect(screen()).toMatch(/✓ up \d/);
      appendFileSync(join(ws, 'data/in.txt'), 'world\n');
      await until(() => /data\/in\.txt changed[\s\S]*✓ count[\s\S]*prov-make: ok: 2 ran, 1 up to date/.test(screen()), 30_000, 'the second run');
      expect(screen()).not.toMatch(/· other/); // steps that stayed up to date are not listed
      term.keys('C-c');
      await until(() => /EXIT=130/.test(screen()), 20_000, 'watch to end');
    } finally {
      term.close();
    }
  });

  it('a missing pipeline file is an error at once, with exit 2', () => {
    const r = cli(workspace(), ['watch']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no pipeline\.yml in .* or any parent folder/);
  });
});
