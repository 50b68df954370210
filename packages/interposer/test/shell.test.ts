/** Everyday commands and shell constructs under the real interposer: what a step's user sees. */
import { existsSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { interposerLibrary } from '../src/index.js';
import { LD_SO, LIBC, trace, workspace } from './helpers.js';

const CAT = realpathSync('/bin/cat');
const SH = realpathSync('/bin/sh');

describe('coreutils', () => {
  it('cat: the file read is an input, the redirect target an output, cat and its libraries were executed', async () => {
    const ws = workspace({ 'in.txt': 'hello\n' });
    const t = await trace('cat in.txt > out.txt', ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.ws).toEqual({ reads: ['in.txt'], writes: ['out.txt'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
    expect(t.result.deps.executed).toEqual(expect.arrayContaining([CAT, SH, LIBC, LD_SO]));
    expect(t.result.deps.executed).not.toContain(interposerLibrary); // the tool's own library is not the step's
    expect(t.result.fullyObserved).toBe(true);
    expect(t.result.problems).toEqual([]);
    expect(readFileSync(`${ws}/out.txt`, 'utf8')).toBe('hello\n');
  });

  it('cp: source read, copy written', async () => {
    const ws = workspace({ 'a.txt': 'A' });
    const t = await trace('cp a.txt b.txt', ws);
    expect(t.ws).toEqual({ reads: ['a.txt'], writes: ['b.txt'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
  });

  it('mv of a file that existed before: the old name is deleted, the new one written, the content an input', async () => {
    const ws = workspace({ 'a.txt': 'A' });
    const t = await trace('mv a.txt b.txt', ws);
    expect(t.ws).toEqual({ reads: ['a.txt'], writes: ['b.txt'], deleted: ['a.txt'], absent: [], listed: [], executed: [], untraced: [] });
  });

  it('rm: the removed file is deleted', async () => {
    const ws = workspace({ 'gone.txt': 'x', 'dir/f': 'y' });
    const t = await trace('rm gone.txt && rm -r dir', ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.ws.deleted).toEqual(['dir', 'dir/f', 'gone.txt']);
    expect(t.ws.writes).toEqual([]);
    expect(t.ws.absent).toEqual([]);
  });

  it('touch: a new file is an output only; touching an existing file keeps its content, so it is read and written', async () => {
    const ws = workspace({ 'old.txt': 'content' });
    const t = await trace('touch new.txt old.txt', ws);
    expect(t.ws).toEqual({ reads: ['old.txt'], writes: ['new.txt', 'old.txt'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
  });

  it('mkdir -p: every folder it created is written, the existing parent is not', async () => {
    const ws = workspace({ 'x/keep': '' });
    const t = await trace('mkdir -p x/y/z', ws);
    expect(t.ws).toEqual({ reads: [], writes: ['x/y', 'x/y/z'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
  });

  it('ln -s: the link is written; its target is not read', async () => {
    const ws = workspace({ 'target.txt': 'T' });
    const t = await trace('ln -s target.txt link.txt', ws);
    expect(t.ws).toEqual({ reads: [], writes: ['link.txt'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
  });
});

describe('shell constructs', () => {
  it('redirections and a pipeline: sort < a | uniq > b, and an append', async () => {
    const ws = workspace({ a: 'b\na\nb\n', 'log.txt': 'earlier\n' });
    const t = await trace('sort < a | uniq > b; echo more >> log.txt', ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.ws).toEqual({ reads: ['a', 'log.txt'], writes: ['b', 'log.txt'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
    expect(readFileSync(`${ws}/b`, 'utf8')).toBe('a\nb\n');
    expect(t.result.deps.executed).toEqual(expect.arrayContaining([realpathSync('/usr/bin/sort'), realpathSync('/usr/bin/uniq')]));
  });

  it('an atomic write (temp file renamed into place): only the final name is an output', async () => {
    const ws = workspace({ 'src.txt': 'data\n' });
    const t = await trace('cat src.txt > out.txt.tmp && mv out.txt.tmp out.txt', ws);
    expect(t.ws).toEqual({ reads: ['src.txt'], writes: ['out.txt'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
  });

  it('an atomic write over an existing output replaces it: written, not deleted', async () => {
    const ws = workspace({ 'out.txt': 'old\n' });
    const t = await trace('echo new > tmp.$$ && mv tmp.$$ out.txt', ws);
    // mv stats the destination first (a folder there would change what it does): a metadata read
    expect(t.ws).toEqual({ reads: ['out.txt'], writes: ['out.txt'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
    expect(readFileSync(`${ws}/out.txt`, 'utf8')).toBe('new\n');
  });

  it('a temp file created and removed inside the step is neither an input nor an output', async () => {
    const ws = workspace({ 'in.txt': 'x\n' });
    const t = await trace('cat in.txt > scratch; cat scratch > out.txt; rm scratch', ws);
    expect(t.ws).toEqual({ reads: ['in.txt'], writes: ['out.txt'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
  });

  it('a file written, removed by another process, then written again is an output', async () => {
    const ws = workspace();
    const t = await trace('echo a > f; rm f; echo b > f', ws);
    expect(t.ws).toEqual({ reads: [], writes: ['f'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
  });

  it('a glob lists its folder', async () => {
    const ws = workspace({ 'data/a.csv': '1\n', 'data/b.csv': '2\n', 'data/c.txt': '3\n' });
    const t = await trace('cat data/*.csv', ws);
    expect(t.stdout).toBe('1\n2\n');
    expect(t.ws).toEqual({ reads: ['data/a.csv', 'data/b.csv'], writes: [], deleted: [], absent: [], listed: ['data'], executed: [], untraced: [] });
  });

  it('ls, find, tar, cp -r and rm -r: the folders listed and the files copied', async () => {
    const ws = workspace({ 'data/a.csv': '1\n', 'data/sub/b.csv': '2\n' });
    const t = await trace(
      'ls data > list.txt; find data -name "*.csv" > found.txt; tar cf out.tar data; mkdir x && cd x && tar xf ../out.tar; cd ..; cp -r data copy; rm -r copy/sub',
      ws,
    );
    expect(t.result.exitCode).toBe(0);
    expect(t.ws).toEqual({
      reads: ['data/a.csv', 'data/sub/b.csv'],
      writes: ['copy', 'copy/a.csv', 'found.txt', 'list.txt', 'out.tar', 'x', 'x/data', 'x/data/a.csv', 'x/data/sub', 'x/data/sub/b.csv'],
      deleted: [],
      absent: [],
      listed: ['data', 'data/sub'], // copy/sub, listed by rm -r, was the step's own
      executed: [],
      untraced: [],
    });
  });

  it('cd then relative paths resolve against the new folder', async () => {
    const ws = workspace({ 'sub/f.txt': 'in sub\n', 'f.txt': 'at top\n' });
    const t = await trace('cd sub && cat f.txt > out.txt', ws);
    expect(t.ws).toEqual({ reads: ['sub/f.txt'], writes: ['sub/out.txt'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
  });

  it('fork/exec three shells deep is still traced', async () => {
    const ws = workspace({ f: 'deep\n' });
    const t = await trace(`sh -c 'sh -c "sh -c \\"cat f\\""'`, ws);
    expect(t.stdout).toBe('deep\n');
    expect(t.ws).toEqual({ reads: ['f'], writes: [], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
    expect(t.result.deps.executed).toEqual(expect.arrayContaining([CAT, SH]));
  });

  it('env -i clears the environment, yet the program it runs is traced', async () => {
    const ws = workspace({ f: 'env\n', g: 'env2\n' });
    const t = await trace(['env', '-i', '/bin/cat', 'f'], ws);
    expect(t.stdout).toBe('env\n');
    expect(t.ws.reads).toEqual(['f']);
    expect(t.result.deps.executed).toContain(CAT);
    // and one more level: a shell started with no environment runs a traced cat
    const t2 = await trace(`env -i /bin/sh -c 'cat g > out'`, ws);
    expect(t2.ws).toEqual({ reads: ['g'], writes: ['out'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
    expect(t2.result.fullyObserved).toBe(true);
  });

  it('a program that is not there: the shell records where it looked', async () => {
    const ws = workspace();
    const t = await trace('./no-such-program; exit 0', ws);
    expect(t.stderr).toMatch(/not found/);
    expect(t.ws).toEqual({ reads: [], writes: [], deleted: [], absent: ['no-such-program'], listed: [], executed: [], untraced: [] });
  });
});

describe('names', () => {
  it('names with tabs, newlines, backslashes, spaces and non-ASCII letters come back exactly', async () => {
    const names = ['tab\there.txt', 'new\nline.txt', 'back\\slash.txt', 'with space.txt', 'café ☕.txt'];
    const files: Record<string, string> = {};
    for (const n of names) files[n] = n;
    const ws = workspace(files);
    const t = await trace(['cat', ...names], ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.stdout).toBe(names.join(''));
    expect(t.ws.reads).toEqual([...names].sort());
  });
});

describe('symlinks', () => {
  it('reading through a link records both the link and its target', async () => {
    const ws = workspace({ 'real.txt': 'R\n', 'realdir/f.txt': 'F\n' });
    symlinkSync('real.txt', `${ws}/link.txt`);
    symlinkSync('realdir', `${ws}/dirlink`);
    const t = await trace('cat link.txt dirlink/f.txt', ws);
    expect(t.stdout).toBe('R\nF\n');
    // the symlinked folder followed is read too: retargeting it changes what the name reads
    expect(t.ws.reads).toEqual(['dirlink', 'dirlink/f.txt', 'link.txt', 'real.txt', 'realdir/f.txt']);
    expect(t.ws.writes).toEqual([]);
  });

  it('writing through a link writes the file it leads to', async () => {
    const ws = workspace({ 'real.txt': 'R\n', 'realdir/keep': '' });
    symlinkSync('real.txt', `${ws}/link.txt`);
    symlinkSync('realdir', `${ws}/dirlink`);
    const t = await trace('echo more >> link.txt; echo new > dirlink/new.txt', ws);
    expect(readFileSync(`${ws}/real.txt`, 'utf8')).toBe('R\nmore\n');
    // an append keeps the old content: read and written, under both names
    expect(t.ws.reads).toEqual(['link.txt', 'real.txt']);
    expect(t.ws.writes).toEqual(['dirlink/new.txt', 'link.txt', 'real.txt', 'realdir/new.txt']);
  });
});

describe('never reported', () => {
  it('/proc, /sys, /dev and the log folder never appear, even through a symlink', async () => {
    const ws = workspace();
    symlinkSync('/dev/null', `${ws}/null-link`);
    symlinkSync('/proc/self/status', `${ws}/status-link`);
    const t = await trace(
      'cat /proc/self/status /dev/null /sys/kernel/mm/transparent_hugepage/enabled null-link status-link > out; ls /proc/self/fd /dev > /dev/null; ' +
        'ls "$PROV_MAKE_LOG_DIR" > /dev/null; cat "$PROV_MAKE_LOG_DIR/trace.log" > /dev/null; test -e /dev/nope',
      ws,
    );
    expect(t.result.exitCode).toBe(1); // the last test -e fails
    expect(t.ws).toEqual({ reads: ['null-link', 'status-link'], writes: ['out'], deleted: [], absent: [], listed: [], executed: [], untraced: [] });
    // checkInvariants (in trace) asserted no /proc, /sys, /dev or log path in any list
    expect(existsSync(`${ws}/out`)).toBe(true);
  });
});
