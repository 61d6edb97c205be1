// The rules of the worker registry: worker processes of remote orchestrators report themselves
// with heartbeats, and `workers` lists the ones seen recently.
import { eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { ValidationError } from '../errors';
import { stepRuns } from '../runs/run-tables';
import { validateName } from '../validation';
import { workerCurrentSteps, workers } from './worker-tables';

export type WorkerRow = typeof workers.$inferSelect;

export const MAX_CURRENT_STEPS = 1000;
export const MAX_CONCURRENCY = 10_000;

export interface WorkerHeartbeatInput {
  name: string;
  host: string;
  pid: number;
  queue: string;
  concurrency: number;
  /** Database ids of the step runs the worker runs now. */
  currentStepRunIds: string[];
  stack?: string | null;
  /** The process's last heartbeat: it takes no more steps and exits. */
  stopping?: boolean | null;
}

/**
 * Records that a worker is alive and what it runs. The worker is created on its first heartbeat;
 * a new process under the same name (another host or pid) starts its `startedAt` again. Step
 * runs that no longer exist (their run was deleted) are left out rather than refused: the
 * worker's report is still true of everything else. A worker that stops says so in its last
 * heartbeat; any later one (the same name started again) makes it a running worker again.
 */
export async function recordWorkerHeartbeat(db: Database, input: WorkerHeartbeatInput): Promise<WorkerRow> {
  const values = {
    name: validateName(input.name, 'input.name'),
    host: validateName(input.host, 'input.host'),
    pid: input.pid,
    queue: validateName(input.queue, 'input.queue'),
    concurrency: input.concurrency,
    stack: input.stack == null ? null : validateName(input.stack, 'input.stack'),
  };
  if (values.pid < 0) throw new ValidationError('input.pid must not be negative', 'input.pid');
  if (values.concurrency < 1 || values.concurrency > MAX_CONCURRENCY) {
    throw new ValidationError(`input.concurrency must be between 1 and ${MAX_CONCURRENCY}`, 'input.concurrency');
  }
  if (input.currentStepRunIds.length > MAX_CURRENT_STEPS) {
    throw new ValidationError(`input.currentStepRunIds holds at most ${MAX_CURRENT_STEPS} ids`, 'input.currentStepRunIds');
  }
  const stepRunIds = [...new Set(input.currentStepRunIds)];
  return db.transaction(async (tx) => {
    const [worker] = await tx
      .insert(workers)
      .values({ ...values, startedAt: sql`clock_timestamp()`, lastSeenAt: sql`clock_timestamp()`, stoppedAt: input.stopping ? sql`clock_timestamp()` : null })
      .onConflictDoUpdate({
        target: workers.name,
        set: {
          host: sql`excluded.host`,
          pid: sql`excluded.pid`,
          queue: sql`excluded.queue`,
          concurrency: sql`excluded.concurrency`,
          stack: sql`excluded.stack`,
          lastSeenAt: sql`excluded.last_seen_at`,
          stoppedAt: sql`excluded.stopped_at`,
          startedAt: sql`case when ${workers.host} = excluded.host and ${workers.pid} = excluded.pid then ${workers.startedAt} else excluded.started_at end`,
        },
      })
      .returning();
    await tx.delete(workerCurrentSteps).where(eq(workerCurrentSteps.workerId, worker.id));
    if (stepRunIds.length > 0) {
      await tx.insert(workerCurrentSteps).select(
        tx
          .select({ workerId: sql`${worker.id}::uuid`.as('worker_id'), stepRunId: stepRuns.id })
          .from(stepRuns)
          .where(inArray(stepRuns.id, stepRunIds)),
      );
    }
    return worker;
  });
}
