// Compiles the interposer with the system C compiler at install time (no prebuilt binaries, and
// no make: a machine with Node, npm and gcc is enough). CC chooses another compiler.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const native = join(here, '..', 'native');
mkdirSync(join(native, 'build'), { recursive: true });
const common = ['-O2', '-g', '-std=gnu11', '-Wall', '-Wextra', '-D_GNU_SOURCE'];
const targets = [
  // the interposer itself
  { source: 'provmake.c', output: 'libprovmake.so', args: [...common, '-Wno-array-parameter', '-Wno-nonnull-compare', '-fPIC', '-shared', '-fvisibility=hidden'], libs: ['-ldl'] },
  // the no-op fast path's file check (packages/cli/src/engine/up-to-date-snapshot.ts)
  { source: 'pm-check.c', output: 'pm-check', args: common, libs: [] },
];

const mtime = (p) => {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -1;
  }
};
const cc = process.env.CC || 'cc';
for (const t of targets) {
  const source = join(native, t.source);
  const output = join(native, 'build', t.output);
  if (mtime(output) >= mtime(source) && mtime(output) >= mtime(fileURLToPath(import.meta.url))) continue;
  try {
    execFileSync(cc, [...t.args, '-o', output, source, ...t.libs], { stdio: 'inherit' });
  } catch {
    console.error(`prov-make: could not compile ${source} with ${cc}. Install a C compiler (gcc), then run \`pnpm install\` again.`);
    process.exit(1);
  }
}
