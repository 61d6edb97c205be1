// How a run's status follows from its steps (../shared/domain.md, "Pipelines, runs, steps").
import { sql, type SQL } from 'drizzle-orm';
import type { ExpectedStep, RunStatus, StepStatus } from './run-tables';

export const FINISHED_RUN_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cached', 'stopped'];

export function isFinished(status: RunStatus): boolean {
  return FINISHED_RUN_STATUSES.includes(status);
}


// A statement that changes a step's status needs nothing more: the trigger on step_runs that
// keeps the run's counts of its steps by status also refreshes the run from them, in the same
// UPDATE (migrations run_step_count_trigger and run_refresh_in_step_trigger).

/**
 * The status a run's steps give it, and whether it ends now (finished, with no step running and,
 * once failed, no step that can still start), as a query of one row (status, ends). The rule is
 * the database function stackyard_run_status, which reads the counts of the run's steps by status
 * that the trigger keeps on the run: recording one step of a run with thousands reads none of the
 * others.
 */
export function derivedRunStatusSql(runId: string): SQL {
  return sql`select status, ends from stackyard_run_status(${runId}::uuid)`;
}

/**
 * Refreshes a run from its steps when something else than a step's status changed (a step's
 * next attempt, a failed attempt that will be retried), so its watchers see it: locks it, stores
 * the status its steps give it, ends it once it is finished and nothing runs, and announces it on
 * RUN_UPDATED_CHANNEL.
 */
export function refreshedRunSql(runId: string | SQL): SQL {
  return sql`select stackyard_refresh_run(${runId}::uuid) as status`;
}

/** Expected steps that have not finished successfully. */
export function unfinishedSteps(expected: ExpectedStep[], steps: { name: string; status: StepStatus }[]): string[] {
  const byName = new Map(steps.map((step) => [step.name, step.status]));
  return expected
    .map((step) => step.name)
    .filter((name) => byName.get(name) !== 'completed' && byName.get(name) !== 'cached');
}
