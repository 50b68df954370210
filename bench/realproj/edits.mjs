/**
 * The one-file edits of the realproj benchmark, chosen from the compiler's own account of the
 * includes: a .c file, a header included by a few objects, a header included by all of them. An
 * edit adds a distinct constant the compiler must emit (so every object that includes the file
 * changes, and make and prov-make both have real work to do): inside a header's include guard (before
 * its last #endif), at the end of a .c file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** [{ kind, file, includedBy }] from compilerIncludes(). */
export function chooseEdits(includes) {
  const objects = [...includes.keys()];
  const users = new Map();
  for (const [obj, { headers }] of includes) for (const h of headers) users.set(h, [...(users.get(h) ?? []), obj]);
  const byCount = [...users.entries()].sort((a, b) => a[1].length - b[1].length || a[0].localeCompare(b[0]));
  const few = byCount.find(([, u]) => u.length >= 2 && u.length < objects.length);
  const all = byCount.find(([, u]) => u.length === objects.length);
  const first = includes.get(objects[0]);
  return [
    { kind: 'a .c file', file: first.source, includedBy: [objects[0]] },
    few && { kind: 'a header included by a few', file: few[0], includedBy: few[1] },
    all && { kind: 'a header included by all', file: all[0], includedBy: all[1] },
  ].filter(Boolean);
}

/** Applies edit number n to file in dir (the same bytes in every tree it is applied to). */
export function applyEdit(dir, file, n) {
  const path = join(dir, file);
  const line = `static const char pm_bench_edit_${n}[] __attribute__((used)) = "edit ${n}";`;
  const lines = readFileSync(path, 'utf8').split('\n');
  let at = lines[lines.length - 1] === '' ? lines.length - 1 : lines.length;
  if (file.endsWith('.h')) {
    for (let i = lines.length - 1; i >= 0; i--) {
      if (/^\s*#\s*endif\b/.test(lines[i])) {
        at = i;
        break;
      }
    }
  }
  lines.splice(at, 0, line);
  writeFileSync(path, lines.join('\n'));
}
