// Runs side by side: which parameters and metrics differ, read in one statement.
import { eq, inArray } from 'drizzle-orm';
import stringify from 'safe-stable-stringify';
import type { Database } from '../db/database';
import { LimitExceededError, NotFoundError, ValidationError } from '../errors';
import { pipelineRuns, pipelines, type RunStatus } from '../runs/run-tables';
import { metricSeriesSql, type MetricPoint } from './metric-service';

export const MIN_COMPARED_RUNS = 2;
export const MAX_COMPARED_RUNS = 10;

export interface ComparedRun {
  id: string;
  name: string;
  pipelineName: string;
  status: RunStatus;
  startedAt: string;
  durationMs: number;
}

export interface RunComparison {
  runs: ComparedRun[];
  parameters: { name: string; values: unknown[]; differs: boolean }[];
  metrics: { name: string; runs: { latest: MetricPoint | null; points: MetricPoint[] }[]; differs: boolean }[];
}

/**
 * A run's parameters as flat names: the pipeline's parameters by dotted path (objects opened,
 * lists kept whole as one value), then the other settings of its config as config.KEY.
 */
export function flatParameters(config: Record<string, unknown>): Map<string, unknown> {
  const flat = new Map<string, unknown>();
  const open = (prefix: string, value: unknown) => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length > 0) {
      for (const [key, inner] of Object.entries(value)) open(prefix ? `${prefix}.${key}` : key, inner);
    } else if (prefix) {
      flat.set(prefix, value);
    }
  };
  const { parameters, ...settings } = config;
  open('', parameters);
  for (const [key, value] of Object.entries(settings)) if (value !== null && value !== undefined) open(`config.${key}`, value);
  return flat;
}

const differ = (values: unknown[]) => new Set(values.map((value) => stringify(value ?? null))).size > 1;

/** Compares runs by database id, in the order given. */
export async function compareRuns(db: Database, ids: string[]): Promise<RunComparison> {
  if (ids.length < MIN_COMPARED_RUNS) throw new ValidationError(`Compare at least ${MIN_COMPARED_RUNS} runs`, 'ids');
  if (ids.length > MAX_COMPARED_RUNS) throw new LimitExceededError(`Compare at most ${MAX_COMPARED_RUNS} runs`, 'ids', MAX_COMPARED_RUNS);
  const repeated = ids.findIndex((id, index) => ids.indexOf(id) !== index);
  if (repeated >= 0) throw new ValidationError('The same run is listed twice', `ids.${repeated}`);
  const rows = await db
    .select({
      id: pipelineRuns.id,
      name: pipelineRuns.name,
      status: pipelineRuns.status,
      startedAt: pipelineRuns.startedAt,
      durationMs: pipelineRuns.durationMs,
      config: pipelineRuns.config,
      pipelineName: pipelines.name,
      series: metricSeriesSql(pipelineRuns.id),
    })
    .from(pipelineRuns)
    .innerJoin(pipelines, eq(pipelines.id, pipelineRuns.pipelineId))
    .where(inArray(pipelineRuns.id, ids));
  const byId = new Map(rows.map((row) => [row.id, row]));
  const missing = ids.findIndex((id) => !byId.has(id));
  if (missing >= 0) throw new NotFoundError('No such run', `ids.${missing}`);
  const ordered = ids.map((id) => byId.get(id)!);

  const flat = ordered.map((row) => flatParameters(row.config));
  const parameterNames = [...new Set(flat.flatMap((parameters) => [...parameters.keys()]))].sort();
  const parameters = parameterNames.map((name) => {
    const values = flat.map((parameters) => parameters.get(name) ?? null);
    return { name, values, differs: differ(values) };
  });

  const metricNames = [...new Set(ordered.flatMap((row) => row.series.map((series) => series.name)))].sort();
  const metrics = metricNames.map((name) => {
    const runs = ordered.map((row) => {
      const series = row.series.find((candidate) => candidate.name === name);
      return { latest: series?.latest ?? null, points: series?.points ?? [] };
    });
    return { name, runs, differs: differ(runs.map((run) => run.latest?.value)) };
  });

  return {
    runs: ordered.map(({ id, name, pipelineName, status, startedAt, durationMs }) => ({ id, name, pipelineName, status, startedAt, durationMs })),
    parameters,
    metrics,
  };
}
