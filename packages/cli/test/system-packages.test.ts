/**
 * The README's test command checks the system programs the tests use (scripts/system-packages.mjs):
 * when one is missing and it may not install it, it stops at once with the exact command to run.
 * Checked as a user who is not root (never with apt itself), for a program that does not exist.
 */
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../scripts/system-packages.mjs');

/** ensureSystemPackages for one made-up program, as nobody (or as ourselves when we are not root). */
function ensureAsUser(path: string) {
  const code = `import { ensureSystemPackages } from ${JSON.stringify(SCRIPT)};
    const ok = ensureSystemPackages({ packages: [{ program: 'pm-no-such-program', pkg: 'pm-fake-package', why: 'made up by a test' }] });
    process.exit(ok ? 0 : 1);`;
  const node = [process.execPath, '--input-type=module', '-e', code];
  const setpriv = spawnSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).stdout.trim();
  const argv = process.getuid?.() === 0 ? [setpriv, '--reuid=65534', '--regid=65534', '--clear-groups', ...node] : node;
  return spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...process.env, PATH: path } });
}

describe('the test command\'s system packages', () => {
  it('not root: names what is missing, why, and the exact command to run; installs nothing', () => {
    const r = ensureAsUser(process.env.PATH ?? '');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'The tests need these system packages, which are missing: pm-fake-package\n' +
        '  pm-no-such-program (pm-fake-package): made up by a test\n' +
        'Install them with:\n' +
        "  sudo sh -c 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y pm-fake-package'\n",
    );
  });

  it('without apt: names the Debian packages to install with the system\'s package manager', () => {
    const r = ensureAsUser('/nonexistent');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Install them with your system's package manager \(Debian names: pm-fake-package\)\.\n$/);
  });
});
