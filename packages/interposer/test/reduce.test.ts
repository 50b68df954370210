/** The reduction rules (DESIGN section 2) on hand-written records and on logs recorded for real. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOG_LAYOUT, parseRecords, readTraceLog, reduceRecords, type DiskView, type LogRecord, type RecordKind } from '../src/index.js';
import { newTraceLogHeader } from '../src/logs.js';
import { trace, workspace, writeTraceLog } from './helpers.js';

type Kind = 'file' | 'dir' | 'symlink' | 'other';

/** The disk at the end of the step: path -> kind, and symlinks (path -> what it resolves to). */
function fakeDisk(entries: Record<string, Kind>, links: Record<string, string> = {}): DiskView {
  return {
    kindOf: (p) => entries[p] ?? null,
    realPath: (p) => {
      for (const [from, to] of Object.entries(links)) {
        if (p === from) return to;
        if (p.startsWith(from + '/')) return to + p.slice(from.length);
      }
      return p in entries ? p : null;
    },
  };
}

/** Records from compact lines: "R a", "W ct b", "M - a b", "K f c" (no ARG written for R S A D: "-"). */
function recs(...lines: string[]): LogRecord[] {
  return lines.map((line, seq) => {
    const [kind, ...rest] = line.split(' ');
    const withArg = ['W', 'X', 'U', 'K', 'P', 'M'].includes(kind);
    const arg = withArg ? rest.shift()! : '-';
    const rec: LogRecord = { kind: kind as RecordKind, seq, arg, path: `/w/${rest[0]}`, pid: 1 };
    if (rest[1]) rec.path2 = `/w/${rest[1]}`;
    return rec;
  });
}

/** Reduces and strips the /w/ prefix, for short expectations. */
function reduce(records: LogRecord[], disk: DiskView, ignore?: (p: string) => boolean) {
  const d = reduceRecords(records, { disk, ignore });
  const rel = (l: string[]) => l.map((p) => (p.startsWith('/w/') ? p.slice(3) : p));
  return {
    reads: rel(d.reads),
    writes: rel(d.writes),
    deleted: rel(d.deleted),
    absent: rel(d.absent),
    listed: rel(d.listed),
    executed: rel(d.executed),
    untraced: d.untraced.map((u) => ({ path: rel([u.path])[0], reason: u.reason })),
  };
}

const none = { reads: [], writes: [], deleted: [], absent: [], listed: [], executed: [], untraced: [] };

describe('reduceRecords', () => {
  it('a file whose first access is a read is an input', () => {
    const disk = fakeDisk({ '/w/a': 'file', '/w/b': 'file' });
    expect(reduce(recs('R a', 'S b', 'R a'), disk)).toEqual({ ...none, reads: ['a', 'b'] });
  });

  it('written then read: an output, not an input', () => {
    const disk = fakeDisk({ '/w/a': 'file' });
    expect(reduce(recs('W ct a', 'R a', 'S a'), disk)).toEqual({ ...none, writes: ['a'] });
  });

  it('created then removed: neither input nor output nor deleted', () => {
    const disk = fakeDisk({});
    expect(reduce(recs('W ct tmp', 'R tmp', 'K f tmp'), disk)).toEqual(none);
  });

  it('a temp file renamed into place: only the final name is an output', () => {
    const disk = fakeDisk({ '/w/final': 'file' });
    expect(reduce(recs('W ct final.tmp', 'M - final.tmp final'), disk)).toEqual({ ...none, writes: ['final'] });
    // an empty temp from mkstemp ("ce") too
    expect(reduce(recs('W ce final.XXXXXX', 'W - final.XXXXXX', 'M - final.XXXXXX final'), disk)).toEqual({ ...none, writes: ['final'] });
  });

  it('a file that existed before, renamed: the old name deleted, the new one written, its content an input', () => {
    const disk = fakeDisk({ '/w/b': 'file' });
    expect(reduce(recs('M - a b'), disk)).toEqual({ ...none, reads: ['a'], writes: ['b'], deleted: ['a'] });
  });

  it('absent, then created by the step: not absent', () => {
    const disk = fakeDisk({ '/w/x': 'file' });
    expect(reduce(recs('A x', 'W ct x', 'A y'), disk)).toEqual({ ...none, writes: ['x'], absent: ['y'] });
    // created and removed again: still the step's own doing
    expect(reduce(recs('A x', 'W ct x', 'K f x'), fakeDisk({}))).toEqual(none);
  });

  it('an append reads and writes; a truncating write does not read', () => {
    const disk = fakeDisk({ '/w/log': 'file', '/w/out': 'file', '/w/rw': 'file', '/w/touched': 'file', '/w/new': 'file' });
    expect(reduce(recs('W ca log', 'W ct out', 'W r rw', 'W c touched', 'W ce new'), disk)).toEqual({
      ...none,
      reads: ['log', 'rw', 'touched'],
      writes: ['log', 'new', 'out', 'rw', 'touched'],
    });
  });

  it('folder reads are dropped; a listing is a listing; mkdir is a write', () => {
    const disk = fakeDisk({ '/w/dir': 'dir', '/w/made': 'dir' });
    expect(reduce(recs('R dir', 'S dir', 'D dir', 'W d made'), disk)).toEqual({ ...none, listed: ['dir'], writes: ['made'] });
  });

  it('a folder the step made and then listed is not a listing; a folder listed before the step remade it is', () => {
    const disk = fakeDisk({ '/w/made': 'dir', '/w/made/x': 'file', '/w/remade': 'dir' });
    expect(reduce(recs('W d made', 'W ct made/x', 'D made', 'D remade', 'K d remade', 'W d remade', 'D remade'), disk)).toEqual({
      ...none,
      writes: ['made', 'made/x', 'remade'],
      listed: ['remade'],
    });
  });

  it("a module resolver's listings (esbuild) get its listing rule; a folder another program lists too counts whole", () => {
    const disk = fakeDisk({ '/w/bin/esbuild': 'file', '/w/app': 'dir', '/w/app/package.json': 'file', '/w/app/src': 'dir', '/w/app/src/main.ts': 'file' });
    const esbuild = recs('P 1 bin/esbuild', 'D app/src', 'D app', 'R app/src/main.ts', 'R app/package.json');
    const r = reduceRecords(esbuild, { disk });
    expect(r.listed).toEqual(['/w/app', '/w/app/src']);
    // which entries count, and that src/ (where it read a source) counts whole: listing-rules.ts in the cache
    expect(r.listingRules).toEqual({ '/w/app': ['esbuild-resolve'], '/w/app/src': ['esbuild-resolve'] });
    expect(r.absent).toEqual([]);
    // the same folder listed by another program (ls): its whole listing counts
    const ls: LogRecord[] = [{ kind: 'P', seq: 9, arg: '1', path: '/bin/ls', pid: 2 }, { kind: 'D', seq: 10, arg: '-', path: '/w/app', pid: 2 }];
    expect(reduceRecords([...esbuild, ...ls], { disk }).listingRules).toEqual({ '/w/app/src': ['esbuild-resolve'] });
  });

  it('a file read, then removed: an input that the step deleted', () => {
    const disk = fakeDisk({});
    expect(reduce(recs('R gone', 'K f gone'), disk)).toEqual({ ...none, reads: ['gone'], deleted: ['gone'] });
  });

  it('written, removed, written again: an output', () => {
    const disk = fakeDisk({ '/w/f': 'file' });
    expect(reduce(recs('W ct f', 'K f f', 'W ct f'), disk)).toEqual({ ...none, writes: ['f'] });
  });

  it('renaming a folder moves the outputs written inside it', () => {
    const disk = fakeDisk({ '/w/out': 'dir', '/w/out/x.o': 'file' });
    expect(reduce(recs('W d build.tmp', 'W ct build.tmp/x.o', 'M - build.tmp out'), disk)).toEqual({ ...none, writes: ['out', 'out/x.o'] });
  });

  it('reads through a symlink are reads of the link and of its target; writes through one write the target', () => {
    const disk = fakeDisk({ '/w/link': 'symlink', '/w/target': 'file', '/w/outlink': 'symlink', '/w/real-out': 'file' }, { '/w/link': '/w/target', '/w/outlink': '/w/real-out' });
    expect(reduce(recs('R link', 'W ct outlink'), disk)).toEqual({ ...none, reads: ['link', 'target'], writes: ['outlink', 'real-out'] });
    // a new symlink (ln -s) is written itself; what it points to is not
    expect(reduce(recs('W n outlink'), disk)).toEqual({ ...none, writes: ['outlink'] });
  });

  it('executed programs and libraries are not also reads; untraced programs are listed with their reason', () => {
    const disk = fakeDisk({ '/w/tool': 'file', '/w/lib.so': 'file', '/w/static': 'file' });
    expect(reduce(recs('R tool', 'X p tool', 'X l lib.so', 'X p static', 'U static static'), disk)).toEqual({
      ...none,
      executed: ['lib.so', 'static', 'tool'],
      untraced: [{ path: 'static', reason: 'static' }],
    });
  });

  it('kernel and device paths are never reported, even through a symlink; the ignore option drops more', () => {
    const disk = fakeDisk({ '/w/null': 'symlink', '/w/keep': 'file', '/w/skip': 'file', '/dev/null': 'other' }, { '/w/null': '/dev/null' });
    const records: LogRecord[] = [
      ...recs('R null', 'R keep', 'R skip'),
      { kind: 'R', seq: 10, arg: '-', path: '/proc/1/status', pid: 1 },
      { kind: 'A', seq: 11, arg: '-', path: '/sys/nope', pid: 1 },
    ];
    expect(reduce(records, disk, (p) => p.endsWith('/skip'))).toEqual({ ...none, reads: ['keep', 'null'] });
  });
});

describe('reading the trace log', () => {
  it('parses records, unescapes paths, and drops a record cut short by a kill', () => {
    const text = 'R\t1\t-\t/w/a\\tb\n' + 'M\t2\t-\t/w/x\\\\y\t/w/new\\nline\n' + 'W\t3\tct\t/w/cut-sho';
    const into: LogRecord[] = [];
    const used = parseRecords(Buffer.concat([Buffer.from(text), Buffer.alloc(100)]), 42, into);
    expect(into).toEqual([
      { kind: 'R', seq: 1, arg: '-', path: '/w/a\tb', pid: 42 },
      { kind: 'M', seq: 2, arg: '-', path: '/w/x\\y', path2: '/w/new\nline', pid: 42 },
    ]);
    expect(used).toBe(text.indexOf('W'));
  });

  it('merges the windows of all processes and threads in event order, with the counters of the header', () => {
    const header = newTraceLogHeader();
    header.writeBigUInt64LE(3n, LOG_LAYOUT.header.lost);
    header.writeBigUInt64LE(2n, LOG_LAYOUT.header.processes);
    const dir = writeTraceLog([[200, 'W\t5\tct\t/w/f\n', 1], [100, 'R\t2\t-\t/w/in\nW\t6\tct\t/w/f\n', 2], [200, 'K\t7\tf\t/w/f\n', 1]], header);
    const { records, status, error } = readTraceLog(dir);
    expect(error).toBeUndefined();
    expect(status).toEqual({ lost: 3, processes: 2, supervisors: 0, supervisorsFinished: 0, malformed: 0 });
    expect(records.map((r) => `${r.seq}${r.kind}${r.pid}`)).toEqual(['2R100', '5W200', '6W100', '7K200']);
    // in that order the second write is removed by the other process: no output
    expect(reduceRecords(records, { disk: fakeDisk({ '/w/in': 'file' }) }).writes).toEqual([]);
  });

  it('steps over a window that a kill left without its header, and reads records across chunks', () => {
    const long = Array.from({ length: 40_000 }, (_, i) => `A\t${i + 10}\t-\t/w/${'p'.repeat(i % 50)}${i}\n`).join('');
    const pages = Math.ceil((long.length + 16) / LOG_LAYOUT.page);
    const dir = writeTraceLog([[1, 'R\t1\t-\t/w/a\n', 1], [null, '', 3], [2, long, pages], [3, 'R\t50000\t-\t/w/z\n', 1]]);
    const { records } = readTraceLog(dir);
    expect(records).toHaveLength(40_002);
    expect(records[0].path).toBe('/w/a');
    expect(records[40_001].path).toBe('/w/z');
    expect(records.filter((r) => r.pid === 2).every((r, i) => r.path === `/w/${'p'.repeat(i % 50)}${i}`)).toBe(true);
  });

  it('a missing log and a file that is not a trace log are errors, not exceptions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pm-interposer-logs-'));
    expect(readTraceLog(dir).error?.kind).toBe('missing');
    writeFileSync(join(dir, LOG_LAYOUT.file), 'not a log');
    expect(readTraceLog(dir).error?.kind).toBe('unreadable');
  });
});

describe('recorded logs', () => {
  it('the logs of a real command reduce by the same rules', async () => {
    const ws = workspace({ 'in.txt': 'in\n', 'old.txt': 'old\n', 'gone.txt': 'gone\n', 'log.txt': 'log\n' });
    const logDir = join(mkdtempSync(join(tmpdir(), 'pm-interposer-logs-')), 'logs');
    mkdirSync(logDir);
    const command = 'cat in.txt > tmp && mv tmp out.txt; mv old.txt renamed.txt; rm gone.txt; echo x >> log.txt; echo s > scratch; rm scratch; test -e nothing';
    const t = await trace(command, ws, { logDir, keepLogs: true });
    const { records } = readTraceLog(logDir);
    const mine = records.filter((r) => r.path.startsWith(ws + '/'));
    const kinds = (p: string) => mine.filter((r) => r.path === `${ws}/${p}` || r.path2 === `${ws}/${p}`).map((r) => r.kind + r.arg);
    expect(kinds('tmp')).toEqual(['Wct', 'M-']);
    expect(kinds('old.txt')).toEqual(['M-']);
    expect(kinds('gone.txt')).toEqual(['S-', 'Kf']); // rm looks before it removes
    expect(kinds('scratch')).toEqual(['Wct', 'S-', 'Kf']);
    expect(kinds('log.txt')).toEqual(['Wca']);
    expect(kinds('nothing')).toEqual(['A-']);
    // the end state of the workspace, as the reducer will see it
    const disk = fakeDisk({
      [`${ws}/in.txt`]: 'file',
      [`${ws}/out.txt`]: 'file',
      [`${ws}/renamed.txt`]: 'file',
      [`${ws}/log.txt`]: 'file',
    });
    const d = reduceRecords(mine, { disk });
    const rel = (l: string[]) => l.map((p) => p.slice(ws.length + 1));
    expect({ reads: rel(d.reads), writes: rel(d.writes), deleted: rel(d.deleted), absent: rel(d.absent) }).toEqual({
      reads: ['gone.txt', 'in.txt', 'log.txt', 'old.txt'],
      writes: ['log.txt', 'out.txt', 'renamed.txt'],
      deleted: ['gone.txt', 'old.txt'],
      absent: ['nothing'],
    });
    // and the live reduction of the same trace agrees
    expect(t.ws.writes).toEqual(['log.txt', 'out.txt', 'renamed.txt']);
    expect(t.ws.deleted).toEqual(['gone.txt', 'old.txt']);
    expect(t.ws.absent).toEqual(['nothing']);
  });
});
