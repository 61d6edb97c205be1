// The server's one logger: JSON lines on stdout, level from LOG_LEVEL (default info). Anything
// that could carry a credential or a secret is redacted, should it ever reach a log call.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

const REDACTED_PATHS = ['authorization', '*.authorization', '*.headers.authorization', 'token', '*.token', 'secrets', '*.secrets', 'variables', '*.variables'];

export function createLogger(level = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const options = { level, base: undefined, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Log lines for a person at a terminal: one readable line per event instead of JSON, written
 * synchronously so they interleave with the banner. Loaded only when wanted.
 */
export async function terminalDestination(): Promise<DestinationStream> {
  const { default: pretty } = await import('pino-pretty');
  return pretty({ sync: true, singleLine: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' });
}
