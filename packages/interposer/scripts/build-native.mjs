// Compiles the interposer with the system C compiler at install time (no prebuilt binaries, and
// no make: a machine with Node, npm and gcc is enough). CC chooses another compiler.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, '..', 'native', 'provmake.c');
const output = join(here, '..', 'native', 'build', 'libprovmake.so');
mkdirSync(dirname(output), { recursive: true });

const upToDate = (() => {
  try {
    return statSync(output).mtimeMs >= statSync(source).mtimeMs && statSync(output).mtimeMs >= statSync(fileURLToPath(import.meta.url)).mtimeMs;
  } catch {
    return false;
  }
})();
if (!upToDate) {
  const cc = process.env.CC || 'cc';
  const args = [
    '-O2', '-g', '-std=gnu11', '-Wall', '-Wextra', '-Wno-array-parameter', '-Wno-nonnull-compare',
    '-fPIC', '-shared', '-fvisibility=hidden', '-D_GNU_SOURCE', '-o', output, source, '-ldl',
  ];
  try {
    execFileSync(cc, args, { stdio: 'inherit' });
  } catch {
    console.error(`prov-make: could not compile the interposer (${source}) with ${cc}. Install a C compiler (gcc), then run \`pnpm install\` again.`);
    process.exit(1);
  }
}
