// The server process: health and readiness, data that outlives a restart, migrations when two
// servers start together, graceful shutdown on signals, flags and environment, the request log
// line, and error masking. In-process servers for most of it; the real `stackyard server start`
// process (what `npm start` runs) wherever signals, exit codes or stdout are what is being tested.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { pino } from 'pino';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { startServer, type RunningServer } from '../server/http-server';
import { MIGRATION_LOCK_KEY } from '../server/db/database';
import { createLogger } from '../server/logger';
import { createTestDatabase, databaseTargets, startTestServer, TEST_SECRET_KEY, type DatabaseTarget } from './harness';

const root = fileURLToPath(new URL('..', import.meta.url));
const stackyardBin = join(root, 'bin', 'stackyard.js');
const migrationFolders = readdirSync(join(root, 'drizzle')).filter((entry) => statSync(join(root, 'drizzle', entry)).isDirectory());
const postgresTarget = databaseTargets.find((target) => target.name === 'postgres');
const pgliteTarget = databaseTargets.find((target) => target.name === 'pglite');

// Holding the server's migration lock keeps a Postgres server in its starting state.

const ACTIVE_STACK = 'query ActiveStack { activeStack { name } }';

// A gate in front of the migration step of in-process servers, open unless a test closes it.
// On PGlite nothing else can hold a starting server back: preparing a fresh PGlite database
// blocks the event loop for seconds, and the migrations then finish within the same stretch, so
// a request sent "before ready" is only answered once the server is ready (measured: a request
// sent 600 ms after listen was answered with 200). The readiness test closes the gate on PGlite;
// on Postgres it holds the real migration lock instead. Spawned processes are not affected.
const migrationGate = vi.hoisted(() => ({ open: Promise.resolve(), reached: false }));
vi.mock('../server/db/database', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../server/db/database')>();
  return {
    ...actual,
    async openDatabase(options: Parameters<typeof actual.openDatabase>[0]) {
      const handle = await actual.openDatabase(options);
      return {
        ...handle,
        async migrate(afterMigrate?: Parameters<typeof handle.migrate>[0]) {
          migrationGate.reached = true;
          await migrationGate.open;
          return handle.migrate(afterMigrate);
        },
      };
    },
  };
});

// ---------------------------------------------------------------------------------------------
// Helpers

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh, empty database for the target (a PGlite directory or a Postgres URL), removed after the test. */
async function freshDatabase(target: DatabaseTarget): Promise<string> {
  if (target.name === 'pglite') return tempDir('stackyard-server-test-');
  const database = await createTestDatabase(target.adminUrl!);
  onTestFinished(() => database.drop());
  return database.url;
}

/** Starts an in-process server with startServer itself, closed after the test; does not await `ready`. */
async function startRawServer(target: DatabaseTarget, location: string, logger = createLogger('silent')): Promise<RunningServer> {
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir: target.name === 'pglite' ? location : '',
    databaseUrl: target.name === 'postgres' ? location : undefined,
    logger,
  });
  // Registered after freshDatabase's cleanup, so it runs first (onTestFinished runs in reverse).
  onTestFinished(() => server.close());
  return server;
}

/**
 * One HTTP request on a connection of its own, answering the parsed JSON body. Not fetch: its
 * pooled keep-alive connections can be reset when an in-process server has just had its event loop
 * blocked (preparing a fresh PGlite database does that for seconds).
 */
function httpJson(method: 'GET' | 'POST', url: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = payload
      ? { 'content-type': 'application/json', accept: 'application/graphql-response+json', 'content-length': Buffer.byteLength(payload) }
      : {};
    const request = httpRequest(url, { method, agent: false, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.once('error', reject);
      response.once('end', () => {
        try {
          resolve({ status: response.statusCode!, body: JSON.parse(text) });
        } catch {
          reject(new Error(`${method} ${url} answered ${response.statusCode} with a body that is not JSON: ${text}`));
        }
      });
    });
    request.once('error', reject);
    request.end(payload);
  });
}

function postGraphQL(url: string, query: string, variables?: Record<string, unknown>): Promise<{ status: number; body: any }> {
  return httpJson('POST', `${url}/graphql`, { query, variables });
}

function getJson(url: string): Promise<{ status: number; body: any }> {
  return httpJson('GET', url);
}

/** Polls `check` until it answers something other than undefined, or fails after `timeoutMs`. */
// Generous: on a machine shared with other work a start can take many times its idle figure.
async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

function parseLogLines(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

interface ServerProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  logLines(): LogLine[];
  /** Settles when the process has exited and its output is read to the end. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
}

/**
 * Spawns `stackyard server start` as `npm start` does; the process group is killed after the test.
 * `terminal` runs it under a pseudo-terminal (util-linux `script`), as a person at a shell would.
 */
function spawnServer(args: string[], env: Record<string, string> = {}, { terminal = false } = {}): ServerProcess {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  // Settings of the environment running the tests must not leak into the server under test.
  for (const name of Object.keys(childEnv)) if (name.startsWith('STACKYARD_')) delete childEnv[name];
  for (const name of ['PORT', 'HOST', 'DATABASE_URL', 'LOG_LEVEL']) delete childEnv[name];
  // The key comes with the test, so no server under test creates ~/.stackyard/secret.key.
  Object.assign(childEnv, { STACKYARD_SECRET_KEY: TEST_SECRET_KEY }, env);
  // detached: its own process group, so cleanup reaches any child process too.
  const command = [process.execPath, stackyardBin, 'server', 'start', ...args];
  const [file, ...fileArgs] = terminal ? ['script', '-qec', command.map(shellQuote).join(' '), '/dev/null'] : command;
  const child = spawn(file, fileArgs, { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  onTestFinished(async () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
    await exited;
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    logLines: () => parseLogLines(stdout),
    exited,
    hasExited: () => done,
  };
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

const hasScript = spawnSync('script', ['--version']).status === 0;

/** Polls GET /ready until it answers 200; fails early, with the output, if the process exits. */
async function waitUntilReady(server: ServerProcess, port: number): Promise<void> {
  await waitFor(`/ready on port ${port}`, async () => {
    if (server.hasExited()) {
      throw new Error(`the server exited before it was ready:\n${server.stdout()}\n${server.stderr()}`);
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      return response.status === 200 ? true : undefined;
    } catch {
      return undefined;
    }
  });
}

function waitForLog(server: ServerProcess, what: string, match: (line: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> {
  return waitFor(`log line ${what}`, () => server.logLines().find(match), timeoutMs);
}

/** Arguments that point a spawned server at a fresh database of the target. */
async function databaseArgs(target: DatabaseTarget): Promise<string[]> {
  const args = ['--data-dir', tempDir('stackyard-process-')];
  if (target.name === 'postgres') args.push('--database-url', await freshDatabase(target));
  return args;
}

async function startProcess(target: DatabaseTarget, env: Record<string, string> = {}): Promise<{ server: ServerProcess; port: number }> {
  const port = await freePort();
  const server = spawnServer(['--port', String(port), ...(await databaseArgs(target))], env);
  await waitUntilReady(server, port);
  return { server, port };
}

// ---------------------------------------------------------------------------------------------
// Tests on every database target

describe.each(databaseTargets)('server on $name', (target) => {
  it('answers /health and /ready with 200 once ready', async () => {
    const server = await startTestServer(target);
    onTestFinished(() => server.close());
    expect(await getJson(`${server.url}/health`)).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await getJson(`${server.url}/ready`)).toEqual({ status: 200, body: { status: 'ready' } });
  });

  it('answers 503 on /ready and /graphql until migrations are done', async () => {
    const location = await freshDatabase(target);
    let release: () => Promise<void>;
    let lock: pg.Client | undefined;
    if (target.name === 'postgres') {
      // On Postgres a real lock does it: hold the migration lock so the server waits for it.
      const client = new pg.Client({ connectionString: location });
      lock = client;
      await client.connect();
      onTestFinished(() => client.end());
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      release = async () => {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      };
    } else {
      let open!: () => void;
      migrationGate.open = new Promise<void>((resolve) => (open = resolve));
      migrationGate.reached = false;
      release = async () => {
        open();
        migrationGate.open = Promise.resolve();
      };
    }
    let released = false;
    const releaseOnce = async () => {
      if (released) return;
      released = true;
      await release();
    };

    const server = await startRawServer(target, location);
    // Registered after the server's close, so it runs before it: close() waits for the migration.
    onTestFinished(releaseOnce);
    let settled = false;
    server.ready.then(
      () => (settled = true),
      () => (settled = true),
    );
    if (lock) {
      // The server is now provably stuck in its migration step, waiting for the lock we hold.
      await waitFor('the server to wait for the migration lock', async () => {
        const { rows } = await lock!.query(
          `SELECT count(*)::int AS waiting FROM pg_locks
           WHERE locktype = 'advisory' AND NOT granted AND objid = $1
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          [MIGRATION_LOCK_KEY],
        );
        return rows[0].waiting > 0 ? true : undefined;
      });
    } else {
      await waitFor('the server to reach its migration step', () => (migrationGate.reached ? true : undefined));
    }

    const ready = await getJson(`${server.url}/ready`);
    const graphql = await postGraphQL(server.url, ACTIVE_STACK);
    const health = await getJson(`${server.url}/health`);
    expect(settled).toBe(false);
    expect(ready).toEqual({ status: 503, body: { status: 'starting' } });
    expect(graphql.status).toBe(503);
    expect(graphql.body.errors[0].message).toMatch(/starting/);
    expect(health).toEqual({ status: 200, body: { status: 'starting' } });

    await releaseOnce();
    await server.ready;
    expect(await getJson(`${server.url}/ready`)).toEqual({ status: 200, body: { status: 'ready' } });
    const after = await postGraphQL(server.url, ACTIVE_STACK);
    expect(after).toEqual({ status: 200, body: { data: { activeStack: { name: 'default' } } } });
  });

  it('keeps data across a restart on the same database', async () => {
    const databaseLocation = await freshDatabase(target);
    const first = await startTestServer(target, { databaseLocation, keepDatabase: true });
    let firstOpen = true;
    onTestFinished(async () => {
      if (firstOpen) await first.close();
    });
    const registered = await first.gql(
      `mutation { registerComponent(type: ARTIFACT_STORE, name: "x", flavor: "local", configuration: {path: "/tmp/x"}) { __typename } }`,
    );
    expect(registered.registerComponent).toEqual({ __typename: 'StackComponent' });
    await first.close();
    firstOpen = false;

    const second = await startTestServer(target, { databaseLocation, keepDatabase: true });
    onTestFinished(() => second.close());
    const data = await second.gql(`{ component(type: ARTIFACT_STORE, name: "x") { name configuration } }`);
    expect(data.component).toEqual({ name: 'x', configuration: { path: '/tmp/x' } });
  });

  it('masks an unexpected error and logs it', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        callback();
      },
    });
    const server = await startRawServer(target, await freshDatabase(target), pino({ level: 'info', base: undefined }, sink));
    await server.ready;
    const before = await postGraphQL(server.url, '{ stacks(first: 10) { ... on QueryStacksConnection { totalCount } } }');
    expect(before.body).toEqual({ data: { stacks: { totalCount: 1 } } });

    // The schema leaves no way to make a resolver fail unexpectedly; a database that no longer
    // matches the code does (an operator's mistake, a half-applied migration).
    await server.database.db.execute(sql`ALTER TABLE stacks RENAME TO stacks_moved_away`);
    const after = await postGraphQL(server.url, '{ stacks(first: 10) { ... on QueryStacksConnection { totalCount } } }');
    expect(after.body.errors).toHaveLength(1);
    expect(after.body.errors[0].message).toBe('Unexpected error.');
    expect(JSON.stringify(after.body)).not.toMatch(/stacks_moved_away|relation|does not exist|select/i);
    const logged = parseLogLines(lines.join('\n')).find((line) => line.msg === 'unexpected error in a resolver');
    expect(logged, lines.join('\n')).toBeDefined();
    expect(logged!.level).toBe(50);
    expect(JSON.stringify(logged!.err)).toMatch(/stacks/);
  });

  it('exits with code 0 and logs "shutting down" on SIGTERM', async () => {
    const { server, port } = await startProcess(target);
    expect((await postGraphQL(`http://127.0.0.1:${port}`, ACTIVE_STACK)).body).toEqual({ data: { activeStack: { name: 'default' } } });
    server.child.kill('SIGTERM');
    const { code, signal } = await server.exited;
    expect({ code, signal }, server.stderr()).toEqual({ code: 0, signal: null });
    expect(server.logLines()).toContainEqual(expect.objectContaining({ level: 30, msg: 'shutting down', signal: 'SIGTERM' }));
  });

  it('finishes a request that is in flight when SIGTERM arrives', async () => {
    const { server, port } = await startProcess(target);
    const body = JSON.stringify({ query: ACTIVE_STACK });
    // Expect: 100-continue makes the server say when it has taken the request (headers parsed,
    // handler running); the body is held back until the shutdown has begun.
    const request = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/graphql',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        'content-length': Buffer.byteLength(body),
        expect: '100-continue',
      },
    });
    const taken = new Promise<void>((resolve) => request.once('continue', () => resolve()));
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      request.once('error', reject);
      request.once('response', (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.once('end', () => resolve({ status: res.statusCode!, body: text }));
        res.once('error', reject);
      });
    });
    response.catch(() => {});
    request.flushHeaders();
    await taken;

    server.child.kill('SIGTERM');
    await waitForLog(server, '"shutting down"', (line) => line.msg === 'shutting down');
    // The server has stopped listening: new connections are refused, ours is still open.
    await expect(getJson(`http://127.0.0.1:${port}/health`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(server.hasExited()).toBe(false);

    request.end(body);
    const answered = await response;
    expect(answered.status).toBe(200);
    expect(JSON.parse(answered.body)).toEqual({ data: { activeStack: { name: 'default' } } });
    const { code } = await server.exited;
    expect(code, server.stderr()).toBe(0);
  });

  it('logs one info line per request with method, path, status and SQL statement count', async () => {
    const { server, port } = await startProcess(target);
    const isGraphQLLine = (line: LogLine) => line.msg === 'request' && line.path === '/graphql';
    expect(server.logLines().filter(isGraphQLLine)).toEqual([]);

    const answer = await postGraphQL(`http://127.0.0.1:${port}`, ACTIVE_STACK);
    expect(answer.status).toBe(200);
    const line = await waitForLog(server, 'for POST /graphql', isGraphQLLine);
    expect(line).toMatchObject({ level: 30, method: 'POST', path: '/graphql', status: 200 });
    expect(typeof line.sqlStatements).toBe('number');
    expect(line.sqlStatements).toBeGreaterThan(0);
    expect(typeof line.ms).toBe('number');
    // Exactly one line for the one request.
    expect(server.logLines().filter(isGraphQLLine)).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Postgres only

describe.skipIf(!postgresTarget)('servers sharing one Postgres database', () => {
  it('apply the migrations once when two start together', async () => {
    const database = await createTestDatabase(postgresTarget!.adminUrl!);
    onTestFinished(() => database.drop());
    const config = { host: '127.0.0.1', port: 0, dataDir: '', databaseUrl: database.url, logger: createLogger('silent') };
    const servers = await Promise.all([startServer(config), startServer(config)]);
    for (const server of servers) onTestFinished(() => server.close());
    await Promise.all(servers.map((server) => server.ready));

    for (const server of servers) {
      expect(await postGraphQL(server.url, ACTIVE_STACK)).toEqual({ status: 200, body: { data: { activeStack: { name: 'default' } } } });
    }
    const stacks = await postGraphQL(servers[0].url, '{ stacks(first: 10) { ... on QueryStacksConnection { totalCount edges { node { name } } } } }');
    expect(stacks.body.data.stacks).toEqual({ totalCount: 1, edges: [{ node: { name: 'default' } }] });

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    onTestFinished(() => client.end());
    const tables = await client.query(
      `SELECT table_schema, table_name FROM information_schema.tables WHERE table_name LIKE '%drizzle_migrations%'`,
    );
    expect(tables.rows).toEqual([{ table_schema: 'drizzle', table_name: '__drizzle_migrations' }]);
    const applied = await client.query('SELECT name FROM drizzle.__drizzle_migrations ORDER BY id');
    expect(migrationFolders.length).toBeGreaterThan(0);
    expect(applied.rows).toHaveLength(migrationFolders.length);
  });
});

// ---------------------------------------------------------------------------------------------
// The process's command line and signals, on PGlite only

// The Postgres-only CI pass (STACKYARD_TEST_TARGETS=postgres) leaves these to the PGlite pass.
describe.skipIf(!pgliteTarget)('server process', () => {
  it('exits with code 0 and logs "shutting down" on SIGINT', async () => {
    const { server } = await startProcess(pgliteTarget!);
    server.child.kill('SIGINT');
    const { code, signal } = await server.exited;
    expect({ code, signal }, server.stderr()).toEqual({ code: 0, signal: null });
    expect(server.logLines()).toContainEqual(expect.objectContaining({ msg: 'shutting down', signal: 'SIGINT' }));
  });

  it('listens on the --port flag, which wins over PORT', async () => {
    const [port, envPort] = [await freePort(), await freePort()];
    const server = spawnServer(['--port', String(port), '--data-dir', tempDir('stackyard-process-')], { PORT: String(envPort) });
    await waitUntilReady(server, port);
    expect(await getJson(`http://127.0.0.1:${port}/health`)).toEqual({ status: 200, body: { status: 'ok' } });
    // stdout reaches this process on its own schedule, possibly after the HTTP answer.
    const ready = await waitForLog(server, 'Stackyard is ready', (line) => line.msg === 'Stackyard is ready');
    expect(ready.url).toBe(`http://127.0.0.1:${port}/graphql`);
  });

  it('listens on PORT when no --port flag is given', async () => {
    const port = await freePort();
    const server = spawnServer(['--data-dir', tempDir('stackyard-process-')], { PORT: String(port) });
    await waitUntilReady(server, port);
    expect(await getJson(`http://127.0.0.1:${port}/health`)).toEqual({ status: 200, body: { status: 'ok' } });
    // stdout reaches this process on its own schedule, possibly after the HTTP answer.
    const ready = await waitForLog(server, 'Stackyard is ready', (line) => line.msg === 'Stackyard is ready');
    expect(ready.url).toBe(`http://127.0.0.1:${port}/graphql`);
  });

  it('says on a first start that it creates the database, in JSON lines when stdout is not a terminal', async () => {
    const port = await freePort();
    const dataDir = tempDir('stackyard-process-');
    const first = spawnServer(['--port', String(port), '--data-dir', dataDir]);
    await waitUntilReady(first, port);
    await waitForLog(first, 'Stackyard is ready', (line) => line.msg === 'Stackyard is ready');
    expect(first.logLines()).toContainEqual(expect.objectContaining({ msg: expect.stringMatching(/^first start: creating the database/), dataDir }));
    // Nothing but JSON: no banner, no coloured lines.
    expect(first.stdout().trimEnd().split('\n').filter((line) => !line.startsWith('{'))).toEqual([]);
    first.child.kill('SIGTERM');
    await first.exited;

    const second = spawnServer(['--port', String(port), '--data-dir', dataDir]);
    await waitUntilReady(second, port);
    await waitForLog(second, 'Stackyard is ready', (line) => line.msg === 'Stackyard is ready');
    expect(second.logLines().filter((line) => line.msg.includes('creating the database'))).toEqual([]);
  });

  it.skipIf(!hasScript)('at a terminal prints a banner with the URLs, database and auth mode, and readable log lines', async () => {
    const port = await freePort();
    const dataDir = tempDir('stackyard-process-');
    const server = spawnServer(['--port', String(port), '--data-dir', dataDir], {}, { terminal: true });
    await waitUntilReady(server, port);
    const output = await waitFor('the banner', () => (server.stdout().includes('Ctrl-C stops it') ? server.stdout().replaceAll('\r\n', '\n') : undefined), 30_000);
    expect(output).toContain(`GraphiQL   http://127.0.0.1:${port}/graphql`);
    expect(output).toContain(`Database   PGlite in ${dataDir}`);
    expect(output).toMatch(/Auth +local/);
    expect(output).toMatch(/INFO.*first start: creating the database/);
    expect(output).not.toMatch(/^\{"level"/m);
  });

  it('prints usage and exits with code 0 on --help', async () => {
    const server = spawnServer(['--help']);
    const { code } = await server.exited;
    expect(code, server.stderr()).toBe(0);
    expect(server.stdout()).toMatch(/^Usage: stackyard server start/);
    expect(server.stdout()).toContain('--port PORT');
  });

  it('exits with code 1 and one line on stderr for an invalid --port, like every CLI failure', async () => {
    const server = spawnServer(['--port', 'abc', '--data-dir', tempDir('stackyard-process-')]);
    const { code } = await server.exited;
    expect(code).toBe(1);
    expect(server.stderr()).toBe('Error: --port must be a port number, not "abc"\n');
    expect(server.stdout()).toBe('');
  });
});
