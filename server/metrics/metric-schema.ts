// GraphQL for run metrics: the report mutation the SDK batches into, a run's series and latest
// values (read inside the run's own statement), and the comparison of runs.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { sql } from 'drizzle-orm';
import { builder } from '../builder';
import { LimitExceededError, NotFoundError, ValidationError } from '../errors';
import { databaseId } from '../ids';
import { registerSqlField } from '../runs/run-page-sql';
import { PipelineRunType, RunStatusEnum, StepRunType } from '../runs/run-schema';
import { compareRuns, MAX_COMPARED_RUNS, type ComparedRun, type RunComparison } from './run-comparison';
import { latestMetricsSql, logMetricPoints, MAX_METRIC_POINTS_PER_REPORT, metricSeriesSql, stepMetricSeriesSql, type MetricPoint, type MetricSeries } from './metric-service';

export const MetricPointType = builder.objectRef<MetricPoint>('MetricPoint').implement({
  description: 'One logged value of a metric: its value at a step index, and when it was logged.',
  fields: (t) => ({
    name: t.exposeString('name'),
    value: t.exposeFloat('value'),
    step: t.exposeInt('step'),
    timestamp: t.field({ type: 'DateTime', resolve: (point) => point.timestamp }),
    stepRunId: t.id({ nullable: true, description: 'The step run that logged it, if a step did.', resolve: (point) => (point.stepRunId ? encodeGlobalID('StepRun', point.stepRunId) : null) }),
  }),
});

export const MetricSeriesType = builder.objectRef<MetricSeries>('MetricSeries').implement({
  description: 'Every value of one metric of a run, ordered by step and then time.',
  fields: (t) => ({
    name: t.exposeString('name'),
    latest: t.field({ type: MetricPointType, description: 'The point at the highest step, the newest of that step.', resolve: (series) => series.latest }),
    points: t.field({ type: [MetricPointType], resolve: (series) => series.points }),
  }),
});

builder.drizzleObjectFields(PipelineRunType, (t) => ({
  metrics: t.field({
    type: [MetricSeriesType],
    description: 'Every metric the run logged, as series by name.',
    select: { extras: { metrics: (table) => metricSeriesSql(table.id) } },
    resolve: (run) => run.metrics,
  }),
  latestMetrics: t.field({
    type: [MetricPointType],
    description: "The latest point of each of the run's metrics, by name: for a column of runs.",
    select: { extras: { latestMetrics: (table) => latestMetricsSql(table.id) } },
    resolve: (run) => run.latestMetrics,
  }),
}));

builder.drizzleObjectFields(StepRunType, (t) => ({
  metrics: t.field({
    type: [MetricSeriesType],
    description: 'The metrics this step run logged, as series by name. A cached step logged none: see its originalStepRun.',
    select: { extras: { metrics: (table) => stepMetricSeriesSql(table.id) } },
    resolve: (step) => step.metrics,
  }),
}));

// Pages of runs built in SQL (run-page-sql.ts) build these fields too, so a page with a metric column stays one statement.
registerSqlField('PipelineRun', 'metrics', (alias) => metricSeriesSql(sql.raw(`${alias}.id`)));
registerSqlField('PipelineRun', 'latestMetrics', (alias) => latestMetricsSql(sql.raw(`${alias}.id`)));
registerSqlField('StepRun', 'metrics', (alias) => stepMetricSeriesSql(sql.raw(`${alias}.id`)));

const MetricPointInput = builder.inputType('MetricPointInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: 'Letters, digits, spaces and _ - . / (as MLflow allows), at most 250.' }),
    value: t.float({ required: true, description: 'A finite number.' }),
    step: t.int({ required: true, description: 'The step index (epoch, batch, ...), 0 or more.' }),
    timestamp: t.field({ type: 'DateTime', required: true, description: 'When it was logged; a retry sends the same, which keeps it one point.' }),
  }),
});

const LogMetricsPayload = builder.objectRef<{ runId: string; accepted: number; added: number }>('LogMetricsPayload').implement({
  fields: (t) => ({
    runId: t.id({ resolve: (payload) => encodeGlobalID('PipelineRun', payload.runId) }),
    accepted: t.exposeInt('accepted', { description: 'Points in the report, all recorded now or before.' }),
    added: t.exposeInt('added', { description: 'Points not recorded before: fewer than accepted on a retry.' }),
  }),
});

builder.mutationFields((t) => ({
  logMetrics: t.field({
    authScopes: { reporter: true },
    type: LogMetricsPayload,
    errors: { types: [ValidationError, NotFoundError, LimitExceededError] },
    description: `Records metric points of a run, or of one of its step runs, at most ${MAX_METRIC_POINTS_PER_REPORT} per call. Idempotent: a point is its run, name, step, timestamp and value, so a retried report adds nothing. A bad point fails the whole report.`,
    args: {
      runId: t.arg.id({ required: true }),
      stepRunId: t.arg.id(),
      points: t.arg({ type: [MetricPointInput], required: true }),
    },
    resolve: (_root, args, context) =>
      logMetricPoints(context.db, {
        runId: databaseId(args.runId, 'PipelineRun', 'runId'),
        stepRunId: args.stepRunId == null ? null : databaseId(args.stepRunId, 'StepRun', 'stepRunId'),
        points: args.points,
      }),
  }),
}));

const ComparedRunType = builder.objectRef<ComparedRun>('ComparedRun').implement({
  fields: (t) => ({
    id: t.id({ resolve: (run) => encodeGlobalID('PipelineRun', run.id) }),
    name: t.exposeString('name'),
    pipelineName: t.exposeString('pipelineName'),
    status: t.field({ type: RunStatusEnum, resolve: (run) => run.status }),
    startedAt: t.field({ type: 'DateTime', resolve: (run) => run.startedAt }),
    durationMs: t.float({ nullable: true, resolve: (run) => (run.durationMs < 0 ? null : run.durationMs) }),
  }),
});

const ComparedParameterType = builder.objectRef<RunComparison['parameters'][number]>('ComparedParameter').implement({
  description: 'One parameter across the compared runs.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'A dotted path into the run\'s parameters, or config.KEY for other settings.' }),
    values: t.field({ type: ['JSON'], nullable: { list: false, items: true }, description: 'Per compared run, in order; null where a run lacks it.', resolve: (parameter) => parameter.values }),
    differs: t.exposeBoolean('differs'),
  }),
});

const ComparedMetricRunType = builder.objectRef<RunComparison['metrics'][number]['runs'][number]>('ComparedMetricRun').implement({
  fields: (t) => ({
    latest: t.field({ type: MetricPointType, nullable: true, description: 'Null where the run did not log the metric.', resolve: (run) => run.latest }),
    points: t.field({ type: [MetricPointType], resolve: (run) => run.points }),
  }),
});

const ComparedMetricType = builder.objectRef<RunComparison['metrics'][number]>('ComparedMetric').implement({
  description: 'One metric across the compared runs.',
  fields: (t) => ({
    name: t.exposeString('name'),
    runs: t.field({ type: [ComparedMetricRunType], description: 'Per compared run, in order.', resolve: (metric) => metric.runs }),
    differs: t.exposeBoolean('differs', { description: 'The latest values are not all the same.' }),
  }),
});

const RunComparisonType = builder.objectRef<RunComparison>('RunComparison').implement({
  description: 'Runs side by side: their parameters and metrics, each listing one value per run in the order asked.',
  fields: (t) => ({
    runs: t.field({ type: [ComparedRunType], resolve: (comparison) => comparison.runs }),
    parameters: t.field({ type: [ComparedParameterType], resolve: (comparison) => comparison.parameters }),
    metrics: t.field({ type: [ComparedMetricType], resolve: (comparison) => comparison.metrics }),
  }),
});

builder.queryFields((t) => ({
  compareRuns: t.field({
    authScopes: { reader: true },
    type: RunComparisonType,
    errors: { types: [ValidationError, NotFoundError, LimitExceededError] },
    description: `Compares 2 to ${MAX_COMPARED_RUNS} runs (global ids, no repeats), in one database statement.`,
    args: { ids: t.arg.idList({ required: true }) },
    resolve: (_root, args, context) => compareRuns(context.db, args.ids.map((id, index) => databaseId(id, 'PipelineRun', `ids.${index}`))),
  }),
}));
