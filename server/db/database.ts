// Opens the database: real Postgres through a pg pool when a URL is given, otherwise an
// embedded PGlite that keeps its files in a directory on disk. Both speak the same SQL, so
// everything above this module sees one Drizzle database type.
import { mkdirSync } from 'node:fs';
import v8 from 'node:v8';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgAsyncDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { packageFile } from '../../client/package-files';
import { claimPgliteDataDir } from './data-dir-lock';
import { preparePgliteStart, type PgliteStart } from './pglite-template';
import { relations } from './schema';
import { countStatement } from './statement-count';

export type Database = PgAsyncDatabase<PgQueryResultHKT, typeof relations>;
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
/** Anything that can run queries: the database or an open transaction. */
export type Queryable = Database | Transaction;

export interface DatabaseHandle {
  db: Database;
  kind: 'postgres' | 'pglite';
  /** Applies pending migrations; safe to call from several processes at once. */
  migrate(afterMigrate?: (db: Queryable) => Promise<void>): Promise<void>;
  /** Answers whether the database responds to a trivial query. */
  ping(): Promise<boolean>;
  /**
   * Calls `onNotify` with the payload of every NOTIFY on `channel`, from any process using this
   * database. Answers a function that stops listening.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** The embedded database only: a gzipped tar of its directory, for `stackyard db backup`. */
  dumpDataDir?(): Promise<Blob>;
  close(): Promise<void>;
}

export const migrationsFolder = packageFile('drizzle');
// Any fixed number works; it only has to be the same in every Stackyard process.
export const MIGRATION_LOCK_KEY = 0x5a7c_ba2d;

const logger = {
  logQuery() {
    countStatement();
  },
};

export interface DatabaseOptions {
  /** postgres:// URL; without it the embedded database is used. */
  databaseUrl?: string;
  /** Directory for the embedded database's files; `memory://` keeps them in memory. */
  dataDir: string;
  /** Hears, before it starts, that this start creates the embedded database (from the built image or from scratch). */
  onCreate?: (start: Exclude<PgliteStart, 'resume'>) => void;
}

/**
 * Answers the handle once an embedded database's directory is claimed and, on a first start,
 * filled with the built image; PGlite then opens in the background, and `migrate` waits for it.
 */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  return options.databaseUrl ? openPostgres(options.databaseUrl) : openPglite(options.dataDir, options.onCreate);
}

function openPostgres(url: string): DatabaseHandle {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle client that loses its connection emits here; without a listener the process dies.
  pool.on('error', () => {});
  const db = drizzlePg({ client: pool, relations, logger }) as unknown as Database;
  return {
    db,
    kind: 'postgres',
    async migrate(afterMigrate) {
      // drizzle's migrator takes no lock: two servers starting together would both apply the
      // same migration. A session-level advisory lock on one dedicated connection serialises them.
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        try {
          const locked = drizzlePg({ client, relations }) as unknown as Database;
          await migratePg(locked as never, { migrationsFolder });
          await afterMigrate?.(locked);
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
        }
      } finally {
        client.release();
      }
    },
    async ping() {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    async listen(channel, onNotify) {
      // A connection of its own: LISTEN belongs to a session, and the pool's are shared.
      let client: pg.Client | undefined;
      let stopped = false;
      let retryTimer: NodeJS.Timeout | undefined;
      const connect = async () => {
        const next = new pg.Client({ connectionString: url });
        next.on('notification', (message) => {
          if (message.channel === channel) onNotify(message.payload ?? '');
        });
        // A lost connection reconnects after a second; notifications meanwhile are missed.
        next.on('error', () => {
          next.end().catch(() => {});
          if (!stopped) retryTimer = setTimeout(() => void connect().catch(() => {}), 1000);
        });
        await next.connect();
        await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
        client = next;
      };
      await connect();
      return async () => {
        stopped = true;
        clearTimeout(retryTimer);
        await client?.end().catch(() => {});
      };
    },
    async close() {
      await pool.end();
    },
  };
}

/**
 * V8 runs PGlite's Postgres as quickly compiled code first, then recompiles its hot functions
 * with its optimising compiler on background threads, by default on all four of Node's at once.
 * Each thread's malloc arena keeps the compiler's peak memory after it is freed: 60 to 80 MB of
 * the server's resident set at /ready, more than anything else. One compilation at a time
 * optimises the same functions, so warm queries run as fast, for a third of that memory
 * (`npm run bench:start`). V8 reads the setting whenever it schedules compilations, so setting
 * it at runtime works; the server runs no other WebAssembly.
 */
function compileWasmOneFunctionAtATime(): void {
  v8.setFlagsFromString('--wasm-num-compilation-tasks=1');
}

async function openPglite(dataDir: string, onCreate: DatabaseOptions['onCreate']): Promise<DatabaseHandle> {
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  const claim = claimPgliteDataDir(dataDir);
  let options: PGliteOptions;
  try {
    ({ options } = await preparePgliteStart(dataDir, migrationsFolder, onCreate));
  } catch (error) {
    claim.release();
    throw error;
  }
  compileWasmOneFunctionAtATime();
  const client = new PGlite(dataDir, options);
  const opened = claim.opening(client.waitReady);
  opened.catch(() => {}); // reported by migrate, the first thing every caller does
  const db = drizzlePglite({ client, relations, logger }) as unknown as Database;
  return {
    db,
    kind: 'pglite',
    async migrate(afterMigrate) {
      // PGlite is a single in-process connection, so there is nobody to race with.
      await opened;
      await migratePglite(db as never, { migrationsFolder });
      await afterMigrate?.(db);
    },
    async ping() {
      try {
        await client.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    async listen(channel, onNotify) {
      // One in-process database: its NOTIFY reaches this process's listeners, which is all there is.
      const unsubscribe = await client.listen(channel, onNotify);
      return async () => {
        if (!client.closed) await unsubscribe();
      };
    },
    async dumpDataDir() {
      await opened;
      // A checkpoint first leaves little WAL for the restored copy to replay.
      await client.query('CHECKPOINT');
      return client.dumpDataDir('gzip');
    },
    async close() {
      try {
        if (!client.closed) await opened.then(() => client.close(), () => {});
      } finally {
        claim.release();
      }
    },
  };
}

/** Postgres error code of a failed statement, looking through Drizzle's wrapper. */
export function postgresErrorCode(error: unknown): string | undefined {
  for (let current: unknown = error; current; current = (current as { cause?: unknown }).cause) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** The constraint a database error names (pg and PGlite both give it), if any. */
export function postgresErrorConstraint(error: unknown): string | undefined {
  for (let current: unknown = error; current; current = (current as { cause?: unknown }).cause) {
    const constraint = (current as { constraint?: unknown }).constraint;
    if (typeof constraint === 'string') return constraint;
  }
  return undefined;
}

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';
export const DEADLOCK_DETECTED = '40P01';
export const SERIALIZATION_FAILURE = '40001';
