/**
 * The workspace's file system as the engine reaches it (ninja's DiskInterface): injected, so the
 * engine's decisions can be unit-tested on an in-memory disk. State stores (lmdb, the content store,
 * the snapshot files) are not behind it: they are files of prov-make's own, not of the workspace.
 */
import { lstatSync, mkdirSync, renameSync, rmdirSync, rmSync, symlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fsPath, readdirPaths, readlinkPath, realPathOf } from '@prov-make/interposer/byte-path';
import type { Digests } from './hash.js';
import type { FileStat, FileVersion } from './version.js';

/** prov-make's own temp files in the state folder (restores in progress): where no step looks, emptied by each run. */
export const TEMP_DIR = 'tmp';

export interface Disk {
  /** What lstat says, or undefined when the path does not exist (or cannot be reached: ENOTDIR, EACCES). */
  lstat(path: string): FileStat | undefined;
  /** The entry names of a folder, or null when it is not a readable folder. */
  readdir(path: string): string[] | null;
  readlink(path: string): string;
  /** The path with every symlink resolved, or null when it cannot be resolved. Optional: a disk without links. */
  realPath?(path: string): string | null;
  /**
   * xxh64 and SHA-256 of a file's content (a symlink's: its target text), memoised by version; null for
   * a folder or a path that does not exist. `st` is its lstat when the caller just took it.
   */
  hash(path: string, st?: FileStat): Promise<Digests | null>;
  /** Makes a folder and any missing parents. */
  mkdir(path: string, mode?: number): void;
  /** Puts a symlink at `path`, replacing what is there (atomically: never writing through an old link). */
  symlink(target: string, path: string): void;
  /** Removes a file or a link, or a folder when it is empty (a restore taken back); never follows a link. */
  unlink(path: string): void;
  /**
   * Optional bulk check for the no-op fast path: the ordinals of the entries of `listFile`
   * ("TOKEN\0PATH\0", paths relative to `root` or absolute) whose token differs now; null when more
   * than `max` differ; undefined when it cannot tell.
   */
  changedEntries?(root: string, listFile: string, max: number): number[] | null | undefined;
}

/** Where the node disk gets digests from: the hash memo (HashState) when the stores are open. */
export interface DigestSource {
  digestsOf(path: string, version?: FileVersion | null): Promise<Digests | null>;
}

/**
 * The real file system. Without a digest source it hashes by reading (and loads the hasher only
 * then). A new symlink is made in `tempDir` (prov-make's own, where no step looks) and renamed into
 * place; beside it when there is none, or it is on another device.
 */
export function nodeDisk(digests?: DigestSource, tempDir?: string): Disk {
  // Loaded on the first hash, not above: the no-op fast path uses this disk and never hashes.
  let versions: Promise<typeof import('./version.js')> | undefined;
  let hashing: Promise<typeof import('./hash.js')> | undefined;
  return {
    lstat(path) {
      try {
        return lstatSync(fsPath(path), { bigint: true, throwIfNoEntry: false });
      } catch {
        return undefined; // ENOTDIR, EACCES: as good as absent for a dependency
      }
    },
    readdir(path) {
      try {
        return readdirPaths(path);
      } catch {
        return null;
      }
    },
    readlink: readlinkPath,
    realPath(path) {
      try {
        return realPathOf(path);
      } catch {
        return null;
      }
    },
    async hash(path, st) {
      const { statVersion, versionFromStats } = await (versions ??= import('./version.js'));
      const version = st ? versionFromStats(st) : undefined;
      if (digests) return digests.digestsOf(path, version);
      const current = version ?? (await statVersion(path));
      if (!current || current.kind === 'dir') return null;
      const hash = await (hashing ??= import('./hash.js'));
      if (current.kind === 'other') return hash.specialFileDigests(current.mode);
      return (await hash.digestFileVersioned(path)).digests;
    },
    mkdir(path, mode) {
      mkdirSync(fsPath(path), { recursive: true, mode });
    },
    symlink(target, path) {
      const name = `.prov-make-link-${randomBytes(6).toString('hex')}`;
      const beside = join(dirname(path), name);
      let tmp = tempDir ? join(tempDir, name) : beside;
      try {
        if (tempDir) mkdirSync(tempDir, { recursive: true });
        symlinkSync(fsPath(target), fsPath(tmp));
        try {
          renameSync(fsPath(tmp), fsPath(path)); // replaces a file or link at `path`; a folder there makes it fail
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
          rmSync(fsPath(tmp), { force: true });
          symlinkSync(fsPath(target), fsPath((tmp = beside)));
          renameSync(fsPath(tmp), fsPath(path));
        }
      } finally {
        rmSync(fsPath(tmp), { force: true });
      }
    },
    unlink(path) {
      try {
        if (lstatSync(fsPath(path), { throwIfNoEntry: false })?.isDirectory()) rmdirSync(fsPath(path));
        else rmSync(fsPath(path), { force: true });
      } catch {
        /* not empty, or gone: left as it is */
      }
    },
  };
}
