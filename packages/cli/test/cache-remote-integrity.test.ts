/**
 * DESIGN section 4: what comes from a shared remote cache is checked before it touches the workspace.
 * Blobs are verified against their SHA-256 (garbage and truncated files on the nginx side are
 * rejected); forged action-cache entries naming paths outside the workspace ("../", absolute, through a
 * symlinked folder) are refused. Either way the step runs and the build succeeds.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJson, statuses, workspace } from './cli-helpers.js';
import { clone, remoteEntryOf, SHELL_OUTPUTS, startNginx, uploadShellPipeline, type Nginx } from './nginx.js';

let nginx: Nginx;
beforeAll(async () => {
  nginx = await startNginx();
});
afterAll(async () => {
  await nginx?.stop();
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const upload = (ns: string) => uploadShellPipeline(nginx, ns);
const remoteEntry = (ns: string, step: string) => remoteEntryOf(nginx, ns, step);

describe('remote cache integrity', () => {
  it('a garbage blob and a truncated blob on the server are rejected as corrupt: those steps run, the others restore, the build succeeds', () => {
    const { a, url } = upload('corrupt');
    const otherBlob = nginx.file(`corrupt/cas/${sha256(readFileSync(join(a, SHELL_OUTPUTS.other)))}`);
    const upperBlob = nginx.file(`corrupt/cas/${sha256(readFileSync(join(a, SHELL_OUTPUTS.upper)))}`);
    writeFileSync(otherBlob, 'garbage planted on the server\n');
    truncateSync(upperBlob, Math.floor(readFileSync(upperBlob).length / 2));

    const { ws: b } = clone(a);
    const r = runJson(b, ['--remote', url, '--cache-dir', workspace()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.ok).toBe(true);
    // count reads upper's output: upper ran and made the same bytes, so count's entry matches again.
    expect(statuses(r)).toEqual({ upper: 'ran', listing: 'restored', count: 'restored', other: 'ran' });
    const corrupt = r.stderr.split('\n').filter((l) => /^prov-make: warning: .*corrupt.*rejected/.test(l));
    expect(corrupt).toHaveLength(2);
    expect(r.stderr).toContain(`cas/${otherBlob.split('/').pop()!.slice(0, 12)}`);
    expect(r.stderr).toContain(`cas/${upperBlob.split('/').pop()!.slice(0, 12)}`);
    for (const out of Object.values(SHELL_OUTPUTS)) expect(readFileSync(join(b, out)), out).toEqual(readFileSync(join(a, out)));
  });

  it('a client that rejected a corrupt blob and ran the step repairs the remote: the next fresh clone restores it', () => {
    const { a, url } = upload('repair');
    const blob = nginx.file(`repair/cas/${sha256(readFileSync(join(a, SHELL_OUTPUTS.other)))}`);
    writeFileSync(blob, 'garbage planted on the server\n');

    const { ws: b } = clone(a);
    const first = runJson(b, ['--remote', url, '--cache-dir', workspace()]);
    expect(first.code, first.stderr).toBe(0);
    expect(statuses(first).other).toBe('ran');
    expect(first.stderr).toMatch(/corrupt/);

    // B made the right bytes and is a trusted writer: the server should hold them now...
    expect(readFileSync(blob, 'utf8')).toBe(readFileSync(join(a, SHELL_OUTPUTS.other), 'utf8'));
    // ...so a later clone restores instead of running (and warning) forever.
    const { ws: c } = clone(a);
    const second = runJson(c, ['--remote', url, '--cache-dir', workspace()]);
    expect(second.stderr).not.toMatch(/corrupt/);
    expect(statuses(second)).toEqual({ upper: 'restored', listing: 'restored', count: 'restored', other: 'restored' });
  });

  it('an entry forged to restore "../evil.txt" is refused with a warning; the step runs; nothing is written outside', () => {
    const { a, url } = upload('dotdot');
    const entry = remoteEntry('dotdot', 'upper');
    entry.doc.outputs![0].path = '../evil.txt';
    writeFileSync(entry.file, JSON.stringify(entry.doc));

    const { root, ws: b } = clone(a, 'ws');
    const r = runJson(b, ['--remote', url, '--cache-dir', workspace()]);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r)).toEqual({ upper: 'ran', listing: 'restored', count: 'restored', other: 'restored' });
    expect(r.stderr).toMatch(/prov-make: warning: rejected a remote cache entry for step upper: output \.\.\/evil\.txt is not a safe path/);
    expect(existsSync(join(root, 'evil.txt'))).toBe(false);
    expect(readdirSync(root)).toEqual(['ws']);
    expect(readFileSync(join(b, 'build/upper.txt'), 'utf8')).toBe('HELLO PORTABLE CACHE\n');
  });

  it('an entry forged with an absolute output path outside the workspace is refused; nothing is written there', () => {
    const { a, url } = upload('absolute');
    const outside = workspace();
    const target = join(outside, 'x', 'evil.txt');
    const entry = remoteEntry('absolute', 'other');
    entry.doc.outputs![0].path = target;
    writeFileSync(entry.file, JSON.stringify(entry.doc));

    const { ws: b } = clone(a);
    const r = runJson(b, ['--remote', url, '--cache-dir', workspace()]);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r)).toEqual({ upper: 'restored', listing: 'restored', count: 'restored', other: 'ran' });
    expect(r.stderr).toMatch(/prov-make: warning: rejected a remote cache entry for step other: output \S+evil\.txt is an absolute path/);
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(outside)).toEqual([]);
    expect(readFileSync(join(b, 'build/other.txt'), 'utf8')).toBe('an unrelated input\n'.repeat(2));
  });

  it('an entry forged to restore through a folder that is a symlink to outside the workspace is refused; nothing is written outside', () => {
    const { a, url } = upload('symlink');
    const entry = remoteEntry('symlink', 'listing');
    entry.doc.outputs![0].path = 'link/evil.txt';
    writeFileSync(entry.file, JSON.stringify(entry.doc));

    const outside = workspace();
    const { ws: b } = clone(a);
    symlinkSync(outside, join(b, 'link'));
    const r = runJson(b, ['--remote', url, '--cache-dir', workspace()]);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r)).toEqual({ upper: 'restored', listing: 'ran', count: 'restored', other: 'restored' });
    expect(r.stderr).toMatch(/prov-make: warning: .*listing.*symlink/);
    expect(readdirSync(outside)).toEqual([]);
    expect(readFileSync(join(b, 'build/files.txt'), 'utf8')).toBe('a.txt\nb.txt\n');
  });

  it('an honest entry restored over a symlink the clone has at the output path replaces the link, never writes through it', () => {
    const { a, url } = upload('lastlink');
    const outside = workspace({ 'precious.txt': 'precious\n' });
    const { ws: b } = clone(a);
    mkdirSync(join(b, 'build'));
    symlinkSync(join(outside, 'precious.txt'), join(b, 'build/other.txt'));
    const r = runJson(b, ['--remote', url, '--cache-dir', workspace()]);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r).other).toBe('restored');
    expect(readFileSync(join(outside, 'precious.txt'), 'utf8')).toBe('precious\n');
    expect(readdirSync(outside)).toEqual(['precious.txt']);
    expect(readFileSync(join(b, 'build/other.txt'), 'utf8')).toBe('an unrelated input\n'.repeat(2));
  });

  it('an ac document that is not JSON, or names another definition, is ignored with a warning; the steps run', () => {
    const { a, url } = upload('junk');
    const upper = remoteEntry('junk', 'upper');
    const other = remoteEntry('junk', 'other');
    writeFileSync(upper.file, '{ not json');
    other.doc = { ...other.doc, definitionHash: '0'.repeat(64) } as typeof other.doc;
    writeFileSync(other.file, JSON.stringify(other.doc));

    const { ws: b } = clone(a);
    const r = runJson(b, ['--remote', url, '--cache-dir', workspace()]);
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r)).toEqual({ upper: 'ran', listing: 'restored', count: 'restored', other: 'ran' });
    expect(r.stderr).toMatch(/prov-make: warning: ignored a cache entry for step upper from the remote cache: it is not valid JSON/);
    expect(r.stderr).toMatch(/prov-make: warning: rejected a remote cache entry for step other: it was made by another definition/);
  });
});
