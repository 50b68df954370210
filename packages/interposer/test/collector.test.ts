/**
 * pm-collect (native/collect.h) reads big logs instead of src/logs.ts: what the reducer makes of its
 * summary must be what it makes of the records read here, for any records (repeats dropped, order
 * across writers, renames), for a log it follows as it is written, and for real commands.
 */
import { closeSync, lstatSync, mkdirSync, openSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectTrace, readTraceLog, reduceRecords, RECORD, type StepDependencies } from '../src/index.js';
import { LogCollector } from '../src/collector.js';
import { LOG_LAYOUT, newTraceLogHeader } from '../src/logs.js';
import { reduceEvents } from '../src/reduce.js';
import { logWindow, trace, workspace, writeTraceLog, type LogWindow } from './helpers.js';

const K = RECORD.kind;

/** The log's reduction through pm-collect (however small the log) and through src/logs.ts, with how many records each could not read. */
async function bothWays(logDir: string): Promise<{ native: StepDependencies & { malformed: number }; here: StepDependencies & { malformed: number } }> {
  const summary = await new LogCollector(logDir, { followFrom: Infinity, readFrom: 0 }).finish();
  if (!summary) throw new Error('pm-collect gave no summary');
  const { records, status } = readTraceLog(logDir);
  return { native: { ...reduceEvents(summary), malformed: summary.status.malformed }, here: { ...reduceRecords(records), malformed: status!.malformed } };
}

/** Lines that are not records: an unknown kind, fields missing or too many, a time that is not a number, an ARG too long. */
const NOT_RECORDS = ['Z\t5\t-\t/w/x', 'R\t5\t-', 'RR\t5\t-\t/w/x', 'R\t5x\t-\t/w/x', 'R\t\t-\t/w/x', 'M\t5\t-\t/w/a\t/w/b\t/w/c', `U\t5\t${'s'.repeat(16)}\t/w/x`, 'garbage'];

/** A small deterministic generator (mulberry32). */
function random(seed: number): (n: number) => number {
  let a = seed;
  return (n) => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

describe('pm-collect', () => {
  it('random records over files, folders, symlinks and missing paths, in three writers: the same dependencies, write kinds and listing rules', async () => {
    const ws = workspace({ 'f0': 'a', 'f1': 'b', 'f2': '', 'd0/g0': 'c', 'd0/g1': 'd', 'd1/h': 'e' });
    symlinkSync('f0', join(ws, 'link'));
    symlinkSync('d1', join(ws, 'dlink'));
    mkdirSync(join(ws, 'empty'));
    const names = ['f0', 'f1', 'f2', 'd0', 'd0/g0', 'd0/g1', 'd1', 'd1/h', 'link', 'dlink', 'dlink/h', 'empty', 'm0', 'm1', 'd0/m2', 'tmp'];
    const writeArgs = ['ct', 'c', 'ca', 'r', 'ce', 'd', 'n', 'm', 't', '-'];
    const programs = ['/bin/cat', '/opt/bin/esbuild', '/usr/bin/python3'];
    for (let seed = 1; seed <= 150; seed++) {
      const pick = random(seed);
      const p = (n = pick(names.length)) => `${ws}/${names[n]}`;
      const windows: string[] = ['', '', ''];
      let time = 1000;
      for (let i = 0; i < 80; i++) {
        const w = pick(3);
        time += pick(3); // equal times across writers too
        const kind = 'RRRSSAAWWKMDXUPLL'[pick(17)];
        const arg = kind === K.write ? writeArgs[pick(writeArgs.length)] : kind === K.removed ? 'fd'[pick(2)] : kind === K.executed ? 'pl'[pick(2)]
          : kind === K.untraced ? ['static', 'go'][pick(2)] : kind === K.process ? '1' : kind === K.listed ? '-isn'[pick(4)] : '-';
        const path = kind === K.process ? programs[pick(3)] : p();
        windows[w] += `${kind}\t${time}\t${arg}\t${path}${kind === K.renamed ? `\t${p()}` : ''}\n`;
      }
      // every third log has a line that is not a record, every fourth a writer cut short (no final newline)
      const bad = seed % 3 === 0 ? 1 : 0;
      const cut = seed % 4 === 0 ? 1 : 0;
      if (bad) {
        const w = pick(3);
        const lines = windows[w].split('\n');
        lines.splice(pick(lines.length), 0, NOT_RECORDS[pick(NOT_RECORDS.length)]);
        windows[w] = lines.join('\n').replace(/^\n/, '');
      }
      if (cut) windows[2] += `W\t${time + 1}\tct\t${ws}/cut-sh`;
      const log = writeTraceLog(windows.map((text, i): LogWindow => [100 + i, text, 4]));
      const { native, here } = await bothWays(log);
      expect({ seed, ...native }).toEqual({ seed, ...here });
      expect(here.malformed).toBe(bad + cut);
    }
  });

  it('a record that cannot be read makes the trace incomplete, read here or by pm-collect', async () => {
    const ws = workspace({ 'in.txt': 'x' });
    for (const text of [`R\t1\t-\t${ws}/in.txt\nR\tone\t-\t${ws}/in.txt\n`, `R\t1\t-\t${ws}/in.txt\nW\t2\tct\t${ws}/out`]) {
      const header = newTraceLogHeader();
      header.writeBigUInt64LE(1n, LOG_LAYOUT.header.processes);
      const log = writeTraceLog([[100, text, 1]], header);
      for (const collector of [new LogCollector(log, { followFrom: Infinity, readFrom: Infinity }), new LogCollector(log, { followFrom: Infinity, readFrom: 0 })]) {
        const { deps, problems } = await collectTrace(log, {}, collector);
        expect(deps.reads).toEqual([`${ws}/in.txt`]);
        expect(problems).toEqual([{ kind: 'log-malformed', message: expect.stringContaining('1 trace record(s) could not be read') }]);
      }
    }
  });

  it('a log followed while it is written: windows that appear later, records appended, a record half written, a window being set up', async () => {
    const ws = workspace({ 'a': '1', 'b': '2', 'c': '3' });
    const dir = writeTraceLog([]);
    const file = join(dir, LOG_LAYOUT.file);
    const fd = openSync(file, 'r+');
    const { header: H, page, window: W } = LOG_LAYOUT;
    let next = LOG_LAYOUT.headerSize;
    const setNext = (n: number) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt((next = n)));
      writeSync(fd, b, 0, 8, H.next);
    };
    const at = (pos: number, text: string) => writeSync(fd, Buffer.from(text), 0, Buffer.byteLength(text), pos);
    const pause = () => new Promise((r) => setTimeout(r, 30));
    const collector = new LogCollector(dir, { followFrom: 0, readFrom: 0 });
    collector.watch();
    await new Promise((r) => setTimeout(r, 100)); // it follows now
    const first = next;
    writeSync(fd, logWindow([7, `R\t10\t-\t${ws}/a\n`, 2]), 0, 2 * page, first);
    setNext(first + 2 * page);
    await pause();
    let used = W.bytes + Buffer.byteLength(`R\t10\t-\t${ws}/a\n`);
    const half = `W\t30\tct\t${ws}/`;
    at(first + used, half); // cut short: not a record yet
    await pause();
    at(first + used + half.length, `out\nK\t40\tf\t${ws}/out\n`);
    used += half.length + `out\nK\t40\tf\t${ws}/out\n`.length;
    // a window reserved, its header not written yet; then written
    const second = next;
    setNext(second + page);
    await pause();
    writeSync(fd, logWindow([8, `S\t20\t-\t${ws}/b\nA\t50\t-\t${ws}/gone\n`, 1]), 0, page, second);
    await pause();
    at(first + used, `R\t60\t-\t${ws}/c\nR\t70\t-\t${ws}/a\n`);
    closeSync(fd);
    const summary = await collector.finish();
    if (!summary) throw new Error('pm-collect gave no summary');
    const here = reduceRecords(readTraceLog(dir).records);
    expect(reduceEvents(summary)).toEqual(here);
    expect(here.reads).toEqual([`${ws}/a`, `${ws}/b`, `${ws}/c`]);
    expect(here.absent).toEqual([`${ws}/gone`]);
  });

  it('a real command with thousands of records in many processes: the same dependencies, and lstat of each path', async () => {
    const files = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`src/f${String(i).padStart(4, '0')}.txt`, `${i}\n`]));
    const ws = workspace({ ...files, 'old.txt': 'old\n', 'gone.txt': 'x\n' });
    const logDir = join(workspace(), 'logs');
    const command = [
      'mkdir -p out',
      'cat src/*.txt > out/all.txt',
      'for i in 1 2 3; do cat src/f00*.txt > /dev/null; done', // the same reads by several processes
      'ln -s src linked && cat linked/f0001.txt > out/via-link.txt',
      'echo x > tmp.txt && mv tmp.txt out/moved.txt',
      'mkdir build.tmp && echo y > build.tmp/inner && mv build.tmp out/built',
      'mv old.txt renamed.txt; rm gone.txt; test -e nothing || true',
    ].join('; ');
    const t = await trace(command, ws, { logDir, keepLogs: true });
    expect(t.result.exitCode).toBe(0);
    expect(t.result.stats).toBeDefined(); // read by pm-collect
    const { native, here } = await bothWays(logDir);
    expect(native).toEqual(here);
    expect(t.ws.writes).toEqual(['linked', 'out', 'out/all.txt', 'out/built', 'out/built/inner', 'out/moved.txt', 'out/via-link.txt', 'renamed.txt']);
    for (const p of [`${ws}/src/f0001.txt`, `${ws}/out/all.txt`, `${ws}/linked`]) {
      const st = lstatSync(p, { bigint: true });
      const got = t.result.stats!.of(p)!;
      expect([got.dev, got.ino, got.mode, got.size, got.mtimeNs, got.ctimeNs]).toEqual([st.dev, st.ino, st.mode, st.size, st.mtimeNs, st.ctimeNs]);
      expect([got.isFile(), got.isSymbolicLink()]).toEqual([st.isFile(), st.isSymbolicLink()]);
    }
    expect(t.result.stats!.of(`${ws}/gone.txt`)).toBeNull();
  });

  it('a followed log that the command removes is reported missing, as when it is read here', async () => {
    const ws = workspace({ 'input.txt': 'in\n' });
    // ~25,000 failed lookups (over a MiB of records: followed), then the log goes and the shell records on
    const t = await trace('i=0; while [ $i -lt 25000 ]; do [ -e probe$i ]; i=$((i+1)); done; sleep 0.3; rm "$PROV_MAKE_LOG_DIR/trace.log"; cat input.txt', ws);
    expect(t.result.exitCode).toBe(0);
    expect(t.result.problems.map((p) => p.kind)).toContain('log-missing');
    expect(t.result.fullyObserved).toBe(false);
  });

  it('a name that is not UTF-8 keeps its bytes through the summary', async () => {
    const ws = workspace({ 'plain.txt': 'a\n' });
    writeFileSync(Buffer.concat([Buffer.from(`${ws}/caf`), Buffer.from([0xe9]), Buffer.from('.txt')]), 'b\n');
    const logDir = join(workspace(), 'logs');
    const t = await trace(`cat plain.txt caf$(printf '\\351').txt`, ws, { logDir, keepLogs: true });
    expect(t.result.exitCode).toBe(0);
    const { native, here } = await bothWays(logDir);
    expect(native).toEqual(here);
    expect(native.reads).toContain(`${ws}/caf\udce9.txt`);
  });

  it('an empty log, a missing one and one that is not a trace log', async () => {
    const { native, here } = await bothWays(writeTraceLog([]));
    expect(native).toEqual(here);
    const dir = workspace();
    expect(await new LogCollector(dir, { followFrom: Infinity, readFrom: 0 }).finish()).toBeNull();
    writeFileSync(join(dir, LOG_LAYOUT.file), Buffer.concat([Buffer.from('not a log'), newTraceLogHeader()]));
    expect(await new LogCollector(dir, { followFrom: Infinity, readFrom: 0 }).finish()).toBeNull();
  });
});
