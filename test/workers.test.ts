// The worker registry: worker processes of a remote orchestrator report themselves with
// workerHeartbeat, and `workers` (and `stackyard worker list`) show the ones seen recently, with
// the step runs they run.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectFailure, parsedJson, runCli, succeeded, tempDir } from './cli-process';
import { databaseTargets, uniqueName, useTestServer, type TestServer } from './harness';
import { expectType, RESULT_FIELDS } from './registry-operations';
import { startRun, startStep } from './run-operations';

const NO_SUCH_STEP_RUN = Buffer.from('StepRun:00000000-0000-0000-0000-000000000000').toString('base64');
const WORKER = `name host pid queue concurrency stack startedAt lastSeenAt stoppedAt status currentSteps { id name attempt run { name } }`;

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

  it('shows a step on the worker that runs it: not on one whose step another took over, nor once it has ended', async () => {
    const { steps } = await runWithSteps(['train']);
    const [dead, survivor] = [uniqueName('dead'), uniqueName('survivor')];
    const beat = async (name: string, currentStepRunIds: unknown[]) =>
      expectType(await heartbeat({ name, host: 'h', pid: name.length, queue: 'q', concurrency: 1, currentStepRunIds }), 'Worker');
    await beat(dead, [steps[0].id]);
    // The dead worker's last heartbeat named the step; the survivor's attempt took it over.
    await beat(survivor, [steps[0].id]);
    const listed = async (name: string) => ((await workers()).find((worker) => worker.name === name)!.currentSteps as { name: string }[]).map((step) => step.name);
    expect(await listed(dead)).toEqual([]);
    expect(await listed(survivor)).toEqual(['train']);
    // Ended before the survivor's next heartbeat: no longer current.
    expectType(await server.gql(`mutation($id: ID!) { finishStep(stepRunId: $id, status: COMPLETED) { ${RESULT_FIELDS} } }`, { id: steps[0].id }).then((data) => data.finishStep), 'StepRun');
    expect(await listed(survivor)).toEqual([]);
  });

  it('shows a step on one worker when the heartbeats of several that name it arrive at once, or when two swap their steps', async () => {
    const onWorkers = async (names: string[], stepId: string) =>
      (await workers()).filter((worker) => names.includes(worker.name) && (worker.currentSteps as { id: string }[]).some((step) => step.id === stepId)).map((worker) => worker.name);
    for (let round = 0; round < 5; round += 1) {
      const [train, evaluate] = (await runWithSteps(['train', 'evaluate'])).steps.map((step) => step.id as string);
      const names = [uniqueName('contender'), uniqueName('contender'), uniqueName('contender')];
      const beat = (name: string, currentStepRunIds: string[]) => heartbeat({ name, host: 'h', pid: 1, queue: 'q', concurrency: 2, currentStepRunIds });
      // Each heartbeat takes the step over from the others; whichever commits last has it.
      for (const answer of await Promise.all(names.map((name) => beat(name, [train])))) expectType(answer, 'Worker');
      expect(await onWorkers(names, train), `round ${round}`).toHaveLength(1);
      // Two workers that swap their steps at once: each step ends on one of them.
      const [first, second] = names;
      await beat(first, [train]);
      await beat(second, [evaluate]);
      for (const answer of await Promise.all([beat(first, [evaluate]), beat(second, [train])])) expectType(answer, 'Worker');
      expect(await onWorkers(names, train), `round ${round}`).toHaveLength(1);
      expect(await onWorkers(names, evaluate), `round ${round}`).toHaveLength(1);
    }
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
      [{ heartbeatIntervalMs: 0 }, 'input.heartbeatIntervalMs'],
      [{ heartbeatIntervalMs: -5 }, 'input.heartbeatIntervalMs'],
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
    expect(all).toMatch(new RegExp(`│ ${name} +│ stopped +│ host-b +│ 7 +│ stackyard +│ 2 +│ - +│ stopped (just now|[\\d.]+s ago) +│`));
    expect(succeeded(await runCli(['worker', 'list'], { url: server.url, configDir }))).not.toContain(name);

    // The same name started again is a running worker.
    expectType(await heartbeat({ ...base, pid: 8, currentStepRunIds: [] }), 'Worker');
    expect((await workers()).find((worker) => worker.name === name)).toMatchObject({ pid: 8, stoppedAt: null });
  });

  it('tells a live worker from one that missed three of its heartbeats without saying it stopped', async () => {
    const name = uniqueName('lost:9');
    const base = { name, host: 'lost', pid: 9, queue: 'q', concurrency: 1, currentStepRunIds: [] };
    // A worker that beats every second is silent once 3 s pass without a beat; one that gave no
    // interval (5 s by default) is still live then.
    const quick = expectType(await heartbeat({ ...base, heartbeatIntervalMs: 1000 }), 'Worker');
    const slow = expectType(await heartbeat({ ...base, name: `${name}-slow` }), 'Worker');
    expect(quick.status).toBe('LIVE');
    expect(slow.status).toBe('LIVE');
    await new Promise((resolve) => setTimeout(resolve, 3500));
    const listed = new Map((await workers()).map((worker) => [worker.name, worker.status]));
    expect(listed.get(name)).toBe('SILENT');
    expect(listed.get(`${name}-slow`)).toBe('LIVE');
    const table = succeeded(await runCli(['worker', 'list'], { url: server.url, configDir: tempDir('stackyard-cli-workers-') }));
    expect(table).toMatch(new RegExp(`│ ${name} +│ silent +│ lost +│`));
    // Its next heartbeat makes it live again.
    expect(expectType(await heartbeat({ ...base, heartbeatIntervalMs: 1000 }), 'Worker').status).toBe('LIVE');
  });

  it('prints the workers seen recently with `stackyard worker list`', async () => {
    const { run, steps } = await runWithSteps(['featurize', 'train']);
    const name = uniqueName('gpu-1:4242');
    expectType(await heartbeat({ name, host: 'gpu-1', pid: 4242, queue: 'training', concurrency: 10, currentStepRunIds: steps.map((step) => step.id) }), 'Worker');
    const configDir = tempDir('stackyard-cli-workers-');
    const cli = (...args: string[]) => runCli(args, { url: server.url, configDir });
    const [text, json, none] = await Promise.all([cli('worker', 'list'), cli('worker', 'list', '--json'), cli('worker', 'list', '--seen-within', '1')]);
    const table = succeeded(text);
    expect(table).toMatch(/│ NAME +│ STATUS +│ HOST +│ PID +│ QUEUE +│ CONCURRENCY +│ CURRENT STEPS +│ LAST SEEN +│/);
    expect(table).toMatch(new RegExp(`│ ${name} +│ live +│ gpu-1 +│ 4242 +│ training +│ 10 +│ ${run.name} / featurize +│ (just now|[\\d.]+s ago) +│`));
    expect(table).toMatch(new RegExp(`│ +│ +│ +│ +│ +│ +│ ${run.name} / train +│ +│`));
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
