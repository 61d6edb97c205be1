// Step attempts: a remote orchestrator retries a step on the same step run, after a failure
// (finishStep with willRetry) or when its worker stops answering (a higher attempt starts). Every
// attempt is kept with its worker, queue wait and error; a late report from an attempt that is
// over is refused and changes nothing; run pages built in SQL answer the new fields as the
// planner does.
import { beforeAll, describe, expect, it } from 'vitest';
import { parsedJson, runCli, succeeded, tempDir } from './cli-process';
import { databaseTargets, uniqueName, useTestServer, type TestServer } from './harness';
import { expectType, RESULT_FIELDS } from './registry-operations';
import { finishRun, startRun } from './run-operations';

const STEP = `id name status errorMessage attempt worker { name host pid } queuedAt queueWaitMs startedAt endedAt
  attempts { attempt status errorMessage worker { name host pid } queuedAt queueWaitMs startedAt endedAt }
  run { status }`;

const worker = (name: string) => ({ name, host: `${name}.example`, pid: 4000 + name.length });

describe.each(databaseTargets)('step attempts on $name', (target) => {
  const testServer = useTestServer(target);
  let server: TestServer;
  beforeAll(() => {
    server = testServer();
  });

  async function startStep(variables: Record<string, unknown>) {
    const data = await server.gql(
      `mutation($runId: ID!, $name: String!, $cacheKey: String, $attempt: Int, $worker: StepWorkerInput, $queuedAt: DateTime) {
        startStep(runId: $runId, name: $name, cacheKey: $cacheKey, attempt: $attempt, worker: $worker, queuedAt: $queuedAt) {
          ${RESULT_FIELDS} ... on StepRun { ${STEP} }
        }
      }`,
      variables,
    );
    return data.startStep;
  }

  async function finishStep(variables: Record<string, unknown>) {
    const data = await server.gql(
      `mutation($stepRunId: ID!, $status: StepFinishStatus!, $errorMessage: String, $attempt: Int, $willRetry: Boolean) {
        finishStep(stepRunId: $stepRunId, status: $status, errorMessage: $errorMessage, attempt: $attempt, willRetry: $willRetry) {
          ${RESULT_FIELDS} ... on StepRun { ${STEP} }
        }
      }`,
      variables,
    );
    return data.finishStep;
  }

  async function stepOf(runId: string) {
    const data = await server.gql(`query($id: ID!) { run(id: $id) { status steps { ${STEP} } } }`, { id: runId });
    return data.run.steps[0];
  }

  const secondsAgo = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();

  it('keeps every attempt of a step that failed once and lost its worker once, and refuses late reports', async () => {
    const run = expectType(await startRun(server, { pipeline: uniqueName('attempts'), steps: [{ name: 'train' }] }), 'PipelineRun');
    const first = { runId: run.id, name: 'train', cacheKey: 'k', attempt: 1, worker: worker('w1'), queuedAt: secondsAgo(2) };
    const started = expectType(await startStep(first), 'StepRun');
    expect(started).toMatchObject({ attempt: 1, worker: worker('w1'), status: 'RUNNING' });
    // The wait is the server's start time less the enqueue time: about two seconds here.
    expect(started.queueWaitMs).toBeGreaterThanOrEqual(1900);
    expect(started.queueWaitMs).toBeLessThan(60_000);

    // The same attempt again is a retry of the call; with another worker or enqueue time it is a conflict.
    expect(await startStep(first)).toMatchObject({ id: started.id, attempt: 1 });
    expectType(await startStep({ ...first, worker: worker('w9') }), 'IdempotencyConflictError', 'worker');
    expectType(await startStep({ ...first, queuedAt: secondsAgo(30) }), 'IdempotencyConflictError', 'queuedAt');
    // A later attempt is the same step: it must carry the same arguments.
    expectType(await startStep({ ...first, attempt: 2, cacheKey: 'other' }), 'IdempotencyConflictError', 'cacheKey');

    // Attempt 1 fails and will be retried: the step and the run go on.
    const failed = { stepRunId: started.id, status: 'FAILED', errorMessage: 'CUDA out of memory', attempt: 1, willRetry: true };
    const afterFailure = expectType(await finishStep(failed), 'StepRun');
    expect(afterFailure).toMatchObject({ status: 'RUNNING', errorMessage: null, attempt: 1, run: { status: 'RUNNING' } });
    expect(afterFailure.attempts).toMatchObject([{ attempt: 1, status: 'FAILED', errorMessage: 'CUDA out of memory', worker: worker('w1') }]);
    expect(await finishStep(failed)).toMatchObject({ id: started.id, status: 'RUNNING' });
    expectType(await finishStep({ ...failed, errorMessage: 'another error' }), 'IllegalOperationError', 'attempt');
    expectType(await finishStep({ stepRunId: started.id, status: 'COMPLETED', attempt: 1 }), 'IllegalOperationError', 'attempt');

    // Attempt 2 starts on w2, which dies; attempt 3 takes the step over on w3.
    const second = expectType(await startStep({ ...first, attempt: 2, worker: worker('w2'), queuedAt: secondsAgo(1) }), 'StepRun');
    expect(second).toMatchObject({ id: started.id, attempt: 2, worker: worker('w2'), status: 'RUNNING' });
    const third = expectType(await startStep({ ...first, attempt: 3, worker: worker('w3'), queuedAt: secondsAgo(1) }), 'StepRun');
    expect(third).toMatchObject({ id: started.id, attempt: 3, worker: worker('w3') });
    expect((third.attempts as { attempt: number; status: string }[]).map((attempt) => [attempt.attempt, attempt.status])).toEqual([
      [1, 'FAILED'],
      [2, 'LOST'],
      [3, 'RUNNING'],
    ]);

    // Reports from attempts that are over, or not begun, change nothing.
    expectType(await startStep({ ...first, attempt: 2, worker: worker('w2') }), 'IllegalOperationError', 'attempt');
    expectType(await finishStep({ stepRunId: started.id, status: 'COMPLETED', attempt: 2 }), 'IllegalOperationError', 'attempt');
    expectType(await finishStep({ stepRunId: started.id, status: 'FAILED', errorMessage: 'late', attempt: 2, willRetry: true }), 'IllegalOperationError', 'attempt');
    expectType(await finishStep({ stepRunId: started.id, status: 'COMPLETED', attempt: 4 }), 'IllegalOperationError', 'attempt');
    expect(await stepOf(run.id as string)).toMatchObject({ status: 'RUNNING', attempt: 3, worker: worker('w3') });

    const done = expectType(await finishStep({ stepRunId: started.id, status: 'COMPLETED', attempt: 3 }), 'StepRun');
    expect(done).toMatchObject({ status: 'COMPLETED', attempt: 3, run: { status: 'COMPLETED' } });
    const attempts = done.attempts as { attempt: number; status: string; errorMessage: string | null; worker: unknown; startedAt: string; endedAt: string | null; queueWaitMs: number }[];
    expect(attempts).toMatchObject([
      { attempt: 1, status: 'FAILED', errorMessage: 'CUDA out of memory', worker: worker('w1') },
      { attempt: 2, status: 'LOST', errorMessage: null, worker: worker('w2') },
      { attempt: 3, status: 'COMPLETED', errorMessage: null, worker: worker('w3') },
    ]);
    for (const attempt of attempts) {
      expect(attempt.endedAt).not.toBeNull();
      expect(Date.parse(attempt.endedAt!)).toBeGreaterThanOrEqual(Date.parse(attempt.startedAt));
      expect(attempt.queueWaitMs).toBeGreaterThanOrEqual(900);
    }
    expect(Date.parse(attempts[1].startedAt)).toBeGreaterThanOrEqual(Date.parse(attempts[0].endedAt!));
    // The step run's own times are the last attempt's.
    expect(done.startedAt).toBe(attempts[2].startedAt);
    expect(done.endedAt).toBe(attempts[2].endedAt);
    // A late start of an old attempt, or a new one, after the end is refused.
    expectType(await startStep({ ...first, attempt: 4, worker: worker('w4') }), 'IllegalOperationError', 'attempt');
    expect(await startStep({ ...first, attempt: 3, worker: worker('w3'), queuedAt: third.queuedAt })).toMatchObject({ id: started.id, status: 'COMPLETED' });
  });

  it('fails the run when the last attempt fails, keeping the error of each', async () => {
    const run = expectType(await startRun(server, { pipeline: uniqueName('attempts-out') }), 'PipelineRun');
    const step = expectType(await startStep({ runId: run.id, name: 'flaky', worker: worker('w1') }), 'StepRun');
    expectType(await finishStep({ stepRunId: step.id, status: 'FAILED', errorMessage: 'first', attempt: 1, willRetry: true }), 'StepRun');
    expectType(await startStep({ runId: run.id, name: 'flaky', attempt: 2, worker: worker('w2') }), 'StepRun');
    const last = expectType(await finishStep({ stepRunId: step.id, status: 'FAILED', errorMessage: 'second', attempt: 2 }), 'StepRun');
    expect(last).toMatchObject({ status: 'FAILED', errorMessage: 'second', run: { status: 'FAILED' } });
    expect(last.attempts).toMatchObject([
      { attempt: 1, status: 'FAILED', errorMessage: 'first' },
      { attempt: 2, status: 'FAILED', errorMessage: 'second' },
    ]);
  });

  it('retries a step of a run that has failed, when it does not depend on the failed step, and ends the run after it', async () => {
    const run = expectType(await startRun(server, { pipeline: uniqueName('two-fail'), steps: [{ name: 'fast' }, { name: 'slow' }] }), 'PipelineRun');
    const fast = expectType(await startStep({ runId: run.id, name: 'fast', attempt: 1, worker: worker('w1') }), 'StepRun');
    const slow = expectType(await startStep({ runId: run.id, name: 'slow', attempt: 1, worker: worker('w2') }), 'StepRun');
    // fast uses up its attempts: the run has failed, and slow still runs.
    expect(expectType(await finishStep({ stepRunId: fast.id, status: 'FAILED', errorMessage: 'fast failure', attempt: 1 }), 'StepRun')).toMatchObject({
      status: 'FAILED',
      run: { status: 'FAILED' },
    });
    // slow does not depend on fast: its failed attempt awaits its retry, and the run waits for it.
    const report = { stepRunId: slow.id, status: 'FAILED', errorMessage: 'slow failure', attempt: 1, willRetry: true };
    expect(expectType(await finishStep(report), 'StepRun')).toMatchObject({ status: 'RUNNING', attempt: 1 });
    // A retry of the report answers the same.
    expect(await finishStep(report)).toMatchObject({ id: slow.id, status: 'RUNNING' });
    const endOf = async () => (await server.gql(`query($id: ID!) { run(id: $id) { status endedAt } }`, { id: run.id })).run;
    expect(await endOf()).toEqual({ status: 'FAILED', endedAt: null });
    expect(expectType(await startStep({ runId: run.id, name: 'slow', attempt: 2, worker: worker('w3') }), 'StepRun')).toMatchObject({ attempt: 2, status: 'RUNNING' });
    const done = expectType(await finishStep({ stepRunId: slow.id, status: 'COMPLETED', attempt: 2 }), 'StepRun');
    expect(done.attempts).toMatchObject([{ attempt: 1, status: 'FAILED', errorMessage: 'slow failure' }, { attempt: 2, status: 'COMPLETED' }]);
    const after = await endOf();
    expect(after.status).toBe('FAILED');
    expect(after.endedAt).not.toBeNull();
  });

  it('ends a step whose attempt fails after its run has ended, instead of waiting for a retry it would refuse', async () => {
    const run = expectType(await startRun(server, { pipeline: uniqueName('ended-fail'), steps: [{ name: 'only' }] }), 'PipelineRun');
    const only = expectType(await startStep({ runId: run.id, name: 'only', attempt: 1, worker: worker('w1') }), 'StepRun');
    expectType(await finishRun(server, { runId: run.id, status: 'FAILED', reason: 'given up' }), 'PipelineRun');
    // The run's end stopped the step: a late failed attempt changes nothing, and no attempt starts.
    expect(await finishStep({ stepRunId: only.id, status: 'FAILED', errorMessage: 'late', attempt: 1, willRetry: true })).toMatchObject({ __typename: 'IllegalOperationError' });
    expect(await stepOf(run.id as string)).toMatchObject({ status: 'STOPPED' });
    expectType(await startStep({ runId: run.id, name: 'only', attempt: 2, worker: worker('w3') }), 'IllegalOperationError');
  });

  it('stops a step that awaits its retry when the run is stopped', async () => {
    const run = expectType(await startRun(server, { pipeline: uniqueName('attempts-stop') }), 'PipelineRun');
    const step = expectType(await startStep({ runId: run.id, name: 'train', worker: worker('w1') }), 'StepRun');
    expectType(await finishStep({ stepRunId: step.id, status: 'FAILED', errorMessage: 'boom', willRetry: true }), 'StepRun');
    expectType(await finishRun(server, { runId: run.id, status: 'STOPPED' }), 'PipelineRun');
    expect(await stepOf(run.id as string)).toMatchObject({ status: 'STOPPED', attempts: [{ attempt: 1, status: 'FAILED', errorMessage: 'boom' }] });
    expectType(await startStep({ runId: run.id, name: 'train', attempt: 2, worker: worker('w2') }), 'IllegalOperationError', 'attempt');
  });

  it('describes a step of a local run as its one attempt, without worker or queue wait', async () => {
    const run = expectType(await startRun(server, { pipeline: uniqueName('attempts-local') }), 'PipelineRun');
    const step = expectType(await startStep({ runId: run.id, name: 'only' }), 'StepRun');
    expect(step).toMatchObject({ attempt: 1, worker: null, queuedAt: null, queueWaitMs: null });
    expect(step.attempts).toEqual([
      { attempt: 1, status: 'RUNNING', errorMessage: null, worker: null, queuedAt: null, queueWaitMs: null, startedAt: step.startedAt, endedAt: null },
    ]);
    const done = expectType(await finishStep({ stepRunId: step.id, status: 'COMPLETED' }), 'StepRun');
    expect(done.attempts).toMatchObject([{ attempt: 1, status: 'COMPLETED', endedAt: done.endedAt }]);
  });

  it('shows each step\'s attempt, worker and queue wait with `stackyard run describe`, and every attempt of a retried step', async () => {
    const run = expectType(await startRun(server, { pipeline: uniqueName('attempts-cli') }), 'PipelineRun');
    const prep = expectType(await startStep({ runId: run.id, name: 'prep', worker: worker('w1'), queuedAt: secondsAgo(2) }), 'StepRun');
    expectType(await finishStep({ stepRunId: prep.id, status: 'COMPLETED' }), 'StepRun');
    const train = expectType(await startStep({ runId: run.id, name: 'train', worker: worker('w1'), queuedAt: secondsAgo(4) }), 'StepRun');
    expectType(await finishStep({ stepRunId: train.id, status: 'FAILED', errorMessage: 'out of memory', willRetry: true }), 'StepRun');
    expectType(await startStep({ runId: run.id, name: 'train', attempt: 2, worker: worker('w22'), queuedAt: secondsAgo(1) }), 'StepRun');

    const cli = (...args: string[]) => runCli(args, { url: server.url, configDir: tempDir('stackyard-attempts-cli-') });
    const text = succeeded(await cli('run', 'describe', run.name as string));
    expect(text).toMatch(/│ STEP +│ STATUS +│ ATTEMPT +│ WORKER +│ QUEUE WAIT +│ DURATION +│ CACHED FROM +│/);
    expect(text).toMatch(/│ prep +│ completed +│ 1 +│ w1 \(w1\.example, pid 4002\) +│ [\d.]+m?s +│ [\d.]+m?s +│ - +│/);
    expect(text).toMatch(/│ train +│ running +│ 2 +│ w22 \(w22\.example, pid 4003\) +│ [\d.]+m?s +│ - +│ - +│/);
    // The retried step's attempts, the failed one with its error; the step done at once has none listed.
    const attempts = text.slice(text.indexOf('\nAttempts'));
    expect(attempts).toMatch(/│ train +│ 1 +│ failed +│ w1 \(w1\.example, pid 4002\) +│ [\d.]+m?s +│ [\d.]+m?s +│ out of memory +│/);
    expect(attempts).toMatch(/│ train +│ 2 +│ running +│ w22 \(w22\.example, pid 4003\) +│ [\d.]+m?s +│ - +│ - +│/);
    expect(attempts).not.toMatch(/│ prep /);

    const described = parsedJson(await cli('run', 'describe', run.name as string, '--json'));
    expect(described.steps.find((step: { name: string }) => step.name === 'train').attempts).toMatchObject([
      { attempt: 1, status: 'FAILED', errorMessage: 'out of memory', worker: worker('w1') },
      { attempt: 2, status: 'RUNNING', errorMessage: null, worker: worker('w22') },
    ]);
  });

  it('refuses malformed attempts, workers and retries, changing nothing', async () => {
    const run = expectType(await startRun(server, { pipeline: uniqueName('attempts-bad') }), 'PipelineRun');
    expectType(await startStep({ runId: run.id, name: 'a', attempt: 0 }), 'ValidationError', 'attempt');
    expectType(await startStep({ runId: run.id, name: 'a', attempt: 1001 }), 'ValidationError', 'attempt');
    expectType(await startStep({ runId: run.id, name: 'a', worker: { ...worker('w'), pid: -1 } }), 'ValidationError', 'worker.pid');
    expectType(await startStep({ runId: run.id, name: 'a', worker: { ...worker('w'), host: ' ' } }), 'ValidationError', 'worker.host');
    expectType(await startStep({ runId: run.id, name: 'a', worker: { ...worker('w'), name: 'a\nb' } }), 'ValidationError', 'worker.name');
    const bad = await server.request(`mutation { startStep(runId: "x", name: "a", queuedAt: "yesterday") { __typename } }`);
    expect(bad.errors?.[0].message).toMatch(/DateTime cannot represent/);
    expect((await server.gql(`query($id: ID!) { run(id: $id) { steps { id } } }`, { id: run.id })).run.steps).toEqual([]);

    const step = expectType(await startStep({ runId: run.id, name: 'a' }), 'StepRun');
    expectType(await finishStep({ stepRunId: step.id, status: 'COMPLETED', willRetry: true }), 'ValidationError', 'willRetry');
    expectType(await finishStep({ stepRunId: step.id, status: 'FAILED', errorMessage: 'x', attempt: 2, willRetry: true }), 'IllegalOperationError', 'attempt');
    expect(await stepOf(run.id as string)).toMatchObject({ status: 'RUNNING', attempts: [{ attempt: 1, status: 'RUNNING' }] });
  });

  it('builds run pages that select attempts in one SQL statement, as the planner would answer them', async () => {
    const pipeline = uniqueName('attempts-page');
    const run = expectType(await startRun(server, { pipeline }), 'PipelineRun');
    const step = expectType(await startStep({ runId: run.id, name: 'train', worker: worker('w1'), queuedAt: secondsAgo(3) }), 'StepRun');
    expectType(await finishStep({ stepRunId: step.id, status: 'FAILED', errorMessage: 'boom', willRetry: true }), 'StepRun');
    expectType(await startStep({ runId: run.id, name: 'train', attempt: 2, worker: worker('w2'), queuedAt: secondsAgo(1) }), 'StepRun');
    const page = (directive: string) => `query($p: String!) { runs(filter: { pipeline: $p }) { ... on PipelineRunConnection {
      edges { node ${directive} { name steps { ${STEP.replace('run { status }', '')} isCached durationMs } } } } } }`;
    const built = await server.request(page(''), { p: pipeline });
    const planned = await server.request(page('@include(if: true)'), { p: pipeline });
    expect(built.errors).toBeUndefined();
    expect(planned.errors).toBeUndefined();
    expect(built.headers.get('x-sql-statements')).toBe('1');
    expect(built.data).toEqual(planned.data);
    const [node] = built.data.runs.edges.map((edge: { node: unknown }) => edge.node);
    expect(node.steps[0]).toMatchObject({ attempt: 2, worker: worker('w2'), attempts: [{ status: 'FAILED', errorMessage: 'boom' }, { status: 'RUNNING' }] });
    expect(node.steps[0].queueWaitMs).toBeGreaterThanOrEqual(900);
    // The run page's query, attempts of every step included, is one statement too.
    const runPage = await server.request(`query($id: ID!) { run(id: $id) { name steps { ${STEP.replace('run { status }', '')} } } }`, { id: run.id });
    expect(runPage.errors).toBeUndefined();
    expect(runPage.headers.get('x-sql-statements')).toBe('1');
    expect(runPage.data.run.steps).toEqual(node.steps.map(({ isCached: _cached, durationMs: _duration, ...step }: Record<string, unknown>) => step));
  });
});
