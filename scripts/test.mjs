#!/usr/bin/env node
/**
 * The README's test command (`pnpm test`), also what `.ci/run` calls:
 *  1. the system programs the tests use really exist (installed from Debian when missing and we are
 *     root, otherwise it stops at once with the exact command to run);
 *  2. the workspace is built (the interposer with the system C compiler, then TypeScript);
 *  3. vitest runs every test file; the last line printed is `N passed, N failed`.
 * Arguments are passed to vitest (`pnpm test packages/cli/test/run-staleness.test.ts`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSystemPackages } from './system-packages.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

if (!ensureSystemPackages()) process.exit(1);

const build = spawnSync('pnpm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const resultsDir = mkdtempSync(join(tmpdir(), 'prov-make-test-'));
const results = join(resultsDir, 'results.json');
const vitest = join(root, 'node_modules', '.bin', 'vitest');
const run = spawnSync(vitest, ['run', '--reporter=default', '--reporter=json', `--outputFile=${results}`, ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});

let passed = 0;
let failed = 0;
if (existsSync(results)) {
  const r = JSON.parse(readFileSync(results, 'utf8'));
  // a test file that failed without a failed test (a beforeAll, an import) counts as one failure
  const failedSuites = r.testResults.filter((f) => f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed')).length;
  passed = r.numPassedTests;
  failed = r.numFailedTests + failedSuites;
} else {
  failed = 1;
}
rmSync(resultsDir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(run.status === 0 && failed === 0 ? 0 : 1);
