// A `stackyard worker`: takes step jobs from a bullmq stack's queue and runs them with the
// pipeline code it loaded, reading inputs from and writing outputs to the run's artifact store,
// and reporting to the server with its own token. BullMQ gives each job to one worker at a time,
// retries failed ones with backoff, and re-queues the job of a worker that died (stalled check).
import { hostname } from 'node:os';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { Backoffs, UnrecoverableError, Worker, type Job } from 'bullmq';
import { LRUCache } from 'lru-cache';
import { stringify } from 'safe-stable-stringify';
import type { StackyardClient } from '../stackyard-client';
import { StackyardError } from '../stackyard-error';
import { StepJobRunDocument, type StepJobRunQuery } from '../generated/graphql';
import type { ArtifactStore } from './artifact-store';
import { materializerTable, storeForComponent } from './artifact-versions';
import type { Materializer } from './materializers';
import {
  BullmqOrchestrator,
  checkRedisReachable,
  enqueueSteps,
  millisecondsFromEnv,
  maskedRedisUrl,
  readySteps,
  redisClient,
  redisConnection,
  stepQueue,
  runCodeHashes,
  RUN_CODE_TTL_DAYS,
  type StepJobData,
} from './bullmq-orchestrator';
import { codeHash, snapshotStepCode } from './cache-key';
import { UnsupportedStackError, WorkerNameTakenError } from './errors';
import { orchestratorForComponent } from './orchestrators';
import { resolveStack, type Pipeline } from './pipeline';
import { sendRunHeartbeat } from './run-heartbeat';
import { StepAttemptFailedError, StepExecutor, errorMessage, recordedResult, runEndedController, type StepResult, type StepWorkerIdentity } from './step-execution';
import { stepModuleFiles, type StepInvocation } from './step';

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
  const read = (name: string, fallback: number) => millisecondsFromEnv(env, name, fallback);
  return {
    lockDuration: read('STACKYARD_WORKER_LOCK_MS', 30_000),
    stalledInterval: read('STACKYARD_WORKER_STALLED_INTERVAL_MS', 30_000),
    heartbeatMs: read('STACKYARD_WORKER_HEARTBEAT_MS', 5_000),
    stackCheckMs: read('STACKYARD_WORKER_STACK_CHECK_MS', 30_000),
    // How long a run the server said goes on is taken to go on, for its steps to begin while
    // their start is recorded.
    runKnownLiveMs: read('STACKYARD_WORKER_RUN_KNOWN_LIVE_MS', 5_000),
  };
}

/**
 * What changed of the stack this worker serves, in words, or null: a worker takes steps from the
 * queue its stack named when it started, so once the stack names another queue, another Redis or
 * another orchestrator, or is renamed or deleted, new runs no longer reach it. It says so rather
 * than follow: the steps it runs finish where they are, and a restart takes the stack anew.
 */
async function stackChange(client: StackyardClient, stackName: string, served: BullmqOrchestrator): Promise<string | null> {
  const serving = `this worker serves the queue "${served.queueName}" at ${maskedRedisUrl(served.settings.redisUrl)}`;
  const current = await client.getStack(stackName);
  if (!current) return `The stack "${stackName}" no longer exists (renamed or deleted): no new run reaches this worker; ${serving}`;
  const component = current.components.find((candidate) => candidate.type === 'ORCHESTRATOR');
  const now = component ? await orchestratorForComponent(client, component) : null;
  try {
    if (now instanceof BullmqOrchestrator && now.queueName === served.queueName && now.settings.redisUrl === served.settings.redisUrl) return null;
    const target = now instanceof BullmqOrchestrator ? `the queue "${now.queueName}" at ${maskedRedisUrl(now.settings.redisUrl)}` : `the orchestrator "${now?.name ?? '(none)'}"`;
    return `The stack "${stackName}" now runs its steps on ${target}, and ${serving}: restart it to follow the stack`;
  } finally {
    await now?.close();
  }
}

/**
 * Refuses the name of a live worker: both would report under it, and `worker list` would show them
 * as one, whose steps flicker between the two. Live: the server's LIVE (within three of the
 * heartbeats it gave), on another host, or on this one as a process that still exists (a worker
 * restarted after a crash takes its name back at once).
 */
async function refuseTakenName(client: StackyardClient, identity: StepWorkerIdentity): Promise<void> {
  const taken = (await client.workers()).find((worker) => worker.name === identity.name && worker.status === 'LIVE');
  if (!taken || (taken.host === identity.host && (taken.pid === identity.pid || !processExists(taken.pid)))) return;
  const seenSecondsAgo = Math.max(0, Math.round((Date.now() - Date.parse(taken.lastSeenAt)) / 1000));
  throw new WorkerNameTakenError(
    `A worker named "${identity.name}" is running on ${taken.host} (pid ${taken.pid}), seen ${seenSecondsAgo} s ago: give this one another --name, or stop that one`,
  );
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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
  // The code its steps are checked against is the code just loaded, not the files' later content.
  snapshotStepCode(stepModuleFiles);
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

/**
 * When the job's current attempt was enqueued: the job's creation for the first, when a retry of
 * a failed attempt became due for the others. A job taken over from a worker that stopped
 * answering went back to the queue when BullMQ's stalled check found it, which the job does not
 * record: its queue wait is not known (null) rather than counted from the first enqueue.
 */
async function takeAttemptQueuedAt(job: Job<StepJobData>): Promise<Date | null> {
  if (job.attemptsStarted <= 1) return new Date(job.timestamp);
  const { retryDueAt, ...data } = job.data;
  if (!retryDueAt) return null;
  // Taken once: a later attempt taken over from a dead worker must not count from it.
  await job.updateData(data).catch(() => undefined);
  return new Date(retryDueAt);
}

/** Keeps on the job when its retry becomes due, as BullMQ computes its backoff, for the retry's queue wait. */
async function noteRetryDue(job: Job<StepJobData>, error: Error): Promise<void> {
  const { retryDueAt: _previous, ...data } = job.data;
  try {
    const backoff = Backoffs.normalize(job.opts.backoff ?? 0);
    const delay = backoff ? Number((await Backoffs.calculate(backoff, job.attemptsMade + 1, error, job)) ?? 0) : 0;
    await job.updateData({ ...data, retryDueAt: Date.now() + Math.max(0, delay) });
  } catch {
    // Only the retry's queue wait depends on it: it is then not known.
    await job.updateData(data).catch(() => undefined);
  }
}

export async function startStepWorker(options: StepWorkerOptions): Promise<RunningStepWorker> {
  const { client } = options;
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const { lockDuration, stalledInterval, heartbeatMs, stackCheckMs, runKnownLiveMs } = timings(env);
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
  await refuseTakenName(client, identity);
  const concurrency = options.concurrency ?? 1;
  // The first beat registers the worker, before it opens the queue: a name the server refuses
  // stops it here, where it would otherwise take steps whose every report the server refuses,
  // and never be listed.
  const workerBeat = (currentStepRunIds: Iterable<string> = [], stopping = false) =>
    client.workerHeartbeat({
      ...identity,
      queue: orchestrator.queueName,
      concurrency,
      currentStepRunIds: [...currentStepRunIds],
      stack: stack.name,
      heartbeatIntervalMs: heartbeatMs,
      ...(stopping ? { stopping } : {}),
    });
  await workerBeat().catch((error: unknown) => {
    if (error instanceof StackyardError && error.type === 'ValidationError' && error.field === 'input.name') {
      throw new Error(`--name ${JSON.stringify(identity.name)}: ${error.message.replace(/^input\.name /, '')}`);
    }
    throw error;
  });
  const attempts = settings.attempts ?? 3;
  const connection = redisConnection(settings.redisUrl);
  const queue = stepQueue(orchestrator.queueName, settings.redisUrl);
  const redis = redisClient(settings.redisUrl);

  /**
   * Each run's artifact store, opened from the component the run was submitted with (its id is in
   * the job), once per run: not the stack's store as this worker first saw it, which the stack may
   * have replaced, renamed or reconfigured since. A failed read is tried again by the next step.
   */
  const runStores = new LRUCache<string, Promise<ArtifactStore>>({ max: RUNS_KEPT });
  const storeOf = (data: StepJobData) => {
    let found = runStores.get(data.runId);
    if (!found) {
      found = client.componentById(data.artifactStoreId).then((component) => {
        if (!component) {
          throw new UnrecoverableError(`The artifact store the run ${data.runName} was submitted with has been deleted; run the pipeline again`);
        }
        return storeForComponent(client, component);
      });
      found.catch(() => void runStores.delete(data.runId));
      runStores.set(data.runId, found);
    }
    return found;
  };

  /**
   * Runs whose steps this worker holds, with how many: it heartbeats them so the server does not
   * fail them, and aborts their steps' `ended` once a beat says the run has ended (a user stopped it).
   */
  const heldRuns = new Map<string, { steps: number; ended: AbortController }>();
  // Runs the server has said go on (a step of theirs started, a heartbeat answered) in the last
  // few seconds: their first attempts begin while their start is recorded. A run this worker has
  // not heard of lately could have ended long ago, and its steps start only once recorded.
  const liveRuns = new LRUCache<string, true>({ max: RUNS_KEPT, ttl: runKnownLiveMs });
  const currentStepRunIds = new Set<string>();
  const hold = (runId: string): AbortSignal => {
    const held = heldRuns.get(runId) ?? { steps: 0, ended: runEndedController() };
    held.steps += 1;
    heldRuns.set(runId, held);
    return held.ended.signal;
  };
  const release = (runId: string) => {
    const held = heldRuns.get(runId);
    if (held && --held.steps <= 0) heldRuns.delete(runId);
  };
  const beatRun = async (runId: string) => {
    const ended = await sendRunHeartbeat(client, runId);
    if (ended) liveRuns.delete(runId);
    else liveRuns.set(runId, true);
    const held = heldRuns.get(runId);
    if (ended && held && !held.ended.signal.aborted) held.ended.abort(ended);
  };

  // Best effort: a missed beat is sent again at the next tick. Once the worker stops, only its
  // last beat goes, after the ones in flight: a later one would say it runs again.
  let lastBeatAt = Date.now(); // the registration's
  let stopping = false;
  let beating: Promise<unknown> = Promise.resolve();
  const heartbeat = async () => {
    if (stopping) return;
    lastBeatAt = Date.now();
    const beats: Promise<unknown>[] = [...heldRuns.keys()].map(beatRun);
    beats.push(Promise.resolve().then(() => workerBeat(currentStepRunIds)));
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

  /** Records on the server a job's failure that happened before its step could start, so the run does not wait forever. */
  const recordRefusal = async (data: StepJobData, job: Job<StepJobData>, message: string) => {
    const stepRun = await client.startStep({ runId: data.runId, name: data.step, attempt: job.attemptsStarted, worker: identity, queuedAt: (await takeAttemptQueuedAt(job))?.toISOString() ?? null });
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

  const processStep = async (job: Job<StepJobData>, runEnded: AbortSignal): Promise<void> => {
    const data = job.data;
    // Read before the checks: Redis failing to answer is a reason to try the job again, not a refusal.
    const runCode = await runCodeOf(data.runId);
    // A refusal fails the job for good, and the failed-job handler records it on the server.
    const { invocation, composition } = invocationFor(data, runCode);
    const { invocations } = composition;
    // Only a step with parents reads the run first, for their outputs; startStep tells the rest
    // whether the run goes on.
    let parents = new Map<string, StepResult>();
    if (invocation.parents.length > 0) {
      const run = await runState(data.runId, invocation.parents);
      // A run that was stopped, failed or deleted meanwhile has nothing more to run.
      if (!run || run.endedAt) return;
      liveRuns.set(data.runId, true);
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
      runEnded,
    });
    const attempt = job.attemptsStarted;
    const queuedAt = await takeAttemptQueuedAt(job);
    const allowed = Math.min(job.opts.attempts ?? attempts, attempts);
    const parentResults = invocation.parents.map((parent) => parents.get(parent) ?? { name: parent, status: 'skipped' as const, stepRunId: null, outputs: {} });
    log(`step ${data.step} of run ${data.runName}: attempt ${attempt} started`);
    let stepRunId: string | null = null;
    const willRetry = attempt < allowed;
    let result: StepResult;
    try {
      result = await executor.execute(invocation, parentResults, {
        onStarted: (id) => {
          liveRuns.set(data.runId, true);
          stepRunId = id;
          currentStepRunIds.add(id);
          requestHeartbeat();
        },
        attempt,
        beginsWhileStarting: attempt === 1 && liveRuns.has(data.runId),
        worker: identity,
        queuedAt,
        willRetry,
        ...(data.timeoutSeconds ? { timeout: { ms: data.timeoutSeconds * 1000, message: `The step ran longer than its stepTimeoutSeconds (${data.timeoutSeconds} s)` } } : {}),
      });
    } catch (error) {
      if (error instanceof StepAttemptFailedError) {
        await noteRetryDue(job, error);
        throw error;
      }
      // The run ended while the step ran or waited (a user stopped it): the server has ended the
      // step with it, and the job completes, so BullMQ neither retries it nor keeps a failure.
      if (runEnded.aborted) {
        log(`step ${data.step} of run ${data.runName}: abandoned: ${errorMessage(runEnded.reason)}`);
        return;
      }
      if (!stepRunId) {
        // The server did not open the attempt: the run has ended, or the step was done before (a
        // worker died between reporting it and acknowledging its job) and only its children remain.
        // Either way its next steps here start only once recorded.
        liveRuns.delete(data.runId);
        const run = await runState(data.runId, [data.step]);
        if (!run || run.endedAt) return;
        const done = run.steps.find((step) => step.name === data.step && (step.status === 'COMPLETED' || step.status === 'CACHED'));
        if (done) return enqueueChildren(data, invocations, job);
        throw error;
      }
      // A run that ended before this worker heard of it refused the step's report: nothing is lost.
      const run = await runState(data.runId, []).catch(() => undefined);
      if (run === null || run?.endedAt) {
        log(`step ${data.step} of run ${data.runName}: not recorded, the run has ended`);
        return;
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
      const runEnded = hold(job.data.runId);
      try {
        await processStep(job, runEnded);
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
    // A job that has failed for good without its step ending on the server (BullMQ gave up on
    // a step whose workers kept dying; an error before the step could start, such as a store
    // that cannot be opened) would leave the run waiting forever: record the failure there.
    if (!job) return;
    const gaveUp = /allowable limit/.test(error.message);
    const final = gaveUp || error instanceof UnrecoverableError || job.attemptsMade >= Math.min(job.opts.attempts ?? attempts, attempts);
    if (!final) return;
    const message = gaveUp
      ? `The workers running the step stopped answering ${job.attemptsStarted} times, as many as the orchestrator's attempts allow (BullMQ: ${error.message})`
      : errorMessage(error);
    void (async () => {
      const run = await runState(job.data.runId, [job.data.step]);
      if (!run || run.endedAt) return;
      const step = run.steps.find((candidate) => candidate.name === job.data.step);
      if (!step) await recordRefusal(job.data, job, message);
      else if (step.status === 'RUNNING') await client.finishStep({ stepRunId: step.id, status: 'FAILED', errorMessage: message, withOutputs: false });
    })().catch(() => undefined);
  });
  const timer = setInterval(() => void heartbeat(), heartbeatMs);
  timer.unref();
  // Said once per change; a server out of reach brings no news.
  let stackNote: string | null = null;
  const checkStack = async () => {
    const note = await stackChange(client, stack.name, orchestrator).catch(() => stackNote);
    if (note && note !== stackNote) log(`Warning: ${note}`);
    else if (!note && stackNote) log(`The stack "${stack.name}" sends its runs to this worker's queue again`);
    stackNote = note;
  };
  const stackTimer = setInterval(() => void checkStack(), stackCheckMs);
  stackTimer.unref();
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
      clearInterval(stackTimer);
      if (beatSoon) clearTimeout(beatSoon);
      await queue.close();
      await redis.quit();
      await beating;
      // The last heartbeat: `worker list` stops showing this process at once, not minutes later.
      await workerBeat([], true).catch(() => undefined);
    },
  };
}
