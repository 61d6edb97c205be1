// Where the client finds its server: options, then STACKYARD_URL / STACKYARD_TOKEN,
// then the config file `stackyard connect` writes, then the local default.
import { chmodSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const DEFAULT_SERVER_URL = 'http://127.0.0.1:8080';

export interface ConnectionSettings {
  /** The server's GraphQL endpoint. */
  url: string;
  token?: string;
}

export interface ConnectionOptions {
  url?: string;
  token?: string;
  /** Directory of config.json; STACKYARD_CONFIG_DIR, else ~/.stackyard. */
  configDir?: string;
  env?: NodeJS.ProcessEnv;
}

interface ConfigFile {
  url?: string;
  token?: string;
}

export function configFilePath(options: Pick<ConnectionOptions, 'configDir' | 'env'> = {}): string {
  const env = options.env ?? process.env;
  return join(options.configDir ?? env.STACKYARD_CONFIG_DIR ?? join(homedir(), '.stackyard'), 'config.json');
}

export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as ConfigFile) : {};
  } catch {
    throw new Error(`${path} is not valid JSON; run \`stackyard connect\` to rewrite it`);
  }
}

/** Writes the config file atomically and readable only by its owner, since it may hold a token. */
export function writeConfigFile(path: string, config: ConfigFile): void {
  mkdirSync(join(path, '..'), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

/** Accepts the server's base URL or its /graphql endpoint, and answers the endpoint. */
export function graphqlEndpoint(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`"${url}" is not a URL; expected something like ${DEFAULT_SERVER_URL}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`"${url}" is not an http(s) URL`);
  }
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/graphql';
  return parsed.toString();
}

export function resolveConnectionSettings(options: ConnectionOptions = {}): ConnectionSettings {
  const env = options.env ?? process.env;
  const needsFile = !(options.url ?? env.STACKYARD_URL) || !(options.token ?? env.STACKYARD_TOKEN);
  const file = needsFile ? readConfigFile(configFilePath(options)) : {};
  const url = options.url ?? (env.STACKYARD_URL || undefined) ?? file.url ?? DEFAULT_SERVER_URL;
  const token = options.token ?? (env.STACKYARD_TOKEN || undefined) ?? file.token;
  return { url: graphqlEndpoint(url), ...(token ? { token } : {}) };
}
