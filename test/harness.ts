// Starts real Stackyard servers for tests: always on the embedded PGlite database, and also on
// real Postgres when STACKYARD_TEST_DATABASE_URL is set. Each server gets a database of its own.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, onTestFinished } from 'vitest';
import { startServer, type RunningServer } from '../server/http-server';
import { createLogger, type Logger } from '../server/logger';

export interface DatabaseTarget {
  name: 'pglite' | 'postgres';
  /** Admin URL of the Postgres server; a fresh database is created on it per test server. */
  adminUrl?: string;
}

const postgresUrl = process.env.STACKYARD_TEST_DATABASE_URL;
// STACKYARD_TEST_TARGETS=postgres lets CI run the Postgres pass without repeating the PGlite one.
const wanted = new Set((process.env.STACKYARD_TEST_TARGETS ?? 'pglite,postgres').split(',').map((t) => t.trim()));

export const databaseTargets: DatabaseTarget[] = [
  ...(wanted.has('pglite') ? [{ name: 'pglite' as const }] : []),
  ...(postgresUrl && wanted.has('postgres') ? [{ name: 'postgres' as const, adminUrl: postgresUrl }] : []),
];
if (databaseTargets.length === 0) {
  throw new Error('No test database: set STACKYARD_TEST_DATABASE_URL or include pglite in STACKYARD_TEST_TARGETS');
}

export interface GraphQLResponse<T = any> {
  status: number;
  headers: Headers;
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

export interface TestServer {
  url: string;
  server: RunningServer;
  /** The database's URL on Postgres, or the PGlite directory. */
  databaseLocation: string;
  /** Sends one GraphQL operation over HTTP and answers the parsed response. */
  request<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>>;
  /** Like request, but fails the test on any GraphQL error and answers `data`. */
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<T>;
  close(): Promise<void>;
}

export async function createTestDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `stackyard_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/**
 * A fresh, empty database for the target (a PGlite directory or a Postgres URL), removed when
 * the test finishes: for tests that start several servers on one database in turn.
 */
export async function freshDatabaseLocation(target: DatabaseTarget): Promise<string> {
  if (target.name === 'pglite') {
    const dir = mkdtempSync(join(tmpdir(), 'stackyard-test-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }
  const database = await createTestDatabase(target.adminUrl!);
  onTestFinished(() => database.drop());
  return database.url;
}

export interface StartOptions {
  /** Reuse this database (a PGlite directory or a Postgres URL) instead of a fresh one. */
  databaseLocation?: string;
  /** Keep the database when the server closes, to start another server on it. */
  keepDatabase?: boolean;
  /** Fail runs silent for this long (the server's default is 10 minutes). */
  heartbeatTimeoutMs?: number;
  /** Require API tokens, with this admin token. Without it the server runs in local mode. */
  adminToken?: string;
  /** Where the server logs; silent (or STACKYARD_TEST_LOG_LEVEL) by default. */
  logger?: Logger;
  /** Require API tokens; a first start announces the admin token through announceAdminToken. */
  auth?: boolean;
  announceAdminToken?: (token: string) => void;
  /** Interface to listen on; 127.0.0.1 by default. */
  host?: string;
  /** The key for secrets at rest; TEST_SECRET_KEY by default. */
  secretKey?: string;
  /** Run only persisted operations (the allow-list mode). */
  persistedOperationsOnly?: boolean;
  /** Largest request body accepted; the server's default is 1 MiB. */
  maxBodyBytes?: number;
}

/**
 * One key for every test server in this process, so a server restarted on the same database
 * can still decrypt the secrets the first one stored.
 */
export const TEST_SECRET_KEY = randomBytes(32).toString('base64');

export async function startTestServer(target: DatabaseTarget, options: StartOptions = {}): Promise<TestServer> {
  let databaseLocation = options.databaseLocation;
  let dropDatabase: (() => Promise<void>) | undefined;
  if (!databaseLocation) {
    if (target.name === 'postgres') {
      const database = await createTestDatabase(target.adminUrl!);
      databaseLocation = database.url;
      dropDatabase = database.drop;
    } else {
      databaseLocation = mkdtempSync(join(tmpdir(), 'stackyard-test-'));
      dropDatabase = async () => rmSync(databaseLocation!, { recursive: true, force: true });
    }
  }
  const server = await startServer({
    host: options.host ?? '127.0.0.1',
    port: 0,
    dataDir: target.name === 'pglite' ? databaseLocation : '',
    databaseUrl: target.name === 'postgres' ? databaseLocation : undefined,
    logger: options.logger ?? createLogger(process.env.STACKYARD_TEST_LOG_LEVEL ?? 'silent'),
    heartbeatTimeoutMs: options.heartbeatTimeoutMs,
    adminToken: options.adminToken,
    auth: options.auth,
    announceAdminToken: options.announceAdminToken,
    secretKey: options.secretKey ?? TEST_SECRET_KEY,
    persistedOperationsOnly: options.persistedOperationsOnly,
    maxBodyBytes: options.maxBodyBytes,
  });
  try {
    await server.ready;
  } catch (error) {
    await server.close();
    if (!options.keepDatabase) await dropDatabase?.();
    throw error;
  }

  async function request<T>(query: string, variables?: Record<string, unknown>, token = options.adminToken): Promise<GraphQLResponse<T>> {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: GraphQLResponse['errors'] };
    return { status: response.status, headers: response.headers, ...body };
  }

  return {
    url: server.url,
    server,
    databaseLocation,
    request,
    async gql<T>(query: string, variables?: Record<string, unknown>, token?: string) {
      const response = await request<T>(query, variables, token);
      if (response.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(response.errors)}`);
      return response.data as T;
    },
    async close() {
      await server.close();
      if (!options.keepDatabase) await dropDatabase?.();
    },
  };
}

/** A name no other test uses, so tests can share one server. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Starts one server for the enclosing describe block and closes it afterwards. */
export function useTestServer(target: DatabaseTarget, options: StartOptions = {}): () => TestServer {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startTestServer(target, options);
  });
  afterAll(async () => {
    await server?.close();
  });
  return () => {
    if (!server) throw new Error('the test server has not started');
    return server;
  };
}

/** Waits for a condition checked every 200 ms, failing after two minutes: a busy machine is slow, not broken. */
/** The database id inside a GraphQL global id (`Type:uuid`, base64), for a test's own SQL session. */
export const databaseId = (id: string) => Buffer.from(id, 'base64').toString().split(':')[1];

export async function until<T>(what: string, check: () => Promise<T | undefined | null | false> | T | undefined | null | false): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
