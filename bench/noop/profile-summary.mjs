#!/usr/bin/env node
/**
 * Summarises a V8 .cpuprofile (from node --cpu-prof): top functions by self time and by
 * inclusive ("total") time, and self time per source file.
 *   node bench/noop/profile-summary.mjs FILE.cpuprofile [--top N]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export function summarise(profile, top = 25) {
  const byId = new Map();
  for (const n of profile.nodes) byId.set(n.id, n);
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const shortUrl = (u) => (u || '').replace(/^file:\/\//, '').replace(/^.*\/node_modules\/\.pnpm\/[^/]+\/node_modules\//, 'node_modules/').replace(/^\/work\/main\//, '');
  const keyOf = (n) => {
    const cf = n.callFrame;
    const name = cf.functionName || '(anonymous)';
    return cf.url ? `${name}  ${shortUrl(cf.url)}:${cf.lineNumber + 1}` : name;
  };
  const self = new Map();
  const total = new Map();
  const perFile = new Map();
  const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
  let sum = 0;
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the gap before sample i; attribute the gap after it (next delta) to it.
    const dt = (timeDeltas[i + 1] ?? timeDeltas[i] ?? 0) / 1000;
    const n = byId.get(samples[i]);
    sum += dt;
    add(self, keyOf(n), dt);
    add(perFile, n.callFrame.url ? shortUrl(n.callFrame.url) : `(${n.callFrame.functionName || 'native'})`, dt);
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      const k = keyOf(byId.get(id));
      if (!seen.has(k)) {
        seen.add(k);
        add(total, k, dt);
      }
    }
  }
  const table = (m) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => `${v.toFixed(1).padStart(9)} ms ${((100 * v) / sum).toFixed(1).padStart(5)}%  ${k}`)
      .join('\n');
  return [
    `profile: ${sum.toFixed(1)} ms sampled, ${samples.length} samples`,
    `\ntop ${top} by self time:`,
    table(self),
    `\ntop ${top} by self time per file:`,
    table(perFile),
    `\ntop ${top} by total (inclusive) time:`,
    table(total),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node bench/noop/profile-summary.mjs FILE.cpuprofile [--top N]');
    process.exit(2);
  }
  const i = process.argv.indexOf('--top');
  console.log(summarise(JSON.parse(readFileSync(file, 'utf8')), i > 0 ? Number(process.argv[i + 1]) : 25));
}
