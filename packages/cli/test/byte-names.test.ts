/**
 * Issue 11, item 2: any byte string is a file name. Steps whose inputs, outputs and listed folders
 * have names that are not UTF-8 (\377), or hold a newline, through the real CLI: an edit reruns the
 * step that read it, lost outputs come back from the cache (here and in a fresh clone), `why` finds
 * the file it is given and shows its name escaped, the no-op check stats the names' own bytes, and
 * `trace --json` keeps them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileCheckProgram } from '@prov-make/interposer';
import { fsPath } from '@prov-make/interposer/byte-path';
import { CLI, cli, reasonOf, runJson, statuses, workspace } from './cli-helpers.js';
import { startNginx, type Nginx } from './nginx.js';

// Node cannot pass such bytes in argv or in a file name string: a shell makes them (printf), and
// the test reaches the files through fsPath (the name as its bytes).
const PIPELINE = String.raw`steps:
  copy:
    run: cat "$(printf 'in\377.txt')" > "$(printf 'out\376.txt')"
  list:
    run: ls "$(printf 'dir\375')" > listing.txt
  newline:
    run: cat "$(printf 'in\377.txt')" > "$(printf 'two\nlines.txt')"
  link:
    run: ln -s "$(printf 'in\377.txt')" link.txt
`;
const IN = 'in\udcff.txt';
const OUT = 'out\udcfe.txt';
const NEWLINE_OUT = 'two\nlines.txt';
const DIR = 'dir\udcfd';

function byteWorkspace(): string {
  const ws = workspace({ 'pipeline.yml': PIPELINE });
  writeFileSync(fsPath(join(ws, IN)), 'first\n');
  mkdirSync(fsPath(join(ws, DIR)));
  writeFileSync(fsPath(join(ws, DIR, 'a\udcfc')), 'a');
  return ws;
}

const read = (ws: string, name: string) => readFileSync(fsPath(join(ws, name)), 'utf8');

/** A fresh copy of the sources (the shell's glob keeps the names' bytes). */
function cloneSources(ws: string): string {
  const clone = workspace();
  execFileSync('/bin/sh', ['-c', 'cp -a "$1"/pipeline.yml "$1"/in* "$1"/dir* "$2"', 'sh', ws, clone]);
  return clone;
}

/** The CLI with arguments a shell makes (printf escapes), so they keep their bytes. */
function shellCli(ws: string, args: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync('/bin/sh', ['-c', `exec "${process.execPath}" "${CLI}" ${args}`], { cwd: ws, encoding: 'utf8', env: { ...process.env, CI: 'true', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('names that are not UTF-8, or hold a newline', () => {
  it('an edited input reruns its step, a new entry in a listed folder reruns the lister, lost outputs are restored', () => {
    const ws = byteWorkspace();
    expect(statuses(runJson(ws))).toEqual({ copy: 'ran', list: 'ran', newline: 'ran', link: 'ran' });
    expect(read(ws, OUT)).toBe('first\n');
    expect(readFileSync(join(ws, 'listing.txt'))).toEqual(Buffer.from('a\xfc\n', 'latin1')); // ls prints the name's bytes
    expect(statuses(runJson(ws))).toEqual({ copy: 'skipped', list: 'skipped', newline: 'skipped', link: 'skipped' });

    writeFileSync(fsPath(join(ws, IN)), 'second\n');
    const edited = runJson(ws);
    expect(statuses(edited)).toEqual({ copy: 'ran', list: 'skipped', newline: 'ran', link: 'skipped' });
    expect(reasonOf(edited, 'copy')).toBe('input in\\xff.txt changed');
    expect(read(ws, OUT)).toBe('second\n');

    writeFileSync(fsPath(join(ws, DIR, 'b\udcfb')), 'b');
    const listed = runJson(ws);
    expect(statuses(listed)).toEqual({ copy: 'skipped', list: 'ran', newline: 'skipped', link: 'skipped' });
    expect(reasonOf(listed, 'list')).toBe('dir\\xfd/b\\xfb appeared in folder dir\\xfd/ (it listed it)');

    rmSync(fsPath(join(ws, OUT)));
    rmSync(join(ws, NEWLINE_OUT));
    rmSync(join(ws, 'link.txt'));
    const restored = runJson(ws);
    expect(statuses(restored)).toEqual({ copy: 'restored', list: 'skipped', newline: 'restored', link: 'restored' });
    expect(readlinkSync(join(ws, 'link.txt'), 'buffer')).toEqual(Buffer.from('in\xff.txt', 'latin1')); // the target's own bytes
    expect(reasonOf(restored, 'newline')).toContain('output two\\nlines.txt was deleted');
    expect(read(ws, OUT)).toBe('second\n');
    expect(read(ws, NEWLINE_OUT)).toBe('second\n');
  });

  it('a fresh clone restores such outputs from the shared cache without running', () => {
    const ws = byteWorkspace();
    const cacheDir = join(workspace(), 'cache');
    expect(runJson(ws, [], 'run', { PROV_MAKE_CACHE_DIR: cacheDir }).code).toBe(0);
    const clone = cloneSources(ws);
    const r = runJson(clone, [], 'run', { PROV_MAKE_CACHE_DIR: cacheDir });
    expect(statuses(r)).toEqual({ copy: 'restored', list: 'restored', newline: 'restored', link: 'restored' });
    expect(read(clone, OUT)).toBe('first\n');
    expect(read(clone, NEWLINE_OUT)).toBe('first\n');
    expect(readlinkSync(join(clone, 'link.txt'), 'buffer')).toEqual(Buffer.from('in\xff.txt', 'latin1'));
  });

  it('why finds the file it is given and shows its name escaped; --json keeps the bytes', () => {
    const ws = byteWorkspace();
    runJson(ws);
    const text = shellCli(ws, `why "$(printf 'out\\376.txt')"`);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^out\\xfe\.txt: up to date\n/);
    expect(text.stdout).toMatch(/├─ in\\xff\.txt .* source|└─ in\\xff\.txt .* source/);
    expect(text.stdout).not.toMatch(/[\udc80-\udcff\ufffd]/u);
    const json = JSON.parse(shellCli(ws, `why --json "$(printf 'out\\376.txt')"`).stdout);
    expect(json.path).toBe(OUT);
    expect(json.executions[json.producedBy].inputs.map((n: { path: string }) => n.path)).toContain(IN);
    const newline = shellCli(ws, `why "$(printf 'two\\nlines.txt')"`);
    expect(newline.stdout.split('\n')[0]).toBe('two\\nlines.txt: up to date');
    expect(shellCli(ws, `why --uses 'in*' "$(printf 'out\\376.txt')"`).stdout).toBe('in\\xff.txt -> [copy] -> out\\xfe.txt\n');
    expect(shellCli(ws, `why --dot "$(printf 'out\\376.txt')"`).stdout).toContain('label="out\\\\xfe.txt"'); // DOT doubles the backslash
    const prov = JSON.parse(shellCli(ws, `why --prov "$(printf 'out\\376.txt')"`).stdout);
    const entities = Object.values(prov.entity) as Record<string, unknown>[];
    expect(entities.find((e) => e['pm:path'] === OUT)?.['prov:label']).toBe('out\\xfe.txt');
    // the exact version of an input that made an output, kept in the cache
    expect(shellCli(ws, String.raw`show "$(printf 'in\377.txt')" --for "$(printf 'out\376.txt')"`).stdout).toBe('first\n');
    const clean = cli(ws, ['clean', '--dry-run']).stdout;
    expect(clean).toContain('would remove out\\xfe.txt (step copy)\n');
    expect(clean).toContain('would remove two\\nlines.txt (step newline)\n');
  });

  it('the no-op check stats each name as its bytes', async () => {
    const ws = byteWorkspace();
    const old = new Date(Date.now() - 3600_000);
    utimesSync(join(ws, 'pipeline.yml'), old, old);
    utimesSync(fsPath(join(ws, IN)), old, old);
    runJson(ws);
    await sleep(2100); // outputs leave the racily clean window
    expect(statuses(runJson(ws))).toEqual({ copy: 'skipped', list: 'skipped', newline: 'skipped', link: 'skipped' });
    const list = join(ws, '.prov-make', 'up-to-date.files');
    expect(readFileSync(list).includes(Buffer.from('in\xff.txt', 'latin1'))).toBe(true);
    expect(spawnSync(fileCheckProgram, [ws, list]).status).toBe(0);
    writeFileSync(fsPath(join(ws, IN)), 'edited\n');
    expect(spawnSync(fileCheckProgram, [ws, list]).status).toBe(1);
    expect(statuses(runJson(ws)).copy).toBe('ran');
  });

  it('trace keeps the bytes in --json, says whether the trace is complete, and refuses an argument it cannot pass on', () => {
    const ws = byteWorkspace();
    const traced = cli(ws, ['trace', '--json', '--', 'sh', '-c', String.raw`cat "$(printf 'in\377.txt')" "$(printf 'dir\375')"/* > /dev/null`]);
    const json = JSON.parse(traced.stdout);
    expect(json.complete).toBe(true);
    expect(json.reads).toContain(join(ws, IN));
    expect(json.reads).toContain(join(ws, DIR, 'a\udcfc'));
    expect(json.listed).toContain(join(ws, DIR));
    const text = cli(ws, ['trace', '--', 'sh', '-c', String.raw`cat "$(printf 'in\377.txt')" > /dev/null`]);
    expect(text.stderr).toContain('    in\\xff.txt\n');
    const refused = shellCli(ws, `trace -- cat "$(printf 'in\\377.txt')"`);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('the argument in\\xff.txt holds bytes that are not UTF-8');
    expect(existsSync(join(ws, 'in\ufffd.txt'))).toBe(false);
  });

  it('a workspace whose own path is not UTF-8 is refused with a message (Node cannot start steps there)', () => {
    const parent = workspace();
    const dir = join(parent, 'ws\udcff');
    mkdirSync(fsPath(dir));
    writeFileSync(fsPath(join(dir, 'pipeline.yml')), 'steps:\n  a:\n    run: echo hi > out.txt\n');
    const inside = String.raw`cd "$(printf 'ws\377')" && exec "$0" "$1" run`;
    const named = String.raw`exec "$0" "$1" run -f "$(printf 'ws\377')/pipeline.yml"`;
    for (const script of [inside, named]) {
      const r = spawnSync('/bin/sh', ['-c', script, process.execPath, CLI], { cwd: parent, encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('is not UTF-8: prov-make needs a workspace whose path is UTF-8');
    }
    expect(existsSync(fsPath(join(dir, 'out.txt')))).toBe(false);
  });

  it('a hazard on such a name says it escaped, and --json gives the name itself', () => {
    const ws = workspace({ 'pipeline.yml': String.raw`steps:
  one:
    run: echo 1 > "$(printf 'both\377')"
  two:
    run: echo 2 > "$(printf 'both\377')"
` });
    const r = runJson(ws);
    const hazard = r.hazards?.find((h) => h.kind === 'two-writers');
    expect(hazard?.message).toBe('steps "one" and "two" both write both\\xff');
    expect(hazard?.path).toBe('both\udcff');
  });
});

describe('names that are not UTF-8 through the remote cache (nginx)', () => {
  let nginx: Nginx;
  beforeAll(async () => {
    nginx = await startNginx();
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  it('a fresh clone with an empty local cache restores them from the remote', () => {
    const url = `${nginx.url('cache')}bytes/`;
    const ws = byteWorkspace();
    expect(runJson(ws, ['--remote', url]).code).toBe(0);
    const clone = cloneSources(ws);
    const r = runJson(clone, ['--remote', url, '--cache-dir', workspace()]);
    expect(statuses(r)).toEqual({ copy: 'restored', list: 'restored', newline: 'restored', link: 'restored' });
    expect(reasonOf(r, 'copy')).toMatch(/restored its outputs from the remote cache$/);
    expect(read(clone, OUT)).toBe('first\n');
    expect(read(clone, NEWLINE_OUT)).toBe('first\n');
    expect(readlinkSync(join(clone, 'link.txt'), 'buffer')).toEqual(Buffer.from('in\xff.txt', 'latin1'));
  });
});
