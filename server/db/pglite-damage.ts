// Recognising an embedded database whose files are damaged. PGlite meets a truncated control
// file or missing WAL with a WebAssembly abort ("Aborted(). Build with -sASSERTIONS…"), which
// tells a user nothing; this names the directory and the way back, a restore from a backup.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Size of global/pg_control in every Postgres data directory (PG_CONTROL_FILE_SIZE). */
const PG_CONTROL_FILE_SIZE = 8192;
const WAL_SEGMENT_NAME = /^[0-9A-F]{24}$/;

export class DamagedDataDirError extends Error {
  constructor(
    readonly dataDir: string,
    readonly reason: string,
  ) {
    super(
      `The data directory ${dataDir} looks damaged (${reason}) and cannot be opened. ` +
        'Restore it from a backup made with `stackyard db backup`: ' +
        `stackyard db restore FILE --data-dir ${dataDir} --force`,
    );
  }
}

/**
 * Throws DamagedDataDirError when a data directory that holds a database lacks a file every
 * database has. A directory without PG_VERSION and global/ is new, and PGlite creates one there.
 */
export function checkPgliteDataDir(dataDir: string): void {
  if (!holdsDatabase(dataDir)) return;
  const versionFile = join(dataDir, 'PG_VERSION');
  const damaged = (reason: string) => new DamagedDataDirError(dataDir, reason);

  const version = existsSync(versionFile) ? readFileSync(versionFile, 'utf8').trim() : undefined;
  if (version === undefined) throw damaged('PG_VERSION is missing');
  if (!/^\d+$/.test(version)) throw damaged('PG_VERSION does not hold a version number');

  const controlFile = join(dataDir, 'global', 'pg_control');
  if (!existsSync(controlFile)) throw damaged('global/pg_control is missing');
  const controlSize = statSync(controlFile).size;
  if (controlSize !== PG_CONTROL_FILE_SIZE) throw damaged(`global/pg_control is ${controlSize} bytes, not ${PG_CONTROL_FILE_SIZE}`);

  const walDir = join(dataDir, 'pg_wal');
  const segments = existsSync(walDir) ? readdirSync(walDir).filter((name) => WAL_SEGMENT_NAME.test(name)) : [];
  if (segments.length === 0) throw damaged('pg_wal holds no WAL segment');
}

/** Whether the directory holds a database already (rather than being new or empty). */
export function holdsDatabase(dataDir: string): boolean {
  return existsSync(join(dataDir, 'PG_VERSION')) || existsSync(join(dataDir, 'global'));
}

/**
 * What a failure to open an existing database becomes: PGlite's own text ("Aborted()…") means
 * nothing to a user, and is left out so it is not mistaken for the cause.
 */
export function openFailure(dataDir: string): DamagedDataDirError {
  return new DamagedDataDirError(dataDir, 'the embedded database failed to start on its files');
}
