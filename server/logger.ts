// The server's one logger: JSON lines on stdout, level from LOG_LEVEL (default info).
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: undefined });
}
