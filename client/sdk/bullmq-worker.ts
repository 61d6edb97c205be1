// A `stackyard worker`: takes step jobs from a bullmq stack's queue and runs them with the
// pipeline code it loaded, reading inputs from and writing outputs to the run's artifact store,
// and reporting to the server with its own token. BullMQ gives each job to one worker at a time,
// retries failed ones with backoff, and re-queues the job of a worker that died (stalled check).
import { hostname } from 'node:os';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { LRUCache } from 'lru-cache';
import { stringify } from 'safe-stable-stringify';
import type { StackyardClient } from '../stackyard-client';
import { StepJobRunDocument, type StepJobRunQuery } from '../generated/graphql';
import type { ArtifactStore } from './artifact-store';
import { materializerTable } from './artifact-versions';
import type { Materializer } from './materializers';
import {
  BullmqOrchestrator,
  checkRedisReachable,
  enqueueSteps,
  maskedRedisUrl,
  readySteps,
  redisClient,
  redisConnection,
  stepQueue,
  runCodeHashes,
  RUN_CODE_TTL_DAYS,
  type StepJobData,
} from './bullmq-orchestrator';
import { codeHash } from './cache-key';
import { UnsupportedStackError } from './errors';
import { resolveStack, type Pipeline } from './pipeline';
import { StepAttemptFailedError, StepExecutor, errorMessage, recordedResult, type StepResult, type StepWorkerIdentity } from './step-execution';
import type { StepInvocation } from './step';

export interface StepWorkerOptions {
  client: StackyardClient;
  /** The module (.ts or .js) whose exports include the pipelines this worker runs. */
  pipelinesModule: string;
  /** Steps this process runs at once; default 1. */
  concurrency?: number;
  /** The stack whose bullmq orchestrator names the queue; STACKYARD_STACK, then the active stack, by default. */
  stack?: string;
  /** Unique per worker process; host:pid by default. */
  name?: string;
  /** Lines for people (a step taken, finished, failed). */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface RunningStepWorker {
  name: string;
  queue: string;
  stack: string;
  /** Stops taking jobs, lets running steps finish, and disconnects. */
  close(): Promise<void>;
}

/**
 * Lock and stalled-check timings. A dead worker's job is re-queued within about
 * lockDuration + stalledInterval; a live worker renews its lock every lockDuration / 2, so a
 * lock shorter than the longest pause of its event loop would re-run steps that are fine.
 */
function timings(env: NodeJS.ProcessEnv) {
  const read = (name: string, fallback: number) => {
    const value = Number(env[name]);
    return env[name] && Number.isFinite(value) && value > 0 ? value : fallback;
  };
  return {
    lockDuration: read('STACKYARD_WORKER_LOCK_MS', 30_000),
    stalledInterval: read('STACKYARD_WORKER_STALLED_INTERVAL_MS', 30_000),
    heartbeatMs: read('STACKYARD_WORKER_HEARTBEAT_MS', 5_000),
  };
}

function isPipeline(value: unknown): value is Pipeline<unknown> {
  const candidate = value as Partial<Pipeline<unknown>> | null;
  return typeof candidate === 'object' && candidate !== null && typeof candidate.name === 'string' && typeof candidate.compose === 'function' && typeof candidate.run === 'function';
}

/**
 * Imports the pipelines module. TypeScript goes through tsx, found from the module's own folder
 * (the project that writes pipelines in TypeScript runs them with tsx already); JavaScript is
 * imported as it is.
 */
export async function loadPipelines(modulePath: string): Promise<Map<string, Pipeline<unknown>>> {
  const absolute = resolvePath(modulePath);
  // Said here in the user's words: the loader's own error names its caller, a file of this package.
  if (!existsSync(absolute)) throw new Error(`No pipeline module at ${modulePath} (${absolute})`);
  if (!statSync(absolute).isFile()) throw new Error(`${modulePath} is a directory; --pipelines takes the module file (.ts or .js) that exports the pipelines`);
  let exports: Record<string, unknown>;
  if (/\.[cm]?tsx?$/.test(absolute)) {
    let tsxPackage: string;
    try {
      tsxPackage = createRequire(absolute).resolve('tsx/package.json');
    } catch {
      throw new Error(`Loading the TypeScript module ${modulePath} needs tsx in its project (npm install --save-dev tsx), or pass the compiled .js module`);
    }
    // tsx's ESM API, as its package exports it: its CommonJS build registers a loader it cannot find.
    const manifest = JSON.parse(readFileSync(tsxPackage, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
    const api = pathToFileURL(join(dirname(tsxPackage), manifest.exports['./esm/api'].import.default)).href;
    const { tsImport } = (await import(api)) as { tsImport: (specifier: string, parent: string) => Promise<Record<string, unknown>> };
    exports = await tsImport(pathToFileURL(absolute).href, import.meta.url);
  } else {
    exports = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  }
  const pipelines = new Map<string, Pipeline<unknown>>();
  for (const value of Object.values(exports)) if (isPipeline(value)) pipelines.set(value.name, value);
  if (pipelines.size === 0) throw new Error(`The module ${modulePath} exports no pipeline; export the values pipeline(...) answers`);
  return pipelines;
}

type RecordedRunState = NonNullable<StepJobRunQuery['run']>;

/** A pipeline composed for one run's parameters, as a worker keeps it. */
interface Composed {
  invocations: StepInvocation[];
  byName: ReadonlyMap<string, StepInvocation>;
  materializers: ReadonlyMap<string, Materializer>;
}

/** How many runs' compositions and code records a worker keeps: the runs it serves at once are few. */
const RUNS_KEPT = 32;

/** Each step's result as the server has it, for the steps that finished. */
function finishedResults(run: RecordedRunState): Map<string, StepResult> {
  const results = new Map<string, StepResult>();
  for (const step of run.steps) if (step.status === 'COMPLETED' || step.status === 'CACHED' || step.status === 'FAILED') results.set(step.name, recordedResult(step));
  return results;
}

export async function startStepWorker(options: StepWorkerOptions): Promise<RunningStepWorker> {
  const { client } = options;
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const { lockDuration, stalledInterval, heartbeatMs } = timings(env);
  const pipelines = await loadPipelines(options.pipelinesModule);
  const { stack, orchestrator } = await resolveStack(client, options.stack ?? (env.STACKYARD_STACK || undefined));
  await orchestrator.close();
  if (!(orchestrator instanceof BullmqOrchestrator)) {
    throw new UnsupportedStackError(`The stack "${stack.name}" runs its steps with the orchestrator "${orchestrator.name}", not a bullmq one: workers serve bullmq stacks`);
  }
  const { settings } = orchestrator;
  await checkRedisReachable(settings.redisUrl, `the orchestrator "${orchestrator.name}"`);
  const limits = await client.serverLimits();
  const identity: StepWorkerIdentity = { name: options.name ?? `${hostname()}:${process.pid}`, host: hostname(), pid: process.pid };
  const concurrency = options.concurrency ?? 1;
  const attempts = settings.attempts ?? 3;
  const connection = redisConnection(settings.redisUrl);
  const queue = stepQueue(orchestrator.queueName, settings.redisUrl);
  const redis = redisClient(settings.redisUrl);

  /** Artifact stores by stack, opened once. */
  const stores = new Map<string, Promise<ArtifactStore>>();
  const storeOf = (data: StepJobData) => {
    if (!stores.has(data.stack)) {
      stores.set(
        data.stack,
        resolveStack(client, data.stack).then(async ({ store, orchestrator: other }) => {
          await other.close();
          return store;
        }),
      );
    }
    return stores.get(data.stack)!.then((store) => {
      if (store.id !== data.artifactStoreId) {
        throw new UnrecoverableError(`The artifact store of the stack "${data.stack}" has changed since the run was submitted; run the pipeline again`);
      }
      return store;
    });
  };

  /** Runs whose steps this worker holds, with how many: it heartbeats them so the server does not fail them. */
  const heldRuns = new Map<string, number>();
  const currentStepRunIds = new Set<string>();
  const hold = (runId: string) => heldRuns.set(runId, (heldRuns.get(runId) ?? 0) + 1);
  const release = (runId: string) => {
    const count = (heldRuns.get(runId) ?? 1) - 1;
    if (count > 0) heldRuns.set(runId, count);
    else heldRuns.delete(runId);
  };

  // Best effort: a missed beat is sent again at the next tick. Once the worker stops, only its
  // last beat goes, after the ones in flight: a later one would say it runs again.
  let lastBeatAt = 0;
  let stopping = false;
  let beating: Promise<unknown> = Promise.resolve();
  const heartbeat = async () => {
    if (stopping) return;
    lastBeatAt = Date.now();
    const beats: Promise<unknown>[] = [...heldRuns.keys()].map((runId) => client.heartbeat(runId));
    beats.push(
      Promise.resolve().then(() => client.workerHeartbeat({ name: identity.name, host: identity.host, pid: identity.pid, queue: orchestrator.queueName, concurrency, currentStepRunIds: [...currentStepRunIds], stack: stack.name })),
    );
    const settled = Promise.allSettled(beats);
    beating = settled;
    await settled;
  };
  /**
   * A beat soon after a step starts or ends, so `worker list` shows the current steps; at most
   * one a second, shared by the steps starting or ending meanwhile (short steps end by the hundred).
   */
  let beatSoon: NodeJS.Timeout | null = null;
  const requestHeartbeat = () => {
    if (stopping) return;
    beatSoon ??= setTimeout(
      () => {
        beatSoon = null;
        void heartbeat();
      },
      Math.max(200, lastBeatAt + 1000 - Date.now()),
    );
  };

  /**
   * A pipeline's steps for a run's parameters, composed once for all the steps of the run (a run
   * of n steps would otherwise compose n times), with the materializers its steps bring.
   */
  const compositions = new LRUCache<string, Composed>({ max: RUNS_KEPT });
  const composed = (pipeline: Pipeline<unknown>, parameters: unknown): Composed => {
    const key = `${pipeline.name}\u0000${stringify(parameters) ?? ''}`;
    let found = compositions.get(key);
    if (!found) {
      const invocations = pipeline.compose(parameters);
      found = {
        invocations,
        byName: new Map(invocations.map((invocation) => [invocation.name, invocation])),
        materializers: materializerTable(invocations.flatMap((candidate) => candidate.definition.options.materializers ?? [])),
      };
      compositions.set(key, found);
    }
    return found;
  };

  /** The step as this worker's code defines it, or an error saying why this worker cannot run it. */
  const invocationFor = (data: StepJobData, runCode: Record<string, string> | null): { invocation: StepInvocation; composition: Composed; pipeline: Pipeline<unknown> } => {
    const pipeline = pipelines.get(data.pipeline);
    if (!pipeline) {
      throw new UnrecoverableError(`The worker ${identity.name} has no pipeline "${data.pipeline}": start it with --pipelines naming the module that defines it`);
    }
    const composition = composed(pipeline, data.parameters);
    const invocation = composition.byName.get(data.step);
    if (!invocation) throw new UnrecoverableError(`The pipeline "${data.pipeline}" of worker ${identity.name} has no step "${data.step}"`);
    if (!runCode) {
      throw new UnrecoverableError(
        `The record of run ${data.runName}'s code is gone from Redis (it is kept ${RUN_CODE_TTL_DAYS} days after a step of the run was last enqueued): run the pipeline again`,
      );
    }
    const here = codeHash(invocation.definition);
    const expected = runCode[data.step];
    if (here !== expected) {
      throw new UnrecoverableError(
        `The code of step "${data.step}" on worker ${identity.name} differs from the run's (code hash ${here.slice(0, 12)} here, ${String(expected).slice(0, 12)} in the run): start workers from the same pipeline code as the run`,
      );
    }
    return { invocation, composition, pipeline };
  };

  /** Records on the server a failure that happened before the step could start, so the run does not wait forever. */
  const recordRefusal = async (data: StepJobData, job: Job<StepJobData>, message: string) => {
    const stepRun = await client.startStep({ runId: data.runId, name: data.step, attempt: job.attemptsStarted, worker: identity, queuedAt: new Date(job.timestamp).toISOString() });
    await client.finishStep({ stepRunId: stepRun.id, status: 'FAILED', errorMessage: message, attempt: job.attemptsStarted, withOutputs: false });
  };

  /** The run as a worker needs it: whether it goes on, and the named steps' statuses and outputs. */
  const runState = async (runId: string, names: readonly string[]) =>
    (await client.request(StepJobRunDocument, { id: runId, names: [...names] }, { retry: true })).run ?? null;

  /** Each run's code record, read once per run (the most recent runs kept); a failed read is tried again. */
  const runCodes = new LRUCache<string, Promise<Record<string, string> | null>>({ max: RUNS_KEPT });
  const runCodeOf = (runId: string) => {
    let found = runCodes.get(runId);
    if (!found) {
      found = runCodeHashes(queue, redis, runId);
      // A record found missing, or a read that failed, is read again by the next step of the run.
      const forget = () => void runCodes.delete(runId);
      found.then((hashes) => hashes ?? forget(), forget);
      runCodes.set(runId, found);
    }
    return found;
  };

  const processStep = async (job: Job<StepJobData>): Promise<void> => {
    const data = job.data;
    // Read before the checks: Redis failing to answer is a reason to try the job again, not a refusal.
    const runCode = await runCodeOf(data.runId);
    let resolved: ReturnType<typeof invocationFor>;
    try {
      resolved = invocationFor(data, runCode);
    } catch (error) {
      await recordRefusal(data, job, errorMessage(error)).catch(() => undefined);
      throw error;
    }
    const { invocation, composition } = resolved;
    const { invocations } = composition;
    // Only a step with parents reads the run first, for their outputs; startStep tells the rest
    // whether the run goes on.
    let parents = new Map<string, StepResult>();
    if (invocation.parents.length > 0) {
      const run = await runState(data.runId, invocation.parents);
      // A run that was stopped, failed or deleted meanwhile has nothing more to run.
      if (!run || run.endedAt) return;
      parents = finishedResults(run);
    }
    const store = await storeOf(data);
    const executor = new StepExecutor({
      client,
      pipelineName: data.pipeline,
      run: { id: data.runId, name: data.runName },
      store,
      enableCache: data.enableCache ?? undefined,
      pipelineEnableCache: data.pipelineEnableCache ?? undefined,
      maxOutputsPerReport: limits.maxOutputsPerReport,
      progress: () => undefined,
      materializers: composition.materializers,
      // The steps after read this one's outputs from the server.
      resultsCarryOutputs: false,
    });
    const attempt = job.attemptsStarted;
    const allowed = Math.min(job.opts.attempts ?? attempts, attempts);
    const parentResults = invocation.parents.map((parent) => parents.get(parent) ?? { name: parent, status: 'skipped' as const, stepRunId: null, outputs: {} });
    log(`step ${data.step} of run ${data.runName}: attempt ${attempt} started`);
    let stepRunId: string | null = null;
    const willRetry = attempt < allowed;
    let result: StepResult;
    try {
      result = await executor.execute(invocation, parentResults, {
        onStarted: (id) => {
          stepRunId = id;
          currentStepRunIds.add(id);
          requestHeartbeat();
        },
        attempt,
        worker: identity,
        queuedAt: new Date(job.timestamp),
        willRetry,
        ...(data.timeoutSeconds ? { timeout: { ms: data.timeoutSeconds * 1000, message: `The step ran longer than its stepTimeoutSeconds (${data.timeoutSeconds} s)` } } : {}),
      });
    } catch (error) {
      if (error instanceof StepAttemptFailedError) throw error;
      if (!stepRunId) {
        // The server did not open the attempt: the run has ended, or the step was done before (a
        // worker died between reporting it and acknowledging its job) and only its children remain.
        const run = await runState(data.runId, [data.step]);
        if (!run || run.endedAt) return;
        const done = run.steps.find((step) => step.name === data.step && (step.status === 'COMPLETED' || step.status === 'CACHED'));
        if (done) return enqueueChildren(data, invocations, job);
        throw error;
      }
      // The server could not record what the step did: the attempt fails on the step run,
      // so the run does not wait for a report that will never come.
      const message = `The worker ${identity.name} could not report the step: ${errorMessage(error)}`;
      await client.finishStep({ stepRunId, status: 'FAILED', errorMessage: message, attempt, ...(willRetry ? { willRetry } : {}), withOutputs: false }).catch(() => undefined);
      throw willRetry ? error : new UnrecoverableError(message);
    } finally {
      if (stepRunId) currentStepRunIds.delete(stepRunId);
    }
    log(`step ${data.step} of run ${data.runName}: ${result.status}${result.error ? `: ${result.error}` : ''}`);
    if (result.status === 'failed') throw new UnrecoverableError(result.error ?? 'The step failed');
    await enqueueChildren(data, invocations, job);
  };

  /** Enqueues the steps this one unblocked; the server's state after this step's report decides. */
  const enqueueChildren = async (data: StepJobData, invocations: StepInvocation[], job: Job<StepJobData>) => {
    const children = invocations.filter((candidate) => candidate.parents.includes(data.step));
    if (children.length === 0) return;
    // The children, and their parents: whether each child has started, and whether it can.
    const run = await runState(data.runId, [...new Set(children.flatMap((child) => [child.name, ...child.parents]))]);
    if (!run || run.endedAt) return;
    const { step: _step, ...runData } = data;
    await enqueueSteps(queue, redis, runData, readySteps(invocations, run, new Set(children.map((child) => child.name))), {
      attempts: job.opts.attempts,
      backoff: job.opts.backoff,
      removeOnComplete: job.opts.removeOnComplete,
      removeOnFail: job.opts.removeOnFail,
    });
  };

  const worker = new Worker<StepJobData>(
    orchestrator.queueName,
    async (job) => {
      hold(job.data.runId);
      try {
        await processStep(job);
      } catch (error) {
        // StepAttemptFailedError: kept on the server, BullMQ retries after the backoff.
        if (error instanceof StepAttemptFailedError || error instanceof UnrecoverableError) throw error;
        log(`step ${job.data.step} of run ${job.data.runName}: ${errorMessage(error)}`);
        throw error;
      } finally {
        release(job.data.runId);
        requestHeartbeat();
      }
    },
    {
      connection,
      concurrency,
      name: identity.name,
      lockDuration,
      stalledInterval,
      // Each start counts: a step whose workers keep dying is failed after `attempts` starts.
      maxStalledCount: attempts,
      maxStartedAttempts: attempts,
      autorun: false,
    },
  );
  worker.on('error', (error) => log(`worker error: ${errorMessage(error)}`));
  worker.on('failed', (job, error) => {
    // A job BullMQ failed without our processor (stalled too often, too many starts) leaves
    // its step running on the server: record the failure there.
    if (!job || !/allowable limit/.test(error.message)) return;
    void (async () => {
      const run = await runState(job.data.runId, [job.data.step]);
      const step = run?.steps.find((candidate) => candidate.name === job.data.step);
      if (!run || run.endedAt || !step || step.status !== 'RUNNING') return;
      await client.finishStep({ stepRunId: step.id, status: 'FAILED', errorMessage: `BullMQ gave up on the step: ${error.message}`, withOutputs: false });
    })().catch(() => undefined);
  });
  const timer = setInterval(() => void heartbeat(), heartbeatMs);
  timer.unref();
  await heartbeat();
  void worker.run();
  await worker.waitUntilReady();
  log(
    `Worker ${identity.name} takes steps from queue "${orchestrator.queueName}" at ${maskedRedisUrl(settings.redisUrl)} (stack ${stack.name}, concurrency ${concurrency}, pipelines ${[...pipelines.keys()].join(', ')})`,
  );
  return {
    name: identity.name,
    queue: orchestrator.queueName,
    stack: stack.name,
    async close() {
      // Running steps finish first, and the heartbeats go on meanwhile, keeping their runs alive.
      await worker.close();
      stopping = true;
      clearInterval(timer);
      if (beatSoon) clearTimeout(beatSoon);
      await queue.close();
      await redis.quit();
      await beating;
      // The last heartbeat: `worker list` stops showing this process at once, not minutes later.
      await client
        .workerHeartbeat({ name: identity.name, host: identity.host, pid: identity.pid, queue: orchestrator.queueName, concurrency, currentStepRunIds: [], stack: stack.name, stopping: true })
        .catch(() => undefined);
    },
  };
}
