// Server settings from flags, then environment, then defaults.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ServerConfig } from './http-server';

export const SERVER_USAGE = `Usage: stackyard server start [options]

Options:
  --host HOST              interface to listen on (env HOST, default 127.0.0.1)
  --port PORT              port to listen on (env PORT, default 8080)
  --data-dir DIR           embedded database directory (env STACKYARD_DATA_DIR, default ~/.stackyard/db)
  --database-url URL       use this Postgres instead of the embedded database (env DATABASE_URL)
  --heartbeat-timeout SEC  fail runs silent for this long (env STACKYARD_HEARTBEAT_TIMEOUT, default 600)
  -h, --help               show this help`;

export function defaultDataDir(): string {
  return join(homedir(), '.stackyard', 'db');
}

export function parseServerConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      'database-url': { type: 'string' },
      'heartbeat-timeout': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const portText = values.port ?? env.PORT ?? '8080';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be a port number, not "${portText}"`);
  }
  const databaseUrl = values['database-url'] ?? (env.DATABASE_URL || undefined);
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new Error('--database-url must be a postgres:// URL');
  }
  const timeoutText = values['heartbeat-timeout'] ?? env.STACKYARD_HEARTBEAT_TIMEOUT ?? '600';
  const timeoutSeconds = Number(timeoutText);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new Error(`--heartbeat-timeout must be a number of seconds, not "${timeoutText}"`);
  }
  return {
    heartbeatTimeoutMs: timeoutSeconds * 1000,
    host: values.host ?? env.HOST ?? '127.0.0.1',
    port,
    dataDir: values['data-dir'] ?? (env.STACKYARD_DATA_DIR || defaultDataDir()),
    databaseUrl,
  };
}
