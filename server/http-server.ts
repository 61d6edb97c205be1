// The HTTP server: /graphql (GraphiQL in a browser), /health and /ready, /backup (admins),
// /artifacts/<id>/content (image previews), one
// log line per request, and a shutdown that lets in-flight requests finish before the database
// closes. It listens before it loads the database and the GraphQL schema, so /health answers
// while they load and a fresh PGlite database is created.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import sirv from 'sirv';
import type { AddressInfo } from 'node:net';
import { packageFile } from '../client/package-files';
import type { StackyardApp } from './app';
import { contentPathVersion } from './artifacts/artifact-content-path';
import type { DatabaseHandle } from './db/database';
import { createLogger, type Logger } from './logger';
import type { QueryLimits } from './plugins/use-query-limits';
import type { RequestLogFields } from './plugins/use-statement-count';
import type { startRunUpdates } from './runs/run-events';
import { loadSecretKey } from './secret-key';
import type { Authenticator, AuthMode } from './users/authentication';

export interface ServerConfig {
  /** Interface to listen on. Default 127.0.0.1. */
  host: string;
  /** Port to listen on; 0 picks a free one. Default 8080. */
  port: number;
  /** Directory of the embedded database, used when no databaseUrl is given. */
  dataDir: string;
  /** postgres:// URL of a real Postgres database. */
  databaseUrl?: string;
  /** A run with no heartbeat or report for this long is failed. Default 10 minutes. */
  heartbeatTimeoutMs?: number;
  logger?: Logger;
  queryLimits?: QueryLimits;
  /** Largest request body accepted, in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Run only the operations of Stackyard's clients (persisted operations). Default false. */
  persistedOperationsOnly?: boolean;
  /** Require API tokens. Without it the server must listen on loopback only, as the local admin. */
  auth?: boolean;
  /** A token the admin user can always sign in with; implies auth. Otherwise a first start prints one. */
  adminToken?: string;
  /** Encryption key for secrets at rest (32 bytes, base64 or hex); else read from secretKeyFile. */
  secretKey?: string;
  /** Where the key is kept, created on first start when missing. */
  secretKeyFile?: string;
  /** The built dashboard served at `/`; default dashboard/dist. */
  dashboardDir?: string;
  /** Receives the admin token a first start with auth creates; default: printed on stderr. */
  announceAdminToken?: (token: string) => void;
}

/** Whether an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

export interface RunningServer {
  /** Base URL, such as http://127.0.0.1:8080. */
  url: string;
  /** Settles when migrations are applied and the GraphQL endpoint answers. */
  ready: Promise<void>;
  /** Whether a built dashboard is served at `/`. */
  dashboard: boolean;
  database: DatabaseHandle;
  /** Stops accepting connections, lets in-flight requests finish, then closes the database. */
  close(): Promise<void>;
}

const SHUTDOWN_GRACE_MS = 10_000;
/** Where an admin takes a backup of the embedded database (server/db/backup.ts). */
export const BACKUP_PATH = '/backup';
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 10 * 60_000;

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const logger = config.logger ?? createLogger();
  const authRequired = Boolean(config.auth || config.adminToken);
  if (!authRequired && !isLoopback(config.host)) {
    throw new Error(
      `Refusing to listen on ${config.host} without auth: anyone who can reach it would be admin. ` +
        'Start with --auth (or STACKYARD_AUTH=1, or STACKYARD_ADMIN_TOKEN), or listen on 127.0.0.1.',
    );
  }
  const secretKey = loadSecretKey({ secretKey: config.secretKey, secretKeyFile: config.secretKeyFile ?? defaultSecretKeyFile() });
  /** The database once open, for the routes that use it before the app does. */
  let opened: DatabaseHandle | undefined;
  let app: StackyardApp | undefined;
  let authenticate: Authenticator | undefined;
  let serveContent: ((req: IncomingMessage, res: ServerResponse, versionId: string) => Promise<void>) | undefined;
  let runExpiry: { stop(): Promise<void> } | undefined;
  let runUpdates: Awaited<ReturnType<typeof startRunUpdates>> | undefined;
  let closing: Promise<void> | undefined;
  const heartbeatTimeoutMs = config.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;

  // The built dashboard, when there is one: any path that is not the API serves its files, and
  // unknown paths its index.html, so the dashboard's own routes work as deep links.
  const dashboardDir = config.dashboardDir ?? DEFAULT_DASHBOARD_DIR;
  const serveDashboard = existsSync(join(dashboardDir, 'index.html'))
    ? sirv(dashboardDir, {
        single: true,
        etag: true,
        setHeaders: (res, pathname) => {
          res.setHeader('cache-control', pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
          // sirv's MIME table (mrmime) has no type for .ico, the favicon browsers ask for.
          if (pathname.endsWith('.ico')) res.setHeader('content-type', 'image/x-icon');
        },
      })
    : undefined;
  if (!serveDashboard) logger.warn({ dashboardDir }, 'no built dashboard; / redirects to GraphiQL (build it with npm run build:dashboard)');

  const server = createServer((req, res) => {
    const started = performance.now();
    // While shutting down, answer and hang up, so keep-alive clients do not hold the exit.
    if (closing) res.setHeader('connection', 'close');
    const requestLog: RequestLogFields = {};
    res.on('finish', () => {
      if (closing) server.closeIdleConnections();
      logger.info(
        {
          method: req.method,
          path: req.url?.split('?')[0],
          status: res.statusCode,
          ms: Math.round((performance.now() - started) * 10) / 10,
          ...(requestLog.operationName ? { operation: requestLog.operationName } : {}),
          ...(requestLog.statements !== undefined ? { sqlStatements: requestLog.statements } : {}),
        },
        'request',
      );
    });
    route(req, res, requestLog).catch((error) => {
      logger.error({ err: error }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.end();
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse, requestLog: RequestLogFields): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    // Alive, whether or not it can serve yet: /ready says that.
    if (path === '/health') return sendJson(res, 200, { status: app ? 'ok' : 'starting' });
    if (path === '/ready') {
      const ready = app !== undefined && opened !== undefined && (await opened.ping());
      return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'starting' });
    }
    if (path === BACKUP_PATH) {
      if (!app || !authenticate || !opened) return sendJson(res, 503, { error: 'The server is starting; try again shortly.' });
      const { serveBackup } = await import('./db/backup');
      return serveBackup(req, res, opened, authenticate);
    }
    const contentVersion = contentPathVersion(path);
    if (contentVersion !== null) {
      if (!serveContent) return sendJson(res, 503, { error: 'The server is starting; try again shortly.' });
      return serveContent(req, res, contentVersion);
    }
    if (path !== '/graphql' && serveDashboard) {
      serveDashboard(req, res, () => sendJson(res, 404, { error: 'not found' }));
      return;
    }
    if (path === '/') {
      res.writeHead(302, { location: '/graphql' }).end();
      return;
    }
    if (path === '/graphql') {
      if (!app) return sendJson(res, 503, { errors: [{ message: 'The server is starting; try again shortly.' }] });
      // The listener accepts extra server context at run time though its type does not say so.
      const listener = app.requestListener as (...args: unknown[]) => Promise<void>;
      await listener(req, res, { requestLog, remoteAddress: req.socket.remoteAddress });
      return;
    }
    sendJson(res, 404, { error: 'not found' });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Loaded and opened once listening: they take seconds on a busy machine, a fresh PGlite
  // directory longest, and /health answers meanwhile. The schema and its libraries load meanwhile too.
  const startupModules = import('./startup-modules');
  startupModules.catch(() => {}); // reported through `ready`
  const database = await import('./db/database')
    .then(({ openDatabase }) =>
      openDatabase({
        databaseUrl: config.databaseUrl,
        dataDir: config.dataDir,
        onCreate: (start) =>
          start === 'from-template'
            ? logger.info({ dataDir: config.dataDir }, 'first start: creating the database')
            : logger.info({ dataDir: config.dataDir }, 'first start: creating the database from scratch, which can take a minute (`npm run build:db-template` makes this fast)'),
      }),
    )
    .catch(async (error: unknown) => {
      // A locked or damaged data directory must not leave a server listening that never serves.
      await new Promise((resolve) => server.close(resolve));
      throw error;
    });
  opened = database;
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  const ready = startupModules
    .then(({ ensureDefaultStack }) =>
      database.migrate(async (db) => {
        await ensureDefaultStack(db);
      }),
    )
    .then(async () => {
      const {
        encryptStoredSecrets,
        bootstrapAdmin,
        ensureLocalUser,
        startRunUpdates,
        createApp,
        createAuthenticator,
        MAX_OUTPUTS_PER_REPORT,
        MAX_BATCHED_OPERATIONS,
        MAX_JSON_DEPTH,
        startRunExpiry,
        serveArtifactContent,
      } = await startupModules;
      await encryptStoredSecrets(database.db, secretKey);
      let mode: AuthMode;
      if (authRequired) {
        const token = await bootstrapAdmin(database.db, config.adminToken, logger);
        if (token) (config.announceAdminToken ?? announceOnStderr)(token);
        mode = { kind: 'tokens' };
      } else {
        mode = { kind: 'local', localUser: await ensureLocalUser(database.db) };
      }
      runUpdates = await startRunUpdates(database);
      authenticate = createAuthenticator({ db: database.db, mode, logger });
      const authenticator = authenticate;
      serveContent = (req, res, versionId) => serveArtifactContent(req, res, versionId, database.db, authenticator, secretKey);
      app = createApp({
        db: database.db,
        authenticate,
        secretKey,
        runUpdates: runUpdates.updates,
        logger,
        queryLimits: config.queryLimits,
        maxBodyBytes: config.maxBodyBytes,
        persistedOperationsOnly: config.persistedOperationsOnly,
        limits: { maxOutputsPerReport: MAX_OUTPUTS_PER_REPORT, maxPageSize: 100, maxJsonDepth: MAX_JSON_DEPTH, heartbeatTimeoutMs, maxBatchedOperations: MAX_BATCHED_OPERATIONS },
      });
      runExpiry = startRunExpiry(database.db, heartbeatTimeoutMs, logger);
      logger.info({ url: `${url}/graphql`, database: database.kind, auth: authRequired ? 'tokens' : 'local' }, 'Stackyard is ready');
    });
  // Callers await `ready`; this only keeps an early failure from being an unhandled rejection.
  ready.catch(() => {});

  return {
    url,
    ready,
    dashboard: serveDashboard !== undefined,
    database,
    close() {
      closing ??= (async () => {
        const forced = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
        forced.unref();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        clearTimeout(forced);
        await ready.catch(() => {});
        await runExpiry?.stop();
        await runUpdates?.stop();
        await database.close();
      })();
      return closing;
    },
  };
}

const DEFAULT_DASHBOARD_DIR = packageFile('dashboard', 'dist');

export function defaultSecretKeyFile(): string {
  return join(homedir(), '.stackyard', 'secret.key');
}

// Printed, not logged: log lines are collected and kept, and this token is shown exactly once.
function announceOnStderr(token: string): void {
  process.stderr.write(
    `\nCreated the admin user. Its API token, shown only this once:\n\n  ${token}\n\n` +
      'Sign in with `stackyard login --url <server> --token <token>`, then create users and tokens.\n\n',
  );
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}
