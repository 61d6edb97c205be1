// Run history pages built in SQL (server/runs/run-page-sql.ts) answer exactly what the planner's
// path answers: every field the builder knows, cursors included, on Query.runs and on the runs of
// a stack, component and pipeline, first and later pages, in each order. A directive inside the
// page's selection is something the builder refuses, so `@include(if: true)` on the node sends
// the same query down the planner's path, and the two answers are compared.
import { beforeAll, describe, expect, it } from 'vitest';
import { databaseTargets, uniqueName, useTestServer, type TestServer } from './harness';
import { expectType, registerComponent, registerStack } from './registry-operations';
import { finishRun, finishStep, reportOutputs, startRun, startStep } from './run-operations';

const NODE = `id name status statusReason tags createdAt startedAt endedAt updatedAt lastHeartbeatAt durationMs
  config metadata expectedSteps { name parents } stackSnapshot { name components { type name flavor } }
  steps { __typename id name status errorMessage parents cacheKey codeHash startedAt endedAt durationMs isCached parameters metadata
    outputs { name artifactVersion { id uri version type sizeBytes materializer dataType contentHash tags createdAt metadata } } }`;

const PAGE = (node: string) => `... on PipelineRunConnection {
  __typename totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node ${node} }
} ... on Error { message }`;

/** Both answers of one query: the SQL-built page's and the planner's. */
async function bothPaths(server: TestServer, query: (node: string) => string, variables: Record<string, unknown>, node = NODE) {
  const built = await server.request(query(`{ ${node} }`), variables);
  const planned = await server.request(query(`@include(if: true) { ${node} }`), variables);
  expect(built.errors).toBeUndefined();
  expect(planned.errors).toBeUndefined();
  // Never more statements than the planner's path (which may load aliased pages separately).
  expect(Number(built.headers.get('x-sql-statements'))).toBeLessThanOrEqual(Number(planned.headers.get('x-sql-statements')));
  return { built: built.data, planned: planned.data };
}

describe.each(databaseTargets)('run pages built in SQL on $name', (target) => {
  const testServer = useTestServer(target);
  let server: TestServer;
  const prefix = uniqueName('sqlpage');
  const stack = `${prefix}-stack`;
  const tracker = `${prefix}-tracker`;

  beforeAll(async () => {
    server = testServer();
    expectType(await registerComponent(server, { type: 'EXPERIMENT_TRACKER', name: tracker, flavor: 'wandb' }), 'StackComponent');
    expectType(await registerStack(server, { name: stack, components: { orchestrator: 'default', artifactStore: 'default', experimentTracker: tracker } }), 'Stack');
    for (let index = 0; index < 7; index += 1) {
      const run = await startRun(server, {
        pipeline: `${prefix}-${index % 2 ? 'train' : 'eval'}`,
        stack,
        name: `${prefix}-run-${index}`,
        tags: index % 3 ? ['nightly'] : [],
        config: { lr: index / 10, nested: { list: [index, 'x'] } },
        steps: [{ name: 'load' }, { name: 'train', parents: ['load'] }],
      });
      const load = await startStep(server, { runId: run.id, name: 'load', cacheKey: index % 2 ? `key-${index}` : null });
      await reportOutputs(server, load.id, [
        { name: 'data', uri: `/p/${index}/data`, type: 'data', sizeBytes: 1000 + index, tags: ['raw'], metadata: { rows: index } },
        { name: 'schema', uri: `/p/${index}/schema` },
      ]);
      await finishStep(server, { stepRunId: load.id, status: 'COMPLETED' });
      if (index === 6) continue; // still running: no end, no duration
      const train = await startStep(server, { runId: run.id, name: 'train', parents: ['load'] });
      await finishStep(server, index === 2 ? { stepRunId: train.id, status: 'FAILED', errorMessage: 'out of memory' } : { stepRunId: train.id, status: 'COMPLETED' });
      await finishRun(server, { runId: run.id });
    }
  });

  it.each([
    ['newest first', {}, 7],
    ['by duration, shortest first', { orderBy: { field: 'DURATION', direction: 'ASC' } }, 7],
    ['by start, oldest first, finished only', { orderBy: { field: 'STARTED', direction: 'ASC' }, filter: { status: ['FAILED', 'COMPLETED'] } }, 6],
  ])('Query.runs pages %s alike, page after page', async (_label, extra: Record<string, unknown>, runs: number) => {
    const query = (node: string) => `query($filter: RunFilter, $orderBy: RunOrder, $after: String) {
      runs(first: 3, after: $after, filter: $filter, orderBy: $orderBy) { ${PAGE(node)} } }`;
    const filter = { ...(extra.filter as object), stackName: stack };
    let after: string | null = null;
    const names: string[] = [];
    do {
      const { built, planned } = await bothPaths(server, query, { ...extra, filter, after });
      expect(built).toEqual(planned);
      names.push(...built.runs.edges.map((edge: { node: { name: string } }) => edge.node.name));
      after = built.runs.pageInfo.hasNextPage ? built.runs.pageInfo.endCursor : null;
    } while (after);
    expect(new Set(names).size).toBe(runs);
  });

  it('pages the runs of a stack, a component and a pipeline alike, aliased pages apart', async () => {
    const query = (node: string) => `query($stack: String!, $tracker: String!, $pipeline: String!) {
      stack(name: $stack) { name first: runs(first: 2) { ${PAGE(node)} } all: runs(first: 10, filter: { tags: ["nightly"] }) { ${PAGE(node)} } }
      component(type: EXPERIMENT_TRACKER, name: $tracker) { runs(first: 4, orderBy: { field: DURATION }) { ${PAGE(node)} } }
      pipeline(name: $pipeline) { runs { ${PAGE(node)} } }
    }`;
    const { built, planned } = await bothPaths(server, query, { stack, tracker, pipeline: `${prefix}-train` });
    expect(built).toEqual(planned);
    expect(built.stack.first.edges).toHaveLength(2);
    expect(built.stack.all.edges.length).toBeGreaterThan(2);
    const next = await bothPaths(
      server,
      (node) => `query($stack: String!, $after: String) { stack(name: $stack) { runs(first: 2, after: $after) { ${PAGE(node)} } } }`,
      { stack, after: built.stack.first.pageInfo.endCursor },
    );
    expect(next.built).toEqual(next.planned);
    expect(next.built.stack.runs.pageInfo.hasPreviousPage).toBe(true);
  });

  it.each([
    'durationMs steps { durationMs isCached outputs { artifactVersion { createdAt } } }',
    'id steps { id status }',
    '__typename',
  ])('builds the columns a few fields need from their own: %s', async (node) => {
    const query = (selection: string) => `query($stack: String!) { stack(name: $stack) { runs(first: 7) { ${PAGE(selection)} } } }`;
    const { built, planned } = await bothPaths(server, query, { stack }, node);
    expect(built).toEqual(planned);
    expect(built.stack.runs.edges).toHaveLength(7);
  });

  it('answers a bad cursor with the same typed error on both paths', async () => {
    const { built, planned } = await bothPaths(server, (node) => `query { runs(first: 2, after: "bm90IGEgY3Vyc29y") { ${PAGE(node)} ... on Error { __typename } } }`, {});
    expect(built).toEqual(planned);
    expect(built.runs.__typename).toBe('InvalidCursorError');
  });
});
