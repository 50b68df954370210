/**
 * Issue 11, item 1: nothing from a cache escapes the workspace or gains rights. A real nginx serves
 * each forged entry: a symlink out of the workspace, a symlinked folder with a file under it, a
 * setuid world-writable file, an entry naming the local hash of a secret input, documents of the
 * wrong shape, a 3 GB reply, a server that answers slowly. Each is a miss with a warning, the step
 * runs, and nothing outside the workspace changes.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJson, statuses, workspace, write } from '../cli-helpers.js';
import { acDocuments, clone, remoteEntryOf, startNginx, uploadShellPipeline, type Nginx } from '../nginx.js';

let nginx: Nginx;
beforeAll(async () => {
  nginx = await startNginx();
});
afterAll(async () => {
  await nginx?.stop();
});

const ALL_RAN = { upper: 'ran', listing: 'ran', count: 'ran', other: 'ran' };
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function forge(ns: string, step: string, change: (doc: Record<string, any>) => void): void {
  const entry = remoteEntryOf(nginx, ns, step);
  change(entry.doc);
  writeFileSync(entry.file, JSON.stringify(entry.doc));
}

/** The path-set index documents of a namespace, with the first path set's inputs. */
function indexes(ns: string) {
  return acDocuments(nginx.file(`${ns}/ac`)).filter((d) => d.doc.pathSets) as { file: string; doc: { pathSets: Record<string, any>[] } }[];
}

function umask(): number {
  return parseInt(/^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1], 8);
}

describe('a hostile cache', () => {
  it('a symlink output pointing outside the workspace is refused; the step writes a real file, and later edits never reach the target', () => {
    const { a, url } = uploadShellPipeline(nginx, 'escape');
    const outside = workspace({ 'victim.txt': 'victim\n' });
    const victim = join(outside, 'victim.txt');
    forge('escape', 'upper', (doc) => (doc.outputs = [{ kind: 'symlink', path: 'build/upper.txt', target: victim }]));
    forge('escape', 'other', (doc) => (doc.outputs = [{ kind: 'symlink', path: 'build/other.txt', target: '../../victim.txt' }]));

    const { ws: b } = clone(a);
    const r = runJson(b, ['--remote', url, '--cache-dir', workspace()]);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r)).toEqual({ upper: 'ran', listing: 'restored', count: 'restored', other: 'ran' });
    expect(r.stderr).toMatch(/warning: rejected a remote cache entry for step upper: output build\/upper\.txt is a symlink that may not be restored: its target \S+ is an absolute path/);
    expect(r.stderr).toMatch(/warning: rejected a remote cache entry for step other: .*its target \.\.\/\.\.\/victim\.txt leads outside the workspace/);
    expect(lstatSync(join(b, 'build/upper.txt')).isFile()).toBe(true);
    write(b, 'src/a.txt', 'changed\n');
    expect(runJson(b, ['--remote', url, '--remote-read-only']).code).toBe(0);
    expect(readFileSync(join(b, 'build/upper.txt'), 'utf8')).toBe('CHANGED\n');
    expect(readFileSync(victim, 'utf8')).toBe('victim\n');
    expect(readdirSync(outside)).toEqual(['victim.txt']);
  });

  it('a refused entry leaves nothing behind: no symlinked folder for the step to write through', () => {
    const { a, url } = uploadShellPipeline(nginx, 'leftover');
    const outside = workspace();
    forge('leftover', 'listing', (doc) => doc.outputs.unshift({ kind: 'symlink', path: 'build', target: '../outside' }));
    forge('leftover', 'other', (doc) => doc.outputs.unshift({ kind: 'symlink', path: 'build', target: outside }));

    const { ws: b } = clone(a);
    const r = runJson(b, ['--remote', url, '--cache-dir', workspace()]);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r).listing).toBe('ran');
    expect(statuses(r).other).toBe('ran');
    expect(r.stderr).toMatch(/rejected a remote cache entry for step listing: .*build/);
    expect(lstatSync(join(b, 'build')).isDirectory()).toBe(true);
    expect(readdirSync(outside)).toEqual([]);
    expect(readFileSync(join(b, 'build/files.txt'), 'utf8')).toBe('a.txt\nb.txt\n');
  });

  it('a file forged with mode 06777 is restored without setuid, setgid or rights the umask takes away', () => {
    const { a, url } = uploadShellPipeline(nginx, 'setuid');
    forge('setuid', 'upper', (doc) => (doc.outputs.find((o: { kind: string }) => o.kind === 'file').mode = 0o6777));
    const { ws: b } = clone(a);
    const r = runJson(b, ['--remote', url, '--cache-dir', workspace()]);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r).upper).toBe('restored');
    expect(statSync(join(b, 'build/upper.txt')).mode & 0o7777).toBe(0o777 & ~umask());
  });

  it('an entry naming the local hash of a secret input does not restore the secret: its SHA-256 is checked, the step runs', () => {
    const sources = {
      'pipeline.yml': 'steps:\n  digest:\n    run: mkdir -p build && sha256sum src/secret.txt > build/secret.sum\n  publish:\n    run: mkdir -p build && cp src/public.txt build/public.txt\n',
      'src/secret.txt': 'the production password\n',
      'src/public.txt': 'version 2\n',
    };
    const { a, url } = uploadShellPipeline(nginx, 'secret', sources);
    // the remote's own records publish the secret input's short hash
    const secretHash = remoteEntryOf(nginx, 'secret', 'digest').doc as { execution: { inputs: { path: string; hash: string }[] } };
    const hash = secretHash.execution.inputs.find((f) => f.path === 'src/secret.txt')!.hash;
    // its SHA-256, which names the object in every store that keeps the input, is not published
    expect(JSON.stringify(secretHash)).not.toContain(sha256(sources['src/secret.txt']));
    forge('secret', 'publish', (doc) => Object.assign(doc.outputs.find((o: { kind: string }) => o.kind === 'file'), { hash, size: sources['src/secret.txt'].length }));

    // B ran the pipeline before with an older public.txt, so its own cache keeps the secret input
    const { ws: b } = clone(a);
    write(b, 'src/public.txt', 'version 1\n');
    expect(runJson(b).code).toBe(0);
    write(b, 'src/public.txt', 'version 2\n');
    const r = runJson(b, ['--remote', url, '--remote-read-only']);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r).publish).toBe('ran');
    expect(r.stderr).toMatch(/could not restore step publish from the cache \(cache object \w+ is not the content the cache entry names/);
    expect(readFileSync(join(b, 'build/public.txt'), 'utf8')).toBe('version 2\n');
  });

  it('documents of the wrong shape (absent: null, inputs: [5], no listed, outputs: [null]) are misses with a warning, never a crash', () => {
    const { a, url } = uploadShellPipeline(nginx, 'shapes');
    const byInput = (p: string) => indexes('shapes').find((d) => d.doc.pathSets[0].inputs.includes(p) || d.doc.pathSets[0].listed.includes(p))!;
    const change = (p: string, f: (set: Record<string, any>) => void) => {
      const d = byInput(p);
      f(d.doc.pathSets[0]);
      writeFileSync(d.file, JSON.stringify(d.doc));
    };
    change('src/a.txt', (set) => (set.absent = null));
    change('src', (set) => (set.inputs = [5]));
    change('build/upper.txt', (set) => delete set.listed);
    forge('shapes', 'other', (doc) => (doc.outputs = [null]));

    const { ws: b } = clone(a);
    const r = runJson(b, ['--remote', url, '--cache-dir', workspace()]);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r)).toEqual(ALL_RAN);
    expect(r.stderr).toMatch(/ignored a cache path-set index from the remote cache: it is not a prov-make cache document \(pathSets\.0\.absent: /);
    expect(r.stderr).toMatch(/\(pathSets\.0\.inputs\.0: /);
    expect(r.stderr).toMatch(/\(pathSets\.0\.listed: /);
    expect(r.stderr).toMatch(/ignored a cache entry for step other from the remote cache: it is not a prov-make cache document \(outputs\.0: /);
    expect(r.stderr).not.toMatch(/internal error|TypeError/);
  });

  it('a 3 GB reply and a blob longer than its entry says are refused at once, within the size limits', () => {
    const { a, url } = uploadShellPipeline(nginx, 'huge');
    const index = indexes('huge').find((d) => d.doc.pathSets[0].inputs.includes('src/b.txt'))!;
    truncateSync(index.file, 3 * 1024 ** 3); // sparse: nginx sends 3 GB of zeros
    const blob = nginx.file(`huge/cas/${sha256(readFileSync(join(a, 'build/upper.txt')))}`);
    writeFileSync(blob, Buffer.alloc(10 * 1024 * 1024, 'x'));

    const { ws: b } = clone(a);
    const started = Date.now();
    const r = runJson(b, ['--remote', url, '--cache-dir', workspace()]);
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(statuses(r)).toEqual({ upper: 'ran', listing: 'restored', count: 'restored', other: 'ran' });
    expect(r.stderr).toMatch(/remote cache reply for ac\/\w+… is 3221225472 bytes, over the limit of 16777216 \(--remote-max-entry\)/);
    expect(r.stderr).toMatch(/remote cache reply for cas\/\w+… is 10485760 bytes, over the limit of 21 \(the size its cache entry gives\)/);
  });

  it('a remote that answers slowly costs a run its time budget at most, then is skipped', () => {
    const { a } = uploadShellPipeline(nginx, 'slow');
    const { ws: b } = clone(a);
    const started = Date.now();
    const r = runJson(b, ['--remote', `${nginx.url('slow')}slow/`, '--remote-read-only', '--remote-budget', '2']);
    const took = Date.now() - started;
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r)).toEqual(ALL_RAN);
    expect(r.stderr).toMatch(/took \d+ s of this run, its budget \(--remote-budget\): it is skipped for the rest of the run/);
    expect(took).toBeLessThan(15_000);
    expect(existsSync(join(b, 'build/count.txt'))).toBe(true);
  });
});
