/**
 * The command line with its bytes: Node decodes argv as UTF-8 and turns each byte that is not
 * UTF-8 into U+FFFD, so `prov-make why "$(printf 'out\377.txt')"` would ask about another name.
 * Such an argument is read again from /proc/self/cmdline, as a path of raw bytes (byte-path.ts).
 */
import { readFileSync } from 'node:fs';
import { decodePath, encodePath } from '@prov-make/interposer/byte-path';

const LOSSY = '\ufffd';

/** The arguments after the script (`process.argv.slice(2)`), each with the bytes it was given. */
export function commandLineArgs(argv: readonly string[] = process.argv): string[] {
  const args = argv.slice(2);
  if (!args.some((a) => a.includes(LOSSY))) return args;
  let raw: string[];
  try {
    // NUL-terminated; Node's own options come first, the script's arguments last
    raw = decodePath(readFileSync('/proc/self/cmdline')).split('\0').slice(0, -1);
  } catch {
    return args;
  }
  const tail = raw.slice(raw.length - args.length);
  // the same argument, unless a name held bytes Node could not decode
  const same = (a: string, r: string) => encodePath(r).toString('utf8') === a;
  return tail.length === args.length && tail.every((r, i) => same(args[i], r)) ? tail : args;
}
