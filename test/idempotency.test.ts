// A retry answers what the call it repeats stored, but only with the same arguments: a replay of
// an idempotency key, a step or an output with other arguments is an IdempotencyConflictError
// naming the field that differs, and changes nothing.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { StackyardClient, StackyardError } from '../client';
import { databaseTargets, uniqueName, useTestServer, type TestServer } from './harness';
import { expectType, registerLocalStack } from './registry-operations';
import { reportOutputs, startRun, startStep } from './run-operations';

/** A StepRun's id as the API gives it: the type name and the UUID, in base64. */
const stepRunGlobalId = (uuid: string) => Buffer.from(`StepRun:${uuid}`).toString('base64');

describe.each(databaseTargets)('idempotent retries on $name', (target) => {
  const testServer = useTestServer(target);
  let server: TestServer;
  let otherStack: string;
  beforeAll(async () => {
    server = testServer();
    otherStack = uniqueName('other-stack');
    await registerLocalStack(server, otherStack);
  });

  const runCount = async (pipeline: string) =>
    (await server.gql(`query($p: String!) { runs(filter: { pipeline: $p }) { ... on PipelineRunConnection { totalCount } } }`, { p: pipeline })).runs
      .totalCount;

  it('refuses a replayed idempotency key with other arguments, naming the field', async () => {
    const pipeline = uniqueName('idem');
    const original = {
      pipeline,
      stack: 'default',
      name: uniqueName('run'),
      steps: [{ name: 'load' }, { name: 'train', parents: ['load'] }],
      tags: ['a', 'b'],
      config: { lr: 0.1, layers: { n: 2 } },
      idempotencyKey: uniqueName('key'),
    };
    const run = expectType(await startRun(server, original), 'PipelineRun');
    // The same arguments, normalised alike, answer the run: tags in another order, padded names, keys reordered.
    const same = await startRun(server, { ...original, pipeline: ` ${pipeline}`, tags: ['b', 'a', 'a'], config: { layers: { n: 2 }, lr: 0.1 } });
    expect(same).toMatchObject({ __typename: 'PipelineRun', id: run.id });
    const differing: [string, Record<string, unknown>][] = [
      ['pipeline', { pipeline: uniqueName('another') }],
      ['stack', { stack: otherStack }],
      ['stack', { stack: null }],
      ['name', { name: uniqueName('renamed') }],
      ['steps', { steps: [{ name: 'load' }] }],
      ['tags', { tags: ['a'] }],
      ['config', { config: { lr: 0.2, layers: { n: 2 } } }],
    ];
    for (const [field, change] of differing) {
      const answer = await startRun(server, { ...original, ...change });
      expectType(answer, 'IdempotencyConflictError', field);
    }
    expect(await runCount(pipeline)).toBe(1);
  });

  it('refuses a retried startStep with other arguments, naming the field', async () => {
    const run = expectType(await startRun(server, { pipeline: uniqueName('idem-step') }), 'PipelineRun');
    const first = expectType(await startStep(server, { runId: run.id, name: 'train', parents: [], cacheKey: 'k1' }), 'StepRun');
    expect(await startStep(server, { runId: run.id, name: 'train', parents: [], cacheKey: 'k1' })).toMatchObject({ id: first.id });
    expectType(await startStep(server, { runId: run.id, name: 'train', parents: [], cacheKey: 'k2' }), 'IdempotencyConflictError', 'cacheKey');
    expectType(await startStep(server, { runId: run.id, name: 'train', parents: ['load'], cacheKey: 'k1' }), 'IdempotencyConflictError', 'parents');
  });

  it('opens a step run under the id its caller chose, answers a retry with it, and refuses an id that is taken or malformed', async () => {
    const run = expectType(await startRun(server, { pipeline: uniqueName('chosen-id'), steps: [{ name: 'load' }, { name: 'train' }] }), 'PipelineRun');
    const chosen = stepRunGlobalId(randomUUID());
    const opened = expectType(await startStep(server, { runId: run.id, name: 'load', id: chosen }), 'StepRun');
    expect(opened).toMatchObject({ id: chosen, status: 'RUNNING' });
    // A retry of that start, and a start proposing another id, answer the step run it opened.
    expect(await startStep(server, { runId: run.id, name: 'load', id: chosen })).toMatchObject({ id: chosen });
    expect(await startStep(server, { runId: run.id, name: 'load', id: stepRunGlobalId(randomUUID()) })).toMatchObject({ id: chosen });
    // Another step cannot take an id a step run has, in this run or any other.
    expectType(await startStep(server, { runId: run.id, name: 'train', id: chosen }), 'IdempotencyConflictError', 'id');
    const other = expectType(await startRun(server, { pipeline: uniqueName('chosen-id') }), 'PipelineRun');
    expectType(await startStep(server, { runId: other.id, name: 'load', id: chosen }), 'IdempotencyConflictError', 'id');
    for (const malformed of [randomUUID(), run.id, Buffer.from('StepRun:not-a-uuid').toString('base64')]) {
      expectType(await startStep(server, { runId: run.id, name: 'train', id: malformed }), 'ValidationError', 'id');
    }
    const steps = await server.gql(`query($id: ID!) { node(id: $id) { ... on PipelineRun { steps { id name } } } }`, { id: run.id });
    expect(steps.node.steps).toEqual([{ id: chosen, name: 'load' }]);
    expect((await server.gql(`query($id: ID!) { node(id: $id) { ... on PipelineRun { steps { id } } } }`, { id: other.id })).node.steps).toEqual([]);
  });

  it('refuses a retried output with other arguments, naming the field', async () => {
    const run = expectType(await startRun(server, { pipeline: uniqueName('idem-output') }), 'PipelineRun');
    const step = await startStep(server, { runId: run.id, name: 'train' });
    expectType(step, 'StepRun');
    const output = { name: 'model', uri: '/tmp/model-1', type: 'model', tags: ['x', 'y'] };
    const first = await reportOutputs(server, step.id, [output]);
    expect(first.__typename).toBe('ReportStepOutputsPayload');
    const retried = await reportOutputs(server, step.id, [{ ...output, tags: ['y', 'x'] }]);
    expect(retried.outputs).toEqual(first.outputs);
    const differing: [string, Record<string, unknown>][] = [
      ['outputs.0.uri', { uri: '/tmp/model-2' }],
      ['outputs.0.type', { type: 'data' }],
      ['outputs.0.artifactName', { artifactName: uniqueName('elsewhere') }],
      ['outputs.0.tags', { tags: ['x'] }],
      ['outputs.0.contentHash', { contentHash: 'abc' }],
    ];
    for (const [field, change] of differing) {
      expectType(await reportOutputs(server, step.id, [{ ...output, ...change }]), 'IdempotencyConflictError', field);
    }
    // A new output beside a conflicting one stores nothing.
    const mixed = await reportOutputs(server, step.id, [{ name: 'metrics', uri: '/tmp/metrics' }, { ...output, uri: '/tmp/model-3' }]);
    expectType(mixed, 'IdempotencyConflictError', 'outputs.1.uri');
    const { stepRun } = await server.gql(`query($id: ID!) { stepRun: node(id: $id) { ... on StepRun { outputs { name } } } }`, { id: step.id });
    expect(stepRun.outputs).toEqual([{ name: 'model' }]);
  });

  it('makes the typed client throw the conflict as a StackyardError, while its retries still answer the run', async () => {
    const client = new StackyardClient({ url: server.url, env: {} });
    const pipeline = uniqueName('idem-client');
    const idempotencyKey = uniqueName('key');
    const run = await client.startRun({ pipeline, idempotencyKey });
    expect((await client.startRun({ pipeline, idempotencyKey })).id).toBe(run.id);
    const conflict = await client.startRun({ pipeline: uniqueName('other'), idempotencyKey }).catch((error: unknown) => error);
    expect(conflict).toBeInstanceOf(StackyardError);
    expect(conflict).toMatchObject({ type: 'IdempotencyConflictError', field: 'pipeline' });
  });
});
