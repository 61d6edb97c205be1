// The bullmq orchestrator with real parts: Debian's redis-server, the S3-compatible s3rver as the
// shared artifact store, `stackyard worker` processes spawned as users start them, and drivers
// that are pipeline scripts in their own processes. Workers report with a service account's token.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Redis } from 'ioredis';
import { StackyardClient, UnsupportedStackError, pipeline, step } from '../client';
import { closedPortUrl, processEnv, root, runCli, runProcess, succeeded, tempDir, type ProcessSettings } from './cli-process';
import { databaseTargets, uniqueName, useTestServer } from './harness';
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

/** Waits for a condition checked every 200 ms, failing after two minutes: a busy machine is slow, not broken. */
async function until<T>(what: string, check: () => Promise<T | undefined | null | false> | T | undefined | null | false): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

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
    return { stack, prefix, queue };
  }

  /** `stackyard worker start` as a user runs it, answered once it takes jobs; killed after the test. */
  async function startWorker(stack: string, name: string, options: { concurrency?: number; pipelines?: string } = {}): Promise<WorkerProcess> {
    const env = processEnv({ url: server().url, configDir: tempDir('stackyard-worker-config-'), env: { STACKYARD_TOKEN: workerToken, ...QUIET_AWS, ...WORKER_TIMINGS } });
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
  async function drive(stack: string, exportName: string, parameters: Record<string, unknown> = {}, flags: string[] = []) {
    const result = await runProcess(process.execPath, [tsxCli, join('test', 'fixtures', 'bullmq-driver.ts'), exportName, JSON.stringify(parameters), ...flags], settings(adminToken, { STACKYARD_STACK: stack }));
    const line = result.stdout.trim().split('\n').at(-1) ?? '';
    try {
      return { ...(JSON.parse(line) as Record<string, any>), code: result.code } as Record<string, any>;
    } catch {
      throw new Error(`the driver printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
    }
  }

  /** Each attempt of a step run, as the run page shows them. */
  async function attemptsOf(runId: string, step: string): Promise<{ attempt: number; status: string; errorMessage: string | null; worker: { pid: number } | null }[]> {
    const data = await server().gql(`query($id: ID!) { run(id: $id) { steps { name attempts { attempt status errorMessage worker { pid } } } } }`, { id: runId }, adminToken);
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

  it('finishes a run submitted with wait: false without its driver: workers enqueue what they unblock', async () => {
    const { stack } = await bullmqStack();
    await Promise.all(['w1', 'w2'].map((name) => startWorker(stack, uniqueName(name), { concurrency: 2 })));
    const driven = await drive(stack, 'fanout', { ms: 500 }, ['--no-wait']);
    expect(driven.code, JSON.stringify(driven)).toBe(0);
    expect(['INITIALIZING', 'RUNNING']).toContain(driven.status);
    const finished = await until('the run to finish', async () => {
      const run = await admin.getRun(driven.id);
      return run?.endedAt ? run : null;
    });
    expect(finished.status).toBe('COMPLETED');
    expect(finished.steps.map((step) => step.name).sort()).toEqual(['branch_1', 'branch_2', 'branch_3', 'join']);
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

  it('retries a step that throws up to `attempts`, keeping each error, then fails the run', async () => {
    const { stack } = await bullmqStack({ attempts: 2 });
    await startWorker(stack, uniqueName('r1'));
    const driven = await drive(stack, 'flaky');
    expect(driven, JSON.stringify(driven)).toMatchObject({ code: 1, status: 'FAILED' });
    expect(driven.steps.explode).toEqual({ status: 'failed', error: 'exploded on attempt 2' });
    expect(driven.steps.after_explode.status).toBe('skipped');
    expect((await attemptsOf(driven.id, 'explode')).map((attempt) => [attempt.attempt, attempt.status, attempt.errorMessage])).toEqual([
      [1, 'FAILED', 'exploded on attempt 1'],
      [2, 'FAILED', 'exploded on attempt 2'],
    ]);
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
    expect(driven.error).toMatch(new RegExp(`^Cannot reach Redis at ${unreachable.replace(/[/.]/g, '\\$&')}/? \\(redisUrl of the orchestrator "[^"]+"\\): `));
    expect((await admin.runsPage({ filter: { pipeline: 'bullmq-fanout', stackName: stack } })).totalCount).toBe(0);
  });

  it('says why Redis refused the connection: a wrong password is not an unreachable server', async () => {
    const wrongUser = redis.url.replace('redis://', 'redis://nosuchuser:wrong-secret@');
    const { stack } = await bullmqStack({}, wrongUser);
    const driven = await drive(stack, 'fanout', { ms: 1 });
    expect(driven.code).toBe(1);
    expect(driven.error).toMatch(/^Cannot reach Redis at redis:\/\/nosuchuser:\*\*\*@127\.0\.0\.1:\d+\/? \(redisUrl of the orchestrator "[^"]+"\): WRONGPASS/);
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
