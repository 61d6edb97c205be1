// Backups of the embedded database: `POST /backup` on a running server (admins only), the
// same dump taken from a stopped server's directory, and restoring a dump into a directory.
// A dump is PGlite's own: a gzipped tar of the data directory, taken between statements, so it
// is consistent the way a crash is, and opening it replays the WAL. Postgres has pg_dump.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PGlite } from '@electric-sql/pglite';
import { CSRF_HEADER } from '../plugins/use-csrf-prevention';
import type { Authenticator } from '../users/authentication';
import { LOCK_FILE_NAME, lockDataDir } from './data-dir-lock';
import { openDatabase, type DatabaseHandle } from './database';

const STAGING_DIR_NAME = '.stackyard-restoring';
export const USE_PG_DUMP = 'This server keeps its data in Postgres; back it up with pg_dump (and restore with pg_restore or psql).';

/**
 * Answers `POST /backup` with a dump of the server's embedded database. Admins only; the
 * CSRF header keeps a page on another site from starting one in local mode.
 */
export async function serveBackup(req: IncomingMessage, res: ServerResponse, database: DatabaseHandle, authenticate: Authenticator): Promise<void> {
  const refuse = (status: number, error: string): void => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error }));
  };
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return refuse(405, 'Use POST');
  }
  if (!req.headers[CSRF_HEADER]) return refuse(400, `Send the ${CSRF_HEADER} header`);
  const headers = new Headers();
  if (req.headers.authorization) headers.set('authorization', req.headers.authorization);
  let role: string;
  try {
    ({ role } = await authenticate(new Request('http://stackyard/backup', { headers }), req.socket.remoteAddress));
  } catch (error) {
    const status = (error as { extensions?: { http?: { status?: number } } }).extensions?.http?.status ?? 401;
    return refuse(status, (error as Error).message);
  }
  if (role !== 'admin') return refuse(403, 'Only admins can take a backup');
  if (!database.dumpDataDir) return refuse(409, USE_PG_DUMP);
  const dump = await database.dumpDataDir();
  res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': String(dump.size), 'content-disposition': 'attachment; filename="stackyard-backup.tar.gz"' });
  await pipeline(Readable.fromWeb(dump.stream() as never), res);
}

/** Dumps the embedded database in `dataDir`, which no server may be using (it takes the lock). */
export async function backupDataDir(dataDir: string): Promise<ReadableStream<Uint8Array>> {
  if (!existsSync(join(dataDir, 'PG_VERSION'))) throw new Error(`${dataDir} holds no Stackyard database`);
  const database = await openDatabase({ dataDir });
  try {
    return (await database.dumpDataDir!()).stream();
  } finally {
    await database.close();
  }
}

export interface RestoreOptions {
  /** Replace what the directory holds; without it a directory with files in it is refused. */
  force?: boolean;
}

/**
 * Restores the dump in `file` into `dataDir`. The dump is loaded and opened in a directory of its
 * own first, so a file that is no backup leaves the database in `dataDir` as it was.
 */
export async function restoreDataDir(file: string, dataDir: string, options: RestoreOptions = {}): Promise<void> {
  if (!existsSync(file)) throw new Error(`There is no backup file ${file}`);
  const dump = new Blob([readFileSync(file)]);
  mkdirSync(dataDir, { recursive: true });
  const lock = lockDataDir(dataDir);
  try {
    // Inside the directory rather than beside it: a mounted volume's parent may not be writable.
    const staging = join(dataDir, STAGING_DIR_NAME);
    rmSync(staging, { recursive: true, force: true });
    const existing = readdirSync(dataDir).filter((name) => name !== LOCK_FILE_NAME);
    if (existing.length > 0 && !options.force) {
      throw new Error(`${dataDir} is not empty; pass --force to replace the database in it with the backup`);
    }
    mkdirSync(staging);
    try {
      await loadDump(dump, staging, file);
      rmSync(join(staging, LOCK_FILE_NAME), { force: true }); // the dumped server's lock
      for (const name of existing) rmSync(join(dataDir, name), { recursive: true, force: true });
      for (const name of readdirSync(staging)) renameSync(join(staging, name), join(dataDir, name));
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  } finally {
    lock.release();
  }
}

async function loadDump(dump: Blob, dir: string, file: string): Promise<void> {
  let client: PGlite | undefined;
  try {
    client = new PGlite(dir, { loadDataDir: dump });
    await client.waitReady;
    await client.query('SELECT 1');
  } catch {
    throw new Error(`${file} is not a backup made by \`stackyard db backup\`; nothing was restored`);
  } finally {
    await client?.close().catch(() => {});
  }
}
