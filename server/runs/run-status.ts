// How a run's status follows from its steps (../shared/domain.md, "Pipelines, runs, steps").
import { sql, type SQL } from 'drizzle-orm';
import type { ExpectedStep, RunStatus, StepStatus } from './run-tables';

export const FINISHED_RUN_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cached', 'stopped'];

export function isFinished(status: RunStatus): boolean {
  return FINISHED_RUN_STATUSES.includes(status);
}

/** The statuses a run can end with, as SQL literals. */
export const FINISHED_RUN_STATUSES_SQL = sql.raw(FINISHED_RUN_STATUSES.map((status) => `'${status}'`).join(', '));

/**
 * What one statement changes of its run's steps, for the run-status functions in that same
 * statement: the run's counts (kept by a trigger at the end of the statement) do not hold it yet.
 * `cte` names the statement's CTE of the step runs it inserted or updated (its `status` column is
 * the status after); `previous` is their status before, null for inserted ones.
 */
export interface StepChange {
  cte: SQL;
  previous: 'running' | null;
}

/**
 * The status a run's steps give it, and whether it ends now (finished, with no step running),
 * as a query of one row (status, ends). The rule is the database function stackyard_run_status
 * (migration run_step_count_trigger), which reads the counts of the run's steps by status that
 * a trigger on step_runs keeps on the run: recording one step of a run with thousands reads none
 * of the others.
 */
export function derivedRunStatusSql(runId: string): SQL {
  return sql`select status, ends from stackyard_run_status(${runId}::uuid, ${changedArrays()})`;
}

/**
 * Refreshes a run from its steps: locks it, stores the status they give it, ends it once it is
 * finished and nothing runs, and announces it on `channel`; as a query answering the status (one
 * row, or none when `changed` is given and its CTE is empty). The function counts what committed
 * before it took the lock, which a statement's own snapshot may not see.
 */
export function refreshedRunSql(runId: string | SQL, channel: string, changed?: StepChange): SQL {
  return sql`select stackyard_refresh_run(${runId}::uuid, ${changedArrays(changed)}, ${channel}) as status${changed ? sql` where exists (select 1 from ${changed.cte})` : sql``}`;
}

/** The statuses the change adds to its run's counts and removes from them. */
function changedArrays(changed?: StepChange): SQL {
  if (!changed) return sql`'{}'::step_status[], '{}'::step_status[]`;
  const removed = changed.previous === null ? sql`'{}'::step_status[]` : sql`array(select ${changed.previous}::step_status from ${changed.cte})`;
  return sql`array(select status from ${changed.cte}), ${removed}`;
}

/** Expected steps that have not finished successfully. */
export function unfinishedSteps(expected: ExpectedStep[], steps: { name: string; status: StepStatus }[]): string[] {
  const byName = new Map(steps.map((step) => [step.name, step.status]));
  return expected
    .map((step) => step.name)
    .filter((name) => byName.get(name) !== 'completed' && byName.get(name) !== 'cached');
}
