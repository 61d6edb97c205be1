// One process at a time per embedded-database directory. PGlite keeps its pages in this
// process's memory and writes them back as it likes, so a second process on the same files
// silently overwrites the first one's acknowledged writes. The lock is a file holding the
// holder's pid; a lock whose process is gone (killed with kill -9, a crash) is taken over, so it
// never needs removing by hand.
import { linkSync, readFileSync, realpathSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPgliteDataDir, holdsDatabase, openFailure } from './pglite-damage';

/** The lock file's name inside the data directory; backups leave it out. */
export const LOCK_FILE_NAME = 'stackyard.lock';

export interface DataDirLock {
  /** Removes the lock; calling it again does nothing. */
  release(): void;
}

/** Directories this process holds, by real path: a second open in-process is refused too. */
const heldHere = new Set<string>();

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(
      holderPid === process.pid
        ? `The data directory ${dataDir} is already open in this process (pid ${holderPid}); one directory serves one server at a time`
        : `The data directory ${dataDir} is in use by another Stackyard process (pid ${holderPid}); stop that process first, or use another --data-dir`,
    );
  }
}

/**
 * Takes the lock on an existing data directory, or throws DataDirLockedError naming the process
 * that holds it.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const key = realpathSync(dataDir);
  if (heldHere.has(key)) throw new DataDirLockedError(dataDir, process.pid);
  const path = join(key, LOCK_FILE_NAME);
  const content = `${process.pid}\n`;
  // Written aside and linked into place, so the lock appears with its pid in it or not at all.
  const written = `${path}.${process.pid}.new`;
  writeFileSync(written, content);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(written, path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = readHolder(path);
      if (holder !== undefined && holder !== process.pid && isAlive(holder)) throw new DataDirLockedError(dataDir, holder);
      // Our own pid in a lock we do not hold is a previous process's (pids repeat, in containers
      // especially), and a lock without a pid was not written by this code: both are stale.
      if (attempt >= 3) throw new DataDirLockedError(dataDir, holder ?? 0);
      takeOverStale(path, holder);
    }
  } finally {
    unlinkSync(written);
  }
  heldHere.add(key);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      heldHere.delete(key);
      try {
        if (readFileSync(path, 'utf8') === content) unlinkSync(path);
      } catch {
        // Already gone: nothing to release.
      }
    },
  };
}

function readHolder(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Moves a stale lock aside rather than deleting it, so that of two processes taking it over at
 * once only one removes it; if what was moved turns out to be a fresh lock another process has
 * just taken, it is put back.
 */
function takeOverStale(path: string, stalePid: number | undefined): void {
  const aside = `${path}.${process.pid}.stale`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else moved it; the next attempt sees what is there now
  }
  if (readHolder(aside) !== stalePid) {
    try {
      linkSync(aside, path);
    } catch {
      // A third lock exists already; the next attempt sees it.
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // Nothing to clean up.
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process its parent has not collected yet is a zombie: dead for our purposes.
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

export interface ClaimedDataDir {
  /** Answers `ready`, with a failure to open a database that existed turned into DamagedDataDirError. */
  opening(ready: Promise<void>): Promise<void>;
  release(): void;
}

/**
 * What opening an embedded database takes first: the directory's lock, then a look at its files,
 * so a second server and a damaged directory each fail with a message that says what to do.
 * `memory://` databases belong to their process and need neither.
 */
export function claimPgliteDataDir(dataDir: string): ClaimedDataDir {
  if (dataDir.startsWith('memory://')) return { opening: (ready) => ready, release() {} };
  const lock = lockDataDir(dataDir);
  try {
    checkPgliteDataDir(dataDir);
  } catch (error) {
    lock.release();
    throw error;
  }
  const existed = holdsDatabase(dataDir);
  return {
    opening: (ready) =>
      ready.catch((error: unknown) => {
        throw existed ? openFailure(dataDir) : error;
      }),
    release: lock.release,
  };
}
