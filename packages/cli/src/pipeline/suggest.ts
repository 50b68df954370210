/**
 * "Did you mean ...?" for misspelt keys and step names.
 */

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions: "nedds" -> "needs" is 1). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = [];
  for (let i = 0; i < rows; i++) {
    d.push(new Array<number>(cols).fill(0));
    d[i][0] = i;
  }
  for (let j = 0; j < cols; j++) d[0][j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2][j - 2] + 1);
      d[i][j] = v;
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate `word` most likely stands for, or undefined.
 * `aliases` maps words people write from other tools (lower-case) to the right candidate
 * ("command" -> "run"); they win over spelling distance.
 */
export function suggest(
  word: string,
  candidates: readonly string[],
  aliases: Readonly<Record<string, string>> = {},
): string | undefined {
  const w = word.toLowerCase().trim();
  if (w === '') return undefined;
  if (Object.prototype.hasOwnProperty.call(aliases, w)) return aliases[w];
  // Normalise separators: "depends-on", "depends_on" and "dependsOn" are one word.
  const squashed = w.replace(/[-_\s]/g, '');
  if (Object.prototype.hasOwnProperty.call(aliases, squashed)) return aliases[squashed];

  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const lc = c.toLowerCase();
    if (lc === w) return c;
    const dist = editDistance(w, lc);
    // Allow roughly one typo per three letters, at least one.
    const limit = Math.max(1, Math.floor(Math.max(w.length, lc.length) / 3));
    if (dist <= limit && dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  if (best !== undefined) return best;

  // A word that starts with a candidate ("envs", "enviroment" -> "env") or that a candidate starts with
  // ("step" -> "steps"); only for words long enough to mean something.
  for (const c of candidates) {
    const lc = c.toLowerCase();
    if (lc.length >= 3 && w.length >= 3 && (w.startsWith(lc) || lc.startsWith(w))) return c;
  }
  return undefined;
}
