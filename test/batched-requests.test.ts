// Batched requests: a body that is a JSON array of operations is answered by an array, each
// operation as if it had been sent alone (GraphQL over HTTP batching, as graphql-yoga offers it).
// The typed client sends the step reports a process makes while others are in flight together,
// and falls back to one request each when a server does not take batches.
import { print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { StackyardClient, StackyardError } from '../client';
import { StartStepDocument } from '../client/generated/graphql';
import { databaseTargets, uniqueName, useTestServer, type TestServer } from './harness';
import { RESULT_FIELDS } from './registry-operations';
import { startRun } from './run-operations';

const START_STEP = `mutation($runId: ID!, $name: String!) {
  startStep(runId: $runId, name: $name) { ${RESULT_FIELDS} ... on StepRun { id name status } }
}`;

interface Answer {
  data?: Record<string, any>;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** Posts the operations as one JSON array. */
async function postBatch(server: TestServer, operations: unknown[]) {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
    body: JSON.stringify(operations),
  });
  return { status: response.status, statements: response.headers.get('x-sql-statements'), body: (await response.json()) as unknown };
}

/** A run that expects steps s0 ... s(count - 1), none started. */
async function runExpecting(server: TestServer, count: number): Promise<string> {
  const run = await startRun(server, { pipeline: uniqueName('batched'), steps: Array.from({ length: count }, (_unused, index) => ({ name: `s${index}`, parents: [] })) });
  expect(run.__typename, JSON.stringify(run)).toBe('PipelineRun');
  return run.id;
}

async function startedSteps(server: TestServer, runId: string): Promise<string[]> {
  const { run } = await server.gql(`query($id: ID!) { run(id: $id) { steps { name status } } }`, { id: runId });
  return run.steps.map((step: { name: string }) => step.name).sort();
}

describe.each(databaseTargets)('batched requests on $name', (target) => {
  const testServer = useTestServer(target);

  it('answers a JSON array of operations with an array, each as if sent alone, in order', async () => {
    const server = testServer();
    const runId = await runExpecting(server, 3);
    const { status, statements, body } = await postBatch(server, [
      { query: START_STEP, variables: { runId, name: 's0' } },
      { query: START_STEP, variables: { runId, name: 'not-expected' } },
      { query: '{ serverLimits { maxBatchedOperations } }' },
      { query: START_STEP, variables: { runId, name: 's2' } },
      // A variable of the wrong type fails its own operation only.
      { query: START_STEP, variables: { runId, name: 42 } },
    ]);
    expect(status).toBe(200);
    const answers = body as Answer[];
    expect(answers).toHaveLength(5);
    expect(answers[0].data!.startStep).toMatchObject({ __typename: 'StepRun', name: 's0', status: 'RUNNING' });
    expect(answers[1].data!.startStep).toMatchObject({ __typename: 'ValidationError', field: 'name' });
    expect(answers[2].data).toEqual({ serverLimits: { maxBatchedOperations: 16 } });
    expect(answers[3].data!.startStep).toMatchObject({ __typename: 'StepRun', name: 's2' });
    expect(answers[4].data).toBeUndefined();
    expect(answers[4].errors![0].message).toMatch(/\$name/);
    // The statements of the whole request: at least the two starts.
    expect(Number(statements)).toBeGreaterThanOrEqual(2);
    expect(await startedSteps(server, runId)).toEqual(['s0', 's2']);
  });

  it('answers a malformed operation with its own clear error, and keeps internal errors out of each answer', async () => {
    const server = testServer();
    const { status, body } = await postBatch(server, [
      { query: '{ serverLimits { maxPageSize } }' },
      { query: 'query { run(id: "not-a-node-id") { id } }' },
      { query: '{ nope }' },
      {},
      { query: 42 },
      { query: '{ __typename }', variables: 'x' },
    ]);
    expect(status).toBe(200);
    const answers = body as Answer[];
    expect(answers).toHaveLength(6);
    expect(answers[0].data).toEqual({ serverLimits: { maxPageSize: 100 } });
    expect(answers[2].errors![0].message).toMatch(/nope/);
    for (const answer of answers.slice(3)) expect(answer.errors?.length, JSON.stringify(answer)).toBeGreaterThan(0);
    expect(JSON.stringify(answers)).not.toMatch(/ at \w+ \(|select |insert |stack|Unexpected error/i);
  });

  it('refuses an empty batch and one whose items are not operations, running nothing', async () => {
    const server = testServer();
    const runId = await runExpecting(server, 1);
    for (const batch of [[], [{ query: START_STEP, variables: { runId, name: 's0' } }, null], [[{ query: '{ __typename }' }]], ['{ __typename }']]) {
      const { status, body } = await postBatch(server, batch);
      expect(status, JSON.stringify(body)).toBe(400);
      expect((body as Answer).errors![0].message).toMatch(/empty batch|is not an operation/);
    }
    expect(await startedSteps(server, runId)).toEqual([]);
  });

  it('refuses more operations than serverLimits.maxBatchedOperations, running none of them', async () => {
    const server = testServer();
    const runId = await runExpecting(server, 17);
    const { status, body } = await postBatch(
      server,
      Array.from({ length: 17 }, (_unused, index) => ({ query: START_STEP, variables: { runId, name: `s${index}` } })),
    );
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    expect(JSON.stringify(body)).toMatch(/16/);
    expect(await startedSteps(server, runId)).toEqual([]);
  });

  it('sends the step reports made while others are in flight in fewer requests, each answered as its own', async () => {
    const server = testServer();
    const runId = await runExpecting(server, 12);
    const bodies: unknown[] = [];
    const counting: typeof fetch = (input, init) => {
      bodies.push(JSON.parse(String(init?.body)));
      return fetch(input, init);
    };
    const client = new StackyardClient({ url: server.url, env: {}, configDir: uniqueName('/tmp/stackyard-batch-'), fetch: counting });
    const starts = await Promise.allSettled([
      ...Array.from({ length: 12 }, (_unused, index) => client.startStep({ runId, name: `s${index}` })),
      client.startStep({ runId, name: 'not-expected' }),
    ]);
    const started = starts.slice(0, 12).map((settled) => (settled.status === 'fulfilled' ? settled.value.name : settled.reason));
    expect(started).toEqual(Array.from({ length: 12 }, (_unused, index) => `s${index}`));
    const refused = starts[12];
    expect(refused.status).toBe('rejected');
    expect((refused as PromiseRejectedResult).reason).toBeInstanceOf(StackyardError);
    expect((refused as PromiseRejectedResult).reason).toMatchObject({ type: 'ValidationError', field: 'name' });
    // The first went alone; the others waited for it and went together.
    expect(bodies.length).toBeLessThan(13);
    expect(bodies.some((body) => Array.isArray(body) && body.length > 1)).toBe(true);
    // As persisted ids, so a server in allow-list mode runs them.
    const batch = bodies.find((body): body is Record<string, unknown>[] => Array.isArray(body))!;
    expect(batch[0]).toMatchObject({ operationName: 'StartStep', extensions: { persistedQuery: { version: 1 } } });
    expect(batch[0]).not.toHaveProperty('query');
    expect(await startedSteps(server, runId)).toHaveLength(12);
  });

  it('sends each report alone to a server that does not take batches', async () => {
    const server = testServer();
    const runId = await runExpecting(server, 6);
    let refusedBatches = 0;
    // The answer of a server without batching (graphql-yoga's own) to a JSON array.
    const withoutBatching: typeof fetch = async (input, init) => {
      if (Array.isArray(JSON.parse(String(init?.body)))) {
        refusedBatches += 1;
        return new Response(JSON.stringify({ errors: [{ message: 'Batching is not supported.' }] }), { status: 400, headers: { 'content-type': 'application/json' } });
      }
      return fetch(input, init);
    };
    const client = new StackyardClient({ url: server.url, env: {}, configDir: uniqueName('/tmp/stackyard-batch-'), fetch: withoutBatching });
    const first = await Promise.all(Array.from({ length: 3 }, (_unused, index) => client.startStep({ runId, name: `s${index}` })));
    const second = await Promise.all(Array.from({ length: 3 }, (_unused, index) => client.startStep({ runId, name: `s${index + 3}` })));
    expect([...first, ...second].map((step) => step.name)).toEqual(['s0', 's1', 's2', 's3', 's4', 's5']);
    // Asked once: after the refusal, reports go alone.
    expect(refusedBatches).toBe(1);
    expect(await startedSteps(server, runId)).toHaveLength(6);
  });
});

describe.each(databaseTargets)('batched requests to a server in allow-list mode on $name', (target) => {
  const testServer = useTestServer(target, { persistedOperationsOnly: true });

  it('runs a batch of persisted operations and refuses document text in it, item by item', async () => {
    const server = testServer();
    const client = new StackyardClient({ url: server.url, env: {}, configDir: uniqueName('/tmp/stackyard-batch-') });
    const run = await client.startRun({ pipeline: uniqueName('allow-list'), steps: [{ name: 'a', parents: [] }, { name: 'b', parents: [] }] });
    const steps = await Promise.all([client.startStep({ runId: run.id, name: 'a' }), client.startStep({ runId: run.id, name: 'b' })]);
    expect(steps.map((step) => step.name)).toEqual(['a', 'b']);
    const { body } = await postBatch(server, [{ query: print(StartStepDocument), variables: { runId: run.id, name: 'a' } }]);
    expect((body as Answer[])[0].errors?.length).toBeGreaterThan(0);
  });
});
