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
  --auth                   require API tokens (env STACKYARD_AUTH=1); needed to listen beyond loopback.
                           The first start creates the admin user and prints its token once, unless
                           STACKYARD_ADMIN_TOKEN gives one (which also turns auth on)
  --secret-key-file FILE   key that encrypts secrets at rest, created if missing (env
                           STACKYARD_SECRET_KEY_FILE, default ~/.stackyard/secret.key); env
                           STACKYARD_SECRET_KEY gives the key itself (32 bytes, base64 or hex)
  --max-body-bytes N       refuse request bodies over N bytes (env STACKYARD_MAX_BODY_BYTES, default 1048576)
  --persisted-operations-only
                           run only the operations of Stackyard's own clients (env
                           STACKYARD_PERSISTED_OPERATIONS_ONLY=1); GraphiQL then cannot run queries
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
      auth: { type: 'boolean' },
      'secret-key-file': { type: 'string' },
      'max-body-bytes': { type: 'string' },
      'persisted-operations-only': { type: 'boolean' },
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
  const bodyText = values['max-body-bytes'] ?? env.STACKYARD_MAX_BODY_BYTES;
  const maxBodyBytes = bodyText === undefined ? undefined : Number(bodyText);
  if (maxBodyBytes !== undefined && (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1024)) {
    throw new Error(`--max-body-bytes must be a whole number of bytes, at least 1024, not "${bodyText}"`);
  }
  return {
    heartbeatTimeoutMs: timeoutSeconds * 1000,
    maxBodyBytes,
    persistedOperationsOnly: values['persisted-operations-only'] ?? isOn(env.STACKYARD_PERSISTED_OPERATIONS_ONLY),
    host: values.host ?? env.HOST ?? '127.0.0.1',
    port,
    dataDir: values['data-dir'] ?? (env.STACKYARD_DATA_DIR || defaultDataDir()),
    databaseUrl,
    auth: values.auth ?? isOn(env.STACKYARD_AUTH),
    adminToken: env.STACKYARD_ADMIN_TOKEN || undefined,
    secretKey: env.STACKYARD_SECRET_KEY || undefined,
    secretKeyFile: values['secret-key-file'] ?? (env.STACKYARD_SECRET_KEY_FILE || undefined),
  };
}

function isOn(value: string | undefined): boolean {
  return /^(1|true|yes|on)$/i.test(value ?? '');
}
