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
 * The status a run's steps give it, and whether it ends now (finished, with no step running),
 * as a query of one row (status, ends). The rule is the database function stackyard_run_status
 * (migration run_status_functions), counted there: recording one step of a run with thousands
 * reads none of them back, and the count sees every step that ended before the run's lock was
 * taken, which a statement's own snapshot may not.
 *
 * `changed` names a CTE of the step runs (id, status) that the same statement inserts or updates,
 * counted as they are after it: the function may see the table as it was before the statement.
 */
export function derivedRunStatusSql(runId: string, changed?: SQL): SQL {
  return sql`select status, ends from stackyard_run_status(${runId}::uuid, ${changedArrays(changed)})`;
}

/**
 * Refreshes a run from its steps: locks it, stores the status they give it, ends it once it is
 * finished and nothing runs, and announces it on `channel`; as a query answering the status (one
 * row, or none when `changed` is given and empty). See derivedRunStatusSql for `changed`.
 */
export function refreshedRunSql(runId: string | SQL, channel: string, changed?: SQL): SQL {
  return sql`select stackyard_refresh_run(${runId}::uuid, ${changedArrays(changed)}, ${channel}) as status${changed ? sql` where exists (select 1 from ${changed})` : sql``}`;
}

function changedArrays(changed?: SQL): SQL {
  return changed ? sql`array(select id from ${changed}), array(select status from ${changed})` : sql`'{}'::uuid[], '{}'::step_status[]`;
}

/** Expected steps that have not finished successfully. */
export function unfinishedSteps(expected: ExpectedStep[], steps: { name: string; status: StepStatus }[]): string[] {
  const byName = new Map(steps.map((step) => [step.name, step.status]));
  return expected
    .map((step) => step.name)
    .filter((name) => byName.get(name) !== 'completed' && byName.get(name) !== 'cached');
}
