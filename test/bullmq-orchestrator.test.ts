// The bullmq orchestrator with real parts: Debian's redis-server, the S3-compatible s3rver as the
// shared artifact store, `stackyard worker` processes spawned as users start them, and drivers
// that are pipeline scripts in their own processes. Workers report with a service account's token.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { StackyardClient, UnsupportedStackError, pipeline, step } from '../client';
import { closedPortUrl, expectFailure, parsedJson, processEnv, root, runCli, runProcess, succeeded, tempDir, type ProcessSettings } from './cli-process';
import { databaseTargets, uniqueName, until, useTestServer } from './harness';
import { startRedis, type RedisService } from './redis-service';
import { S3_ACCESS_KEY, S3_SECRET_KEY, startS3, type S3Service } from './store-services';

const BUCKET = 'stackyard-bullmq';
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const stackyardBin = join(root, 'bin', 'stackyard.js');
const FIXTURES = join(root, 'test', 'fixtures', 'bullmq-pipelines.ts');
// Short locks so a killed worker's step is re-queued within seconds; the lock is renewed every
// 4 s, which a worker that is merely slow on a busy machine (load 20 on 2 cores here) still manages.
const WORKER_TIMINGS = { STACKYARD_WORKER_LOCK_MS: '8000', STACKYARD_WORKER_STALLED_INTERVAL_MS: '2000', STACKYARD_WORKER_HEARTBEAT_MS: '1000' };
// The AWS SDK warns on stderr that its releases from 2027 need Node 22.
const QUIET_AWS = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

let redis: RedisService;
let s3: S3Service;

beforeAll(async () => {
  redis = await startRedis();
  s3 = await startS3([BUCKET]);
}, 60_000);

afterAll(async () => {
  await Promise.all([redis?.close(), s3?.close()]);
});

interface WorkerProcess {
  pid: number;
  output(): string;
  exited: Promise<number | null>;
}

describe.each(databaseTargets)('bullmq orchestrator on $name', (target) => {
  const adminToken = `sy_admin_${uniqueName('bullmq')}`;
  const server = useTestServer(target, { adminToken });
  let workerToken: string;
  let admin: StackyardClient;

  beforeAll(async () => {
    admin = new StackyardClient({ url: server().url, token: adminToken, env: {} });
    const bot = uniqueName('workers');
    await admin.createUser(bot, 'SERVICE_ACCOUNT');
    workerToken = (await admin.createApiToken({ name: 'workers', userName: bot })).token;
  });

  function settings(token: string, extra: Record<string, string> = {}): ProcessSettings {
    return { url: server().url, configDir: tempDir('stackyard-bullmq-config-'), env: { STACKYARD_TOKEN: token, ...QUIET_AWS, ...extra } };
  }

  /** An s3 store under a fresh prefix, a bullmq orchestrator on its own queue, and the stack of both. */
  async function bullmqStack(orchestrator: Record<string, unknown> = {}, redisUrl = redis.url) {
    const prefix = uniqueName('runs');
    const store = await admin.registerComponent({
      type: 'ARTIFACT_STORE',
      name: uniqueName('s3'),
      flavor: 's3',
      configuration: { path: `s3://${BUCKET}/${prefix}`, endpointUrl: s3.endpointUrl, forcePathStyle: true, region: 'us-east-1', awsAccessKeyId: S3_ACCESS_KEY, awsSecretAccessKey: S3_SECRET_KEY },
    });
    const queue = uniqueName('queue');
    const component = await admin.registerComponent({ type: 'ORCHESTRATOR', name: uniqueName('bullmq'), flavor: 'bullmq', configuration: { redisUrl, queue, backoffSeconds: 0, ...orchestrator } });
    const stack = uniqueName('bullmq-stack');
    await admin.registerStack({ name: stack, components: { orchestrator: component.name, artifactStore: store.name } });
    return { stack, prefix, queue, store: store.name, orchestrator: component.name };
  }

  /** `stackyard worker start` as a user runs it, answered once it takes jobs; killed after the test. */
  async function startWorker(stack: string, name: string, options: { concurrency?: number; pipelines?: string; env?: Record<string, string> } = {}): Promise<WorkerProcess> {
    const env = processEnv({ url: server().url, configDir: tempDir('stackyard-worker-config-'), env: { STACKYARD_TOKEN: workerToken, ...QUIET_AWS, ...WORKER_TIMINGS, ...options.env } });
    const args = ['worker', 'start', '--pipelines', options.pipelines ?? FIXTURES, '--stack', stack, '--name', name, '--concurrency', String(options.concurrency ?? 1)];
    const child = spawn(process.execPath, [stackyardBin, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    onTestFinished(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    await Promise.race([
      until(`worker ${name} to start`, () => output.includes('takes steps from queue')),
      exited.then((code) => Promise.reject(new Error(`worker ${name} exited (${code}):\n${output}`))),
    ]);
    return { pid: child.pid!, output: () => output, exited };
  }

  /** Runs a pipeline of the fixtures from its own process; answers its one JSON line. */
  async function drive(stack: string, exportName: string, parameters: Record<string, unknown> = {}, flags: string[] = [], env: Record<string, string> = {}) {
    const result = await runProcess(process.execPath, [tsxCli, join('test', 'fixtures', 'bullmq-driver.ts'), exportName, JSON.stringify(parameters), ...flags], settings(adminToken, { STACKYARD_STACK: stack, ...env }));
    const line = result.stdout.trim().split('\n').at(-1) ?? '';
    try {
      return { ...(JSON.parse(line) as Record<string, any>), code: result.code, output: result.stdout } as Record<string, any>;
    } catch {
      throw new Error(`the driver printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
    }
  }

  /** Each attempt of a step run, as the run page shows them. */
  async function attemptsOf(
    runId: string,
    step: string,
  ): Promise<{ attempt: number; status: string; errorMessage: string | null; worker: { pid: number } | null; queueWaitMs: number | null; startedAt: string; endedAt: string | null }[]> {
    const data = await server().gql(`query($id: ID!) { run(id: $id) { steps { name attempts { attempt status errorMessage worker { pid } queueWaitMs startedAt endedAt } } } }`, { id: runId }, adminToken);
    return data.run.steps.find((candidate: { name: string }) => candidate.name === step).attempts;
  }

  const overlaps = (a: { startedAt: string; endedAt: string | null }, b: { startedAt: string; endedAt: string | null }) =>
    Date.parse(a.startedAt) < Date.parse(b.endedAt!) && Date.parse(b.startedAt) < Date.parse(a.endedAt!);

  it('runs the quickstart unchanged on a bullmq + s3 stack switched by `stackyard stack set`, with 3 workers; a second run is all cached', async () => {
    const { stack, prefix } = await bullmqStack();
    const cli = (...args: string[]) => runCli(args, settings(adminToken));
    const asAdmin = settings(adminToken);
    succeeded(await runCli(['stack', 'set', stack], asAdmin));
    const pipelines = join(root, 'examples', 'quickstart', 'pipeline.ts');
    const workers = await Promise.all(['q1', 'q2', 'q3'].map((name) => startWorker(stack, uniqueName(name), { pipelines })));

    const first = await runProcess('npm', ['run', '--silent', 'example'], asAdmin);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/accuracy: \d\.\d{3}/);
    expect(first.stdout).toContain(`on stack ${stack}`);
    // The progress lines read as on the local stack: each step's start, then its end, however
    // fast the step (a start and end between two live updates still print both).
    for (const step of ['load_data', 'train', 'evaluate']) {
      expect(first.stdout).toMatch(new RegExp(`step ${step} started\\n[\\s\\S]*step ${step} completed in \\d`));
    }
    expect(first.stdout).not.toContain('no worker serving the queue');
    // The outputs are in the shared store, written by the workers.
    const objects = (await s3.list(BUCKET)).filter((object) => object.key.startsWith(`${prefix}/`));
    expect(objects.map((object) => object.key.split('/')[1]).sort()).toEqual(['evaluate', 'load_data', 'train']);
    const [run] = (await admin.runsPage({ filter: { pipeline: 'quickstart', stackName: stack } })).edges.map((edge) => edge.node);
    expect(run.status).toBe('COMPLETED');
    const recorded = (await admin.getRun(run.id))!;
    const pids = new Set(workers.map((worker) => worker.pid));
    for (const step of recorded.steps) {
      expect(step.worker, step.name).toBeTruthy();
      expect(pids.has(step.worker!.pid), step.name).toBe(true);
      expect(step.attempt).toBe(1);
    }

    // Again: every step cached from the store, whichever worker took it.
    const second = await runProcess('npm', ['run', '--silent', 'example'], asAdmin);
    expect(second.code, second.stderr).toBe(0);
    // Each cached step names the run whose outputs it reused.
    for (const name of ['load_data', 'train', 'evaluate']) {
      const line = second.stdout.split('\n').find((candidate) => candidate.includes(`step ${name} cached`));
      expect(line, second.stdout).toContain(`(outputs of run ${run.name})`);
    }
    const runs = (await admin.runsPage({ filter: { pipeline: 'quickstart', stackName: stack } })).edges.map((edge) => edge.node.status);
    expect(runs).toEqual(['CACHED', 'COMPLETED']);
    void cli;
  });

  it('runs independent steps on different workers at the same time', async () => {
    const { stack } = await bullmqStack();
    const workers = await Promise.all(['f1', 'f2', 'f3'].map((name) => startWorker(stack, uniqueName(name))));
    const driven = await drive(stack, 'fanout', { ms: 3000 });
    expect(driven, JSON.stringify(driven)).toMatchObject({ code: 0, status: 'COMPLETED' });
    const run = (await admin.getRun(driven.id))!;
    const branches = run.steps.filter((step) => step.name.startsWith('branch_'));
    expect(branches).toHaveLength(3);
    // Each worker takes one step at a time, so three at once are on three workers.
    expect(new Set(branches.map((step) => step.worker!.pid))).toEqual(new Set(workers.map((worker) => worker.pid)));
    expect(new Set(branches.map((step) => step.worker!.host)).size).toBe(1);
    for (const [a, b] of [[0, 1], [0, 2], [1, 2]]) expect(overlaps(branches[a], branches[b]), `${branches[a].name} and ${branches[b].name}`).toBe(true);
    const join = run.steps.find((step) => step.name === 'join')!;
    expect(join.status).toBe('COMPLETED');
    expect(join.inputs.map((input) => input.name).sort()).toEqual(['a', 'b', 'c']);
    for (const branch of branches) expect(Date.parse(join.startedAt)).toBeGreaterThanOrEqual(Date.parse(branch.endedAt!));

    // A worker stopped with SIGTERM says so as it exits: `worker list` no longer shows it.
    const [stopping] = workers;
    const name = (await admin.workers()).find((listed) => listed.pid === stopping.pid)!.name;
    process.kill(stopping.pid, 'SIGTERM');
    expect(await stopping.exited).toBe(0);
    expect((await admin.workers()).map((listed) => listed.name)).not.toContain(name);
    expect((await admin.workers(undefined, { includeStopped: true })).find((listed) => listed.name === name)?.stoppedAt).toBeTruthy();
  });

  it('refuses a second worker under the name of a running one; the name is free again once that one stops', async () => {
    const { stack } = await bullmqStack();
    const name = uniqueName('twin');
    const first = await startWorker(stack, name);
    const twin = await runCli(['worker', 'start', '--pipelines', FIXTURES, '--stack', stack, '--name', name], settings(workerToken, WORKER_TIMINGS));
    expectFailure(twin, new RegExp(`^Error: A worker named "${name}" is running on \\S+ \\(pid ${first.pid}\\), seen \\d+ s ago: give this one another --name, or stop that one\n$`));
    process.kill(first.pid, 'SIGTERM');
    expect(await first.exited).toBe(0);
    await startWorker(stack, name);
  });

  it('refuses a --name the server cannot take, before it takes any step', async () => {
    const { stack } = await bullmqStack();
    const start = (name: string) => runCli(['worker', 'start', '--pipelines', FIXTURES, '--stack', stack, '--name', name], settings(workerToken, WORKER_TIMINGS));
    expectFailure(await start('   '), /^Error: --name "   ": must not be empty\n$/);
    expectFailure(await start('w'.repeat(300)), /^Error: --name "w{300}": must be at most \d+ characters\n$/);
    // Counts and timings are whole numbers in decimal, within range: not 1e2, 0x10, or 1e99 ms.
    const started = (args: string[], env: Record<string, string> = {}) =>
      runCli(['worker', 'start', '--pipelines', FIXTURES, '--stack', stack, ...args], settings(workerToken, { ...WORKER_TIMINGS, ...env }));
    for (const concurrency of ['1e2', '0x10', '2.5', '0', '10001']) {
      const refused = await started(['--concurrency', concurrency]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`Error: option '--concurrency <count>' argument '${concurrency}' is invalid. Expected a whole number from 1 to 10000.`);
    }
    for (const [name, value] of [['STACKYARD_WORKER_LOCK_MS', '1e99'], ['STACKYARD_WORKER_HEARTBEAT_MS', 'soon'], ['STACKYARD_WORKER_STALLED_INTERVAL_MS', '0']]) {
      expectFailure(await started([], { [name]: value }), `${name} must be a whole number of milliseconds from 1 to 2147483647, not "${value}"`);
    }
  });

  it('warns when its stack sends runs to another queue, and says so when it sends them back', async () => {
    const { stack, queue, orchestrator } = await bullmqStack();
    const worker = await startWorker(stack, uniqueName('follower'), { env: { STACKYARD_WORKER_STACK_CHECK_MS: '300' } });
    const moved = uniqueName('moved-queue');
    const configure = (queueName: string) => admin.updateComponent({ type: 'ORCHESTRATOR', name: orchestrator, configuration: { redisUrl: redis.url, queue: queueName, backoffSeconds: 0 } });
    await configure(moved);
    const warning = `Warning: The stack "${stack}" now runs its steps on the queue "${moved}" at ${redis.url}, and this worker serves the queue "${queue}" at ${redis.url}: restart it to follow the stack`;
    await until('the worker to warn that new runs go elsewhere', () => worker.output().includes(warning));
    await configure(queue);
    await until('the worker to say runs come back', () => worker.output().includes(`The stack "${stack}" sends its runs to this worker's queue again`));
    // Said once per change, not at every check.
    expect(worker.output().split(warning).length - 1).toBe(1);
  });

  it('checks steps against the code the worker loaded, not the files as edited since', async () => {
    const { stack } = await bullmqStack();
    // A project whose step reads a constant from a helper module; the worker loads it, then the
    // helper is edited under it (a deploy), and the driver runs the edited code.
    const project = mkdtempSync(join(root, 'test', 'fixtures', '.edited-'));
    onTestFinished(() => rmSync(project, { recursive: true, force: true }));
    writeFileSync(join(project, 'version.ts'), `export const VERSION = 'old';\n`);
    writeFileSync(join(project, 'pipelines.ts'), `import { pipeline, step } from 'stackyard';\nimport { VERSION } from './version';\nconst version = step('version', () => VERSION);\nexport const edited = pipeline('${uniqueName('edited')}', () => { version(); });\n`);
    writeFileSync(
      join(project, 'drive.ts'),
      `import { PipelineRunFailedError } from 'stackyard';\nimport { edited } from './pipelines';\ntry {\n  const run = await edited.run({ progress: false });\n  console.log(JSON.stringify({ status: run.status }));\n} catch (error) {\n  if (!(error instanceof PipelineRunFailedError)) throw error;\n  console.log(JSON.stringify({ status: error.run.status, error: error.run.steps.version.error }));\n}\n`,
    );
    await startWorker(stack, uniqueName('loaded'), { pipelines: join(project, 'pipelines.ts') });
    writeFileSync(join(project, 'version.ts'), `export const VERSION = 'new';\n`);
    const driven = await runProcess(process.execPath, [tsxCli, join(project, 'drive.ts')], settings(adminToken, { STACKYARD_STACK: stack }));
    expect(JSON.parse(driven.stdout.trim().split('\n').at(-1)!)).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/^The code of step "version" on worker \S+ differs from the run's/) });
  });

  it('finishes a run submitted with wait: false without its driver: workers enqueue what they unblock', async () => {
    const { stack } = await bullmqStack();
    await Promise.all(['w1', 'w2'].map((name) => startWorker(stack, uniqueName(name), { concurrency: 2 })));
    const driven = await drive(stack, 'fanout', { ms: 500 }, ['--no-wait', '--progress']);
    expect(driven.code, JSON.stringify(driven)).toBe(0);
    expect(['INITIALIZING', 'RUNNING']).toContain(driven.status);
    expect(driven.output).toContain('Running pipeline bullmq-fanout');
    expect(driven.output).not.toContain('no worker serving the queue');
    const finished = await until('the run to finish', async () => {
      const run = await admin.getRun(driven.id);
      return run?.endedAt ? run : null;
    });
    expect(finished.status).toBe('COMPLETED');
    expect(finished.steps.map((step) => step.name).sort()).toEqual(['branch_1', 'branch_2', 'branch_3', 'join']);
    // Handed to the queue: the server does not fail it for silence while its steps wait there.
    expect(finished.detachedAt).toEqual(expect.any(String));
  });

  it('takes waiting steps by priority: a run\'s priority first, then each step\'s own added to it', async () => {
    const { stack, queue } = await bullmqStack();
    // Submitted with no worker, so every step waits; one worker taking one step at a time then
    // shows the order of the queue.
    const first = await drive(stack, 'naps', { count: 3, ms: 10 }, ['--no-wait', '--no-cache', '--progress']);
    const urgentRun = await drive(stack, 'naps', { count: 3, ms: 10 }, ['--no-wait', '--no-cache', '--priority=10']);
    const mixed = await drive(stack, 'prioritized', {}, ['--no-wait', '--no-cache']);
    for (const driven of [first, urgentRun, mixed]) expect(driven.code, JSON.stringify(driven)).toBe(0);
    // No worker serves the queue yet: the driver says why the steps only wait, and what to start.
    expect(first.output).toContain(`no worker serving the queue "${queue}" was seen in the last 60 s: the steps wait until one starts (stackyard worker start --stack ${stack} --pipelines <module>)`);
    await startWorker(stack, uniqueName('one-at-a-time'), { concurrency: 1 });
    const runs = await Promise.all(
      [first, urgentRun, mixed].map((driven) =>
        until('the run to finish', async () => {
          const run = await admin.getRun(driven.id);
          return run?.endedAt ? run : null;
        }),
      ),
    );
    expect(runs.map((run) => run.status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    expect(runs[1].config).toMatchObject({ priority: 10 });
    expect(runs[0].config).not.toHaveProperty('priority');
    const taken = runs
      .flatMap((run, index) => run.steps.map((step) => ({ step: `${['first', 'urgent-run', 'mixed'][index]}/${step.name}`, startedAt: Date.parse(step.startedAt) })))
      .sort((a, b) => a.startedAt - b.startedAt)
      .map((item) => item.step);
    // Priorities: urgent 50, the urgent run's 10, then 0 in the order submitted, background -50.
    expect(taken).toEqual([
      'mixed/urgent',
      'urgent-run/nap_000',
      'urgent-run/nap_001',
      'urgent-run/nap_002',
      'first/nap_000',
      'first/nap_001',
      'first/nap_002',
      'mixed/routine_1',
      'mixed/routine_2',
      'mixed/background',
    ]);
  });

  it('refuses a priority that is not an integer within ±1000, before recording a run', async () => {
    const { stack } = await bullmqStack();
    const refused = await drive(stack, 'naps', { count: 1, ms: 10 }, ['--no-wait', '--priority=1.5']);
    expect(refused).toMatchObject({ code: 1, type: 'RangeError', error: expect.stringContaining('priority must be an integer from -1000 to 1000') });
    expect(await drive(stack, 'naps', { count: 1, ms: 10 }, ['--no-wait', '--priority=1001'])).toMatchObject({ code: 1, type: 'RangeError' });
    expect(await admin.runsPage({ filter: { stackName: stack } })).toMatchObject({ totalCount: 0 });
    expect(() => step('too-urgent', () => 1, { priority: 5000 })).toThrow('Step "too-urgent": priority must be an integer from -1000 to 1000 (higher runs first), not 5000');
    expect(() => step('not-a-number', () => 1, { priority: Number.NaN })).toThrow('not NaN');
  });

  it('stops a run submitted with wait: false by `stackyard run stop`: its worker abandons the running step, runs none of its queued ones, and takes the next run', async () => {
    const { stack, queue } = await bullmqStack({ attempts: 3 });
    const worker = await startWorker(stack, uniqueName('s1'));
    const submitted = await drive(stack, 'stoppable', {}, ['--no-wait']);
    expect(submitted.code, JSON.stringify(submitted)).toBe(0);
    // One slot: one of the two five-minute steps runs, the other waits in the queue.
    const running = await until('a step to run', async () => (await admin.getRun(submitted.id))?.steps.find((step) => step.status === 'RUNNING'));
    const stopped = parsedJson(await runCli(['run', 'stop', submitted.name, '--reason', 'no longer needed', '--json'], settings(adminToken)));
    expect(stopped).toMatchObject({ id: submitted.id, name: submitted.name, status: 'STOPPED', statusReason: expect.stringMatching(/^Stopped by \S+: no longer needed$/) });

    // The worker hears of it at a heartbeat (every second here), though the step ignores its signal.
    await until('the worker to abandon the step', () => worker.output().includes(`step ${running.name} of run ${submitted.name}: abandoned: The run ended as stopped`));
    // Both jobs leave the queue, neither failed nor retried: the queued one never started its step.
    // BullMQ makes and closes the connection: one of the test's own would outlive the Redis server.
    const jobs = new Queue(queue, { connection: { url: redis.url } });
    onTestFinished(() => jobs.close());
    const counts = await until('the queue to empty', async () => {
      const found = await jobs.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed');
      return found.waiting + found.prioritized + found.active + found.delayed === 0 ? found : null;
    });
    expect(counts).toMatchObject({ failed: 0, completed: 2 });
    const run = (await admin.getRun(submitted.id))!;
    expect(run).toMatchObject({ status: 'STOPPED', statusReason: stopped.statusReason });
    expect(run.steps.map((step) => [step.name, step.status, step.attempt, step.outputs.length])).toEqual([[running.name, 'STOPPED', 1, 0]]);

    // Its one slot is free: the next run completes on it, long before the abandoned step would end.
    const next = await drive(stack, 'fanout', { ms: 1 });
    expect(next, JSON.stringify(next)).toMatchObject({ code: 0, status: 'COMPLETED' });
    expect(new Set((await admin.getRun(next.id))!.steps.map((step) => step.worker?.pid))).toEqual(new Set([worker.pid]));
  });

  it('ends a waiting run() with PipelineRunStoppedError when its run is stopped elsewhere', async () => {
    const { stack } = await bullmqStack();
    await startWorker(stack, uniqueName('s2'));
    const driving = drive(stack, 'stoppable');
    const run = await until('the run to start a step', async () => {
      const [found] = (await admin.runsPage({ filter: { pipeline: 'bullmq-stoppable', stackName: stack } })).edges.map((edge) => edge.node);
      return found && (await admin.getRun(found.id))?.steps.some((step) => step.status === 'RUNNING') ? found : null;
    });
    await admin.stopRun(run.id, 'from the test');
    const driven = await driving;
    expect(driven).toMatchObject({ code: 1, type: 'PipelineRunStoppedError', status: 'STOPPED', error: expect.stringMatching(new RegExp(`^Pipeline run ${run.name} was stopped: Stopped by \\S+: from the test$`)) });
    expect(Object.values(driven.steps as Record<string, { status: string }>).map((step) => step.status)).toEqual(['skipped', 'skipped']);
  });

  it('ends a waiting run() with RunEndedError when its run is deleted elsewhere, and frees the worker', async () => {
    const { stack } = await bullmqStack();
    const worker = await startWorker(stack, uniqueName('d1'));
    const driving = drive(stack, 'stoppable');
    const run = await until('the run to start a step', async () => {
      const [found] = (await admin.runsPage({ filter: { pipeline: 'bullmq-stoppable', stackName: stack } })).edges.map((edge) => edge.node);
      return found && (await admin.getRun(found.id))?.steps.some((step) => step.status === 'RUNNING') ? found : null;
    });
    await admin.deleteRun(run.id);
    expect(await driving).toMatchObject({ code: 1, type: 'RunEndedError', error: 'The run was deleted' });
    await until('the worker to abandon the step of the deleted run', () => /abandoned: The run was deleted/.test(worker.output()));
  });

  /** An s3 store of the test bucket under a fresh prefix. */
  async function s3Store() {
    const prefix = uniqueName('moved');
    const store = await admin.registerComponent({
      type: 'ARTIFACT_STORE',
      name: uniqueName('s3-moved'),
      flavor: 's3',
      configuration: { path: `s3://${BUCKET}/${prefix}`, endpointUrl: s3.endpointUrl, forcePathStyle: true, region: 'us-east-1', awsAccessKeyId: S3_ACCESS_KEY, awsSecretAccessKey: S3_SECRET_KEY },
    });
    return { name: store.name, prefix };
  }

  const finishedRun = (id: string) =>
    until('the run to finish', async () => {
      const run = await admin.getRun(id);
      return run?.endedAt ? run : null;
    });

  it('writes each run to the artifact store it was submitted with, whatever became of the stack since the worker started', async () => {
    const { stack } = await bullmqStack();
    await startWorker(stack, uniqueName('long-lived'), { concurrency: 2 });
    expect(await drive(stack, 'naps', { count: 1, ms: 10 }, ['--no-cache'])).toMatchObject({ code: 0, status: 'COMPLETED' });

    // The stack gets another store: the next run's outputs go there, not where the worker first looked.
    const moved = await s3Store();
    await admin.updateStack({ name: stack, components: { artifactStore: moved.name } });
    const second = await drive(stack, 'naps', { count: 1, ms: 10 }, ['--no-cache']);
    expect(second, JSON.stringify(second)).toMatchObject({ code: 0, status: 'COMPLETED' });
    const [output] = (await admin.getRun(second.id))!.steps[0].outputs;
    expect(output.artifactVersion.uri).toMatch(new RegExp(`^s3://${BUCKET}/${moved.prefix}/`));

    // A run waiting in the queue while its stack is renamed is still run.
    const { stack: renamed } = await bullmqStack();
    const waiting = await drive(renamed, 'naps', { count: 1, ms: 10 }, ['--no-wait', '--no-cache']);
    await admin.renameStack(renamed, `${renamed}-new`);
    await startWorker(`${renamed}-new`, uniqueName('after-rename'));
    expect((await finishedRun(waiting.id)).status).toBe('COMPLETED');
  });

  it('fails the run, saying why, when a step cannot start: the store it was submitted with is gone', async () => {
    const { stack, store } = await bullmqStack();
    const waiting = await drive(stack, 'naps', { count: 1, ms: 10 }, ['--no-wait', '--no-cache']);
    await admin.updateStack({ name: stack, components: { artifactStore: (await s3Store()).name } });
    await admin.deleteComponent({ type: 'ARTIFACT_STORE', name: store });
    await startWorker(stack, uniqueName('storeless'));
    const finished = await finishedRun(waiting.id);
    expect(finished.status).toBe('FAILED');
    expect(finished.steps).toMatchObject([{ name: 'nap_000', status: 'FAILED', errorMessage: expect.stringContaining('was submitted with has been deleted') }]);
  });

  it('re-queues the step of a worker killed with kill -9 mid-step: attempt 2 on another worker completes the run, each output recorded once', async () => {
    const { stack, prefix } = await bullmqStack({ attempts: 3 });
    const workers = await Promise.all(['k1', 'k2'].map((name) => startWorker(stack, uniqueName(name))));
    const markerDir = tempDir('stackyard-bullmq-marker-');
    const driving = drive(stack, 'killable', { markerDir });
    const marker = join(markerDir, 'hanging');
    const pid = Number(await until('a worker to hang midway through its output', () => existsSync(marker) && readFileSync(marker, 'utf8')));
    const victim = workers.find((worker) => worker.pid === pid)!;
    expect(victim, `pid ${pid} is one of the workers`).toBeTruthy();
    process.kill(pid, 'SIGKILL');
    await victim.exited;

    const driven = await driving;
    expect(driven, JSON.stringify(driven)).toMatchObject({ code: 0, status: 'COMPLETED' });
    const run = (await admin.getRun(driven.id))!;
    const produce = run.steps.find((step) => step.name === 'produce')!;
    const survivor = workers.find((worker) => worker !== victim)!;
    expect(produce.status).toBe('COMPLETED');
    expect(produce.attempt).toBe(2);
    expect(produce.worker!.pid).toBe(survivor.pid);
    expect((await attemptsOf(run.id, 'produce')).map((attempt) => [attempt.attempt, attempt.status, attempt.worker?.pid])).toEqual([
      [1, 'LOST', victim.pid],
      [2, 'COMPLETED', survivor.pid],
    ]);
    // One version of each output: the first attempt's stored `first` was never reported.
    expect(produce.outputs.map((output) => output.name).sort()).toEqual(['first', 'second']);
    const versions = [];
    for await (const version of admin.artifactVersions({ name: 'bullmq_killed_first' })) versions.push(version);
    expect(versions.filter((version) => version.uri.includes(`/${prefix}/`))).toHaveLength(1);
    const objects = (await s3.list(BUCKET)).filter((object) => object.key.startsWith(`${prefix}/produce/`));
    expect(objects.map((object) => object.key).sort()).toEqual(produce.outputs.map((output) => output.artifactVersion.uri.slice(`s3://${BUCKET}/`.length)).sort());
    expect(run.steps.find((step) => step.name === 'consume')!.status).toBe('COMPLETED');
  });

  it('begins a step of a run it knows goes on while its start is recorded; a start answered with another step run aborts it and keeps nothing of it', async () => {
    const { stack, prefix, queue } = await bullmqStack();
    // Known to go on for as long as the test may take: a slow machine must not turn this into a step that starts first.
    await startWorker(stack, uniqueName('early'), { env: { STACKYARD_WORKER_RUN_KNOWN_LIVE_MS: '600000' } });
    const markerDir = tempDir('stackyard-bullmq-early-');
    const driven = await drive(stack, 'watched', { markerDir, ms: 300 }, ['--no-cache']);
    expect(driven, JSON.stringify(driven)).toMatchObject({ code: 0, status: 'COMPLETED' });
    const [recorded] = (await admin.getRun(driven.id))!.steps;
    expect([recorded.name, recorded.status, recorded.attempt, recorded.outputs.length]).toEqual(['watchful', 'COMPLETED', 1, 1]);
    // The run's first step started once recorded: the worker had not heard of the run before.
    const markers = (kind: string) => readdirSync(markerDir).filter((file) => file.startsWith(`${kind}-`)).map((file) => readFileSync(join(markerDir, file), 'utf8'));
    expect(markers('began')).toEqual([recorded.id]);

    // Its job delivered again, as when a worker dies between reporting a step and acknowledging
    // its job: a first attempt of a run the worker knows, which begins at once under a new id.
    const jobs = new Queue(queue, { connection: { url: redis.url } });
    onTestFinished(() => jobs.close());
    const [done] = await jobs.getJobs(['completed']);
    const again = `${done.id}-again`;
    await jobs.add(done.name, done.data, { jobId: again });
    await until('the step delivered again to be done with', async () => (await jobs.getJobState(again)) === 'completed');
    const began = markers('began');
    expect(began).toHaveLength(2);
    const proposed = began.find((id) => id !== recorded.id)!;
    expect(markers('aborted')).toEqual([proposed]);
    // The server answered the step run it has: nothing of the aborted begin was reported or stored.
    const after = (await admin.getRun(driven.id))!;
    expect(after.steps.map((step) => [step.id, step.status, step.attempt, step.outputs.length])).toEqual([[recorded.id, 'COMPLETED', 1, 1]]);
    const uuidOf = (stepRunId: string) => Buffer.from(stepRunId, 'base64').toString('utf8').split(':')[1];
    const keys = (await s3.list(BUCKET)).map((object) => object.key).filter((key) => key.startsWith(`${prefix}/`));
    expect(keys.filter((key) => key.includes(uuidOf(recorded.id))).length).toBeGreaterThan(0);
    expect(keys.filter((key) => key.includes(uuidOf(proposed)))).toEqual([]);
  });

  it('retries a step that throws up to `attempts`, keeping each error, then fails the run', async () => {
    const { stack } = await bullmqStack({ attempts: 2, backoffSeconds: 3 });
    await startWorker(stack, uniqueName('r1'));
    const driven = await drive(stack, 'flaky');
    expect(driven, JSON.stringify(driven)).toMatchObject({ code: 1, status: 'FAILED' });
    expect(driven.steps.explode).toEqual({ status: 'failed', error: 'exploded on attempt 2' });
    expect(driven.steps.after_explode.status).toBe('skipped');
    expect((await attemptsOf(driven.id, 'explode')).map((attempt) => [attempt.attempt, attempt.status, attempt.errorMessage])).toEqual([
      [1, 'FAILED', 'exploded on attempt 1'],
      [2, 'FAILED', 'exploded on attempt 2'],
    ]);
    // The retry queued from when it became due, after the backoff: not from the step's first enqueue.
    const [first, second] = await attemptsOf(driven.id, 'explode');
    expect(Date.parse(second.startedAt) - Date.parse(first.endedAt!)).toBeGreaterThanOrEqual(2900);
    expect(second.queueWaitMs).not.toBeNull();
    expect(second.queueWaitMs!).toBeLessThan(Date.parse(second.startedAt) - Date.parse(first.endedAt!) - 2000);
  });

  it('fails a step that runs past stepTimeoutSeconds, with that reason', async () => {
    const { stack } = await bullmqStack({ attempts: 1, stepTimeoutSeconds: 1 });
    await startWorker(stack, uniqueName('t1'));
    const driven = await drive(stack, 'timeout');
    expect(driven, JSON.stringify(driven)).toMatchObject({ code: 1, status: 'FAILED' });
    expect(driven.steps.slow).toEqual({ status: 'failed', error: 'The step ran longer than its stepTimeoutSeconds (1 s)' });
  });

  it('refuses a step whose code on the worker differs from the run\'s, saying so', async () => {
    const { stack } = await bullmqStack({ attempts: 1 });
    // The same module with one step edited, beside the original so it resolves 'stackyard' alike.
    const edited = join(root, 'test', 'fixtures', `${uniqueName('bullmq-pipelines-edited')}.ts`);
    writeFileSync(edited, readFileSync(FIXTURES, 'utf8').replace('await sleep(ms);', 'await sleep(ms + 1);'));
    onTestFinished(() => rmSync(edited, { force: true }));
    await startWorker(stack, uniqueName('stale'), { pipelines: edited });
    const driven = await drive(stack, 'fanout', { ms: 1 });
    expect(driven, JSON.stringify(driven)).toMatchObject({ code: 1, status: 'FAILED' });
    const refused = Object.values(driven.steps as Record<string, { status: string; error?: string }>).filter((step) => step.status === 'failed');
    expect(refused.length).toBeGreaterThan(0);
    for (const step of refused) expect(step.error).toMatch(/^The code of step "branch_\d" on worker stale-\w+ differs from the run's \(code hash \w{12} here, \w{12} in the run\)/);
  });

  it('refuses run({ wait: false }) on the local orchestrator, which runs steps only in the calling process', async () => {
    const name = uniqueName('local-no-wait');
    const flow = pipeline(name, () => {
      step('only', () => 1)();
    });
    await expect(flow.run({ client: admin, stack: 'default', progress: false, wait: false })).rejects.toThrow(
      new UnsupportedStackError('run({ wait: false }) needs an orchestrator that runs steps in other processes; "default" of the stack "default" runs them in this one'),
    );
    expect((await admin.runsPage({ filter: { pipeline: name } })).totalCount).toBe(0);
  });

  it('refuses to submit when Redis cannot be reached, and records no run', async () => {
    const unreachable = (await closedPortUrl()).replace(/^http/, 'redis');
    const { stack } = await bullmqStack({}, unreachable);
    const driven = await drive(stack, 'fanout', { ms: 1 });
    expect(driven.code).toBe(1);
    expect(driven.type).toBe('RunSubmissionError');
    expect(driven.error).toMatch(new RegExp(`^Cannot reach Redis at ${unreachable.replace(/[/.]/g, '\\$&')}/? \\(redisUrl of the orchestrator "[^"]+"\\): `));
    expect((await admin.runsPage({ filter: { pipeline: 'bullmq-fanout', stackName: stack } })).totalCount).toBe(0);
  });

  it('enqueues again the steps Redis lost while run() waited (a restart without persistence), and the run completes', async () => {
    const own = await startRedis();
    onTestFinished(() => own.close());
    const { stack, queue } = await bullmqStack({}, own.url);
    // No worker yet: the steps wait in the queue when Redis loses them.
    const driving = drive(stack, 'fanout', { ms: 10 }, [], { STACKYARD_DRIVER_IDLE_CHECK_MS: '2000' });
    const jobs = new Queue(queue, { connection: { url: own.url } });
    onTestFinished(() => jobs.close());
    await until('the branches to be queued', async () => (await jobs.getJobCountByTypes('waiting', 'prioritized')) === 3);
    const control = new Redis(own.url);
    await control.flushall();
    await control.quit();
    await startWorker(stack, uniqueName('after-flush'));
    const driven = await driving;
    expect(driven, JSON.stringify(driven)).toMatchObject({ code: 0, status: 'COMPLETED' });
  });

  it('refuses a Redis database the server does not have, instead of using database 0, and records no run', async () => {
    const { stack } = await bullmqStack({}, `${redis.url}/99`);
    const refused = await drive(stack, 'naps', { count: 1, ms: 10 }, ['--no-wait']);
    expect(refused).toMatchObject({ code: 1, error: expect.stringMatching(/Cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/99 .*DB index is out of range/) });
    expect(await admin.runsPage({ filter: { stackName: stack } })).toMatchObject({ totalCount: 0 });
  });

  it('says why Redis refused the connection: a wrong password is not an unreachable server', async () => {
    const wrongUser = redis.url.replace('redis://', 'redis://nosuchuser:wrong-secret@');
    const { stack } = await bullmqStack({}, wrongUser);
    const driven = await drive(stack, 'fanout', { ms: 1 });
    expect(driven.code).toBe(1);
    expect(driven.error).toMatch(/^Cannot reach Redis at redis:\/\/nosuchuser:\*\*\*\*@127\.0\.0\.1:\d+\/? \(redisUrl of the orchestrator "[^"]+"\): WRONGPASS/);
    expect(driven.error).not.toContain('wrong-secret');
    expect((await admin.runsPage({ filter: { pipeline: 'bullmq-fanout', stackName: stack } })).totalCount).toBe(0);
  });

  it('fails the run with the queue\'s own reason when Redis refuses the steps at submit, waiting or not', async () => {
    // A Redis that answers but takes no writes: out of memory, with nothing it may evict.
    const full = await startRedis();
    onTestFinished(() => full.close());
    const control = new Redis(full.url);
    await control.config('SET', 'maxmemory-policy', 'noeviction');
    await control.config('SET', 'maxmemory', '1');
    await control.quit();
    const { stack } = await bullmqStack({}, full.url);
    for (const flags of [[], ['--no-wait']]) {
      const driven = await drive(stack, 'fanout', { ms: 1 }, flags);
      expect(driven.code).toBe(1);
      expect(driven.type).toBe('RunSubmissionError');
    }
    const runs = (await admin.runsPage({ filter: { pipeline: 'bullmq-fanout', stackName: stack } })).edges.map((edge) => edge.node);
    expect(runs).toHaveLength(2);
    for (const run of runs) {
      expect(run.status).toBe('FAILED');
      expect(run.statusReason).toMatch(/^The run could not be submitted to the queue "[^"]+" at redis:\/\/127\.0\.0\.1:\d+\/?: OOM command not allowed/);
    }
  });
});
