// The rules of run metrics: which names and values a run may log, how a retried report stays one
// set of points, and the SQL that reads series and latest values as JSON inside another statement.
import { and, eq, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import type { Database } from '../db/database';
import { LimitExceededError, NotFoundError, ValidationError } from '../errors';
import { notifyRunUpdated } from '../runs/run-events';
import { pipelineRuns, stepRuns } from '../runs/run-tables';
import { metricPoints } from './metric-tables';

/** Points one report may carry; the SDK sends larger backlogs as several reports. */
export const MAX_METRIC_POINTS_PER_REPORT = 1000;
export const MAX_METRIC_NAME_LENGTH = 250;
// MLflow's rule, so names move between the two unchanged; no control characters or quotes that
// would garble a CLI table or a chart legend.
const METRIC_NAME = /^[A-Za-z0-9_\-. /]+$/;
/** Postgres' integer; a step index beyond it cannot be stored. */
const MAX_STEP = 2_147_483_647;

export interface MetricPointInput {
  name: string;
  value: number;
  step: number;
  /** RFC 3339 time the client logged the point. */
  timestamp: string;
}

export interface MetricPoint {
  name: string;
  value: number;
  step: number;
  timestamp: string;
  stepRunId: string | null;
}

export interface MetricSeries {
  name: string;
  latest: MetricPoint;
  points: MetricPoint[];
}

/** Checks one point; answers it with the name trimmed. */
function checkPoint(point: MetricPointInput, index: number): MetricPointInput {
  const name = point.name.trim();
  if (name.length === 0 || name.length > MAX_METRIC_NAME_LENGTH || !METRIC_NAME.test(name)) {
    throw new ValidationError(
      `Metric name "${point.name}" must be 1-${MAX_METRIC_NAME_LENGTH} letters, digits, spaces or _ - . /`,
      `points.${index}.name`,
    );
  }
  // GraphQL's Float refuses NaN and Infinity in variables, but a literal such as 1e999 arrives as Infinity.
  if (!Number.isFinite(point.value)) throw new ValidationError(`Metric "${name}" has the value ${point.value}; a metric value must be a finite number`, `points.${index}.value`);
  if (!Number.isInteger(point.step) || point.step < 0 || point.step > MAX_STEP) {
    throw new ValidationError(`Metric "${name}" has step ${point.step}; a step is a whole number from 0 to ${MAX_STEP}`, `points.${index}.step`);
  }
  return { ...point, name };
}

/**
 * Records metric points of a run (and of one of its step runs, if given). A retry of the same
 * report adds nothing: a point is its run, name, step, time and value, as in MLflow. Answers how
 * many points were new. Counts as a heartbeat of the run.
 */
export async function logMetricPoints(db: Database, input: { runId: string; stepRunId?: string | null; points: MetricPointInput[] }): Promise<{ runId: string; accepted: number; added: number }> {
  if (input.points.length > MAX_METRIC_POINTS_PER_REPORT) {
    throw new LimitExceededError(`A report carries at most ${MAX_METRIC_POINTS_PER_REPORT} points; send the rest in another`, 'points', MAX_METRIC_POINTS_PER_REPORT);
  }
  const points = input.points.map(checkPoint);
  return db.transaction(async (tx) => {
    const [run] = await tx
      .update(pipelineRuns)
      .set({ lastHeartbeatAt: sql`clock_timestamp()` })
      .where(eq(pipelineRuns.id, input.runId))
      .returning({ id: pipelineRuns.id });
    if (!run) throw new NotFoundError('No such run', 'runId');
    if (input.stepRunId) {
      const [step] = await tx.select({ id: stepRuns.id }).from(stepRuns).where(and(eq(stepRuns.id, input.stepRunId), eq(stepRuns.runId, input.runId)));
      if (!step) throw new NotFoundError('No such step run in this run', 'stepRunId');
    }
    if (points.length === 0) return { runId: run.id, accepted: 0, added: 0 };
    const added = await tx
      .insert(metricPoints)
      .values(points.map((point) => ({ runId: run.id, stepRunId: input.stepRunId ?? null, name: point.name, step: point.step, value: point.value, loggedAt: point.timestamp })))
      .onConflictDoNothing()
      .returning({ name: metricPoints.name });
    if (added.length > 0) await notifyRunUpdated(tx, run.id);
    return { runId: run.id, accepted: points.length, added: added.length };
  });
}

/** One point as JSON, from the row at `alias`. */
const pointJson = (alias: string) =>
  sql.raw(
    `json_build_object('name', ${alias}.name, 'value', ${alias}.value, 'step', ${alias}.step, 'timestamp', to_char(${alias}.logged_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'stepRunId', ${alias}.step_run_id)`,
  );

/**
 * The latest point of each metric of the run `runId` refers to (the highest step, then the newest),
 * by name, as a JSON array: a subquery for the parent's own statement.
 */
export function latestMetricsSql(runId: SQLWrapper | SQL): SQL<MetricPoint[]> {
  return sql<MetricPoint[]>`(select coalesce(json_agg(${pointJson('lm')} order by lm.name), '[]'::json)
    from (select distinct on (p.name) p.* from ${metricPoints} p where p.run_id = ${runId} order by p.name, p.step desc, p.logged_at desc, p.value desc) lm)`;
}

/** Every metric of the run as series ordered by step, then time, as a JSON array: a subquery for the parent's own statement. */
export function metricSeriesSql(runId: SQLWrapper | SQL): SQL<MetricSeries[]> {
  return seriesSql(sql.raw('ms.run_id'), runId);
}

/** The metrics one step run logged, as metricSeriesSql shapes them. */
export function stepMetricSeriesSql(stepRunId: SQLWrapper | SQL): SQL<MetricSeries[]> {
  return seriesSql(sql.raw('ms.step_run_id'), stepRunId);
}

function seriesSql(column: SQL, id: SQLWrapper | SQL): SQL<MetricSeries[]> {
  return sql<MetricSeries[]>`(select coalesce(json_agg(json_build_object('name', s.name, 'points', s.points, 'latest', s.points -> -1) order by s.name), '[]'::json)
    from (select ms.name, json_agg(${pointJson('ms')} order by ms.step, ms.logged_at, ms.value) as points
          from ${metricPoints} ms where ${column} = ${id} group by ms.name) s)`;
}
