/**
 * What a step produced is what it changed (engine/outputs.ts), on the in-memory disk: a file only
 * chmodded or touched is an input; one read then rewritten, or appended to, is both; a hand-edited
 * pure output is kept before it is restored; an incremental step's untouched outputs are carried
 * over, and its listings stay the same when it writes less.
 */
import { describe, expect, it } from 'vitest';
import { all, testWorkspace } from './harness.js';

const ONE = (run: string) => `steps:\n  go:\n    run: ${run}\n`;

describe('what a step produced', () => {
  it('chmod +x run.sh && ./run.sh > out.txt: run.sh is an input; an edit to it reruns the step, never a restore', async () => {
    const t = testWorkspace(ONE('chmod +x run.sh && ./run.sh > out.txt'), { 'run.sh': 'one' }, {
      go: (io) => {
        io.chmod('run.sh', 0o755);
        io.write('out.txt', `${io.read('run.sh')}\n`);
      },
    });
    expect(await t.run()).toEqual({ go: 'ran' });
    t.disk.settle();
    t.disk.write('run.sh', 'two');
    expect(await t.run()).toEqual({ go: 'ran' });
    expect(t.reason('go')).toBe('input run.sh changed');
    expect([t.disk.read('run.sh'), t.disk.read('out.txt')]).toEqual(['two', 'two\n']);
    t.disk.settle();
    expect(await t.run()).toEqual({ go: 'skipped' });
  });

  it('sed -i notes.txt: both; a line appended by the user is an input change, and the step runs on it', async () => {
    const t = testWorkspace(ONE("sed -i 's/old/new/' notes.txt"), { 'notes.txt': 'old\n' }, {
      go: (io) => io.rewrite('notes.txt', (c) => c.replace(/old/g, 'new')),
    });
    await t.run();
    t.disk.settle();
    t.disk.append('notes.txt', 'my old line\n');
    expect(await t.run()).toEqual({ go: 'ran' });
    expect(t.reason('go')).toBe('input notes.txt changed');
    expect(t.disk.read('notes.txt')).toBe('new\nmy new line\n');
  });

  it('touch all in a make-like step: the first run takes it as both, later runs see the same bytes: an input only', async () => {
    const t = testWorkspace(ONE('make'), { src: 'a', all: 'test script' }, {
      go: (io) => {
        io.write('prog', io.read('src')!);
        io.touch('all');
      },
    });
    await t.run();
    t.disk.settle();
    t.disk.write('src', 'b');
    await t.run(); // all: the same bytes as before the step, only retimed
    t.disk.settle();
    t.disk.write('all', 'my new test script');
    expect(await t.run()).toEqual({ go: 'ran' });
    expect(t.reason('go')).toBe('input all changed');
    expect(t.disk.read('all')).toBe('my new test script');
  });

  it('an appended log is both: the old lines are part of it', async () => {
    const t = testWorkspace(ONE('echo ran >> log.txt'), { 'log.txt': 'start\n' }, { go: (io) => io.append('log.txt', 'ran\n') });
    await t.run();
    t.disk.settle();
    t.disk.append('log.txt', 'by hand\n');
    expect(await t.run()).toEqual({ go: 'ran' });
    expect(t.disk.read('log.txt')).toBe('start\nran\nby hand\nran\n');
  });

  it('a hand-edited pure output: its bytes are kept, then the step\'s version is restored', async () => {
    const t = testWorkspace(ONE('cp in.txt out.txt'), { 'in.txt': 'made\n' }, { go: (io) => io.write('out.txt', io.read('in.txt')!) });
    await t.run();
    t.disk.settle();
    t.disk.write('out.txt', 'my edit\n');
    expect(await t.run()).toEqual({ go: 'restored' });
    expect(t.reason('go')).toMatch(/^output out\.txt was modified; restored from the cache \(the edited version is kept first/);
    expect(t.disk.read('out.txt')).toBe('made\n');
    const stores = await t.ws.openStores();
    const [kept] = stores.history.keptEdits();
    expect(kept).toMatchObject({ step: 'go', path: 'out.txt', size: 8 });
    expect((await stores.blobs.read(kept.sha256!)).toString()).toBe('my edit\n'); // the object is named by its SHA-256
  });

  it('an incremental step that rewrites less: its untouched outputs are still its own, its listing does not change', async () => {
    const build = (io: Parameters<Parameters<typeof testWorkspace>[2][string]>[0]) => {
      for (const src of io.list('src')) {
        const obj = `obj/${src}.o`;
        const made = io.read(obj);
        const source = io.read(`src/${src}`)!;
        if (made !== `compiled ${source}`) io.write(obj, `compiled ${source}`);
      }
      io.list('obj');
    };
    const t = testWorkspace(ONE('make'), { 'src/a': 'A', 'src/b': 'B' }, { go: build });
    await t.run();
    t.disk.settle();
    t.disk.write('src/a', 'A2');
    expect(await t.run()).toEqual({ go: 'ran' }); // rewrites obj/a.o only
    t.disk.settle();
    expect(await t.run()).toEqual({ go: 'skipped' });
    t.disk.write('obj/b.o', 'edited by hand');
    expect(await t.run()).toEqual({ go: 'restored' }); // still its output: restored, not an input change
    expect(t.disk.read('obj/b.o')).toBe('compiled B');
    expect(await t.run()).toEqual(all(['go'], 'skipped'));
  });
});

describe('listings narrowed by their lister', () => {
  const STEPS = 'steps:\n  imports:\n    run: python3 scripts/main.py\n  globs:\n    run: python3 scripts/own.py\n';
  // "imports" lists scripts/ as Python's import system does; "globs" as os.listdir does, in user code
  const steps = {
    imports: (io: Parameters<Parameters<typeof testWorkspace>[2][string]>[0]) => {
      io.list('scripts', 'python-import');
      io.write('out1.txt', io.read('scripts/main.py')!);
    },
    globs: (io: Parameters<Parameters<typeof testWorkspace>[2][string]>[0]) => {
      io.list('scripts', 'python-import');
      io.write('out2.txt', io.list('scripts').join(','));
    },
  };

  it('a README, a swap file or a .git folder beside the script reruns nothing there; a new csv.py does, named', async () => {
    const t = testWorkspace(STEPS, { 'scripts/main.py': 'print(1)', 'scripts/own.py': 'print(2)' }, steps);
    await t.run();
    t.disk.settle();
    t.disk.write('scripts/README', 'notes');
    t.disk.write('scripts/.main.py.swp', 'vim');
    t.disk.write('scripts/.git/HEAD', 'ref');
    expect(await t.run()).toEqual({ imports: 'skipped', globs: 'ran' }); // the one that lists in user code still reruns
    expect(t.reason('globs')).toMatch(/^scripts\/\.git appeared in folder scripts\//);
    t.disk.settle();
    t.disk.write('scripts/csv.py', 'shadow');
    expect(await t.run()).toEqual({ imports: 'ran', globs: 'ran' });
    expect(t.reason('imports')).toBe('scripts/csv.py appeared in folder scripts/ (it listed it)');
    t.disk.settle();
    t.disk.write('scripts/pkg/__init__.py', '');
    expect((await t.run()).imports).toBe('ran'); // a package folder
    t.disk.settle();
    await t.run();
    expect(await t.run()).toEqual({ imports: 'skipped', globs: 'skipped' });
  });
});

describe('a file opened with O_CREAT and empty when opened', () => {
  it('made by the step (its birth time says so): a pure output, restored from the cache in a clean copy', async () => {
    const t = testWorkspace(ONE('echo x >> new.log'), {}, { go: (io) => io.append('new.log', 'x\n') });
    await t.run();
    t.disk.settle();
    t.disk.remove('new.log');
    expect(await t.run()).toEqual({ go: 'restored' });
    expect(t.disk.read('new.log')).toBe('x\n');
  });

  it('there before, empty, and left empty (touch stamp): an input only', async () => {
    const t = testWorkspace(ONE('touch stamp'), { stamp: '' }, { go: (io) => io.append('stamp', '') });
    t.disk.settle();
    await t.run();
    t.disk.settle();
    t.disk.write('stamp', 'written by someone else');
    expect(await t.run()).toEqual({ go: 'ran' });
    expect(t.reason('go')).toBe('input stamp changed');
    expect(t.disk.read('stamp')).toBe('written by someone else');
  });
});
