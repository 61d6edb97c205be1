// The rules of the worker registry: worker processes of remote orchestrators report themselves
// with heartbeats, and `workers` lists the ones seen recently.
import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { ValidationError } from '../errors';
import { stepRuns } from '../runs/run-tables';
import { validateName } from '../validation';
import { workerCurrentSteps, workers } from './worker-tables';

export type WorkerRow = typeof workers.$inferSelect;

export const MAX_CURRENT_STEPS = 1000;
/** The first key of the advisory locks that heartbeats take per step (the two-key space: no clash with the migration lock's). */
const WORKER_STEP_LOCK_CLASS = 0x5a7c;
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
  /** How often it sends heartbeats, so the server can tell a worker that went silent. */
  heartbeatIntervalMs?: number | null;
}

/** A worker's heartbeat interval when it did not give one: the worker's default. */
const DEFAULT_WORKER_HEARTBEAT_MS = 5_000;
/** Heartbeats a live worker may miss (a busy machine, a slow request) before it counts as silent. */
const MISSED_HEARTBEATS = 3;
/** Node's longest timer, the longest interval a worker can keep. */
const MAX_HEARTBEAT_INTERVAL_MS = 2_147_483_647;

export type WorkerStatus = 'live' | 'silent' | 'stopped';

/**
 * Whether a worker runs: `stopped` once its last heartbeat said so; `silent` once it has missed
 * three heartbeats without saying it stopped (killed, its machine lost: its steps go to other
 * workers when BullMQ's stalled check gives them away); `live` otherwise.
 */
export function workerStatus(worker: { lastSeenAt: string; stoppedAt: string | null; heartbeatIntervalMs: number | null }, now = Date.now()): WorkerStatus {
  if (worker.stoppedAt) return 'stopped';
  const silentAfterMs = MISSED_HEARTBEATS * (worker.heartbeatIntervalMs ?? DEFAULT_WORKER_HEARTBEAT_MS);
  return now - Date.parse(worker.lastSeenAt) > silentAfterMs ? 'silent' : 'live';
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
    heartbeatIntervalMs: input.heartbeatIntervalMs ?? null,
  };
  if (values.heartbeatIntervalMs !== null && (values.heartbeatIntervalMs < 1 || values.heartbeatIntervalMs > MAX_HEARTBEAT_INTERVAL_MS)) {
    throw new ValidationError(`input.heartbeatIntervalMs must be between 1 and ${MAX_HEARTBEAT_INTERVAL_MS}`, 'input.heartbeatIntervalMs');
  }
  if (values.pid < 0) throw new ValidationError('input.pid must not be negative', 'input.pid');
  if (values.concurrency < 1 || values.concurrency > MAX_CONCURRENCY) {
    throw new ValidationError(`input.concurrency must be between 1 and ${MAX_CONCURRENCY}`, 'input.concurrency');
  }
  if (input.currentStepRunIds.length > MAX_CURRENT_STEPS) {
    throw new ValidationError(`input.currentStepRunIds holds at most ${MAX_CURRENT_STEPS} ids`, 'input.currentStepRunIds');
  }
  const stepRunIds = [...new Set(input.currentStepRunIds)];
  return db.transaction(async (tx) => {
    // Heartbeats that name one step, or that take over a step this worker had, take it in turn:
    // one advisory lock per step, in id order, before any row. Otherwise each deletes the other
    // workers' rows for the step before those commit theirs, and the step is listed on every
    // worker whose heartbeat named it at once (or two that swap steps deadlock).
    const heldStepIds = (
      await tx
        .select({ id: workerCurrentSteps.stepRunId })
        .from(workerCurrentSteps)
        .innerJoin(workers, eq(workers.id, workerCurrentSteps.workerId))
        .where(eq(workers.name, values.name))
    ).map((step) => step.id);
    const turnStepIds = [...new Set([...stepRunIds, ...heldStepIds])];
    if (turnStepIds.length > 0) {
      await tx.execute(sql`select pg_advisory_xact_lock(${WORKER_STEP_LOCK_CLASS}, hashtext(s.id)) from (select jsonb_array_elements_text(${JSON.stringify(turnStepIds)}::jsonb) as id order by 1) s`);
    }
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
          heartbeatIntervalMs: sql`excluded.heartbeat_interval_ms`,
          lastSeenAt: sql`excluded.last_seen_at`,
          stoppedAt: sql`excluded.stopped_at`,
          startedAt: sql`case when ${workers.host} = excluded.host and ${workers.pid} = excluded.pid then ${workers.startedAt} else excluded.started_at end`,
        },
      })
      .returning();
    // The steps named, locked against deletion first. Deleting a run locks its steps, then deletes
    // the rows naming them here: waiting on a step while holding those rows would deadlock with
    // it. So a step being deleted is skipped (it is going away), and the locks held from here on
    // keep the others, and the rows inserted for them, safe from a delete that starts later.
    const liveStepIds =
      stepRunIds.length === 0
        ? []
        : (await tx.select({ id: stepRuns.id }).from(stepRuns).where(inArray(stepRuns.id, stepRunIds)).for('key share', { skipLocked: true })).map((step) => step.id);
    await tx.delete(workerCurrentSteps).where(eq(workerCurrentSteps.workerId, worker.id));
    if (liveStepIds.length > 0) {
      // A step runs on one worker at a time: one that reports it has taken it over from a worker
      // that stopped answering, whose last heartbeat still names it.
      await tx.delete(workerCurrentSteps).where(and(inArray(workerCurrentSteps.stepRunId, liveStepIds), ne(workerCurrentSteps.workerId, worker.id)));
      await tx.insert(workerCurrentSteps).values(liveStepIds.map((stepRunId) => ({ workerId: worker.id, stepRunId })));
    }
    return worker;
  });
}
