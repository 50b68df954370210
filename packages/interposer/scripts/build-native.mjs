// Compiles the interposer with the system C compiler at install time (no prebuilt binaries, and
// no make: a machine with Node, npm and gcc is enough). CC chooses another compiler.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const native = join(here, '..', 'native');
mkdirSync(join(native, 'build'), { recursive: true });
const common = ['-O2', '-g', '-std=gnu11', '-Wall', '-Wextra', '-D_GNU_SOURCE'];
const headers = readdirSync(native).filter((f) => f.endsWith('.h'));
// Programs built beside the interposer, each from its own files (one with main) and shared ones.
const programs = [
  // the no-op fast path's file check (packages/cli/src/engine/up-to-date-snapshot.ts)
  { own: ['pm-check.c'], shared: [], output: 'pm-check', args: common, libs: [] },
  // the reader of big trace logs (native/collect.h): follows a step's log, writes a summary
  {
    own: readdirSync(native).filter((f) => f.startsWith('collect-') && f.endsWith('.c')).sort(),
    shared: [],
    output: 'pm-collect',
    args: common,
    libs: ['-lpthread'],
  },
  // the ptrace + seccomp supervisor for programs LD_PRELOAD cannot enter (native/supervisor.h): it
  // writes the interposer's records with the interposer's own record, path and log code
  {
    own: readdirSync(native).filter((f) => f.startsWith('supervisor-') && f.endsWith('.c')).sort(),
    shared: ['calls.c', 'events.c', 'paths.c', 'record.c', 'log.c', 'program.c'],
    output: 'pm-supervise',
    args: [...common, '-Wno-nonnull-compare'],
    libs: ['-lpthread'],
  },
];
const programFiles = new Set(programs.flatMap((p) => p.own));
const targets = [
  // the interposer itself: every other .c file
  {
    sources: readdirSync(native).filter((f) => f.endsWith('.c') && !programFiles.has(f)).sort(),
    output: 'libprovmake.so',
    args: [...common, '-Wno-array-parameter', '-Wno-nonnull-compare', '-fPIC', '-shared', '-fvisibility=hidden'],
    libs: ['-ldl'],
  },
  ...programs.map((p) => ({ sources: [...p.own, ...p.shared], output: p.output, args: p.args, libs: p.libs })),
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
  const inputs = [...t.sources, ...headers].map((f) => join(native, f));
  const output = join(native, 'build', t.output);
  const built = mtime(output);
  if ([...inputs, fileURLToPath(import.meta.url)].every((p) => built >= mtime(p))) continue;
  try {
    execFileSync(cc, [...t.args, '-o', output, ...t.sources.map((f) => join(native, f)), ...t.libs], { stdio: 'inherit' });
  } catch {
    console.error(`prov-make: could not compile ${t.output} from ${t.sources.join(', ')} with ${cc}. Install a C compiler (gcc), then run \`pnpm install\` again.`);
    process.exit(1);
  }
}
