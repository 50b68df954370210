/**
 * System programs the tests and benchmarks use for real (no mocks of what the product exists to
 * do): each is a Debian package. Missing ones are installed with apt when we are root; otherwise
 * the caller is told the exact command to run.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/** program -> Debian package, and what uses it. */
export const SYSTEM_PACKAGES = [
  { program: 'dot', pkg: 'graphviz', why: 'DOT exports are rendered by Graphviz' },
  { program: 'nginx', pkg: 'nginx-light', why: 'the remote cache tests serve it from nginx (WebDAV)' },
  { program: 'ninja', pkg: 'ninja-build', why: 'the no-op benchmark compares with ninja' },
  { program: 'strace', pkg: 'strace', why: 'benchmarks compare with strace -f' },
  { program: 'tmux', pkg: 'tmux', why: 'terminal tests run prov-make in a real pty' },
  { program: 'slurmctld', pkg: 'slurm-wlm', why: 'the Slurm executor tests run a one-node Slurm cluster (slurmctld, slurmd, sbatch, squeue, scancel)' },
  { program: 'slurmd', pkg: 'slurm-wlm', why: 'the Slurm executor tests run a one-node Slurm cluster' },
  { program: 'sbatch', pkg: 'slurm-wlm', why: 'the Slurm executor submits steps with sbatch' },
  { program: 'munged', pkg: 'munge', why: 'Slurm authenticates its daemons and commands with MUNGE' },
];

const SEARCH = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/local/sbin'];

export function findProgram(name) {
  for (const dir of SEARCH) {
    if (!dir) continue;
    try {
      accessSync(`${dir}/${name}`, constants.X_OK);
      return `${dir}/${name}`;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** True when every program is there (after installing what was missing, as root). */
export function ensureSystemPackages({ packages = SYSTEM_PACKAGES, log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  const missing = packages.filter((p) => !findProgram(p.program));
  if (missing.length === 0) return true;
  const names = [...new Set(missing.map((p) => p.pkg))];
  const command = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${names.join(' ')}`;
  const isRoot = process.getuid?.() === 0;
  const hasApt = Boolean(findProgram('apt-get'));
  if (!isRoot || !hasApt) {
    log(`The tests need these system packages, which are missing: ${names.join(', ')}`);
    for (const p of missing) log(`  ${p.program} (${p.pkg}): ${p.why}`);
    log(hasApt ? `Install them with:\n  sudo sh -c '${command}'` : `Install them with your system's package manager (Debian names: ${names.join(' ')}).`);
    return false;
  }
  log(`Installing system packages the tests use: ${names.join(', ')} ...`);
  const r = spawnSync('sh', ['-c', `(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${names.join(' ')}) >/dev/null 2>&1`], { stdio: 'inherit' });
  const still = missing.filter((p) => !findProgram(p.program));
  if (r.status !== 0 || still.length) {
    log(`Could not install ${still.map((p) => p.pkg).join(', ') || names.join(', ')}. Run this and try again:\n  ${command}`);
    return false;
  }
  return true;
}
