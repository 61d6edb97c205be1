// How a run's status follows from its steps (../shared/domain.md, "Pipelines, runs, steps").
import { sql, type SQL } from 'drizzle-orm';
import type { ExpectedStep, RunStatus, StepStatus } from './run-tables';

export const FINISHED_RUN_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cached', 'stopped'];

export function isFinished(status: RunStatus): boolean {
  return FINISHED_RUN_STATUSES.includes(status);
}

/** The statuses a run can end with, as SQL literals. */
const FINISHED_RUN_STATUSES_SQL = sql.raw(FINISHED_RUN_STATUSES.map((status) => `'${status}'`).join(', '));

/**
 * The status a run's steps give it, and whether it ends now (finished, with no step running),
 * as a query of one row (status, ends). Any step failed → failed; any stopped → stopped; no step
 * yet → initializing; every expected step completed or cached → completed (cached when all were
 * cached); otherwise running. Counted in the database: recording one step of a run with
 * thousands reads none of them back. A run that expects steps has no step runs of other names
 * (startStep refuses them), so counting its finished step runs counts its finished expected steps.
 *
 * `changed` names a CTE of the step runs (id, status) that the same statement inserts or updates,
 * counted as they are after it: its other parts see the table as it was before the statement.
 */
export function derivedRunStatusSql(runId: string, changed?: SQL): SQL {
  const steps = changed
    ? sql`(select id, status from step_runs where run_id = ${runId} and id not in (select id from ${changed})
           union all select id, status from ${changed})`
    : sql`(select id, status from step_runs where run_id = ${runId})`;
  return sql`select status, status in (${FINISHED_RUN_STATUSES_SQL}) and running = 0 as ends from (
    select case
        when count(*) filter (where s.status = 'failed') > 0 then 'failed'
        when count(*) filter (where s.status = 'stopped') > 0 then 'stopped'
        when count(s.id) = 0 then 'initializing'
        when r.expected > 0 and count(*) filter (where s.status in ('completed', 'cached')) = r.expected
          then case when count(*) filter (where s.status = 'cached') = r.expected then 'cached' else 'completed' end
        else 'running'
      end::run_status as status,
      count(*) filter (where s.status = 'running') as running
    from (select jsonb_array_length(expected_steps) as expected from pipeline_runs where id = ${runId}) r
    left join ${steps} s on true
    group by r.expected
  ) derived`;
}

/** Expected steps that have not finished successfully. */
export function unfinishedSteps(expected: ExpectedStep[], steps: { name: string; status: StepStatus }[]): string[] {
  const byName = new Map(steps.map((step) => [step.name, step.status]));
  return expected
    .map((step) => step.name)
    .filter((name) => byName.get(name) !== 'completed' && byName.get(name) !== 'cached');
}
