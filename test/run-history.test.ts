// Run history: every filter, every order, keyset pages, cursors bound to their query, the
// per-stack, per-component and per-pipeline connections, stats, and the one-statement plan.
import { beforeAll, describe, expect, it } from 'vitest';
import { databaseTargets, uniqueName, useTestServer, type TestServer } from './harness';
import { expectType, registerComponent, registerStack } from './registry-operations';
import { finishRun, finishStep, reportOutputs, startRun, startStep } from './run-operations';

interface SeededRun {
  id: string;
  name: string;
  stack: string;
  pipeline: string;
  tags: string[];
  status: string;
  createdAt: string;
}

const RUN_NODE = 'id name status tags createdAt startedAt updatedAt durationMs pipeline { name } stack { name }';

describe.each(databaseTargets)('run history on $name', (target) => {
  const testServer = useTestServer(target);
  let server: TestServer;
  const prefix = uniqueName('hist');
  const stackA = `${prefix}-a`;
  const stackB = `${prefix}-b`;
  const tracker = `${prefix}-tracker`;
  const seeded: SeededRun[] = [];

  beforeAll(async () => {
    server = testServer();
    expectType(await registerComponent(server, { type: 'EXPERIMENT_TRACKER', name: tracker, flavor: 'wandb' }), 'StackComponent');
    expectType(await registerStack(server, { name: stackA, components: { orchestrator: 'default', artifactStore: 'default', experimentTracker: tracker } }), 'Stack');
    expectType(await registerStack(server, { name: stackB, components: { orchestrator: 'default', artifactStore: 'default' } }), 'Stack');
    const plan: [string, string, string[], 'COMPLETED' | 'FAILED' | 'RUNNING'][] = [
      [stackA, 'train', ['nightly'], 'COMPLETED'],
      [stackA, 'train', ['nightly', 'gpu'], 'FAILED'],
      [stackA, 'eval', [], 'COMPLETED'],
      [stackB, 'train', ['gpu'], 'COMPLETED'],
      [stackA, 'eval', ['nightly'], 'RUNNING'],
      [stackA, 'train', ['gpu'], 'COMPLETED'],
      [stackB, 'eval', ['nightly', 'gpu'], 'FAILED'],
      [stackA, 'train', [], 'COMPLETED'],
      [stackA, 'train', ['nightly'], 'COMPLETED'],
      [stackA, 'eval', ['gpu'], 'FAILED'],
      [stackA, 'train', ['nightly'], 'COMPLETED'],
      [stackB, 'train', [], 'RUNNING'],
    ];
    for (const [index, [stack, pipelineSuffix, tags, outcome]] of plan.entries()) {
      const pipeline = `${prefix}-${pipelineSuffix}`;
      const run = await startRun(server, { pipeline, stack, tags, name: `${prefix}-run-${String(index).padStart(2, '0')}`, steps: [{ name: 'step' }] });
      const step = await startStep(server, { runId: run.id, name: 'step' });
      await reportOutputs(server, step.id, [{ name: 'out', uri: `/h/${index}` }, { name: 'extra', uri: `/h/${index}/extra` }]);
      if (outcome !== 'RUNNING') {
        await finishStep(server, outcome === 'FAILED' ? { stepRunId: step.id, status: 'FAILED', errorMessage: 'boom' } : { stepRunId: step.id, status: 'COMPLETED' });
        await finishRun(server, { runId: run.id });
      }
      seeded.push({ id: run.id, name: run.name, stack, pipeline, tags, status: outcome, createdAt: run.createdAt });
    }
  });

  const runsQuery = `query($filter: RunFilter, $orderBy: RunOrder, $first: Int, $after: String, $last: Int, $before: String) {
    runs(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
      __typename
      ... on Error { message field }
      ... on PipelineRunConnection { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { ${RUN_NODE} } } }
    }
  }`;
  const runs = async (variables: Record<string, unknown>) => (await server.gql(runsQuery, variables)).runs;
  const names = (connection: any) => connection.edges.map((edge: any) => edge.node.name);
  const ours = { nameContains: prefix };
  const newestFirst = () => seeded.map((run) => run.name).reverse();

  it('lists runs newest first by default, with a total count', async () => {
    const page = await runs({ filter: ours, first: 100 });
    expect(page.totalCount).toBe(seeded.length);
    expect(names(page)).toEqual(newestFirst());
  });

  it('pages forward and backward through keyset cursors, visiting each run once', async () => {
    const forward: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await runs({ filter: ours, first: 5, after });
      forward.push(...names(page));
      expect(page.totalCount).toBe(seeded.length);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(forward).toEqual(newestFirst());
    const backward: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await runs({ filter: ours, last: 5, before });
      backward.unshift(...names(page));
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor;
    }
    expect(backward).toEqual(newestFirst());
  });

  it.each([
    ['CREATED', 'createdAt'],
    ['STARTED', 'startedAt'],
    ['UPDATED', 'updatedAt'],
    ['DURATION', 'durationMs'],
  ])('orders by %s, both directions, across pages', async (field, key) => {
    for (const direction of ['ASC', 'DESC']) {
      const all = await runs({ filter: ours, orderBy: { field, direction }, first: 100 });
      const values = all.edges.map((edge: any) => (key === 'durationMs' ? (edge.node.durationMs ?? -1) : Date.parse(edge.node[key])));
      const sorted = [...values].sort((a, b) => (direction === 'ASC' ? a - b : b - a));
      expect(values).toEqual(sorted);
      const paged: string[] = [];
      let after: string | undefined;
      do {
        const page = await runs({ filter: ours, orderBy: { field, direction }, first: 4, after });
        paged.push(...names(page));
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : undefined;
      } while (after);
      expect(paged).toEqual(names(all));
    }
  });

  const expectFilter = async (filter: Record<string, unknown>, expected: (run: SeededRun) => boolean) => {
    const page = await runs({ filter: { ...ours, ...filter }, first: 100 });
    const wanted = seeded.filter(expected).map((run) => run.name).reverse();
    expect(wanted.length).toBeGreaterThan(0);
    expect(wanted.length).toBeLessThan(seeded.length);
    expect(names(page)).toEqual(wanted);
    expect(page.totalCount).toBe(wanted.length);
  };

  it('filters by stack name and stack id', async () => {
    await expectFilter({ stackName: stackB }, (run) => run.stack === stackB);
    const stack = await server.gql(`query($n: String!) { stack(name: $n) { id } }`, { n: stackA });
    await expectFilter({ stackId: stack.stack.id }, (run) => run.stack === stackA);
    expectType(await runs({ filter: { stackId: 'garbage' } }), 'ValidationError', 'filter.stackId');
  });

  it('filters by a component of the stack the run used', async () => {
    await expectFilter({ component: { type: 'EXPERIMENT_TRACKER', name: tracker } }, (run) => run.stack === stackA);
  });

  it('filters by pipeline', async () => {
    await expectFilter({ pipeline: `${prefix}-eval` }, (run) => run.pipeline === `${prefix}-eval`);
  });

  it('filters by any of several statuses', async () => {
    await expectFilter({ status: ['FAILED', 'RUNNING'] }, (run) => run.status === 'FAILED' || run.status === 'RUNNING');
  });

  it('filters by created and started time ranges', async () => {
    const from = seeded[3].createdAt;
    const to = seeded[8].createdAt;
    const inRange = (run: SeededRun, index = seeded.indexOf(run)) => index >= 3 && index <= 8;
    await expectFilter({ createdAfter: from, createdBefore: to }, inRange);
    await expectFilter({ startedAfter: from, startedBefore: to }, inRange);
  });

  it('filters by tags, all of them', async () => {
    await expectFilter({ tags: ['nightly', 'gpu'] }, (run) => run.tags.includes('nightly') && run.tags.includes('gpu'));
    await expectFilter({ tags: ['gpu'] }, (run) => run.tags.includes('gpu'));
  });

  it('filters by name', async () => {
    await expectFilter({ nameContains: `${prefix}-run-1` }, (run) => run.name.startsWith(`${prefix}-run-1`));
  });

  it('keeps the filter on page two', async () => {
    const filter = { ...ours, stackName: stackA, status: ['COMPLETED'] };
    const first = await runs({ filter, first: 2 });
    const second = await runs({ filter, first: 2, after: first.pageInfo.endCursor });
    const wanted = seeded.filter((run) => run.stack === stackA && run.status === 'COMPLETED').map((run) => run.name).reverse();
    expect([...names(first), ...names(second)]).toEqual(wanted.slice(0, 4));
  });

  it('rejects a cursor used with another filter or order, or a corrupt one, with a typed error', async () => {
    const page = await runs({ filter: { ...ours, stackName: stackA }, first: 2 });
    const cursor = page.pageInfo.endCursor;
    expectType(await runs({ filter: { ...ours, stackName: stackB }, first: 2, after: cursor }), 'InvalidCursorError', 'after');
    expectType(await runs({ filter: { ...ours, stackName: stackA }, orderBy: { field: 'UPDATED' }, first: 2, after: cursor }), 'InvalidCursorError', 'after');
    expectType(await runs({ filter: { ...ours, stackName: stackA }, orderBy: { direction: 'ASC' }, last: 2, before: cursor }), 'InvalidCursorError', 'before');
    expectType(await runs({ filter: ours, first: 2, after: 'not-a-cursor' }), 'InvalidCursorError', 'after');
    // The same filter written in another order is the same query.
    const same = await runs({ filter: { stackName: stackA, ...ours }, orderBy: { direction: 'DESC', field: 'CREATED' }, first: 2, after: cursor });
    expect(same.__typename).toBe('PipelineRunConnection');
  });

  it('offers the same connection on stacks, components and pipelines, with stats', async () => {
    const data = await server.gql(
      `query($stack: String!, $tracker: String!, $pipeline: String!) {
        stack(name: $stack) {
          runs(first: 3) { ... on PipelineRunConnection { totalCount edges { node { name } } pageInfo { endCursor } } }
          runStats { total lastRunAt byStatus { status count } }
        }
        component(type: EXPERIMENT_TRACKER, name: $tracker) {
          runs(first: 100, filter: { status: [FAILED] }) { ... on PipelineRunConnection { totalCount edges { node { name } } } }
          runStats { total }
        }
        pipeline(name: $pipeline) { runs(first: 100) { ... on PipelineRunConnection { totalCount } } }
      }`,
      { stack: stackB, tracker, pipeline: `${prefix}-eval` },
    );
    const onB = seeded.filter((run) => run.stack === stackB);
    expect(data.stack.runs.totalCount).toBe(onB.length);
    expect(names(data.stack.runs)).toEqual(onB.map((run) => run.name).reverse());
    const counts = Object.fromEntries(data.stack.runStats.byStatus.map((entry: any) => [entry.status, entry.count]));
    expect(data.stack.runStats.total).toBe(onB.length);
    expect(counts).toMatchObject({ COMPLETED: 1, FAILED: 1, RUNNING: 1, CACHED: 0 });
    expect(Date.parse(data.stack.runStats.lastRunAt)).toBe(Date.parse(onB[onB.length - 1].createdAt));
    const failedOnA = seeded.filter((run) => run.stack === stackA && run.status === 'FAILED');
    expect(data.component.runs.totalCount).toBe(failedOnA.length);
    expect(names(data.component.runs)).toEqual(failedOnA.map((run) => run.name).reverse());
    expect(data.component.runStats.total).toBe(seeded.filter((run) => run.stack === stackA).length);
    expect(data.pipeline.runs.totalCount).toBe(seeded.filter((run) => run.pipeline === `${prefix}-eval`).length);

    const nested = await server.gql(
      `query($stack: String!, $after: String) { stack(name: $stack) { runs(first: 3, after: $after, filter: { status: [FAILED] }) { __typename ... on Error { field } } } }`,
      { stack: stackB, after: data.stack.runs.pageInfo.endCursor },
    );
    expect(nested.stack.runs).toEqual({ __typename: 'InvalidCursorError', field: 'after' });
  });

  it("answers a dashboard's history page with one SQL statement plus one count", async () => {
    const selection = `edges { node { name status createdAt durationMs steps { name status outputs { name artifactVersion { uri version type } } } } }`;
    for (const [query, variables] of [
      [`query($s: String!) { stack(name: $s) { name runs(first: 50) { ... on PipelineRunConnection { ${selection} } } } }`, { s: stackA }],
      [`query($f: RunFilter) { runs(filter: $f, first: 50) { ... on PipelineRunConnection { ${selection} } } }`, { f: { stackName: stackA } }],
    ] as const) {
      const plain = await server.request(query, variables);
      expect(plain.errors).toBeUndefined();
      expect(plain.headers.get('x-sql-statements')).toBe('1');
      const counted = await server.request(query.replace('{ edges', '{ totalCount edges'), variables);
      expect(counted.errors).toBeUndefined();
      expect(counted.headers.get('x-sql-statements')).toBe('2');
      const body = JSON.stringify(counted.data);
      expect(body).toContain('/h/0/extra');
    }
  });
});
