// History pages whose edges the database writes as response text (server/runs/run-page-response.ts)
// answer exactly what graphql-js answers field by field: aliases, fragments, __typename, nested
// step outputs, cursors page after page, totalCount and pageInfo, in one SQL statement. Each
// query is sent as is and with `@include(if: true)` on the edges, a directive the response
// builder refuses, so graphql-js walks the same page; the two answers are compared. The text
// the database writes is recognisable by its `"key" : value` spacing, which JSON.stringify
// never makes, so each test also shows which path answered. Refusals stay the scope checks'.
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { StackyardClient } from '../client';
import { databaseTargets, uniqueName, useTestServer, type TestServer } from './harness';
import { expectType, registerComponent, registerStack } from './registry-operations';
import { finishRun, finishStep, reportOutputs, startRun, startStep } from './run-operations';

interface Answer {
  status: number;
  text: string;
  body: { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
  statements: number;
}

async function post(server: TestServer, query: string, variables: Record<string, unknown>, token: string | null): Promise<Answer> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text), statements: Number(response.headers.get('x-sql-statements')) };
}

/** Database-written text: json_build_object's separator. */
const BUILT_BY_SQL = '" : ';

/** `query` with EDGES replaced by `edges` and by `edges @include(if: true)`: the response builder's answer and graphql-js'. */
async function bothPaths(server: TestServer, query: string, variables: Record<string, unknown>, token: string | null) {
  const built = await post(server, query.replaceAll('EDGES', 'edges'), variables, token);
  const walked = await post(server, query.replaceAll('EDGES', 'edges @include(if: true)'), variables, token);
  expect(walked.text).not.toContain(BUILT_BY_SQL);
  expect(built.status).toBe(walked.status);
  return { built, walked };
}

describe.each(databaseTargets)('history pages answered as SQL-built text on $name', (target) => {
  const adminToken = `sy_test_${randomBytes(16).toString('hex')}`;
  const testServer = useTestServer(target, { adminToken });
  let server: TestServer;
  let viewerToken: string;
  const prefix = uniqueName('response');
  const stack = `${prefix}-stack`;
  const tracker = `${prefix}-tracker`;

  beforeAll(async () => {
    server = testServer();
    const admin = new StackyardClient({ url: server.url, token: adminToken, env: {} });
    const viewer = uniqueName('viewer');
    await admin.createUser(viewer, 'VIEWER');
    viewerToken = (await admin.createApiToken({ name: 'pages', userName: viewer })).token;
    expectType(await registerComponent(server, { type: 'EXPERIMENT_TRACKER', name: tracker, flavor: 'wandb' }), 'StackComponent');
    expectType(await registerStack(server, { name: stack, components: { orchestrator: 'default', artifactStore: 'default', experimentTracker: tracker } }), 'Stack');
    for (let index = 0; index < 5; index += 1) {
      const run = await startRun(server, {
        pipeline: `${prefix}-${index % 2 ? 'train' : 'eval'}`,
        stack,
        name: `${prefix}-run-${index}`,
        tags: index % 2 ? ['nightly', "it's \"quoted\""] : [],
        steps: [{ name: 'load' }, { name: 'train', parents: ['load'] }],
      });
      const load = await startStep(server, { runId: run.id, name: 'load', cacheKey: index % 2 ? `key-${index}` : null });
      await reportOutputs(server, load.id, [
        { name: 'data', uri: `/p/${index}/data ünïcode`, type: 'data', dataType: 'pandas', contentHash: index % 2 ? 'abc' : null },
        { name: 'schema', uri: `/p/${index}/schema` },
      ]);
      await finishStep(server, { stepRunId: load.id, status: 'COMPLETED' });
      if (index === 4) continue; // still running: no end, no duration
      const train = await startStep(server, { runId: run.id, name: 'train', parents: ['load'] });
      await finishStep(server, index === 2 ? { stepRunId: train.id, status: 'FAILED', errorMessage: 'out of\nmemory' } : { stepRunId: train.id, status: 'COMPLETED' });
      await finishRun(server, { runId: run.id });
    }
  });

  const HISTORY = `query History($stack: String!, $after: String) {
    stack(name: $stack) { runs(first: 2, after: $after) { ... on PipelineRunConnection {
      __typename pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      EDGES { cursor node { id name status createdAt durationMs steps { name status outputs { name artifactVersion { uri version type } } } } }
    } ... on Error { message } } }
  }`;

  it('answers the history page alike, page after page, in one statement', async () => {
    let after: string | null = null;
    const names: string[] = [];
    do {
      const { built, walked } = await bothPaths(server, HISTORY, { stack, after }, adminToken);
      expect(built.text).toContain(BUILT_BY_SQL);
      expect(built.body).toEqual(walked.body);
      expect(built.statements).toBe(1);
      names.push(...built.body.data.stack.runs.edges.map((edge: { node: { name: string } }) => edge.node.name));
      after = built.body.data.stack.runs.pageInfo.hasNextPage ? built.body.data.stack.runs.pageInfo.endCursor : null;
    } while (after);
    expect(names).toEqual([4, 3, 2, 1, 0].map((index) => `${prefix}-run-${index}`));
  });

  it.each([
    [
      'aliases, __typename everywhere, inline and named fragments',
      `query($stack: String!) { stack(name: $stack) { __typename page: runs(first: 3) { ... on PipelineRunConnection {
        count: totalCount info: pageInfo { more: hasNextPage }
        items: EDGES { __typename at: cursor run: node { __typename runId: id ...RunFields ... on PipelineRun { tags statusReason } } }
        ... on PipelineRunConnection { items: EDGES { run: node { label: name } } }
      } } } }
      fragment RunFields on PipelineRun { startedAt endedAt updatedAt lastHeartbeatAt
        steps { __typename id isCached errorMessage parents cacheKey codeHash startedAt endedAt outputs { __typename o: name artifactVersion { ...Version } } } }
      fragment Version on ArtifactVersion { __typename id version uri type dataType materializer contentHash tags createdAt }`,
    ],
    [
      'Query.runs filtered and ordered, nodes of only __typename',
      `query($stack: String!) { runs(first: 4, filter: { stackName: $stack, tags: ["nightly"] }, orderBy: { field: DURATION, direction: ASC }) {
        ... on PipelineRunConnection { EDGES { cursor node { __typename } } pageInfo { endCursor } } } }`,
    ],
    [
      'the runs of a component and a pipeline, two pages of a stack, and a stack list (graphql-js walks its pages)',
      `query($stack: String!) {
        stacks(first: 50) { ... on QueryStacksConnection { edges { node { name runs(first: 1) { ... on PipelineRunConnection { EDGES { node { name } } } } } } } }
        component(type: EXPERIMENT_TRACKER, name: "${tracker}") { runs(first: 2) { ... on PipelineRunConnection { EDGES { node { id steps { name } } } } } }
        pipeline(name: "${prefix}-train") { runs { ... on PipelineRunConnection { EDGES { node { name } } } } }
        stack(name: $stack) { a: runs(first: 1) { ... on PipelineRunConnection { EDGES { node { name } } } } b: runs(first: 2) { ... on PipelineRunConnection { EDGES { cursor } } } }
      }`,
    ],
  ])('answers %s alike', async (_label, query) => {
    const { built, walked } = await bothPaths(server, query, { stack }, adminToken);
    expect(built.body.errors).toBeUndefined();
    expect(built.text).toContain(BUILT_BY_SQL);
    expect(built.body).toEqual(walked.body);
    expect(built.statements).toBeLessThanOrEqual(walked.statements);
  });

  it('answers the runs of a stack reached by node(id) alike', async () => {
    const { stack: found } = await server.gql(`query($stack: String!) { stack(name: $stack) { id } }`, { stack }, adminToken);
    const query = `query($id: ID!) { node(id: $id) { ... on Stack { name runs(first: 2) { ... on PipelineRunConnection {
      pageInfo { endCursor } EDGES { cursor node { id name steps { name } } } } } } } }`;
    const { built, walked } = await bothPaths(server, query, { id: found.id }, adminToken);
    expect(built.body.errors).toBeUndefined();
    expect(built.body).toEqual(walked.body);
    expect(built.text).toContain(BUILT_BY_SQL);
    expect(built.body.data.node.runs.edges).toHaveLength(2);
    expect(built.statements).toBeLessThanOrEqual(walked.statements);
  });

  it('leaves pages it cannot answer to graphql-js: a backward page, a field of its own', async () => {
    const backward = await post(server, HISTORY.replace('first: 2, after: $after', 'last: 2, before: $after').replaceAll('EDGES', 'edges'), { stack, after: null }, adminToken);
    expect(backward.text).not.toContain(BUILT_BY_SQL);
    expect(backward.body.errors).toBeUndefined();
    const config = await post(server, HISTORY.replace('durationMs', 'config').replaceAll('EDGES', 'edges'), { stack }, adminToken);
    expect(config.text).not.toContain(BUILT_BY_SQL);
    expect(config.body.data.stack.runs.edges).toHaveLength(2);
  });

  it('gives a viewer the same page and a caller without a token the same refusal', async () => {
    const viewer = await bothPaths(server, HISTORY, { stack, after: null }, viewerToken);
    expect(viewer.built.text).toContain(BUILT_BY_SQL);
    expect(viewer.built.body).toEqual(viewer.walked.body);
    const anonymous = await bothPaths(server, HISTORY, { stack, after: null }, null);
    expect(anonymous.built.status).toBe(401);
    expect(anonymous.built.body).toEqual(anonymous.walked.body);
    expect(anonymous.built.body.errors![0].extensions!.code).toBe('UNAUTHENTICATED');
    expect(anonymous.built.text).not.toContain(`${prefix}-run`);
  });

  it('answers a bad cursor with the same typed error', async () => {
    const { built, walked } = await bothPaths(server, HISTORY, { stack, after: 'bm90IGEgY3Vyc29y' }, adminToken);
    expect(built.body).toEqual(walked.body);
    expect(built.body.data.stack.runs.message).toBeDefined();
  });
});
