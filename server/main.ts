// `npm start`: runs the server until SIGINT or SIGTERM, then shuts down cleanly with exit code 0.
import { SERVER_USAGE, parseServerConfig } from './config';
import { startServer } from './http-server';
import { createLogger } from './logger';

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(SERVER_USAGE);
  process.exit(0);
}

let config;
try {
  config = parseServerConfig(argv);
} catch (error) {
  console.error(`stackyard: ${(error as Error).message}\n\n${SERVER_USAGE}`);
  process.exit(2);
}

const logger = createLogger();
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
} catch (error) {
  if (stopping) process.exit(0);
  logger.fatal({ err: error }, 'could not prepare the database');
  await server.close();
  process.exit(1);
}
