/** Shell completion, completed by real bash (and the zsh script checked by zsh when it is there). */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, cli, workspace } from './cli-helpers.js';

// `prov-make` on PATH, as an installed one would be: the script calls it by name
const bin = realpathSync(mkdtempSync(join(tmpdir(), 'pm-bin-')));
writeFileSync(join(bin, 'prov-make'), `#!/bin/sh\nexec ${process.execPath} ${CLI} "$@"\n`);
chmodSync(join(bin, 'prov-make'), 0o755);
afterAll(() => rmSync(bin, { recursive: true, force: true }));

/** What bash offers for the words typed so far (the last one being completed). */
function complete(ws: string, words: string[]): string[] {
  const script = `source <(prov-make completion bash); COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _prov_make; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['-c', script], { cwd: ws, encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

describe('prov-make completion', () => {
  const ws = workspace({ 'pipeline.yml': 'steps:\n  clean:\n    run: echo\n  stats:\n    run: echo\n  conv:\n    foreach: [a, b]\n    run: echo {item}\n' });

  it('bash completes commands, options and step names (a foreach step and its items)', () => {
    expect(complete(ws, ['prov-make', 'st'])).toEqual(['status']);
    expect(complete(ws, ['prov-make', ''])).toEqual(expect.arrayContaining(['run', 'status', 'watch', 'clean', 'init', 'why', 'log', 'completion']));
    expect(complete(ws, ['prov-make', ''])).not.toContain('__complete');
    expect(complete(ws, ['prov-make', 'run', '--ke'])).toEqual(['--keep-going']);
    expect(complete(ws, ['prov-make', 'run', 's'])).toEqual(['stats']);
    expect(complete(ws, ['prov-make', 'run', 'clean', 'co'])).toEqual(['conv', 'conv.a', 'conv.b']);
    expect(complete(ws, ['prov-make', 'cache', ''])).toEqual(['stats', 'verify', 'gc']);
    expect(complete(ws, ['prov-make', 'completion', ''])).toEqual(['bash', 'zsh']);
    // a FILE operand, or the value of an option: nothing from us, so bash's own file completion (-o default)
    expect(complete(ws, ['prov-make', 'run', '-f', ''])).toEqual([]);
    expect(complete(ws, ['prov-make', 'why', ''])).toEqual([]);
  });

  it('prints scripts for bash and zsh, and refuses other shells', () => {
    expect(cli(ws, ['completion', 'bash']).stdout).toMatch(/complete -o default -o bashdefault -F _prov_make prov-make/);
    const zsh = cli(ws, ['completion', 'zsh']);
    expect(zsh.stdout).toMatch(/^#compdef prov-make/);
    if (spawnSync('zsh', ['--version']).status === 0) expect(spawnSync('zsh', ['-n'], { input: zsh.stdout }).status).toBe(0);
    expect(spawnSync('bash', ['-n'], { input: cli(ws, ['completion', 'bash']).stdout }).status).toBe(0);
    const fish = cli(ws, ['completion', 'fish']);
    expect(fish.code).toBe(2);
    expect(fish.stderr).toMatch(/no completion for the shell "fish"/);
  });
});
