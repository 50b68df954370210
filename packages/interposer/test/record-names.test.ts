/** The record kinds and letters are named once in native/record.h; RECORD in src/types.ts mirrors them. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RECORD } from '../src/index.js';

const HEADER = join(import.meta.dirname, '..', 'native', 'record.h');

const camel = (snake: string) => snake.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** record.h's #defines as RECORD's shape: PM_READ 'R' -> kind.read, PM_WRITE_ALSO_READ "r" -> write.alsoRead. */
function headerTable(): Record<string, Record<string, string> | string> {
  const table: Record<string, Record<string, string>> = { kind: {}, write: {}, exec: {}, removed: {}, why: {} };
  const groups: [string, string][] = [['WRITE_', 'write'], ['EXEC_', 'exec'], ['REMOVED_', 'removed'], ['WHY_', 'why']];
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
});
