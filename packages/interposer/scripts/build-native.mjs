// Compiles the interposer with the system C compiler at install time (no prebuilt binaries).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const nativeDir = join(here, '..', 'native');
mkdirSync(join(nativeDir, 'build'), { recursive: true });
try {
  execFileSync('make', ['-C', nativeDir, '--no-print-directory'], { stdio: 'inherit' });
} catch {
  console.error('prov-make: could not compile the interposer (packages/interposer/native). Install a C compiler (gcc) and make, then run `pnpm install` again.');
  process.exit(1);
}
