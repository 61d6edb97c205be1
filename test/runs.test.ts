// Reporting runs, steps and outputs (../shared/domain.md, "Pipelines, runs, steps" and "Artifacts").
import { describe, expect, it } from 'vitest';
import { databaseTargets, startTestServer, uniqueName, until, useTestServer } from './harness';
import { RESULT_FIELDS, expectType, registerComponent, registerStack } from './registry-operations';
import { completeRun, finishRun, finishStep, reportOutputs, startRun, startStep } from './run-operations';

describe.each(databaseTargets)('runs on $name', (target) => {
  const server = useTestServer(target);

  it('starts a run on the active stack with a default name and a snapshot without secrets', async () => {
    const store = uniqueName('s3');
    const stack = uniqueName('cloud');
    expectType(await registerComponent(server(), {
      type: 'ARTIFACT_STORE', name: store, flavor: 's3', configuration: { path: 's3://b/p', awsSecretAccessKey: 'hush-hush' },
    }), 'StackComponent');
    expectType(await registerStack(server(), { name: stack, components: { orchestrator: 'default', artifactStore: store } }), 'Stack');
    await server().gql(`mutation($n: String!) { setActiveStack(name: $n) { __typename } }`, { n: stack });
    try {
      const pipeline = uniqueName('training');
      const run = await startRun(server(), { pipeline, steps: [{ name: 'load' }, { name: 'train', parents: ['load'] }], tags: ['nightly'] });
      expect(run).toMatchObject({
        __typename: 'PipelineRun',
        status: 'INITIALIZING',
        pipeline: { name: pipeline },
        stack: { name: stack },
        tags: ['nightly'],
        expectedSteps: [{ name: 'load', parents: [] }, { name: 'train', parents: ['load'] }],
        stackSnapshot: {
          name: stack,
          components: [
            { type: 'ORCHESTRATOR', name: 'default', flavor: 'local', configuration: {} },
            { type: 'ARTIFACT_STORE', name: store, flavor: 's3', configuration: { path: 's3://b/p' } },
          ],
        },
      });
      expect(run.name).toMatch(new RegExp(`^${pipeline}-\\d{4}_\\d{2}_\\d{2}-\\d{2}_\\d{2}_\\d{2}_\\d{6}$`));
      expect(JSON.stringify(run)).not.toContain('hush-hush');
    } finally {
      await server().gql(`mutation { setActiveStack(name: "default") { __typename } }`);
    }
  });

  it('answers a replayed idempotency key with the same run, never a duplicate', async () => {
    const pipeline = uniqueName('idem');
    const key = uniqueName('key');
    const runs = await Promise.all(Array.from({ length: 5 }, () => startRun(server(), { pipeline, idempotencyKey: key })));
    expect(new Set(runs.map((run) => run.id)).size).toBe(1);
    const again = await startRun(server(), { pipeline, idempotencyKey: key });
    expect(again.id).toBe(runs[0].id);
    const count = await server().gql(`query($p: String!) { runs(filter: { pipeline: $p }) { ... on PipelineRunConnection { totalCount } } }`, { p: pipeline });
    expect(count.runs.totalCount).toBe(1);
  });

  it('refuses bad run input: unknown stack, duplicate or cyclic steps, taken names', async () => {
    const pipeline = uniqueName('bad');
    expectType(await startRun(server(), { pipeline, stack: uniqueName('nostack') }), 'NotFoundError', 'stack');
    expectType(await startRun(server(), { pipeline, steps: [{ name: 'a' }, { name: 'a' }] }), 'ValidationError', 'steps.1.name');
    expectType(await startRun(server(), { pipeline, steps: [{ name: 'a', parents: ['b'] }, { name: 'b', parents: ['a'] }] }), 'ValidationError', 'steps');
    expectType(await startRun(server(), { pipeline, steps: [{ name: 'a', parents: ['ghost'] }] }), 'ValidationError', 'steps.0.parents');
    const name = uniqueName('named');
    expectType(await startRun(server(), { pipeline, name }), 'PipelineRun');
    expectType(await startRun(server(), { pipeline, name }), 'NameTakenError', 'name');
    const runs = await server().gql(`query($p: String!) { runs(filter: { pipeline: $p }) { ... on PipelineRunConnection { totalCount } } }`, { p: pipeline });
    expect(runs.runs.totalCount).toBe(1);
  });

  it('derives the run status from its steps: running, then completed', async () => {
    const run = await startRun(server(), { pipeline: uniqueName('p'), steps: [{ name: 'a' }, { name: 'b', parents: ['a'] }] });
    const a = await startStep(server(), { runId: run.id, name: 'a' });
    expect(a).toMatchObject({ status: 'RUNNING', parents: [], run: { status: 'RUNNING' } });
    expect((await finishStep(server(), { stepRunId: a.id, status: 'COMPLETED' })).run.status).toBe('RUNNING');
    const b = await startStep(server(), { runId: run.id, name: 'b' });
    expect(b.parents).toEqual(['a']);
    const finished = await finishStep(server(), { stepRunId: b.id, status: 'COMPLETED' });
    expect(finished.run.status).toBe('COMPLETED');
    expect(finished.run.endedAt).not.toBeNull();
  });

  it('ends a completed step with its last outputs in one call, refuses outputs on another status, and reads steps by name', async () => {
    const pipeline = uniqueName('p');
    const run = await startRun(server(), { pipeline, steps: [{ name: 'a' }, { name: 'b', parents: ['a'] }] });
    const a = await startStep(server(), { runId: run.id, name: 'a' });
    const finish = (variables: Record<string, unknown>) =>
      server().gql(
        `mutation($id: ID!, $status: StepFinishStatus!, $message: String, $outputs: [StepOutputInput!]) {
          finishStep(stepRunId: $id, status: $status, errorMessage: $message, outputs: $outputs) {
            ${RESULT_FIELDS} ... on StepRun { status outputs { name artifactVersion { version uri } } }
          }
        }`,
        variables,
      );
    const refused = (await finish({ id: a.id, status: 'FAILED', message: 'broke', outputs: [{ name: 'model', uri: '/tmp/a/model' }] })).finishStep;
    expect(refused).toMatchObject({ __typename: 'ValidationError', field: 'outputs' });
    const ended = (await finish({ id: a.id, status: 'COMPLETED', outputs: [{ name: 'model', uri: '/tmp/a/model' }] })).finishStep;
    expect(ended).toEqual({ __typename: 'StepRun', status: 'COMPLETED', outputs: [{ name: 'model', artifactVersion: { version: 1, uri: '/tmp/a/model' } }] });
    // A retry of the same call answers the same, and stores the output once.
    expect((await finish({ id: a.id, status: 'COMPLETED', outputs: [{ name: 'model', uri: '/tmp/a/model' }] })).finishStep).toEqual(ended);
    await startStep(server(), { runId: run.id, name: 'b' });
    const named = await server().gql(`query($id: ID!) { run(id: $id) { steps(names: [" a "]) { name status } all: steps { name } } }`, { id: run.id });
    expect(named.run.steps).toEqual([{ name: 'a', status: 'COMPLETED' }]);
    expect(named.run.all.map((step: { name: string }) => step.name)).toEqual(['a', 'b']);
  });

  it('ends a step with its outputs in one statement, and refuses outputs it cannot store without ending the step', async () => {
    const run = await startRun(server(), { pipeline: uniqueName('p'), steps: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => startStep(server(), { runId: run.id, name })));
    const finish = (variables: Record<string, unknown>) =>
      server().request(
        `mutation($id: ID!, $outputs: [StepOutputInput!]) {
          finishStep(stepRunId: $id, status: COMPLETED, outputs: $outputs) {
            ${RESULT_FIELDS} ... on StepRun { status outputs { name artifactVersion { uri } } }
          }
        }`,
        variables,
      );
    const ended = await finish({ id: a.id, outputs: [{ name: 'model', uri: '/tmp/a/model' }, { name: 'metrics', uri: '/tmp/a/metrics' }] });
    expect(ended.data!.finishStep.status).toBe('COMPLETED');
    expect(ended.data!.finishStep.outputs.map((output: { name: string }) => output.name).sort()).toEqual(['metrics', 'model']);
    // The outputs, the step's end and the run's status: one statement (the answer's outputs, another).
    expect(ended.headers.get('x-sql-statements')).toBe('2');

    // An output that repeats a reported one with another uri: refused, and the step goes on.
    await reportOutputs(server(), b.id, [{ name: 'model', uri: '/tmp/b/model' }]);
    expectType((await finish({ id: b.id, outputs: [{ name: 'model', uri: '/tmp/b/other' }] })).data!.finishStep, 'IdempotencyConflictError', 'outputs.0.uri');
    // An output in a store that does not exist: refused, nothing stored, and the step goes on.
    const noStore = Buffer.from('StackComponent:00000000-0000-4000-8000-000000000000').toString('base64');
    const missingStore = { name: 'model', uri: '/tmp/c/model', artifactStoreId: noStore };
    expect((await finish({ id: c.id, outputs: [missingStore] })).data!.finishStep).toMatchObject({ __typename: 'NotFoundError', field: 'outputs.0.artifactStoreId' });
    const steps = await server().gql(`query($id: ID!) { run(id: $id) { status steps { name status outputs { name artifactVersion { uri } } } } }`, { id: run.id });
    expect(steps.run.status).toBe('RUNNING');
    // The steps started together, so their start order (the list's order) is not a, b, c.
    const byName = (x: { name: string }, y: { name: string }) => x.name.localeCompare(y.name);
    expect(steps.run.steps.sort(byName).slice(1)).toEqual([
      { name: 'b', status: 'RUNNING', outputs: [{ name: 'model', artifactVersion: { uri: '/tmp/b/model' } }] },
      { name: 'c', status: 'RUNNING', outputs: [] },
    ]);

    // A step that has ended takes no new outputs; the outputs it ended with answer a retry.
    expectType((await finish({ id: a.id, outputs: [{ name: 'extra', uri: '/tmp/a/extra' }] })).data!.finishStep, 'IllegalOperationError', 'stepRunId');
    expect((await finish({ id: b.id, outputs: [{ name: 'model', uri: '/tmp/b/model' }] })).data!.finishStep).toMatchObject({ status: 'COMPLETED' });
    expect((await finish({ id: c.id, outputs: [{ name: 'model', uri: '/tmp/c/model' }] })).data!.finishStep).toMatchObject({ status: 'COMPLETED' });
    expect((await server().gql(`query($id: ID!) { run(id: $id) { status } }`, { id: run.id })).run.status).toBe('COMPLETED');
  });

  it('fails the run when a step fails, with its message', async () => {
    const run = await startRun(server(), { pipeline: uniqueName('p'), steps: [{ name: 'a' }, { name: 'b', parents: ['a'] }] });
    const a = await startStep(server(), { runId: run.id, name: 'a' });
    expectType(await finishStep(server(), { stepRunId: a.id, status: 'FAILED' }), 'ValidationError', 'errorMessage');
    const failed = await finishStep(server(), { stepRunId: a.id, status: 'FAILED', errorMessage: 'ZeroDivisionError: division by zero' });
    expect(failed).toMatchObject({ status: 'FAILED', errorMessage: 'ZeroDivisionError: division by zero', run: { status: 'FAILED' } });
    const ended = await finishRun(server(), { runId: run.id });
    expect(ended.status).toBe('FAILED');
    expectType(await startStep(server(), { runId: run.id, name: 'b' }), 'IllegalOperationError', 'runId');
  });

  it('goes on with the steps that do not depend on a failed one, and ends once nothing runs and none can start', async () => {
    // a fails; b waits for a (it never runs); c waits for nothing and d for c: both still run, even
    // started after the failure, and the run ends, FAILED, with the last of them.
    const run = await startRun(server(), {
      pipeline: uniqueName('p'),
      steps: [{ name: 'a' }, { name: 'b', parents: ['a'] }, { name: 'c' }, { name: 'd', parents: ['c'] }],
    });
    const endOf = async () => (await server().gql(`query($id: ID!) { run(id: $id) { status endedAt } }`, { id: run.id })).run;
    const a = await startStep(server(), { runId: run.id, name: 'a' });
    expect(await finishStep(server(), { stepRunId: a.id, status: 'FAILED', errorMessage: 'boom' })).toMatchObject({ run: { status: 'FAILED' } });
    expect(await endOf()).toEqual({ status: 'FAILED', endedAt: null });
    // b waits for a: it never starts, whether or not the run has ended yet.
    const refused = expectType(await startStep(server(), { runId: run.id, name: 'b' }), 'IllegalOperationError', 'name');
    expect(refused.message).toBe('Step "b" waits for step "a", which failed: it cannot start');
    const c = await startStep(server(), { runId: run.id, name: 'c' });
    await finishStep(server(), { stepRunId: c.id, status: 'COMPLETED' });
    expect(await endOf()).toEqual({ status: 'FAILED', endedAt: null });
    const d = await startStep(server(), { runId: run.id, name: 'd' });
    expect(d.status).toBe('RUNNING');
    await finishStep(server(), { stepRunId: d.id, status: 'COMPLETED' });
    const ended = await endOf();
    expect(ended.status).toBe('FAILED');
    expect(ended.endedAt).not.toBeNull();
    expectType(await startStep(server(), { runId: run.id, name: 'b' }), 'IllegalOperationError', 'runId');

    // A step that fails while an independent one runs: the run ends with the one that runs.
    const fan = await startRun(server(), { pipeline: uniqueName('p'), steps: [{ name: 'x' }, { name: 'y' }, { name: 'z', parents: ['x', 'y'] }] });
    const [x, y] = await Promise.all(['x', 'y'].map((name) => startStep(server(), { runId: fan.id, name })));
    await finishStep(server(), { stepRunId: x.id, status: 'FAILED', errorMessage: 'boom' });
    expect((await server().gql(`query($id: ID!) { run(id: $id) { endedAt } }`, { id: fan.id })).run.endedAt).toBeNull();
    await finishStep(server(), { stepRunId: y.id, status: 'COMPLETED' });
    expect((await server().gql(`query($id: ID!) { run(id: $id) { status endedAt } }`, { id: fan.id })).run).toMatchObject({ status: 'FAILED', endedAt: expect.any(String) });
  });

  it('marks a run cached when every step was cached, pointing at the original step runs', async () => {
    const pipeline = uniqueName('cache');
    const first = await startRun(server(), { pipeline, steps: [{ name: 'a' }] });
    const original = await startStep(server(), { runId: first.id, name: 'a', cacheKey: `${pipeline}-key` });
    const reported = await reportOutputs(server(), original.id, [{ name: 'out', uri: '/tmp/a/out' }]);
    await finishStep(server(), { stepRunId: original.id, status: 'COMPLETED' });

    const hit = await server().gql(
      `query($k: String!) { cachedStepRun(cacheKey: $k) { id status outputs { name artifactVersion { id uri } } } }`,
      { k: `${pipeline}-key` },
    );
    expect(hit.cachedStepRun).toMatchObject({ id: original.id, status: 'COMPLETED', outputs: [{ name: 'out', artifactVersion: { id: reported.outputs[0].artifactVersion.id } }] });
    expect((await server().gql(`{ cachedStepRun(cacheKey: "never-used") { id } }`)).cachedStepRun).toBeNull();

    const second = await startRun(server(), { pipeline, steps: [{ name: 'a' }] });
    const cached = await startStep(server(), { runId: second.id, name: 'a', cacheKey: `${pipeline}-key` });
    expectType(await finishStep(server(), { stepRunId: cached.id, status: 'CACHED' }), 'ValidationError', 'originalStepRunId');
    const done = await finishStep(server(), { stepRunId: cached.id, status: 'CACHED', originalStepRunId: original.id });
    expect(done).toMatchObject({ status: 'CACHED', originalStepRun: { id: original.id }, run: { status: 'CACHED' } });
    const outputs = await server().gql(`query($id: ID!) { node(id: $id) { ... on StepRun { isCached outputs { name artifactVersion { id producer { id } } } } } }`, { id: cached.id });
    expect(outputs.node).toEqual({ isCached: true, outputs: [{ name: 'out', artifactVersion: { id: reported.outputs[0].artifactVersion.id, producer: { id: original.id } } }] });
  });

  it('stops a run whose step was stopped, and ends runs explicitly', async () => {
    const run = await startRun(server(), { pipeline: uniqueName('p'), steps: [{ name: 'a' }, { name: 'b' }] });
    const a = await startStep(server(), { runId: run.id, name: 'a' });
    expect((await finishStep(server(), { stepRunId: a.id, status: 'STOPPED' })).run.status).toBe('STOPPED');

    const incomplete = await startRun(server(), { pipeline: uniqueName('p'), steps: [{ name: 'a' }, { name: 'b' }] });
    const step = await startStep(server(), { runId: incomplete.id, name: 'a' });
    await finishStep(server(), { stepRunId: step.id, status: 'COMPLETED' });
    expectType(await finishRun(server(), { runId: incomplete.id, status: 'COMPLETED' }), 'IllegalOperationError', 'status');
    const ended = await finishRun(server(), { runId: incomplete.id });
    expect(ended).toMatchObject({ status: 'FAILED', statusReason: 'Finished before these steps completed: b' });
    expect(ended.durationMs).toBeGreaterThanOrEqual(0);
    expect((await finishRun(server(), { runId: incomplete.id })).status).toBe('FAILED');
    expectType(await finishRun(server(), { runId: incomplete.id, status: 'COMPLETED' }), 'IllegalOperationError', 'status');
  });

  it('numbers artifact versions per name and stores each output once, however often it is reported', async () => {
    const pipeline = uniqueName('versions');
    const run = await startRun(server(), { pipeline, steps: [{ name: 'train' }] });
    const step = await startStep(server(), { runId: run.id, name: 'train' });
    const outputs = [
      { name: 'model', uri: '/store/model', type: 'model', dataType: 'json', materializer: 'json', contentHash: 'sha256:1', sizeBytes: 42, metadata: { accuracy: 0.9 }, tags: ['best'] },
      { name: 'metrics', uri: '/store/metrics', artifactName: `${pipeline}-metrics` },
    ];
    const first = await reportOutputs(server(), step.id, outputs);
    expect(first.__typename).toBe('ReportStepOutputsPayload');
    expect(first.outputs.map((o: any) => [o.name, o.artifactVersion.name, o.artifactVersion.version, o.artifactVersion.type])).toEqual([
      ['model', `${pipeline}::train::model`, 1, 'model'],
      ['metrics', `${pipeline}-metrics`, 1, 'data'],
    ]);
    expect(first.outputs[0].artifactVersion.artifactStore).toEqual({ name: 'default' });
    const retried = await reportOutputs(server(), step.id, outputs);
    expect(retried.outputs).toEqual(first.outputs);
    const next = await startStep(server(), { runId: (await startRun(server(), { pipeline, steps: [{ name: 'train' }] })).id, name: 'train' });
    const second = await reportOutputs(server(), next.id, [outputs[0]]);
    expect(second.outputs[0].artifactVersion.version).toBe(2);
    const artifact = await server().gql(`query($n: String!) { artifact(name: $n) { name latestVersion versions(first: 10) { ... on ArtifactVersionsConnection { totalCount edges { node { version sizeBytes metadata tags contentHash } } } } } }`, { n: `${pipeline}::train::model` });
    expect(artifact.artifact).toMatchObject({ latestVersion: 2, versions: { totalCount: 2 } });
    expect(artifact.artifact.versions.edges.map((e: any) => e.node.version)).toEqual([2, 1]);
    expect(artifact.artifact.versions.edges[1].node).toMatchObject({ sizeBytes: 42, metadata: { accuracy: 0.9 }, tags: ['best'], contentHash: 'sha256:1' });
    await finishStep(server(), { stepRunId: step.id, status: 'COMPLETED' });
    expectType(await reportOutputs(server(), step.id, [{ name: 'late', uri: '/x' }]), 'IllegalOperationError', 'stepRunId');
  });

  it('numbers versions without gaps or duplicates under 20 concurrent reports', async () => {
    const pipeline = uniqueName('race');
    const artifactName = `${pipeline}-shared`;
    const steps = await Promise.all(
      Array.from({ length: 20 }, async (_, index) => {
        const run = await startRun(server(), { pipeline, steps: [{ name: 'produce' }], name: `${pipeline}-${index}` });
        return startStep(server(), { runId: run.id, name: 'produce' });
      }),
    );
    const reports = await Promise.all(steps.map((step, index) => reportOutputs(server(), step.id, [{ name: 'out', uri: `/race/${index}`, artifactName }])));
    const versions = reports.map((report) => report.outputs[0].artifactVersion.version).sort((a: number, b: number) => a - b);
    expect(versions).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
  });

  it("reports a batch of 100 outputs in one SQL statement for the SDK's selection, and a retry too", async () => {
    const pipeline = uniqueName('statements');
    const run = await startRun(server(), { pipeline, steps: [{ name: 'produce' }] });
    const step = await startStep(server(), { runId: run.id, name: 'produce' });
    const outputs = Array.from({ length: 100 }, (_, index) => ({ name: `out${index}`, uri: `/s/${index}`, artifactName: `${pipeline}-${index % 7}` }));
    const mutation = `mutation($stepRunId: ID!, $outputs: [StepOutputInput!]!) {
      reportStepOutputs(stepRunId: $stepRunId, outputs: $outputs) {
        ... on ReportStepOutputsPayload { outputs { name artifactVersion { id version uri sizeBytes materializer } } }
      }
    }`;
    const first = await server().request(mutation, { stepRunId: step.id, outputs });
    expect(first.errors).toBeUndefined();
    expect(first.data.reportStepOutputs.outputs).toHaveLength(100);
    expect(first.headers.get('x-sql-statements')).toBe('1');
    const retried = await server().request(mutation, { stepRunId: step.id, outputs });
    expect(retried.data.reportStepOutputs).toEqual(first.data.reportStepOutputs);
    expect(retried.headers.get('x-sql-statements')).toBe('1');
  });

  it('stores each output once when the same report is sent 10 times at once', async () => {
    const pipeline = uniqueName('retries');
    const run = await startRun(server(), { pipeline, steps: [{ name: 'produce' }] });
    const step = await startStep(server(), { runId: run.id, name: 'produce' });
    const outputs = Array.from({ length: 5 }, (_, index) => ({ name: `out${index}`, uri: `/r/${index}`, artifactName: `${pipeline}-shared` }));
    const reports = await Promise.all(Array.from({ length: 10 }, () => reportOutputs(server(), step.id, outputs)));
    for (const report of reports) expect(report).toEqual(reports[0]);
    expect(reports[0].outputs.map((o: any) => o.artifactVersion.version)).toEqual([1, 2, 3, 4, 5]);
    const artifact = await server().gql(`query($n: String!) { artifact(name: $n) { latestVersion versions(first: 20) { ... on ArtifactVersionsConnection { totalCount } } } }`, { n: `${pipeline}-shared` });
    expect(artifact.artifact).toEqual({ latestVersion: 5, versions: { totalCount: 5 } });
  });

  it('publishes the batch limit and refuses a larger batch with a typed error, storing nothing', async () => {
    const limits = await server().gql(`{ serverLimits { maxOutputsPerReport maxPageSize heartbeatTimeoutSeconds } }`);
    expect(limits.serverLimits).toEqual({ maxOutputsPerReport: 100, maxPageSize: 100, heartbeatTimeoutSeconds: 600 });
    const run = await startRun(server(), { pipeline: uniqueName('big'), steps: [{ name: 's' }] });
    const step = await startStep(server(), { runId: run.id, name: 's' });
    const tooMany = Array.from({ length: 101 }, (_, index) => ({ name: `o${index}`, uri: `/x/${index}` }));
    const refused = await reportOutputs(server(), step.id, tooMany);
    expect(refused).toMatchObject({ __typename: 'LimitExceededError', field: 'outputs', limit: 100 });
    const accepted = await reportOutputs(server(), step.id, tooMany.slice(0, 100));
    expect(accepted.outputs).toHaveLength(100);
    expectType(await reportOutputs(server(), step.id, [{ name: 'bad', uri: '' }]), 'ValidationError', 'outputs.0.uri');
    expectType(await reportOutputs(server(), step.id, [{ name: 'neg', uri: '/n', sizeBytes: -1 }]), 'ValidationError', 'outputs.0.sizeBytes');
    expectType(await reportOutputs(server(), 'not-an-id', [{ name: 'x', uri: '/x' }]), 'ValidationError', 'stepRunId');
  });

  it('records lineage both ways: producers, consumers, inputs and outputs', async () => {
    const pipeline = uniqueName('lineage');
    const run = await startRun(server(), { pipeline, steps: [{ name: 'load' }, { name: 'train', parents: ['load'] }] });
    const load = await startStep(server(), { runId: run.id, name: 'load' });
    const data = (await reportOutputs(server(), load.id, [{ name: 'dataset', uri: '/d' }])).outputs[0].artifactVersion;
    await finishStep(server(), { stepRunId: load.id, status: 'COMPLETED' });
    const train = await startStep(server(), { runId: run.id, name: 'train', inputs: [{ name: 'training_data', artifactVersionId: data.id }] });
    expectType(await startStep(server(), { runId: run.id, name: 'ghost' }), 'ValidationError', 'name');
    expectType(
      await startStep(server(), { runId: (await startRun(server(), { pipeline })).id, name: 'x', inputs: [{ name: 'i', artifactVersionId: Buffer.from('ArtifactVersion:00000000-0000-0000-0000-000000000000').toString('base64') }] }),
      'NotFoundError',
      'inputs.0.artifactVersionId',
    );
    const model = (await reportOutputs(server(), train.id, [{ name: 'model', uri: '/m' }])).outputs[0].artifactVersion;
    await finishStep(server(), { stepRunId: train.id, status: 'COMPLETED' });
    const graph = await server().gql(
      `query($run: ID!, $data: ID!) {
        run(id: $run) { status steps { name parents inputs { name artifactVersion { id } } outputs { name artifactVersion { id } } } }
        node(id: $data) { ... on ArtifactVersion { producer { name run { id } } consumers { name } } }
      }`,
      { run: run.id, data: data.id },
    );
    expect(graph.run).toEqual({
      status: 'COMPLETED',
      steps: [
        { name: 'load', parents: [], inputs: [], outputs: [{ name: 'dataset', artifactVersion: { id: data.id } }] },
        { name: 'train', parents: ['load'], inputs: [{ name: 'training_data', artifactVersion: { id: data.id } }], outputs: [{ name: 'model', artifactVersion: { id: model.id } }] },
      ],
    });
    expect(graph.node).toEqual({ producer: { name: 'load', run: { id: run.id } }, consumers: [{ name: 'train' }] });
  });

  it('logs metadata on runs, step runs and artifact versions', async () => {
    const run = await startRun(server(), { pipeline: uniqueName('meta'), steps: [{ name: 's' }] });
    const step = await startStep(server(), { runId: run.id, name: 's' });
    const version = (await reportOutputs(server(), step.id, [{ name: 'o', uri: '/o', metadata: { a: 1 } }])).outputs[0].artifactVersion;
    const log = async (id: string, metadata: Record<string, unknown>) =>
      (await server().gql(`mutation($id: ID!, $m: JSONObject!) { logMetadata(id: $id, metadata: $m) { ${RESULT_FIELDS} ... on LogMetadataPayload { id metadata } } }`, { id, m: metadata })).logMetadata;
    expect(await log(run.id, { owner: 'ana' })).toMatchObject({ id: run.id, metadata: { owner: 'ana' } });
    expect((await log(run.id, { epochs: 3 })).metadata).toEqual({ owner: 'ana', epochs: 3 });
    expect((await log(step.id, { loss: 0.1 })).metadata).toEqual({ loss: 0.1 });
    expect((await log(version.id, { b: 2 })).metadata).toEqual({ a: 1, b: 2 });
    const stack = await server().gql(`{ activeStack { id } }`);
    expectType(await log(stack.activeStack.id, { x: 1 }), 'ValidationError', 'id');
  });

  it('deletes a run and its step runs but keeps the artifact versions', async () => {
    const pipeline = uniqueName('delete');
    const runId = await completeRun(server(), { pipeline, steps: ['only'] });
    const before = await server().gql(`query($id: ID!) { run(id: $id) { steps { outputs { artifactVersion { id } } } } }`, { id: runId });
    const versionId = before.run.steps[0].outputs[0].artifactVersion.id;
    const deleted = await server().gql(`mutation($id: ID!) { deleteRun(id: $id) { ${RESULT_FIELDS} ... on DeleteRunPayload { deletedId } } }`, { id: runId });
    expect(deleted.deleteRun).toEqual({ __typename: 'DeleteRunPayload', deletedId: runId });
    const after = await server().gql(`query($run: ID!, $v: ID!) { run(id: $run) { id } node(id: $v) { ... on ArtifactVersion { uri producer { id } } } }`, { run: runId, v: versionId });
    expect(after.run).toBeNull();
    expect(after.node.producer).toBeNull();
    expect(after.node.uri).toMatch(/only\/output$/);
    expectType((await server().gql(`mutation($id: ID!) { deleteRun(id: $id) { ${RESULT_FIELDS} } }`, { id: runId })).deleteRun, 'NotFoundError', 'id');
  });

  it('keeps the history and snapshot of a run whose stack was deleted', async () => {
    const stack = uniqueName('short-lived');
    const store = `${stack}-store`;
    expectType(await registerComponent(server(), { type: 'ARTIFACT_STORE', name: store, flavor: 'local', configuration: { path: '/short' } }), 'StackComponent');
    expectType(await registerStack(server(), { name: stack, components: { orchestrator: 'default', artifactStore: store } }), 'Stack');
    const runId = await completeRun(server(), { pipeline: uniqueName('p'), stack });
    await server().gql(`mutation($n: String!) { deleteStack(name: $n, recursive: true) { __typename } }`, { n: stack });
    const run = await server().gql(`query($id: ID!) { run(id: $id) { status stack { name } stackSnapshot { name components { type name configuration } } steps { outputs { artifactVersion { uri artifactStore { name } } } } } }`, { id: runId });
    expect(run.run).toMatchObject({
      status: 'COMPLETED',
      stack: null,
      stackSnapshot: { name: stack, components: [{ type: 'ORCHESTRATOR', name: 'default' }, { type: 'ARTIFACT_STORE', name: store, configuration: { path: '/short' } }] },
    });
    expect(run.run.steps[0].outputs[0].artifactVersion.artifactStore).toBeNull();
    const byName = await server().gql(`query($s: String!) { runs(filter: { stackName: $s }) { ... on PipelineRunConnection { totalCount } } }`, { s: stack });
    expect(byName.runs.totalCount).toBe(0);
  });
});

describe.each(databaseTargets)('heartbeats on $name', (target) => {
  it('fails a run that stops sending heartbeats, with the reason', async () => {
    const server = await startTestServer(target, { heartbeatTimeoutMs: 1500 });
    try {
      // Handed to a queue by a driver that left (run({ wait: false })): silent, but owes no heartbeat
      // while its steps wait; once one of its steps runs, it does.
      const detach = async (id: string) =>
        (await server.gql(`mutation($id: ID!) { detachRun(runId: $id) { __typename ... on PipelineRun { detachedAt } } }`, { id })).detachRun;
      const queued = await startRun(server, { pipeline: 'queued', steps: [{ name: 'a' }, { name: 'b', parents: ['a'] }] });
      const firstDetach = await detach(queued.id);
      expect(firstDetach.detachedAt).toEqual(expect.any(String));
      expect((await detach(queued.id)).detachedAt).toBe(firstDetach.detachedAt);
      const queuedStep = await startStep(server, { runId: queued.id, name: 'a' });
      await finishStep(server, { stepRunId: queuedStep.id, status: 'COMPLETED' });
      // Its step's attempt failed and awaits its retry (BullMQ's backoff, then the queue): it waits too.
      const retrying = await startRun(server, { pipeline: 'retrying', steps: [{ name: 'a' }] });
      await detach(retrying.id);
      const retried = await startStep(server, { runId: retrying.id, name: 'a' });
      const awaitsRetry = await server.gql(
        `mutation($id: ID!) { finishStep(stepRunId: $id, status: FAILED, errorMessage: "flaky", attempt: 1, willRetry: true) { __typename ... on StepRun { status } } }`,
        { id: retried.id },
      );
      expect(awaitsRetry.finishStep).toEqual({ __typename: 'StepRun', status: 'RUNNING' });
      const taken = await startRun(server, { pipeline: 'taken', steps: [{ name: 'a' }] });
      await detach(taken.id);
      await startStep(server, { runId: taken.id, name: 'a' });
      // A failed run goes on with its independent steps, so it has not ended: silent, it expires too.
      const failing = await startRun(server, { pipeline: 'failing', steps: [{ name: 'a' }, { name: 'b' }] });
      const failed = await startStep(server, { runId: failing.id, name: 'a' });
      await startStep(server, { runId: failing.id, name: 'b' });
      await finishStep(server, { stepRunId: failed.id, status: 'FAILED', errorMessage: 'boom' });
      const silent = await startRun(server, { pipeline: 'silent', steps: [{ name: 'a' }] });
      const step = await startStep(server, { runId: silent.id, name: 'a' });
      const alive = await startRun(server, { pipeline: 'alive' });
      const beat = () => server.gql(`mutation($id: ID!) { heartbeat(runId: $id) { __typename ... on PipelineRun { status } } }`, { id: alive.id });
      const deadline = Date.now() + 60_000;
      let status = 'INITIALIZING';
      while (Date.now() < deadline) {
        expect((await beat()).heartbeat).toEqual({ __typename: 'PipelineRun', status: 'INITIALIZING' });
        const read = await server.gql(`query($id: ID!) { run(id: $id) { status statusReason } }`, { id: silent.id });
        status = read.run.status;
        if (status === 'FAILED') {
          expect(read.run.statusReason).toBe('no heartbeat for 1500ms');
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(status).toBe('FAILED');
      const stepAfter = await server.gql(`query($id: ID!) { node(id: $id) { ... on StepRun { status errorMessage } } }`, { id: step.id });
      expect(stepAfter.node).toEqual({ status: 'FAILED', errorMessage: 'The run stopped reporting: no heartbeat for 1500ms' });
      expect((await server.gql(`query($id: ID!) { run(id: $id) { status } }`, { id: alive.id })).run.status).toBe('INITIALIZING');
      const read = async (id: string) => (await server.gql(`query($id: ID!) { run(id: $id) { status statusReason endedAt } }`, { id })).run;
      // Sweeps that failed the silent run passed over the queued one, however long it waits.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      expect(await read(queued.id)).toEqual({ status: 'RUNNING', statusReason: null, endedAt: null });
      await until('the runs whose steps ran silently to expire', async () => (await read(taken.id)).endedAt && (await read(failing.id)).endedAt);
      expect(await read(taken.id)).toMatchObject({ status: 'FAILED', statusReason: 'no heartbeat for 1500ms' });
      expect(await read(failing.id)).toMatchObject({ status: 'FAILED', statusReason: 'no heartbeat for 1500ms' });
      expect(await read(queued.id)).toEqual({ status: 'RUNNING', statusReason: null, endedAt: null });
      expect(await read(retrying.id)).toEqual({ status: 'RUNNING', statusReason: null, endedAt: null });
      // A run that has ended is answered as it is.
      expect((await detach(taken.id)).detachedAt).toEqual(expect.any(String));
    } finally {
      await server.close();
    }
  });
});
