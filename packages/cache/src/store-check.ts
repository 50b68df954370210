/**
 * A damaged lmdb file makes the native code read wild pointers: every command would segfault. lmdb
 * keeps no page checksums, so the check is this: every clean close notes each store file's stamp
 * (inode, size, mtime, ctime: any write changes one). At open, files with the noted stamps are used
 * at once. Otherwise (a killed run, or bytes written by something else) every page header of every
 * store is checked first (lmdbFileProblem); a damaged store moves the state aside with a message,
 * and it is rebuilt (steps rerun).
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The lmdb data files of a state folder (hash-state.ts, provenance-store.ts, deps-log.ts). */
export const STORE_FILES = ['hash-state.lmdb', 'provenance.lmdb', 'deps/data.mdb'] as const;

/** Where the stamps of the last clean close are kept. */
const STAMPS_FILE = 'stores-closed';

function stampOf(file: string): string {
  try {
    const st = statSync(file, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return 'absent';
  }
}

function stampsOf(stateDir: string): string {
  return STORE_FILES.map((f) => `${f} ${stampOf(join(stateDir, f))}`).join('\n');
}

/** Notes the stores as closed cleanly (best effort: without it, the next open checks them). */
export function noteStoresClosed(stateDir: string): void {
  try {
    writeFileSync(join(stateDir, STAMPS_FILE), stampsOf(stateDir));
  } catch {
    /* a read-only or removed state folder: the next open reads the stores through */
  }
}

function closedCleanly(stateDir: string): boolean {
  try {
    return readFileSync(join(stateDir, STAMPS_FILE), 'utf8') === stampsOf(stateDir);
  } catch {
    return false;
  }
}

const HEADER = 24; // pgno (8), txnid (8), pad, flags, lower, upper (2 each); offsets within a page count from here
const MAGIC = 0xbeefc0de;
const P_BRANCH = 0x01, P_LEAF = 0x02, P_OVERFLOW = 0x04, P_LEAF2 = 0x20;
const F_BIGDATA = 0x01, F_SUBDATA = 0x02;
const NODE = 8; // lo, hi, flags, key size (2 each)
const NO_PAGE = 0xffffffffffffffffn;

interface Meta {
  pageSize: number;
  lastPage: number;
  txnid: bigint;
  roots: bigint[];
}

function metaAt(page: Buffer): Meta | null {
  const m = HEADER;
  if (page.length < m + 136 || page.readUInt32LE(m) !== MAGIC) return null;
  const db = (i: number) => m + 24 + i * 48; // mm_dbs[i]: pad, flags, depth, 3 counts, entries, root
  return {
    pageSize: page.readUInt32LE(db(0)), // the free-space db's pad holds the page size
    lastPage: Number(page.readBigUInt64LE(m + 120)),
    txnid: page.readBigUInt64LE(m + 128),
    roots: [page.readBigUInt64LE(db(0) + 40), page.readBigUInt64LE(db(1) + 40)],
  };
}

/**
 * Walks the B-trees from a meta page, checking each page lmdb would follow: its own number in its
 * header, known flags, bounds and node offsets inside the page, children and overflow pages within
 * the file. Free pages may hold anything and are not read.
 */
class TreeWalk {
  private readonly seen = new Set<number>();
  private readonly page: Buffer;

  constructor(
    private readonly fd: number,
    private readonly meta: Meta,
  ) {
    this.page = Buffer.alloc(meta.pageSize);
  }

  /** The first problem met under `root`, or null. */
  problemUnder(root: bigint): string | null {
    const pending: bigint[] = [root];
    while (pending.length) {
      const pgno = pending.pop()!;
      if (pgno === NO_PAGE) continue; // an empty tree
      if (pgno < 2n || pgno > BigInt(this.meta.lastPage)) return `a page number out of the file (${pgno})`;
      if (this.seen.has(Number(pgno))) continue;
      this.seen.add(Number(pgno));
      const problem = this.visit(Number(pgno), pending);
      if (problem) return `${problem} (page ${pgno})`;
    }
    return null;
  }

  private visit(pgno: number, pending: bigint[]): string | null {
    const p = this.page;
    readSync(this.fd, p, 0, p.length, pgno * this.meta.pageSize);
    if (p.readBigUInt64LE(0) !== BigInt(pgno)) return 'a page does not carry its own number';
    const flags = p.readUInt16LE(18);
    if (flags & P_OVERFLOW) return pgno + p.readUInt32LE(20) - 1 > this.meta.lastPage ? 'a value runs past the file' : null;
    if (!(flags & (P_BRANCH | P_LEAF))) return 'a page of unknown kind';
    const lower = p.readUInt16LE(20);
    const upper = p.readUInt16LE(22);
    if (lower > upper || HEADER + upper > p.length) return 'a page with impossible bounds';
    if (flags & P_LEAF2) return null; // fixed-size keys, nothing to follow
    for (let i = 0; i < lower >> 1; i++) {
      const node = HEADER + p.readUInt16LE(HEADER + 2 * i);
      if (node < HEADER + upper || node + NODE > p.length) return 'a node outside its page';
      const nodeFlags = p.readUInt16LE(node + 4);
      const data = node + NODE + p.readUInt16LE(node + 6);
      if (flags & P_BRANCH) {
        pending.push(BigInt(p.readUInt16LE(node)) | (BigInt(p.readUInt16LE(node + 2)) << 16n) | (BigInt(nodeFlags) << 32n));
        continue;
      }
      const follows = nodeFlags & F_BIGDATA ? 8 : nodeFlags & F_SUBDATA ? 48 : 0;
      if (data + follows > p.length) return 'a node outside its page';
      if (nodeFlags & F_BIGDATA) pending.push(p.readBigUInt64LE(data));
      else if (nodeFlags & F_SUBDATA) pending.push(p.readBigUInt64LE(data + 40)); // a named database's root
    }
    return null;
  }
}

/**
 * Why an lmdb data file cannot be used, or null: its meta pages, then every page reachable from the
 * newest one (lmdb itself trusts them: a wild page number or offset is a segfault).
 */
export function lmdbFileProblem(file: string): string | null {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return null; // created, never written: lmdb sets it up
    const head = Buffer.alloc(4096);
    readSync(fd, head, 0, head.length, 0);
    const first = metaAt(head);
    if (!first || first.pageSize < 4096 || first.pageSize > 65536 || first.pageSize & (first.pageSize - 1)) return 'its first meta page is damaged';
    const second = Buffer.alloc(first.pageSize);
    readSync(fd, second, 0, second.length, first.pageSize);
    const other = metaAt(second);
    const meta = other && other.pageSize === first.pageSize && other.txnid > first.txnid ? other : first;
    if ((meta.lastPage + 1) * meta.pageSize > size) return 'it is shorter than its meta page says';
    const walk = new TreeWalk(fd, meta);
    for (const root of meta.roots) {
      const problem = walk.problemUnder(root);
      if (problem) return problem;
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

/** A store found damaged, and where the state's stores were moved. */
export interface DamagedStores {
  file: string;
  problem: string;
  movedTo: string;
}

/**
 * Checks a state folder's stores before they are opened. Returns null when they can be used, else
 * what was damaged and where the stores were moved (opening then creates empty ones).
 */
export function checkStores(stateDir: string): DamagedStores | null {
  if (!STORE_FILES.some((f) => existsSync(join(stateDir, f))) || closedCleanly(stateDir)) return null;
  for (const file of STORE_FILES) {
    const problem = existsSync(join(stateDir, file)) ? lmdbFileProblem(join(stateDir, file)) : null;
    if (problem) return { file, problem, movedTo: moveStoresAside(stateDir) };
  }
  return null;
}

function moveStoresAside(stateDir: string): string {
  const aside = join(stateDir, `damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(join(aside, 'deps'), { recursive: true });
  for (const file of STORE_FILES) {
    for (const suffix of file.endsWith('.mdb') ? ['', '/../lock.mdb'] : ['', '-lock']) {
      const from = join(stateDir, file + suffix);
      if (existsSync(from)) renameSync(from, join(aside, file + suffix));
    }
  }
  return aside;
}
