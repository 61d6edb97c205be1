// The server process behind `stackyard server start` (and `npm start`): runs until SIGINT or
// SIGTERM, then shuts down cleanly with exit code 0. The CLI imports it lazily, so client
// commands never load the server.
import { SERVER_USAGE, parseServerConfig } from './config';
import { startServer } from './http-server';
import { createLogger, terminalDestination } from './logger';
import type { ServerConfig } from './http-server';

/**
 * Starts the server with flags from `argv` and answers once it is ready; the process then
 * lives until a signal. Bad flags and a database that cannot be prepared are thrown as errors
 * with a one-line message, for the CLI to report like any other failure.
 */
export async function runServer(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(SERVER_USAGE);
    return;
  }
  const config = parseServerConfig(argv, env);

  // JSON lines for whatever collects them; readable ones and a banner for a person at a terminal.
  const atTerminal = Boolean(process.stdout.isTTY);
  const logger = createLogger(undefined, atTerminal ? await terminalDestination() : undefined);
  const server = await startServer({ ...config, logger });

  // Installed before the database is ready, so a signal during migrations still shuts down
  // cleanly (close() waits for the migration in progress) instead of killing the process mid-way.
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      server.close().then(
        () => process.exit(0),
        (error) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }

  try {
    await server.ready;
    if (atTerminal && !stopping) process.stdout.write(banner(server.url, config, server.dashboard));
  } catch (error) {
    if (stopping) return; // the signal handler exits once the server is closed
    logger.fatal({ err: error }, 'could not prepare the database');
    await server.close();
    throw new Error(`could not prepare the database: ${(error as Error).message}`, { cause: error });
  }
}

/** What a person starting the server wants to know first: where to go, and what it runs on. */
export function banner(url: string, config: ServerConfig, dashboard: boolean): string {
  const auth = config.auth || config.adminToken ? 'API tokens (sign in with `stackyard login`)' : 'local: no tokens, loopback only, everyone here is admin';
  const lines = [
    ...(dashboard ? [['Dashboard', `${url}/`]] : []),
    ['GraphiQL', `${url}/graphql`],
    ['Database', config.databaseUrl ? `Postgres ${describePostgres(config.databaseUrl)}` : `PGlite in ${config.dataDir}`],
    ['Auth', auth],
  ];
  return `\n  Stackyard is ready\n\n${lines.map(([name, value]) => `  ${name.padEnd(10)} ${value}`).join('\n')}\n\n  Ctrl-C stops it.\n\n`;
}

/** host:port/database of a Postgres URL, never its password. */
function describePostgres(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  return `${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
}
