// Runs whose process died would stay `running` forever; this sweep fails them with a reason
// once they have been silent for longer than the heartbeat timeout.
import type { Database } from '../db/database';
import type { Logger } from '../logger';
import { expireSilentRuns } from './run-service';

const MAX_SWEEP_INTERVAL_MS = 30_000;

export function startRunExpiry(db: Database, timeoutMs: number, logger: Logger): { stop(): Promise<void> } {
  // Sweeping four times per timeout keeps a dead run's status wrong for at most 1.25 timeouts.
  const intervalMs = Math.max(50, Math.min(MAX_SWEEP_INTERVAL_MS, timeoutMs / 4));
  let sweeping: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    sweeping = expireSilentRuns(db, timeoutMs).then(
      (count) => {
        if (count > 0) logger.info({ runs: count, timeoutMs }, 'failed runs that stopped sending heartbeats');
      },
      (error) => logger.error({ err: error }, 'run expiry sweep failed'),
    );
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await sweeping;
    },
  };
}
