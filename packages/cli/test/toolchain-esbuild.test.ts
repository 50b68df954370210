/**
 * esbuild, the static Go program npm installs (under vite and most TypeScript builds), as a pipeline
 * step through the real CLI: LD_PRELOAD cannot enter it, so the ptrace supervisor traces it. The step
 * is skipped when nothing changed, reruns after an edit of an imported module and when a new file
 * shadows an import, and is restored from the cache in a fresh clone; each result is compared with
 * a plain esbuild run.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, utimesSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reasonOf, runJson, statuses, workspace, write } from './cli-helpers.js';

const ESBUILD = resolve(import.meta.dirname, '..', '..', '..', 'node_modules', '.bin', 'esbuild');

const PROJECT: Record<string, string> = {
  'pipeline.yml': `steps:
  bundle:
    run: ${ESBUILD} src/main.ts --bundle --platform=node --outfile=dist/app.js --log-level=warning
  greet:
    run: node dist/app.js > greeting.txt
`,
  'src/main.ts': `import { greet } from './util';\nimport { name } from './name';\nconsole.log(greet(name));\n`,
  'src/util/index.ts': `export const greet = (who: string): string => 'hello ' + who + ' (util/index.ts)';\n`,
  'src/name.ts': `export const name: string = 'world';\n`,
};

/** What a plain esbuild run makes of the same sources. */
function plainBundle(ws: string): string {
  const dir = workspace();
  cpSync(join(ws, 'src'), join(dir, 'src'), { recursive: true });
  const r = spawnSync(ESBUILD, ['src/main.ts', '--bundle', '--platform=node', '--outfile=app.js', '--log-level=warning'], { cwd: dir, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return readFileSync(join(dir, 'app.js'), 'utf8');
}

function run(ws: string, args: string[] = []) {
  const r = runJson(ws, args);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

const greeting = (ws: string) => readFileSync(join(ws, 'greeting.txt'), 'utf8');

describe('esbuild in a pipeline (traced by the ptrace supervisor)', () => {
  it('skipped when nothing changed; reruns after an edit of an imported module; reruns when util.ts shadows util/index.ts', () => {
    const ws = workspace(PROJECT);
    expect(statuses(run(ws))).toEqual({ bundle: 'ran', greet: 'ran' });
    expect(greeting(ws)).toBe('hello world (util/index.ts)\n');
    expect(statuses(run(ws))).toEqual({ bundle: 'skipped', greet: 'skipped' });

    write(ws, 'src/name.ts', `export const name: string = 'there';\n`);
    const edited = run(ws);
    expect(statuses(edited)).toEqual({ bundle: 'ran', greet: 'ran' });
    expect(reasonOf(edited, 'bundle')).toBe('input src/name.ts changed');
    expect(readFileSync(join(ws, 'dist/app.js'), 'utf8')).toBe(plainBundle(ws));
    expect(greeting(ws)).toBe('hello there (util/index.ts)\n');

    // `./util` now resolves to src/util.ts, before the folder: esbuild learnt that from src/'s entries
    write(ws, 'src/util.ts', `export const greet = (who: string): string => 'hi ' + who + ' (util.ts)';\n`);
    const shadowed = run(ws);
    expect(statuses(shadowed)).toEqual({ bundle: 'ran', greet: 'ran' });
    expect(reasonOf(shadowed, 'bundle')).toBe('src/util.ts appeared in folder src/ (it listed it)');
    expect(readFileSync(join(ws, 'dist/app.js'), 'utf8')).toBe(plainBundle(ws));
    expect(greeting(ws)).toBe('hi there (util.ts)\n');
    expect(statuses(run(ws))).toEqual({ bundle: 'skipped', greet: 'skipped' });
  });

  it('restored from the cache in a fresh clone at another path', () => {
    const cache = workspace();
    const a = workspace(PROJECT);
    expect(statuses(run(a, ['--cache-dir', cache]))).toEqual({ bundle: 'ran', greet: 'ran' });

    const b = workspace();
    for (const f of Object.keys(PROJECT)) write(b, f, readFileSync(join(a, f), 'utf8'));
    const old = new Date('2001-01-01T00:00:00Z');
    for (const f of Object.keys(PROJECT)) utimesSync(join(b, f), old, old);
    const restored = run(b, ['--cache-dir', cache]);
    expect(statuses(restored)).toEqual({ bundle: 'restored', greet: 'restored' });
    expect(relative(a, b)).not.toBe('');
    expect(readFileSync(join(b, 'dist/app.js'), 'utf8')).toBe(readFileSync(join(a, 'dist/app.js'), 'utf8'));
    expect(greeting(b)).toBe('hello world (util/index.ts)\n');
  });
});
