/**
 * How a step wrote each path (write-kinds.ts) and the roles of its listings (listing-roles.ts), on
 * hand-written records, and on records made for real: touch, chmod, sed -i, >>, and Python's import
 * system listing a folder (its audit hook, native/python.c) next to user code listing it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reduceRecords, type DiskView, type LogRecord, type RecordKind } from '../src/index.js';
import { trace, workspace } from './helpers.js';

const files = (...names: string[]): DiskView => ({
  kindOf: (p) => (names.includes(p) ? 'file' : p === '/w' ? 'dir' : null),
  realPath: (p) => p,
});

/** "KIND ARG PATH": every record with its ARG written. */
function recs(...lines: string[]): LogRecord[] {
  return lines.map((line, seq) => {
    const [kind, arg, path, path2] = line.split(' ');
    return { kind: kind as RecordKind, seq, arg, path: `/w/${path}`, ...(path2 ? { path2: `/w/${path2}` } : {}), pid: 1 };
  });
}

const kinds = (records: LogRecord[], ...names: string[]) => reduceRecords(records, { disk: files(...names.map((n) => `/w/${n}`)) }).writeKinds;

describe('write kinds from records', () => {
  it('made anew, or read first and replaced; written in place, retimed, or only metadata', () => {
    expect(kinds(recs('W ct out'), 'out')).toEqual({});
    expect(kinds(recs('R - notes', 'W ce tmp', 'M - tmp notes'), 'notes')).toEqual({ '/w/notes': 'replaced-after-read' });
    expect(kinds(recs('S - lcode.o', 'W ct lcode.o'), 'lcode.o')).toEqual({}); // a stat first is not a read of it
    expect(kinds(recs('W ca log'), 'log')).toEqual({ '/w/log': 'in-place' });
    expect(kinds(recs('W c all', 'W m all'), 'all')).toEqual({ '/w/all': 'in-place-retimed' });
    expect(kinds(recs('W m run.sh'), 'run.sh')).toEqual({ '/w/run.sh': 'metadata' });
    expect(kinds(recs('W cae new.log'), 'new.log')).toEqual({ '/w/new.log': 'new-if-created' });
    expect(kinds(recs('W m x', 'K f x', 'W ct x'), 'x')).toEqual({}); // removed, then made anew
  });
});

describe('write kinds and listing roles, traced for real', () => {
  it('touch, chmod, sed -i, >> on files that were there, and a new file', async () => {
    const dir = workspace();
    for (const f of ['all', 'run.sh', 'notes', 'log']) writeFileSync(join(dir, f), 'x old\n');
    const t = (await trace(`touch all && chmod +x run.sh && sed -i 's/old/new/' notes && echo a >> log && echo b > new`, dir)).result;
    expect(t.exitCode).toBe(0);
    expect(t.deps.writeKinds).toMatchObject({
      [join(dir, 'all')]: 'in-place-retimed',
      [join(dir, 'run.sh')]: 'metadata',
      [join(dir, 'notes')]: 'replaced-after-read',
      [join(dir, 'log')]: 'in-place',
    });
    expect(t.deps.writeKinds?.[join(dir, 'new')]).toBeUndefined();
  });

  it("python3: the import system's listings carry the names it looked up there, user code's os.listdir none", async () => {
    const dir = workspace();
    writeFileSync(join(dir, 'main.py'), 'import os, helper\nos.listdir(".")\n');
    writeFileSync(join(dir, 'helper.py'), 'X = 1\n');
    const t = (await trace('python3 main.py', dir)).result;
    expect(t.exitCode).toBe(0);
    expect(t.deps.listed).toContain(dir);
    expect(t.deps.listingRules?.[dir]).toBeUndefined(); // listed by user code too: every entry counts
    const only = workspace();
    writeFileSync(join(only, 'main.py'), 'import helper\n');
    writeFileSync(join(only, 'helper.py'), 'X = 1\n');
    const u = (await trace('python3 main.py', only)).result;
    expect(u.deps.listingRules?.[only]).toEqual(['python-lookups/helper']);
    // the first folders listed, before its lookups were reported: every importable name counts there
    expect(Object.values(u.deps.listingRules ?? {}).flat()).toContain('python-import');
    const site = Object.entries(u.deps.listingRules ?? {}).filter(([, r]) => r.includes('python-site'));
    expect(site.length).toBeGreaterThan(0);
  });
});
