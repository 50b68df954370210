#!/usr/bin/env node
/**
 * No-op benchmark (issue 3): a generated pipeline of 5,000 steps with 1,000,000 recorded
 * dependencies over 50,000 files; the no-op `prov-make run` side by side with ninja's no-op on an
 * equivalent build.ninja. Target: <= 0.5 s and <= 2x ninja.
 *
 *   node bench/noop.mjs                 full size: --steps 5000 --files 50000 --deps 200
 *   node bench/noop.mjs --quick         --steps 500 --files 5000
 *   options: --rounds N (5)  --dir DIR (keep the workspace there; reused when it matches)
 *            --keep (keep the temp folder)  --setup-jobs N (-j of the recording run; default 1)
 *            --profile [--profile-dir DIR] (then profile one no-op run with node --cpu-prof
 *            --cpu-prof-dir=DIR, default /tmp/prof, and print its top self-time functions)
 *            --ninja PATH (/usr/bin/ninja)  --json (print a JSON summary line at the end)
 *
 * Setup (untimed): generate, record with one `prov-make run`, a second `prov-make run` (racily
 * clean entries get confirmed), one ninja build and one ninja no-op. Timed: N interleaved rounds
 * of `prov-make run --json` (wall time spawn -> exit; asserts every step is "skipped") and `ninja`
 * (asserts "no work to do").
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fmtMs, median, min, peakRssKiB, timed, HAVE_TIME } from './noop/proc.mjs';
import { summarise } from './noop/profile-summary.mjs';
import { recordedWorkspace } from './noop/workspace.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'packages/cli/bin/prov-make.js');
const NODE = process.execPath;
const TARGET_S = 0.5;
const TARGET_RATIO = 2;

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    steps: { type: 'string' },
    files: { type: 'string' },
    deps: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '5' },
    dir: { type: 'string' },
    keep: { type: 'boolean' },
    // -j 1: steps that never ran wait for every earlier step anyway, so -j N gains nothing on the
    // first run, and with N > 1 the scheduler rescans all pending steps per decision (slow at 5,000).
    'setup-jobs': { type: 'string', default: '1' },
    profile: { type: 'boolean' },
    'profile-dir': { type: 'string', default: '/tmp/prof' },
    ninja: { type: 'string', default: '/usr/bin/ninja' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (opt.help) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0].replace(/^#!.*\n\/\*\*\n?/, '').replace(/^ \* ?/gm, ''));
  process.exit(0);
}
const num = (v, name) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} expects a positive whole number, not "${v}"`);
  return n;
};
const params = {
  steps: num(opt.steps ?? (opt.quick ? 500 : 5000), 'steps'),
  files: num(opt.files ?? (opt.quick ? 5000 : 50000), 'files'),
  deps: num(opt.deps, 'deps'),
};
const rounds = num(opt.rounds, 'rounds');
const setupJobs = num(opt['setup-jobs'], 'setup-jobs');

const log = (s = '') => process.stderr.write(s + '\n');
const fail = (msg) => {
  log(`bench/noop: FAIL: ${msg}`);
  process.exit(1);
};

if (!existsSync(CLI)) fail(`${CLI} not found (build first: pnpm -r --sort run build)`);
if (!existsSync(join(ROOT, 'packages/cli/dist/main.js'))) fail('packages/cli/dist is missing (build first: pnpm -r --sort run build)');
if (!existsSync(opt.ninja)) fail(`${opt.ninja} not found (apt-get install ninja-build)`);

const ownTemp = !opt.dir;
const dir = opt.dir ? resolve(opt.dir) : mkdtempSync(join(tmpdir(), 'prov-make-noop-'));
mkdirSync(dir, { recursive: true });
const provDir = join(dir, 'prov');
const ninjaDir = join(dir, 'ninja');

const provArgs = (...a) => [CLI, 'run', 'pipeline.yml', ...a];
const ninjaVersion = (await timed(opt.ninja, ['--version'])).stdout.trim();

function countStatuses(stdout) {
  let report;
  try {
    report = JSON.parse(stdout);
  } catch {
    fail(`prov-make --json printed no JSON: ${stdout.slice(0, 300)}`);
  }
  const counts = {};
  for (const s of report.steps) counts[s.status] = (counts[s.status] ?? 0) + 1;
  return { report, counts };
}

function assertNoop(r) {
  if (r.code !== 0) fail(`prov-make run exited ${r.code}\n${r.stderr.slice(0, 2000)}`);
  const { report, counts } = countStatuses(r.stdout);
  if (report.steps.length !== params.steps || counts.skipped !== params.steps) {
    const notSkipped = report.steps.filter((s) => s.status !== 'skipped').slice(0, 5);
    fail(`prov-make no-op: expected ${params.steps} skipped steps, got ${JSON.stringify(counts)}; e.g. ${JSON.stringify(notSkipped)}`);
  }
}

function assertNinjaNoop(r) {
  if (r.code !== 0) fail(`ninja exited ${r.code}\n${r.stdout}${r.stderr}`);
  if (!/no work to do/.test(r.stdout)) fail(`ninja was not a no-op:\n${r.stdout.slice(0, 2000)}`);
}

let cleanup = () => {};
try {
  log(`bench/noop: ${params.steps} steps x ${params.deps} deps = ${(params.steps * params.deps).toLocaleString('en')} dependencies over ${params.files.toLocaleString('en')} files`);
  log(`bench/noop: workspace ${dir} (node ${process.version}, ${ninjaVersion ? `ninja ${ninjaVersion}` : opt.ninja})`);
  if (ownTemp && !opt.keep) cleanup = () => rmSync(dir, { recursive: true, force: true });

  // ---- setup (untimed) ----
  const { setup } = await recordedWorkspace(dir, params, { setupJobs, log, fail });

  const nb = await timed(opt.ninja, [], { cwd: ninjaDir });
  if (nb.code !== 0) fail(`ninja build exited ${nb.code}\n${nb.stdout.slice(-2000)}${nb.stderr.slice(-2000)}`);
  setup.ninjaBuildMs = nb.ms;
  log(`bench/noop: ninja build: ${fmtMs(nb.ms)} (${/no work to do/.test(nb.stdout) ? 'was already built' : 'built'})`);
  assertNinjaNoop(await timed(opt.ninja, [], { cwd: ninjaDir }));

  const stateBytes = du(join(provDir, '.prov-make'));
  log(`bench/noop: .prov-make/ size ${(stateBytes / 1048576).toFixed(1)} MiB`);

  // ---- baselines: fixed cost of starting node and the CLI ----
  const nodeStart = [];
  const cliStart = [];
  for (let i = 0; i < 3; i++) {
    nodeStart.push((await timed(NODE, ['-e', ''])).ms);
    cliStart.push((await timed(NODE, [CLI, '--version'])).ms);
  }

  // ---- timed, interleaved ----
  const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');
  const prov = [];
  const ninja = [];
  for (let r = 0; r < rounds; r++) {
    const p = await timed(NODE, provArgs('--json'), { cwd: provDir });
    assertNoop(p);
    prov.push(p.ms);
    const n = await timed(opt.ninja, [], { cwd: ninjaDir });
    assertNinjaNoop(n);
    ninja.push(n.ms);
    log(`  round ${r + 1}/${rounds}: prov-make ${fmtMs(p.ms)}   ninja ${fmtMs(n.ms)}`);
  }

  // ---- peak RSS (one extra untimed run each) ----
  let provRss = null;
  let ninjaRss = null;
  if (HAVE_TIME) {
    const pr = await peakRssKiB(NODE, provArgs('--json'), { cwd: provDir });
    assertNoop(pr);
    provRss = pr.kib;
    const nr = await peakRssKiB(opt.ninja, [], { cwd: ninjaDir });
    assertNinjaNoop(nr);
    ninjaRss = nr.kib;
  }

  const pMed = median(prov);
  const nMed = median(ninja);
  const ratio = pMed / nMed;
  const metAbs = pMed <= TARGET_S * 1000;
  const metRatio = ratio <= TARGET_RATIO;
  const mib = (k) => (k == null ? 'n/a' : `${(k / 1024).toFixed(1)} MiB`);
  const out = [
    '',
    `no-op, ${params.steps} steps / ${(params.steps * params.deps).toLocaleString('en')} deps / ${params.files.toLocaleString('en')} files, ${rounds} rounds:`,
    `  prov-make run --json   median ${fmtMs(pMed).padStart(9)}   min ${fmtMs(min(prov)).padStart(9)}   peak RSS ${mib(provRss)}`,
    `  ninja                  median ${fmtMs(nMed).padStart(9)}   min ${fmtMs(min(ninja)).padStart(9)}   peak RSS ${mib(ninjaRss)}`,
    `  ratio prov-make/ninja  median ${ratio.toFixed(2)}x   min/min ${(min(prov) / min(ninja)).toFixed(2)}x`,
    `  load average before the timed rounds: ${loadBefore}; after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    `  baselines: node -e '' median ${fmtMs(median(nodeStart))}; prov-make --version median ${fmtMs(median(cliStart))}`,
    `  target <= ${TARGET_S} s: ${metAbs ? 'MET' : 'NOT MET'}   target <= ${TARGET_RATIO}x ninja: ${metRatio ? 'MET' : 'NOT MET'}`,
  ];
  console.log(out.join('\n'));

  let profileSummary;
  if (opt.profile) {
    const profDir = resolve(opt['profile-dir']);
    mkdirSync(profDir, { recursive: true });
    const before = new Set(readdirSync(profDir));
    const pr = await timed(NODE, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, ...provArgs('--json')], { cwd: provDir });
    assertNoop(pr);
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile') && !before.has(f));
    profileSummary = summarise(JSON.parse(readFileSync(join(profDir, file), 'utf8')), 25);
    console.log(`\nprofile of one no-op run (${fmtMs(pr.ms)} with --cpu-prof): ${join(profDir, file)}\n${profileSummary}`);
  }

  if (opt.json) {
    console.log(
      JSON.stringify({
        bench: 'noop',
        ...params,
        rounds,
        provMs: prov,
        ninjaMs: ninja,
        provMedianMs: pMed,
        ninjaMedianMs: nMed,
        ratio,
        provPeakRssKiB: provRss,
        ninjaPeakRssKiB: ninjaRss,
        targets: { maxSeconds: TARGET_S, maxRatio: TARGET_RATIO, secondsMet: metAbs, ratioMet: metRatio },
        setup,
      }),
    );
  }
} finally {
  cleanup();
}

function du(p) {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(p, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const q = join(p, e.name);
    if (e.isDirectory()) total += du(q);
    else if (e.isFile()) total += statSync(q).size;
  }
  return total;
}
