/**
 * The record kinds and letters are named once in native/record.h, the log's layout in native/log.h;
 * RECORD (src/types.ts) and LOG_LAYOUT (src/logs.ts) mirror them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOG_LAYOUT, RECORD } from '../src/index.js';
import { SUMMARY_LAYOUT } from '../src/summary.js';

const HEADER = join(import.meta.dirname, '..', 'native', 'record.h');
const LOG_H = readFileSync(join(import.meta.dirname, '..', 'native', 'log.h'), 'utf8');
const native = (file: string) => readFileSync(join(import.meta.dirname, '..', 'native', file), 'utf8');

const camel = (snake: string) => snake.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** record.h's #defines as RECORD's shape: PM_READ 'R' -> kind.read, PM_WRITE_ALSO_READ "r" -> write.alsoRead. */
function headerTable(): Record<string, Record<string, string> | string> {
  const table: Record<string, Record<string, string>> = { kind: {}, write: {}, listed: {}, exec: {}, removed: {}, why: {} };
  const groups: [string, string][] = [['WRITE_', 'write'], ['LISTED_', 'listed'], ['EXEC_', 'exec'], ['REMOVED_', 'removed'], ['WHY_', 'why']];
  let argNone = '';
  for (const m of readFileSync(HEADER, 'utf8').matchAll(/^#define PM_(\w+) (?:'(.)'|"([^"]*)")/gm)) {
    const [, name, char, text] = m;
    if (char !== undefined) table.kind[camel(name)] = char;
    else if (name === 'ARG_NONE') argNone = text;
    else {
      const group = groups.find(([prefix]) => name.startsWith(prefix));
      if (!group) throw new Error(`record.h: PM_${name} belongs to no group`);
      table[group[1]][camel(name.slice(group[0].length))] = text;
    }
  }
  return { ...table, argNone };
}

describe('record names', () => {
  it('RECORD in src/types.ts is native/record.h, entry for entry', () => {
    expect(headerTable()).toEqual(RECORD);
  });

  it('kinds are single distinct letters, and so are the letters of a write', () => {
    const kinds = Object.values(RECORD.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
    const letters = Object.values(RECORD.write);
    expect(new Set(letters).size).toBe(letters.length);
    for (const l of [...kinds, ...letters]) expect(l).toHaveLength(1);
  });

  it('LOG_LAYOUT in src/logs.ts is native/log.h: names, magic numbers and field order', () => {
    const define = (name: string) => new RegExp(`^#define ${name} (\\S+)`, 'm').exec(LOG_H)?.[1];
    expect(define('PM_LOG_FILE')).toBe(`"${LOG_LAYOUT.file}"`);
    expect(BigInt(define('PM_LOG_MAGIC')!.replace(/ull$/, ''))).toBe(LOG_LAYOUT.magic);
    expect(Number(define('PM_WINDOW_MAGIC')!.replace(/u$/, ''))).toBe(LOG_LAYOUT.windowMagic);
    expect(Number(define('PM_LOG_HEADER_SIZE')!.replace(/u$/, ''))).toBe(LOG_LAYOUT.headerSize);
    const fields = (struct: string, type: string) =>
      [...new RegExp(`struct ${struct} \\{([^}]*)\\}`).exec(LOG_H)![1].matchAll(new RegExp(`${type} (\\w+);`, 'g'))].map((m) => m[1]);
    const byOffset = (table: Record<string, number>, size: number) =>
      Object.entries(table).filter(([, o]) => o % size === 0).sort((a, b) => a[1] - b[1]).map(([n]) => n);
    expect(fields('pm_log_header', 'uint64_t')).toEqual(byOffset(LOG_LAYOUT.header, 8));
    expect(fields('pm_window', 'uint32_t').slice(0, 3)).toEqual(byOffset({ ...LOG_LAYOUT.window, bytes: 1 }, 4));
    expect(fields('pm_window', 'uint32_t').length * 4).toBe(LOG_LAYOUT.window.bytes);
  });

  it('SUMMARY_LAYOUT in src/summary.ts is native/collect-summary.c and collect.h', () => {
    const c = native('collect-summary.c');
    const define = (name: string, text = c) => new RegExp(`^#define ${name} (\\w+)`, 'm').exec(text)?.[1];
    expect(BigInt(define('PM_SUMMARY_MAGIC')!.replace(/ull$/, ''))).toBe(SUMMARY_LAYOUT.magic);
    expect(Number(define('PM_SUMMARY_ASCII')!.replace(/u$/, ''))).toBe(SUMMARY_LAYOUT.flags.ascii);
    const header = /struct pm_summary_header \{([^}]*)\}/.exec(c)![1];
    const bytes = [...header.matchAll(/uint(32|64)_t ([\w, ]+);/g)].reduce((n, [, bits, names]) => n + (Number(bits) / 8) * names.split(',').length, 0);
    expect(bytes).toBe(SUMMARY_LAYOUT.headerSize);
    const h = native('collect.h');
    expect(Number(define('PM_NONE', h)!.replace(/u$/, ''))).toBe(SUMMARY_LAYOUT.none);
    const kinds = /enum pm_kind \{([^}]*)\}/.exec(h)![1].split(',').map((k) => k.trim().replace(/ = 0$/, '').replace(/^PM_KIND_/, '').toLowerCase());
    expect(kinds).toEqual(SUMMARY_LAYOUT.kinds);
    expect(/char args\[256\]\[(\d+)\]/.exec(h)![1]).toBe(String(SUMMARY_LAYOUT.argSize));
  });
});
