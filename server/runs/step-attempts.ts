// Attempts of a step run. A remote orchestrator retries a step (after a failure, or when its
// worker stops answering) on the same step run: the step run describes the current attempt, and
// the attempts that ended while it went on are kept in step_attempts (run-tables.ts).
import { and, eq, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import type { Queryable } from '../db/database';
import { ValidationError } from '../errors';
import { validateName } from '../validation';
import { stepAttempts, stepRuns, type StepAttemptStatus, type StepWorker } from './run-tables';

type StepRunRow = typeof stepRuns.$inferSelect;

/** One attempt as the API shows it; timestamps as Postgres' text. */
export interface StepAttemptView {
  attempt: number;
  status: StepAttemptStatus;
  errorMessage: string | null;
  worker: StepWorker | null;
  queuedAt: string | null;
  startedAt: string;
  endedAt: string | null;
}

/** What a step run's current attempt carries besides its number. */
export interface AttemptStart {
  attempt: number;
  worker: StepWorker | null;
  queuedAt: string | null;
}

export const MAX_ATTEMPT = 1000;

export function checkAttempt(attempt: number | null | undefined, field = 'attempt'): number {
  const value = attempt ?? 1;
  if (value < 1 || value > MAX_ATTEMPT) throw new ValidationError(`${field} must be between 1 and ${MAX_ATTEMPT}`, field);
  return value;
}

export function checkWorker(worker: StepWorker | null | undefined, field = 'worker'): StepWorker | null {
  if (!worker) return null;
  if (worker.pid < 0) throw new ValidationError(`${field}.pid must not be negative`, `${field}.pid`);
  return { name: validateName(worker.name, `${field}.name`), host: validateName(worker.host, `${field}.host`), pid: worker.pid };
}

/** A timestamp as epoch milliseconds, so Postgres' text and a client's RFC 3339 compare alike. */
const instant = (timestamp: string | null) => (timestamp == null ? null : Date.parse(timestamp));

/** The current attempt's description, as a retry of its startStep must repeat it. */
export function attemptArguments(start: { worker: StepWorker | null; queuedAt: string | null }): Record<string, unknown> {
  return { worker: start.worker, queuedAt: instant(start.queuedAt) };
}

/** Milliseconds between enqueue and start; null when the enqueue time is unknown. Clocks of other machines may run ahead. */
export function queueWaitMs(attempt: { queuedAt: string | null; startedAt: string }): number | null {
  return attempt.queuedAt == null ? null : Math.max(0, instant(attempt.startedAt)! - instant(attempt.queuedAt)!);
}

/** The attempt recorded as ended for this step run and number, if any. */
export async function endedAttempt(db: Queryable, stepRunId: string, attempt: number) {
  const [row] = await db
    .select()
    .from(stepAttempts)
    .where(and(eq(stepAttempts.stepRunId, stepRunId), eq(stepAttempts.attempt, attempt)));
  return row;
}

/** Records the step run's current attempt as ended; answers false when it already was. */
export async function endCurrentAttempt(db: Queryable, step: StepRunRow, status: StepAttemptStatus, errorMessage: string | null): Promise<boolean> {
  const inserted = await db
    .insert(stepAttempts)
    .values({
      stepRunId: step.id,
      attempt: step.attempt,
      status,
      errorMessage,
      worker: step.worker,
      queuedAt: step.queuedAt,
      startedAt: step.startedAt,
      endedAt: sql`clock_timestamp()`,
    })
    .onConflictDoNothing()
    .returning({ attempt: stepAttempts.attempt });
  return inserted.length > 0;
}

/** Makes `next` the step run's current attempt; the current one, unless it already ended, was lost. */
export async function openNextAttempt(db: Queryable, step: StepRunRow, next: AttemptStart, logUri: string | null): Promise<StepRunRow> {
  await endCurrentAttempt(db, step, 'lost', null);
  const [row] = await db
    .update(stepRuns)
    .set({ attempt: next.attempt, worker: next.worker, queuedAt: next.queuedAt, startedAt: sql`clock_timestamp()`, errorMessage: null, logUri })
    .where(eq(stepRuns.id, step.id))
    .returning();
  return row;
}

type AttemptColumn = 'attempt' | 'status' | 'errorMessage' | 'worker' | 'queuedAt' | 'startedAt' | 'endedAt';
type StepRunColumns = Record<'id' | AttemptColumn, SQLWrapper>;

/**
 * Every attempt of the step run in `step` (a table or its alias), oldest first, as a JSON array
 * of StepAttemptView: the ended ones, then the current one unless it ended too. One correlated
 * subquery, shared by the planner's path and the pages built in SQL (run-page-sql.ts).
 */
export function stepAttemptsJson(step: StepRunColumns): SQL<StepAttemptView[]> {
  const view = (row: Record<AttemptColumn, SQLWrapper>) =>
    sql`json_build_object('attempt', ${row.attempt}, 'status', ${row.status}, 'errorMessage', ${row.errorMessage}, 'worker', ${row.worker},
      'queuedAt', ${row.queuedAt}::text, 'startedAt', ${row.startedAt}::text, 'endedAt', ${row.endedAt}::text)`;
  return sql<StepAttemptView[]>`(select coalesce(json_agg(attempts.item order by attempts.number), '[]'::json) from (
      select ${stepAttempts.attempt} as number, ${view({ ...stepAttempts })} as item
        from ${stepAttempts} where ${stepAttempts.stepRunId} = ${step.id}
      union all
      select ${step.attempt}, ${view({ ...step, status: sql`${step.status}::text` })}
        where not exists (select 1 from ${stepAttempts} where ${stepAttempts.stepRunId} = ${step.id} and ${stepAttempts.attempt} = ${step.attempt})
    ) attempts)`;
}
