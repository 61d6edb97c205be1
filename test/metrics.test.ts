// Run metrics over GraphQL: logMetrics records series as MLflow's log_metric does (idempotent on
// retry, typed errors that change nothing), a run answers its series and latest values, a page of
// runs with a metric column and a comparison of runs are each one SQL statement.
import { beforeAll, describe, expect, it } from 'vitest';
import { databaseTargets, uniqueName, useTestServer, type TestServer } from './harness';
import { finishRun, startRun, startStep } from './run-operations';

const LOG = `mutation($runId: ID!, $stepRunId: ID, $points: [MetricPointInput!]!) {
  logMetrics(runId: $runId, stepRunId: $stepRunId, points: $points) {
    __typename ... on LogMetricsPayload { accepted added } ... on Error { message field } ... on LimitExceededError { limit }
  }
}`;

const METRICS = `query($id: ID!) { run(id: $id) {
  metrics { name latest { step value } points { step value timestamp stepRunId } }
  latestMetrics { name step value }
} }`;

const COMPARE = `query($ids: [ID!]!) { compareRuns(ids: $ids) {
  __typename
  ... on RunComparison { runs { id name pipelineName status } parameters { name values differs } metrics { name differs runs { latest { value step } points { step value } } } }
  ... on Error { message field }
  ... on LimitExceededError { limit }
} }`;

const at = (second: number) => new Date(Date.UTC(2026, 10, 30, 6, 0, second)).toISOString();

async function logMetrics(server: TestServer, variables: Record<string, unknown>) {
  return (await server.gql(LOG, variables)).logMetrics;
}

describe.each(databaseTargets)('metrics on $name', (target) => {
  const testServer = useTestServer(target);
  let server: TestServer;
  const prefix = uniqueName('metrics');
  const runIds: string[] = [];

  beforeAll(async () => {
    server = testServer();
    for (let index = 0; index < 3; index += 1) {
      const run = await startRun(server, { pipeline: `${prefix}-train`, name: `${prefix}-run-${index}`, config: { parameters: { lr: index === 2 ? 0.2 : 0.1, rows: 500, layers: { depth: 3 } }, enableCache: null } });
      runIds.push(run.id);
      const points = [0, 1, 2].map((step) => ({ name: 'loss', value: 1 / (step + 1 + index), step, timestamp: at(step) }));
      expect(await logMetrics(server, { runId: run.id, points: [...points, { name: 'accuracy', value: [0.8, 0.81, 0.82][index], step: 0, timestamp: at(0) }] })).toEqual({ __typename: 'LogMetricsPayload', accepted: 4, added: 4 });
    }
  });

  it('answers each series by step and the latest value per name', async () => {
    const { run } = await server.gql(METRICS, { id: runIds[1] });
    expect(run.metrics.map((series: { name: string }) => series.name)).toEqual(['accuracy', 'loss']);
    const loss = run.metrics[1];
    expect(loss.points.map((point: { step: number; value: number }) => [point.step, point.value])).toEqual([[0, 1 / 2], [1, 1 / 3], [2, 1 / 4]]);
    expect(loss.latest).toEqual({ step: 2, value: 1 / 4 });
    expect(loss.points[0].timestamp).toBe(at(0));
    expect(run.latestMetrics).toEqual([{ name: 'accuracy', step: 0, value: 0.81 }, { name: 'loss', step: 2, value: 1 / 4 }]);
  });

  it('adds nothing when a report is retried, and keeps which step run logged a point', async () => {
    const run = await startRun(server, { pipeline: `${prefix}-retry`, steps: [{ name: 'fit' }] });
    const step = await startStep(server, { runId: run.id, name: 'fit' });
    const points = [{ name: 'mse', value: 3.5, step: 0, timestamp: at(1) }, { name: 'mse', value: 2.5, step: 1, timestamp: at(2) }];
    expect(await logMetrics(server, { runId: run.id, stepRunId: step.id, points })).toMatchObject({ accepted: 2, added: 2 });
    expect(await logMetrics(server, { runId: run.id, stepRunId: step.id, points })).toMatchObject({ accepted: 2, added: 0 });
    // The same step logged again later is a new point, as in MLflow; the latest is the newest of the highest step.
    expect(await logMetrics(server, { runId: run.id, stepRunId: step.id, points: [{ name: 'mse', value: 2, step: 1, timestamp: at(3) }] })).toMatchObject({ added: 1 });
    const { run: read } = await server.gql(METRICS, { id: run.id });
    expect(read.metrics[0].points).toHaveLength(3);
    expect(read.metrics[0].points.every((point: { stepRunId: string }) => point.stepRunId === step.id)).toBe(true);
    expect(read.latestMetrics).toEqual([{ name: 'mse', step: 1, value: 2 }]);
    // The step run answers the points it logged, in the run's one statement.
    const steps = await server.request(`query($id: ID!) { run(id: $id) { steps { name metrics { name latest { value } points { step } } } } }`, { id: run.id });
    expect(steps.headers.get('x-sql-statements')).toBe('1');
    expect(steps.data.run.steps).toEqual([{ name: 'fit', metrics: [{ name: 'mse', latest: { value: 2 }, points: [{ step: 0 }, { step: 1 }, { step: 1 }] }] }]);
  });

  it.each([
    ['a name with a quote', { points: [{ name: 'loss"', value: 1, step: 0, timestamp: at(0) }] }, 'ValidationError', 'points.0.name'],
    ['an empty name', { points: [{ name: '  ', value: 1, step: 0, timestamp: at(0) }] }, 'ValidationError', 'points.0.name'],
    ['a negative step', { points: [{ name: 'ok', value: 1, step: 0, timestamp: at(0) }, { name: 'ok', value: 1, step: -1, timestamp: at(0) }] }, 'ValidationError', 'points.1.step'],
    ['a step run of another run', { stepRunId: 'other' }, 'NotFoundError', 'stepRunId'],
    ['too many points', { points: Array.from({ length: 1001 }, (_, step) => ({ name: 'ok', value: 1, step, timestamp: at(0) })) }, 'LimitExceededError', 'points'],
  ])('refuses %s with a typed error and records nothing', async (_label, variables: Record<string, unknown>, typename, field) => {
    const run = await startRun(server, { pipeline: `${prefix}-bad`, steps: [{ name: 'fit' }] });
    const other = await startRun(server, { pipeline: `${prefix}-bad`, steps: [{ name: 'fit' }] });
    const otherStep = await startStep(server, { runId: other.id, name: 'fit' });
    const result = await logMetrics(server, {
      runId: run.id,
      points: [{ name: 'ok', value: 1, step: 0, timestamp: at(0) }],
      ...variables,
      ...(variables.stepRunId ? { stepRunId: otherStep.id } : {}),
    });
    expect(result).toMatchObject({ __typename: typename, field });
    const { run: read } = await server.gql(METRICS, { id: run.id });
    expect(read.metrics).toEqual([]);
  });

  it('refuses a non-finite value (a literal beyond Float) with a typed error', async () => {
    const run = await startRun(server, { pipeline: `${prefix}-bad` });
    const response = await server.gql(`mutation($runId: ID!) { logMetrics(runId: $runId, points: [{ name: "loss", value: 1e999, step: 0, timestamp: "${at(0)}" }]) { __typename ... on Error { field } } }`, { runId: run.id });
    expect(response.logMetrics).toEqual({ __typename: 'ValidationError', field: 'points.0.value' });
  });

  it('refuses an unknown run', async () => {
    const gone = await startRun(server, { pipeline: `${prefix}-gone` });
    await server.gql(`mutation($id: ID!) { deleteRun(id: $id) { __typename } }`, { id: gone.id });
    expect(await logMetrics(server, { runId: gone.id, points: [] })).toMatchObject({ __typename: 'NotFoundError', field: 'runId' });
  });

  it('answers a page of runs with the latest accuracy of each in one statement, on both page paths', async () => {
    const answers: unknown[] = [];
    for (const directive of ['', '@include(if: true)']) {
      const response = await server.request(
        `query($pipeline: String!) { runs(first: 50, filter: { pipeline: $pipeline }) { ... on PipelineRunConnection { edges { node ${directive} { id name status latestMetrics { name value step timestamp } } } } } }`,
        { pipeline: `${prefix}-train` },
      );
      expect(response.errors).toBeUndefined();
      expect(response.headers.get('x-sql-statements'), directive || 'built in SQL').toBe('1');
      const accuracy = response.data.runs.edges.map((edge: any) => edge.node.latestMetrics.find((metric: { name: string }) => metric.name === 'accuracy')?.value);
      expect(accuracy).toEqual([0.82, 0.81, 0.8]);
      answers.push(response.data);
    }
    // The page built in SQL (run-page-sql.ts) answers what the planner's path does.
    expect(answers[0]).toEqual(answers[1]);
  });

  it('builds whole series in a SQL-built page as the planner does', async () => {
    const query = (directive: string) =>
      `query($pipeline: String!) { runs(first: 10, filter: { pipeline: $pipeline }) { ... on PipelineRunConnection { edges { node ${directive} { name metrics { name latest { step value timestamp stepRunId } points { step value timestamp } } } } } } }`;
    const built = await server.request(query(''), { pipeline: `${prefix}-train` });
    const planned = await server.request(query('@include(if: true)'), { pipeline: `${prefix}-train` });
    expect(built.headers.get('x-sql-statements')).toBe('1');
    expect(built.data).toEqual(planned.data);
    expect(built.data.runs.edges[0].node.metrics[1].points).toHaveLength(3);
  });

  it('keeps the run page one statement with its metrics', async () => {
    const response = await server.request(`query($id: ID!) { run(id: $id) { name config metrics { name points { step value } } steps { name metadata originalStepRun { metadata } } } }`, { id: runIds[0] });
    expect(response.errors).toBeUndefined();
    expect(response.headers.get('x-sql-statements')).toBe('1');
  });

  it('compares runs in the order asked, in one statement, with differences marked', async () => {
    const ids = [runIds[2], runIds[0], runIds[1]];
    const response = await server.request(COMPARE, { ids });
    expect(response.headers.get('x-sql-statements')).toBe('1');
    const comparison = response.data.compareRuns;
    expect(comparison.__typename).toBe('RunComparison');
    expect(comparison.runs.map((run: { id: string }) => run.id)).toEqual(ids);
    expect(comparison.runs[0]).toMatchObject({ name: `${prefix}-run-2`, pipelineName: `${prefix}-train`, status: 'INITIALIZING' });
    expect(comparison.parameters).toEqual([
      { name: 'layers.depth', values: [3, 3, 3], differs: false },
      { name: 'lr', values: [0.2, 0.1, 0.1], differs: true },
      { name: 'rows', values: [500, 500, 500], differs: false },
    ]);
    expect(comparison.metrics.map((metric: { name: string; differs: boolean }) => [metric.name, metric.differs])).toEqual([['accuracy', true], ['loss', true]]);
    expect(comparison.metrics[1].runs.map((run: any) => run.latest.value)).toEqual([1 / 5, 1 / 3, 1 / 4]);
    expect(comparison.metrics[1].runs[0].points).toHaveLength(3);
  });

  it('marks a metric one run lacks as differing, with no latest value for that run', async () => {
    const plain = await startRun(server, { pipeline: `${prefix}-plain`, config: { parameters: { lr: 0.1 } } });
    await finishRun(server, { runId: plain.id, status: 'COMPLETED' });
    const { compareRuns } = await server.gql(COMPARE, { ids: [runIds[0], plain.id] });
    expect(compareRuns.metrics[0]).toMatchObject({ name: 'accuracy', differs: true });
    expect(compareRuns.metrics[0].runs[1]).toEqual({ latest: null, points: [] });
    expect(compareRuns.parameters.find((parameter: { name: string }) => parameter.name === 'rows')).toEqual({ name: 'rows', values: [500, null], differs: true });
  });

  it.each([
    ['one run', () => [runIds[0]], 'ValidationError', 'ids'],
    ['eleven runs', () => Array.from({ length: 11 }, () => runIds[0]), 'LimitExceededError', 'ids'],
    ['a run twice', () => [runIds[0], runIds[1], runIds[0]], 'ValidationError', 'ids.2'],
    ['a malformed id', () => [runIds[0], 'nope'], 'ValidationError', 'ids.1'],
    ['an unknown run', () => [runIds[0], Buffer.from('PipelineRun:00000000-0000-4000-8000-000000000000').toString('base64')], 'NotFoundError', 'ids.1'],
  ])('refuses to compare %s with a typed error', async (_label, ids, typename, field) => {
    const { compareRuns } = await server.gql(COMPARE, { ids: ids() });
    expect(compareRuns).toMatchObject({ __typename: typename, field });
  });
});
