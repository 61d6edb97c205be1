// `npm run bench:orchestrator`: 200 independent steps that each sleep 100 ms (BENCH_STEPS,
// BENCH_STEP_MS), run on the local orchestrator and on bullmq with 1, 2 and 4 `stackyard worker`
// processes of concurrency 10 (BENCH_WORKERS, BENCH_CONCURRENCY), all on one s3 store (s3rver)
// and one server on loopback, Redis from Debian's redis-server. Prints side by side:
//   - the run's wall time as the server recorded it (first step started to last step ended,
//     plus submission), and the floor the slots allow: ceil(steps / slots) x step time;
//   - per-step overhead over the step's own time, p50 and p90: for bullmq the time a job held a
//     worker slot (BullMQ's processedOn to finishedOn) minus the sleep, so it counts the worker's
//     startStep, output write, finishStep with the outputs and enqueueing; for local the time
//     from startStep to finishStep minus the sleep;
//   - the pickup latency of bullmq jobs that waited for no slot: enqueue to processedOn, p50;
//   - scaling: wall time with 1 worker over wall time with N;
//   - the floor, in the same run: the same steps as plain BullMQ jobs on one plain BullMQ worker
//     of the same concurrency that sleep and put a small output on the same store
//     (scripts/bench-bullmq-floor-worker.ts), no Stackyard at all: what the job engine and the
//     object store cost a step by themselves on this machine; the last line gives Stackyard's own
//     overhead at 1 worker as the difference;
//   - the same overhead with nothing queued: one worker taking one step at a time
//     (BENCH_SEQUENTIAL_STEPS, default 30), the cost of a step itself rather than of the wait for
//     a machine the other rows saturate;
//   - CPU per step of the server, of the object store, of the workers, of Redis and of Postgres
//     (every local process named postgres) over the run, from /proc, and how many cores all of
//     them kept busy on average (their CPU over the wall time): on a machine shared by all of
//     them, what bounds how fast steps can go. The driver, idle but for its subscription, is
//     left out, with its start-up.
// BENCH_CPU_PROFILE_DIR=dir: the server and the workers write V8 CPU profiles there (--cpu-prof),
// to see where a step's CPU goes.
// Every step runs (cache off). A warm-up run of the local orchestrator comes first (its figures
// are not shown): the server is long-lived, and its first requests pay for V8 compiling its code
// and PGlite's WebAssembly. The server (`stackyard server start`), the object store (s3rver),
// the driver and the workers are each their own process, started as users start them; one
// process hosting two of them would make each wait for the other's work. The server keeps its
// records in PGlite, or in a scratch database on the Postgres server at BENCH_DATABASE_URL (or
// STACKYARD_TEST_DATABASE_URL), dropped afterwards.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { StackyardClient } from '../client';
import { createTestDatabase } from '../test/harness';
import { startRedis } from '../test/redis-service';
import { S3_ACCESS_KEY, S3_SECRET_KEY } from '../test/store-services';
import { freePort } from './free-port';
import { commandCpuMs, cpuMsSince, processUsage } from './process-usage';

const root = fileURLToPath(new URL('..', import.meta.url));
const STEPS = Number(process.env.BENCH_STEPS ?? 200);
const STEP_MS = Number(process.env.BENCH_STEP_MS ?? 100);
const WORKER_COUNTS = (process.env.BENCH_WORKERS ?? '1,2,4').split(',').map(Number);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);
const SEQUENTIAL_STEPS = Number(process.env.BENCH_SEQUENTIAL_STEPS ?? 30);
const WARM_UP_STEPS = 100;
const BUCKET = 'bench';
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const stackyardBin = join(root, 'bin', 'stackyard.js');
const fixtures = join(root, 'test', 'fixtures');
const scratch = mkdtempSync(join(tmpdir(), 'stackyard-bench-orchestrator-'));
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE_DIR;
const profiled = (args: string[]) => (PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR, ...args] : args);

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
};

// Workers and drivers run the compiled package, as users do: build it from these sources first.
execFileSync('npm', ['run', '--silent', 'build:package'], { cwd: root, stdio: 'inherit' });
/** A child process that lives as long as the benchmark; stopped with SIGTERM. */
function service(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    exited,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Waits until the URL answers 200; fails if the service exits first. */
async function answering(url: string, service: { exited: Promise<void> }, what: string): Promise<void> {
  let exited = false;
  void service.exited.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`${what} exited before it answered`);
    if ((await fetch(url).then((response) => response.status, () => 0)) === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const redis = await startRedis();
const s3Port = await freePort();
const s3Dir = join(scratch, 's3');
mkdirSync(s3Dir);
const s3 = service([createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js'), '-d', s3Dir, '-a', '127.0.0.1', '-p', String(s3Port), '--configure-bucket', BUCKET, '-s']);
const s3EndpointUrl = `http://127.0.0.1:${s3Port}`;
await answering(`${s3EndpointUrl}/${BUCKET}`, s3, 's3rver');
const postgresUrl = process.env.BENCH_DATABASE_URL ?? process.env.STACKYARD_TEST_DATABASE_URL;
const database = postgresUrl ? await createTestDatabase(postgresUrl) : null;
const serverPort = await freePort();
const serverEnv: NodeJS.ProcessEnv = {
  ...process.env,
  STACKYARD_SECRET_KEY: randomBytes(32).toString('base64'),
  // BENCH_LOG_LEVEL=error shows what the server masks from its answers.
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
  ...(database ? { DATABASE_URL: database.url } : { STACKYARD_DATA_DIR: join(scratch, 'db') }),
};
for (const name of ['STACKYARD_AUTH', 'STACKYARD_ADMIN_TOKEN', ...(database ? ['STACKYARD_DATA_DIR'] : ['DATABASE_URL'])]) delete serverEnv[name];
const server = service(profiled([stackyardBin, 'server', 'start', '--port', String(serverPort)]), serverEnv);
const url = `http://127.0.0.1:${serverPort}`;
await answering(`${url}/ready`, server, 'the server');
const client = new StackyardClient({ url, env: {}, configDir: join(scratch, 'config') });
const baseEnv: NodeJS.ProcessEnv = { ...process.env, STACKYARD_URL: url, STACKYARD_CONFIG_DIR: join(scratch, 'config'), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
for (const name of ['STACKYARD_TOKEN', 'STACKYARD_STACK']) delete baseEnv[name];

const store = await client.registerComponent({
  type: 'ARTIFACT_STORE',
  name: 'bench-s3',
  flavor: 's3',
  configuration: { path: `s3://${BUCKET}/runs`, endpointUrl: s3EndpointUrl, forcePathStyle: true, region: 'us-east-1', awsAccessKeyId: S3_ACCESS_KEY, awsSecretAccessKey: S3_SECRET_KEY },
});

/** Runs the benchmark pipeline from its own process on the stack; answers the run's id. */
async function drive(stack: string, steps = STEPS): Promise<string> {
  const child = spawn(process.execPath, [tsxCli, join(fixtures, 'bullmq-driver.ts'), 'naps', JSON.stringify({ count: steps, ms: STEP_MS }), '--no-cache'], {
    cwd: root,
    env: { ...baseEnv, STACKYARD_STACK: stack },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const result = JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as { id?: string; status?: string; error?: string };
  if (code !== 0 || result.status !== 'COMPLETED') throw new Error(`the run on ${stack} did not complete (${code}): ${output}`);
  return result.id!;
}

/** Starts `stackyard worker` processes and answers once each takes jobs. */
async function startWorkers(stack: string, count: number, concurrency = CONCURRENCY) {
  const workers = Array.from({ length: count }, (_unused, index) => {
    const args = [stackyardBin, 'worker', 'start', '--pipelines', join(fixtures, 'bullmq-pipelines.ts'), '--stack', stack, '--concurrency', String(concurrency), '--name', `${stack}-${index}`];
    const child = spawn(process.execPath, profiled(args), {
      cwd: root,
      env: baseEnv,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        output += chunk;
        if (output.includes('takes steps from queue')) resolve();
      });
      child.once('close', (code) => reject(new Error(`a worker exited (${code}): ${output}`)));
    });
    return { child, ready };
  });
  await Promise.all(workers.map((worker) => worker.ready));
  return {
    /** CPU the worker processes have used so far, in ms. */
    cpuMs: () => workers.reduce((sum, { child }) => sum + processUsage(child.pid!).cpuMs, 0),
    async stop() {
      await Promise.all(
        workers.map(({ child }) => {
          const closed = new Promise((resolve) => child.once('close', resolve));
          child.kill('SIGTERM');
          return closed;
        }),
      );
    },
  };
}

interface Row {
  label: string;
  wallMs: number;
  floorMs: number;
  overheadP50: number;
  overheadP90: number;
  pickupP50: number | null;
  /** CPU per step of the server, the object store, the workers, Redis and Postgres, over the run. */
  cpuPerStep: { server: number; s3: number; workers: number | null; redis: number | null; postgres: number | null };
  /** The CPU of all of them over the wall time: how many cores they kept busy. */
  coresBusy: number;
}

/** CPU the services have used so far, in ms. */
const servicesCpu = () => ({
  server: processUsage(server.pid).cpuMs,
  s3: processUsage(s3.pid).cpuMs,
  redis: processUsage(redis.pid).cpuMs,
  postgres: database ? commandCpuMs('postgres') : new Map<number, number>(),
});
type ServicesCpu = ReturnType<typeof servicesCpu> & { workers: number };

/** CPU per step between two readings, and the cores all of it kept busy over the wall time. */
function cpuFigures(before: ServicesCpu, after: ServicesCpu, steps: number, wallMs: number, withWorkers: boolean): Pick<Row, 'cpuPerStep' | 'coresBusy'> {
  const used = (name: Exclude<keyof ServicesCpu, 'postgres'>) => after[name] - before[name];
  const postgres = cpuMsSince(before.postgres, after.postgres);
  const total = used('server') + used('s3') + used('workers') + used('redis') + postgres;
  return {
    cpuPerStep: {
      server: used('server') / steps,
      s3: used('s3') / steps,
      workers: withWorkers ? used('workers') / steps : null,
      redis: withWorkers ? used('redis') / steps : null,
      postgres: database ? postgres / steps : null,
    },
    coresBusy: total / wallMs,
  };
}

/** The run's wall time and its steps' times as the server recorded them. */
async function recorded(runId: string) {
  const run = (await client.getRun(runId))!;
  const wallMs = run.durationMs!;
  const stepOverheads = run.steps.map((step) => Date.parse(step.endedAt!) - Date.parse(step.startedAt) - STEP_MS);
  return { wallMs, stepOverheads };
}

/** A run of `steps` steps on a bullmq stack served by `count` workers of `concurrency` each. */
async function bullmqRow(label: string, count: number, concurrency: number, steps: number): Promise<Row> {
  const stack = `bench-bullmq-${count}x${concurrency}`;
  const queueName = stack;
  const orchestrator = await client.registerComponent({ type: 'ORCHESTRATOR', name: stack, flavor: 'bullmq', configuration: { redisUrl: redis.url, queue: queueName, attempts: 1 } });
  await client.registerStack({ name: stack, components: { orchestrator: orchestrator.name, artifactStore: store.name } });
  const workers = await startWorkers(stack, count, concurrency);
  let runId: string;
  const before = { ...servicesCpu(), workers: workers.cpuMs() };
  let after: typeof before;
  try {
    runId = await drive(stack, steps);
    after = { ...servicesCpu(), workers: workers.cpuMs() };
  } finally {
    await workers.stop();
  }
  const { wallMs } = await recorded(runId);
  const queue = new Queue(queueName, { connection: { url: redis.url } });
  const jobs = await queue.getJobs(['completed'], 0, -1);
  await queue.close();
  const held = jobs.map((job) => job.finishedOn! - job.processedOn! - STEP_MS);
  // Jobs enqueued while a slot was free measure the pickup itself, not the wait for a slot.
  const slots = count * concurrency;
  const firstWave = [...jobs].sort((a, b) => a.processedOn! - b.processedOn!).slice(0, Math.min(slots, jobs.length));
  const pickups = firstWave.map((job) => job.processedOn! - job.timestamp);
  return {
    label,
    wallMs,
    floorMs: Math.ceil(steps / slots) * STEP_MS,
    overheadP50: quantile(held, 0.5),
    overheadP90: quantile(held, 0.9),
    pickupP50: quantile(pickups, 0.5),
    ...cpuFigures(before, after, steps, wallMs, true),
  };
}

/**
 * The floor: the same steps as plain BullMQ jobs taken by one plain BullMQ worker of `concurrency`
 * (scripts/bench-bullmq-floor-worker.ts) that sleep the step's time and put a small output on the
 * same store, with no Stackyard at all: what the job engine and the object store cost a step by
 * themselves on this machine, measured as the bullmq rows are.
 */
async function floorRow(concurrency: number, steps: number): Promise<Row> {
  const queueName = `bench-floor-${concurrency}`;
  const settings = { redisUrl: redis.url, queue: queueName, concurrency, s3: { endpointUrl: s3EndpointUrl, bucket: BUCKET, accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY } };
  // In this process, not under tsx's launcher, so its CPU is the worker's own.
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'bench-bullmq-floor-worker.ts'), JSON.stringify(settings)], { cwd: root, env: baseEnv, stdio: ['ignore', 'pipe', 'inherit'] });
  const closed = new Promise((resolve) => child.once('close', resolve));
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('ready')) resolve();
    });
    void closed.then(() => reject(new Error(`the floor worker exited: ${output}`)));
  });
  const queue = new Queue(queueName, { connection: { url: redis.url } });
  const before = { ...servicesCpu(), workers: processUsage(child.pid!).cpuMs };
  let after: typeof before;
  try {
    await queue.addBulk(Array.from({ length: steps }, (_unused, index) => ({ name: 'nap', data: { ms: STEP_MS }, opts: { jobId: `nap-${index}` } })));
    while ((await queue.getJobCountByTypes('completed', 'failed')) < steps) await new Promise((resolve) => setTimeout(resolve, 50));
    after = { ...servicesCpu(), workers: processUsage(child.pid!).cpuMs };
  } finally {
    child.kill('SIGTERM');
    await closed;
  }
  const jobs = await queue.getJobs(['completed'], 0, -1);
  await queue.close();
  if (jobs.length !== steps) throw new Error(`${steps - jobs.length} floor jobs failed`);
  const held = jobs.map((job) => job.finishedOn! - job.processedOn! - STEP_MS);
  const wallMs = Math.max(...jobs.map((job) => job.finishedOn!)) - Math.min(...jobs.map((job) => job.timestamp));
  const firstWave = [...jobs].sort((a, b) => a.processedOn! - b.processedOn!).slice(0, Math.min(concurrency, jobs.length));
  return {
    label: `floor: plain BullMQ + s3, 1 worker x ${concurrency}`,
    wallMs,
    floorMs: Math.ceil(steps / concurrency) * STEP_MS,
    overheadP50: quantile(held, 0.5),
    overheadP90: quantile(held, 0.9),
    pickupP50: quantile(firstWave.map((job) => job.processedOn! - job.timestamp), 0.5),
    ...cpuFigures(before, after, steps, wallMs, true),
  };
}

/** CPU per step of every process in the row. */
const totalCpu = (row: Row) => Object.values(row.cpuPerStep).reduce<number>((sum, value) => sum + (value ?? 0), 0);

const rows: Row[] = [];
let floor: Row | undefined;
let oneWorker: Row | undefined;
try {
  // The local orchestrator: every step in the driver's process, all at once.
  await client.registerStack({ name: 'bench-local', components: { orchestrator: 'default', artifactStore: store.name } });
  await drive('bench-local', WARM_UP_STEPS);
  const before = { ...servicesCpu(), workers: 0 };
  const local = await recorded(await drive('bench-local'));
  const after = { ...servicesCpu(), workers: 0 };
  rows.push({
    label: 'local',
    wallMs: local.wallMs,
    floorMs: STEP_MS,
    overheadP50: quantile(local.stepOverheads, 0.5),
    overheadP90: quantile(local.stepOverheads, 0.9),
    pickupP50: null,
    ...cpuFigures(before, after, STEPS, local.wallMs, false),
  });
  floor = await floorRow(CONCURRENCY, STEPS);
  rows.push(floor);
  for (const count of WORKER_COUNTS) {
    const row = await bullmqRow(`bullmq, ${count} worker${count > 1 ? 's' : ''} x ${CONCURRENCY}`, count, CONCURRENCY, STEPS);
    if (count === 1) oneWorker = row;
    rows.push(row);
  }
  if (SEQUENTIAL_STEPS > 0) rows.push(await bullmqRow(`bullmq, 1 worker x 1, ${SEQUENTIAL_STEPS} steps one at a time`, 1, 1, SEQUENTIAL_STEPS));
} finally {
  await Promise.all([s3.stop(), redis.close(), server.stop()]);
  await database?.drop();
  rmSync(scratch, { recursive: true, force: true });
}

const head = ['orchestrator', 'wall ms', 'floor ms', 'per-step overhead p50 ms', 'p90 ms', 'pickup p50 ms', 'speed-up vs 1 worker', 'CPU ms/step: server', 's3', 'workers', 'redis', 'postgres', 'cores busy'];
const table = rows.map((row) => [
  row.label,
  row.wallMs.toFixed(0),
  row.floorMs.toFixed(0),
  row.overheadP50.toFixed(0),
  row.overheadP90.toFixed(0),
  row.pickupP50 === null ? '-' : row.pickupP50.toFixed(0),
  oneWorker && row.label.startsWith('bullmq') && row.label.endsWith(`x ${CONCURRENCY}`) ? `${(oneWorker.wallMs / row.wallMs).toFixed(2)}x` : '-',
  row.cpuPerStep.server.toFixed(1),
  row.cpuPerStep.s3.toFixed(1),
  ...[row.cpuPerStep.workers, row.cpuPerStep.redis, row.cpuPerStep.postgres].map((value) => (value === null ? '-' : value.toFixed(1))),
  row.coresBusy.toFixed(2),
]);
console.log(
  `${STEPS} independent steps of ${STEP_MS} ms each, cache off, one s3 store (s3rver), one server on ${database ? 'Postgres' : 'PGlite'}, each its own process, ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)}`,
);
const widths = head.map((title, index) => Math.max(title.length, ...table.map((row) => row[index].length)));
for (const row of [head, ...table]) console.log(row.map((cell, index) => (index === 0 ? cell.padEnd(widths[index]) : cell.padStart(widths[index]))).join('  '));
if (floor && oneWorker) {
  console.log(
    `Stackyard's own per-step overhead at 1 worker x ${CONCURRENCY}, over the floor of BullMQ and the store alone: p50 ${(oneWorker.overheadP50 - floor.overheadP50).toFixed(0)} ms ` +
      `(${oneWorker.overheadP50.toFixed(0)} - ${floor.overheadP50.toFixed(0)}); CPU per step of everything ${totalCpu(oneWorker).toFixed(1)} ms against the floor's ${totalCpu(floor).toFixed(1)} ms`,
  );
}
