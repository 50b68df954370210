/**
 * The shape of the code, checked on its source: no import circle (type imports count: a circle of
 * types is a circle of concepts), cli depends on cache and never the reverse, lmdb is imported by
 * packages/cache alone, and no function is longer than ~100 lines.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const PACKAGES = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHECKED = ['cli', 'cache'];
const MAX_FUNCTION_LINES = 100;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [p] : [];
  });
}

const parsed = new Map<string, ts.SourceFile>();
function parse(file: string): ts.SourceFile {
  let sf = parsed.get(file);
  if (!sf) parsed.set(file, (sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)));
  return sf;
}

/** Every module specifier a file imports or re-exports, static or dynamic, type-only included. */
function specifiers(sf: ts.SourceFile): string[] {
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) out.push(n.moduleSpecifier.text);
    if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && ts.isStringLiteral(n.arguments[0])) out.push(n.arguments[0].text);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** A relative specifier as the source file it names (`./x.js` is `./x.ts` or `./x.tsx`). */
function resolveSource(from: string, spec: string): string | null {
  const base = resolve(dirname(from), spec).replace(/\.js$/, '');
  for (const ext of ['.ts', '.tsx']) {
    try {
      if (statSync(base + ext).isFile()) return base + ext;
    } catch {
      /* not this one */
    }
  }
  return null;
}

/** Strongly connected components of more than one module (Tarjan). */
function circles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        component.push(relative(PACKAGES, w));
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) strong(v);
  return found;
}

describe('architecture', () => {
  const files = CHECKED.flatMap((p) => sources(join(PACKAGES, p, 'src')));

  it('has no import circle in any package', () => {
    const graph = new Map(files.map((f) => [f, specifiers(parse(f)).filter((s) => s.startsWith('.')).map((s) => resolveSource(f, s)).filter((t): t is string => t !== null)]));
    expect(circles(graph)).toEqual([]);
  });

  it('layers: cache never imports cli, and lmdb is imported by packages/cache alone', () => {
    const offending: string[] = [];
    for (const f of files) {
      const rel = relative(PACKAGES, f);
      for (const s of specifiers(parse(f))) {
        if (rel.startsWith('cache/') && (s === 'prov-make' || s.startsWith('../../cli'))) offending.push(`${rel} imports ${s}`);
        if (!rel.startsWith('cache/') && (s === 'lmdb' || s.startsWith('lmdb/'))) offending.push(`${rel} imports ${s}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it(`has no function over ${MAX_FUNCTION_LINES} lines`, () => {
    const long: string[] = [];
    for (const f of files) {
      const sf = parse(f);
      const visit = (n: ts.Node): void => {
        if (ts.isFunctionLike(n) && 'body' in n && n.body) {
          const first = sf.getLineAndCharacterOfPosition(n.getStart()).line;
          const last = sf.getLineAndCharacterOfPosition(n.end).line;
          if (last - first + 1 > MAX_FUNCTION_LINES) long.push(`${relative(PACKAGES, f)}:${first + 1} (${last - first + 1} lines)`);
        }
        ts.forEachChild(n, visit);
      };
      visit(sf);
    }
    expect(long).toEqual([]);
  });
});
