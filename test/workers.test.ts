// The worker registry: worker processes of a remote orchestrator report themselves with
// workerHeartbeat, and `workers` (and `stackyard worker list`) show the ones seen recently, with
// the step runs they run.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectFailure, parsedJson, runCli, succeeded, tempDir } from './cli-process';
import { databaseTargets, uniqueName, useTestServer, type TestServer } from './harness';
import { expectType, RESULT_FIELDS } from './registry-operations';
import { startRun, startStep } from './run-operations';

const NO_SUCH_STEP_RUN = Buffer.from('StepRun:00000000-0000-0000-0000-000000000000').toString('base64');
const WORKER = `name host pid queue concurrency stack startedAt lastSeenAt stoppedAt currentSteps { id name attempt run { name } }`;

describe.each(databaseTargets)('workers on $name', (target) => {
  const testServer = useTestServer(target);
  let server: TestServer;
  beforeAll(() => {
    server = testServer();
  });

  async function heartbeat(input: Record<string, unknown>) {
    const data = await server.gql(`mutation($input: WorkerHeartbeatInput!) { workerHeartbeat(input: $input) { ${RESULT_FIELDS} ... on Worker { ${WORKER} } } }`, {
      input,
    });
    return data.workerHeartbeat;
  }

  const workers = async (seenWithinSeconds?: number, includeStopped?: boolean) =>
    (
      await server.gql(`query($s: Int, $stopped: Boolean) { workers(seenWithinSeconds: $s, includeStopped: $stopped) { ${WORKER} } }`, {
        ...(seenWithinSeconds === undefined ? {} : { s: seenWithinSeconds }),
        ...(includeStopped === undefined ? {} : { stopped: includeStopped }),
      })
    ).workers as {
      name: string;
      [key: string]: unknown;
    }[];

  async function runWithSteps(names: string[]) {
    const run = expectType(await startRun(server, { pipeline: uniqueName('workers') }), 'PipelineRun');
    const steps = [];
    for (const name of names) steps.push(expectType(await startStep(server, { runId: run.id, name }), 'StepRun'));
    return { run, steps };
  }

  it('records a worker at its first heartbeat and follows what it runs', async () => {
    const name = uniqueName('host-a:101');
    const { run, steps } = await runWithSteps(['load', 'train']);
    const base = { name, host: 'host-a', pid: 101, queue: 'stackyard', concurrency: 4, stack: 'cluster' };
    const first = expectType(await heartbeat({ ...base, currentStepRunIds: [steps[0].id, steps[1].id, steps[0].id] }), 'Worker');
    expect(first).toMatchObject({ ...base, currentSteps: [{ id: steps[0].id, name: 'load', attempt: 1, run: { name: run.name } }, { id: steps[1].id, name: 'train' }] });

    const listed = (await workers()).find((worker) => worker.name === name);
    const { __typename, ...fields } = first;
    expect(listed).toEqual(fields);

    // The next heartbeat replaces the current steps and moves lastSeenAt; the same process keeps its start.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = expectType(await heartbeat({ ...base, concurrency: 8, currentStepRunIds: [] }), 'Worker');
    expect(second).toMatchObject({ concurrency: 8, currentSteps: [], startedAt: first.startedAt });
    expect(Date.parse(second.lastSeenAt as string)).toBeGreaterThan(Date.parse(first.lastSeenAt as string));
    // Another process under the same name starts again.
    const restarted = expectType(await heartbeat({ ...base, pid: 202, currentStepRunIds: [steps[1].id] }), 'Worker');
    expect(Date.parse(restarted.startedAt as string)).toBeGreaterThan(Date.parse(first.startedAt as string));
    expect(restarted).toMatchObject({ pid: 202, currentSteps: [{ name: 'train' }] });

    // Only recent heartbeats are listed.
    expect((await workers(0)).some((worker) => worker.name === name)).toBe(false);
    expect((await workers(3600)).some((worker) => worker.name === name)).toBe(true);

    // A step run deleted with its run is left out of the worker's current steps.
    await server.gql(`mutation($id: ID!) { deleteRun(id: $id) { ${RESULT_FIELDS} } }`, { id: run.id });
    expect((await workers()).find((worker) => worker.name === name)).toMatchObject({ currentSteps: [] });
    expect(expectType(await heartbeat({ ...base, pid: 202, currentStepRunIds: [steps[0].id] }), 'Worker')).toMatchObject({ currentSteps: [] });
  });

  it('lists workers with their steps, runs included, in one SQL statement', async () => {
    const { steps } = await runWithSteps(['a', 'b', 'c']);
    for (const [index, step] of steps.entries()) {
      expectType(await heartbeat({ name: uniqueName(`w${index}`), host: 'h', pid: index, queue: 'q', concurrency: 1, currentStepRunIds: [step.id] }), 'Worker');
    }
    const response = await server.request(`{ workers { ${WORKER} } }`);
    expect(response.errors).toBeUndefined();
    expect(response.headers.get('x-sql-statements')).toBe('1');
  });

  it('refuses malformed heartbeats, changing nothing', async () => {
    const name = uniqueName('bad');
    const base = { name, host: 'h', pid: 1, queue: 'q', concurrency: 1, currentStepRunIds: [] };
    const cases: [Record<string, unknown>, string][] = [
      [{ name: ' ' }, 'input.name'],
      [{ host: '' }, 'input.host'],
      [{ queue: 'a\tb' }, 'input.queue'],
      [{ pid: -1 }, 'input.pid'],
      [{ concurrency: 0 }, 'input.concurrency'],
      [{ concurrency: 10_001 }, 'input.concurrency'],
      [{ stack: '' }, 'input.stack'],
      [{ currentStepRunIds: ['not-an-id'] }, 'input.currentStepRunIds.0'],
      [{ currentStepRunIds: Array.from({ length: 1001 }, () => NO_SUCH_STEP_RUN) }, 'input.currentStepRunIds'],
    ];
    for (const [change, field] of cases) expectType(await heartbeat({ ...base, ...change }), 'ValidationError', field);
    expect((await workers(3600)).some((worker) => worker.name === name)).toBe(false);
  });

  it('leaves out a worker that said it stopped, until it runs again; includeStopped shows when it stopped', async () => {
    const name = uniqueName('host-b:7');
    const { steps } = await runWithSteps(['prep']);
    const base = { name, host: 'host-b', pid: 7, queue: 'stackyard', concurrency: 2 };
    expectType(await heartbeat({ ...base, currentStepRunIds: [steps[0].id] }), 'Worker');
    expect((await workers()).find((worker) => worker.name === name)).toMatchObject({ stoppedAt: null });
    const stopped = expectType(await heartbeat({ ...base, currentStepRunIds: [], stopping: true }), 'Worker');
    expect(Date.parse(stopped.stoppedAt as string)).toBeGreaterThan(0);
    expect((await workers()).some((worker) => worker.name === name)).toBe(false);
    expect((await workers(undefined, true)).find((worker) => worker.name === name)).toMatchObject({ stoppedAt: stopped.stoppedAt, currentSteps: [] });

    const configDir = tempDir('stackyard-cli-workers-');
    const all = succeeded(await runCli(['worker', 'list', '--include-stopped'], { url: server.url, configDir }));
    expect(all).toMatch(new RegExp(`│ ${name} +│ host-b +│ 7 +│ stackyard +│ 2 +│ - +│ stopped (just now|[\\d.]+s ago) +│`));
    expect(succeeded(await runCli(['worker', 'list'], { url: server.url, configDir }))).not.toContain(name);

    // The same name started again is a running worker.
    expectType(await heartbeat({ ...base, pid: 8, currentStepRunIds: [] }), 'Worker');
    expect((await workers()).find((worker) => worker.name === name)).toMatchObject({ pid: 8, stoppedAt: null });
  });

  it('prints the workers seen recently with `stackyard worker list`', async () => {
    const { run, steps } = await runWithSteps(['featurize', 'train']);
    const name = uniqueName('gpu-1:4242');
    expectType(await heartbeat({ name, host: 'gpu-1', pid: 4242, queue: 'training', concurrency: 10, currentStepRunIds: steps.map((step) => step.id) }), 'Worker');
    const configDir = tempDir('stackyard-cli-workers-');
    const cli = (...args: string[]) => runCli(args, { url: server.url, configDir });
    const [text, json, none] = await Promise.all([cli('worker', 'list'), cli('worker', 'list', '--json'), cli('worker', 'list', '--seen-within', '1')]);
    const table = succeeded(text);
    expect(table).toMatch(/│ NAME +│ HOST +│ PID +│ QUEUE +│ CONCURRENCY +│ CURRENT STEPS +│ LAST SEEN +│/);
    expect(table).toMatch(new RegExp(`│ ${name} +│ gpu-1 +│ 4242 +│ training +│ 10 +│ ${run.name} / featurize +│ (just now|[\\d.]+s ago) +│`));
    expect(table).toMatch(new RegExp(`│ +│ +│ +│ +│ +│ ${run.name} / train +│ +│`));
    const listed = parsedJson(json).find((worker: { name: string }) => worker.name === name);
    expect(listed).toMatchObject({ host: 'gpu-1', pid: 4242, queue: 'training', concurrency: 10, currentSteps: [{ name: 'featurize' }, { name: 'train' }] });
    // Seen within one second: this worker, but perhaps not those of the other tests.
    expect(succeeded(none)).toMatch(/No workers seen in the last 1.0s\.|│ NAME/);
  });

  it('refuses `stackyard worker start` with no module file or a concurrency the server would refuse, in the user\'s words', async () => {
    const configDir = tempDir('stackyard-cli-worker-start-');
    const cli = (...args: string[]) => runCli(['worker', 'start', ...args], { url: server.url, configDir });
    const missing = await cli('--pipelines', './no-such-pipelines.ts');
    expectFailure(missing, /^Error: No pipeline module at \.\/no-such-pipelines\.ts \(\/[^)]*no-such-pipelines\.ts\)\n$/);
    expect(missing.stderr).not.toMatch(/dist|chunks|imported from/);
    expectFailure(await cli('--pipelines', 'test/fixtures'), 'test/fixtures is a directory; --pipelines takes the module file');
    for (const concurrency of ['0', '10001', 'many']) {
      const refused = await cli('--pipelines', 'test/fixtures/bullmq-pipelines.ts', '--concurrency', concurrency);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/--concurrency.*Expected a whole number (of at least 1|from 1 to 10000)/);
    }
  });
});
