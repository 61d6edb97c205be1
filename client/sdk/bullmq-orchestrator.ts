// The bullmq orchestrator: each step is a job on a BullMQ queue in Redis, taken by `stackyard
// worker` processes on any machine. BullMQ does the queueing, the retries with backoff and the
// re-queueing of a dead worker's job (its stalled-job check); this file decides what to enqueue
// when, and follows the run on the server's runUpdated subscription.
import { createHash } from 'node:crypto';
import { Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { CachedStepOriginsDocument, type RunProgressSubscription } from '../generated/graphql';
import { followRun } from '../run-updates';
import { codeHash } from './cache-key';
import { MAX_PRIORITY, stepPriority } from './priority';
import { RunSubmissionError } from './errors';
import type { Orchestrator, RecordedRun } from './orchestrator';
import { recordedResult, type StepResult } from './step-execution';
import type { StepInvocation } from './step';

/** The flavor's settings (server/components/flavors.ts), redisUrl with its password. */
export interface BullmqSettings {
  redisUrl: string;
  /** Default stackyard. */
  queue?: string;
  /** Tries per step, the first included; default 3. */
  attempts?: number;
  /** Wait before a retry, doubled at each further one; default 5. */
  backoffSeconds?: number;
  /** A step still running after this long fails (and is retried while attempts remain). */
  stepTimeoutSeconds?: number;
}

export const DEFAULT_QUEUE = 'stackyard';
const DEFAULT_ATTEMPTS = 3;
const DEFAULT_BACKOFF_SECONDS = 5;

/** What a step's job carries: enough for any worker with the pipeline's code to run the step. */
export interface StepJobData {
  runId: string;
  runName: string;
  pipeline: string;
  /** The run's stack, whose artifact store holds the outputs. */
  stack: string;
  artifactStoreId: string;
  /** The run's parameters: the worker composes the pipeline from them, as run() did. */
  parameters: unknown;
  enableCache: boolean | null;
  /** The pipeline's own enableCache, for steps that set none. */
  pipelineEnableCache: boolean | null;
  step: string;
  timeoutSeconds: number | null;
  /** run()'s priority: with each step's own, the order in which the run's steps are taken. Absent in jobs of older SDKs. */
  runPriority?: number;
  /** When the step's retry became due (its failed attempt's end, plus the backoff): the retry's enqueue time. */
  retryDueAt?: number;
}

/** The run's part of every step job. */
export type RunJobData = Omit<StepJobData, 'step'>;

/** The parts of a run's state on the server that decide which steps can start. */
export interface RunState {
  steps: readonly { name: string; status: string }[];
}

const DONE = new Set(['COMPLETED', 'CACHED']);

/**
 * Steps with no step run yet whose parents have all completed (or were cached): what can be
 * enqueued now. Among `candidates` only, when given (the children of a step that just finished).
 */
export function readySteps(invocations: readonly StepInvocation[], state: RunState, candidates?: ReadonlySet<string>): StepInvocation[] {
  const status = new Map(state.steps.map((step) => [step.name, step.status]));
  return invocations
    .filter((invocation) => (!candidates || candidates.has(invocation.name)) && !status.has(invocation.name))
    .filter((invocation) => invocation.parents.every((parent) => DONE.has(status.get(parent) ?? '')));
}

/**
 * One job id per step of a run, so the driver and the workers can both enqueue a step and
 * BullMQ keeps one job (it ignores an add whose id exists). Hashed: ids may not hold ':'.
 */
export function stepJobId(runId: string, step: string): string {
  return `step-${createHash('sha256').update(`${runId}\u0000${step}`).digest('hex').slice(0, 40)}`;
}

/** BullMQ's connection settings for a Redis URL; workers need maxRetriesPerRequest null. */
export function redisConnection(redisUrl: string) {
  return { url: redisUrl, maxRetriesPerRequest: null };
}

/**
 * An error's message, for the messages above: never its stack. A transaction Redis discarded
 * (EXECABORT) says why through the errors of its commands (ioredis' previousErrors).
 */
function errorText(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)) || String(error);
  const previous = (error as { previousErrors?: unknown[] } | null)?.previousErrors;
  const cause = Array.isArray(previous) && previous[0] instanceof Error ? previous[0].message : undefined;
  return cause && cause !== message ? `${cause} (${message})` : message;
}

/** The URL without its password, for messages. */
export function maskedRedisUrl(redisUrl: string): string {
  try {
    const url = new URL(redisUrl);
    // Masked as the server shows it in the component's configuration (MASKED_PASSWORD).
    if (url.password) url.password = '****';
    return url.toString();
  } catch {
    return 'the configured redisUrl';
  }
}

/** Answers once Redis at the URL answers a PING, or throws an error that says where it tried. */
export async function checkRedisReachable(redisUrl: string, what: string): Promise<void> {
  const probe = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 5000, enableOfflineQueue: false });
  // The first 'error' says why (refused, unknown host, wrong password); what connect() or the
  // PING reject with after it is often only "Connection is closed".
  let cause: unknown;
  probe.on('error', (error: unknown) => (cause ??= error));
  try {
    await probe.connect();
    // ioredis selects the URL's database as it connects, but a SELECT Redis refuses (an index past
    // its `databases`) only reaches the error listener, and every command would go to database 0.
    const database = Number(new URL(redisUrl).pathname.slice(1) || 0);
    if (database > 0) await probe.select(database);
    await probe.ping();
  } catch (error) {
    throw new Error(`Cannot reach Redis at ${maskedRedisUrl(redisUrl)} (redisUrl of ${what}): ${errorText(cause ?? error)}`);
  } finally {
    probe.disconnect();
  }
}

/** Job options from the settings: attempts, exponential backoff, and how long finished jobs stay. */
export function stepJobOptions(settings: BullmqSettings): JobsOptions {
  const backoffSeconds = settings.backoffSeconds ?? DEFAULT_BACKOFF_SECONDS;
  return {
    attempts: settings.attempts ?? DEFAULT_ATTEMPTS,
    backoff: { type: 'exponential', delay: backoffSeconds * 1000 },
    // Kept a day: while a step's job exists, a second enqueue of the step is ignored.
    removeOnComplete: { age: 24 * 3600 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/**
 * How long a run's code record outlives the last enqueue of one of its steps: as long as BullMQ
 * keeps a failed job (stepJobOptions). Every enqueue renews it, so it lasts while the run goes on.
 */
export const RUN_CODE_TTL_DAYS = 7;
const RUN_CODE_TTL_SECONDS = RUN_CODE_TTL_DAYS * 24 * 3600;

/**
 * The run's record of its code in Redis, beside its queue: each step's code hash where the run was
 * submitted, which a worker with other code refuses to run. Kept once per run rather than in
 * every job: a run of n steps would otherwise store n^2 hashes (n jobs of n each), a gigabyte in
 * Redis for a fan-out of a few thousand steps.
 */
function runCodeKey(queue: Queue, runId: string): string {
  return queue.toKey(`stackyard-run-code:${runId}`);
}

/** Records each step's code hash for the run, before its first step is enqueued. */
export async function recordRunCode(queue: Queue, redis: Redis, runId: string, invocations: readonly StepInvocation[]): Promise<void> {
  const key = runCodeKey(queue, runId);
  await redis
    .multi()
    .hset(key, Object.fromEntries(invocations.map((invocation) => [invocation.name, codeHash(invocation.definition)])))
    .expire(key, RUN_CODE_TTL_SECONDS)
    .exec();
}

/** Each step's code hash as the run recorded it; null when the record is gone. */
export async function runCodeHashes(queue: Queue, redis: Redis, runId: string): Promise<Record<string, string> | null> {
  const hashes = await redis.hgetall(runCodeKey(queue, runId));
  return Object.keys(hashes).length > 0 ? hashes : null;
}

/**
 * A step's priority as BullMQ orders jobs: lowest first, from 1. Every step's job is prioritized,
 * the default ones too: BullMQ takes a job without a priority before any job with one, so
 * a step of priority below 0 would otherwise overtake them.
 */
export function bullmqPriority(priority: number): number {
  return 2 * MAX_PRIORITY + 1 - priority;
}

/** Adds the steps' jobs; steps already enqueued are left as they are. Renews the run's code record. */
export async function enqueueSteps(queue: Queue, redis: Redis, run: RunJobData, steps: readonly StepInvocation[], options: JobsOptions): Promise<void> {
  if (steps.length === 0) return;
  await queue.addBulk(
    steps.map((step) => ({
      name: step.name,
      data: { ...run, step: step.name } satisfies StepJobData,
      opts: { ...options, jobId: stepJobId(run.runId, step.name), priority: bullmqPriority(stepPriority(run.runPriority, step.definition.options.priority)) },
    })),
  );
  await redis.expire(runCodeKey(queue, run.runId), RUN_CODE_TTL_SECONDS);
}

/**
 * A plain connection for the run's code record, beside BullMQ's own (whose client exposes only
 * BullMQ's commands). While Redis is away the commands that fail say so; without a listener
 * ioredis would also print each reconnection's error with its stack.
 */
export function redisClient(redisUrl: string): Redis {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: null });
  client.on('error', () => undefined);
  return client;
}

/** The queue of step jobs, for adding to it; its connection errors are handled as redisClient's. */
export function stepQueue(queueName: string, redisUrl: string): Queue {
  const queue = new Queue(queueName, { connection: redisConnection(redisUrl) });
  queue.on('error', () => undefined);
  return queue;
}

type ProgressRun = RunProgressSubscription['runUpdated'];

/** How recently a worker must have been seen on a queue for a driver to count it as serving it. */
const WORKER_SEEN_WITHIN_SECONDS = 60;

/** Node's longest timer: a longer delay fires at once, with a warning. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * A duration in milliseconds from the environment, or the fallback when unset. A value that is
 * not a whole number from 1 to Node's longest timer is refused, naming the variable: ignored, a
 * typo would silently run with the default; passed on, 1e99 would fire at once.
 */
export function millisecondsFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= 1 && value <= MAX_TIMER_MS)) throw new Error(`${name} must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}, not "${env[name]}"`);
  return value;
}

/**
 * How long a waiting driver lets its run go without any change before it enqueues again the
 * steps that can start (BullmqOrchestrator.enqueueLostSteps); STACKYARD_DRIVER_IDLE_CHECK_MS.
 */
function idleCheckMs(): number {
  return millisecondsFromEnv(process.env, 'STACKYARD_DRIVER_IDLE_CHECK_MS', 30_000);
}

export class BullmqOrchestrator implements Orchestrator {
  private queueInstance: Queue | null = null;
  private redisInstance: Redis | null = null;

  constructor(
    readonly name: string,
    readonly settings: BullmqSettings,
  ) {}

  get queueName(): string {
    return this.settings.queue ?? DEFAULT_QUEUE;
  }

  async verify(): Promise<void> {
    // Before the run is recorded: a malformed setting refuses it rather than fail it later.
    idleCheckMs();
    try {
      await checkRedisReachable(this.settings.redisUrl, `the orchestrator "${this.name}"`);
    } catch (error) {
      throw new RunSubmissionError((error as Error).message, { cause: error });
    }
  }

  /**
   * Enqueues the steps that can start; workers enqueue the rest as they finish their parents (a
   * worker that dies first leaves its job to the one that takes it over, which enqueues them).
   */
  async submit(run: RecordedRun): Promise<void> {
    await this.handOver(run);
  }

  /** Enqueues the steps that can start, then tells whether a worker serves the queue; answers whether none does. */
  private async handOver(run: RecordedRun): Promise<boolean> {
    try {
      await this.enqueueReadySteps(run, { steps: [] });
    } catch (error) {
      throw new RunSubmissionError(`The run could not be submitted to the queue "${this.queueName}" at ${maskedRedisUrl(this.settings.redisUrl)}: ${errorText(error)}`, { cause: error });
    }
    return this.tellIfNoWorker(run, false);
  }

  /**
   * Says, in the run's progress, when no live worker has been seen on this queue lately (unless
   * it was said already): the steps wait in it until one starts, and nothing else would tell the
   * user why nothing happens. Answers whether none was seen; a server that cannot say counts as
   * one seen, so there is no false alarm.
   */
  private async tellIfNoWorker(run: RecordedRun, told: boolean): Promise<boolean> {
    const workers = await run.client.workers(WORKER_SEEN_WITHIN_SECONDS).catch(() => null);
    // A silent worker (killed, its machine lost) serves nothing.
    const missing = workers !== null && !workers.some((worker) => worker.queue === this.queueName && worker.status === 'LIVE');
    if (missing && !told) run.progress({ kind: 'no-worker', queue: this.queueName, stack: run.stackName, seenWithinSeconds: WORKER_SEEN_WITHIN_SECONDS });
    return missing;
  }

  /** Submits the run and follows it until it ends; its steps' statuses only when it shows progress. */
  async execute(run: RecordedRun): Promise<Map<string, StepResult>> {
    // Said again, after a while without news, only if a worker came and went meanwhile.
    let workersMissing = await this.handOver(run);
    const seen = new Map<string, string>();
    let changedAt = Date.now();
    const idleCheck = setInterval(() => {
      if (Date.now() - changedAt < idleCheckMs()) return;
      changedAt = Date.now();
      void this.enqueueLostSteps(run).catch(() => undefined);
      void this.tellIfNoWorker(run, workersMissing).then((missing) => (workersMissing = missing));
    }, Math.max(50, idleCheckMs() / 4));
    try {
      await followRun(
        run.client,
        run.run.id,
        async (state: ProgressRun) => {
          changedAt = Date.now();
          if (state.steps) await this.reportProgress(run, state.steps, seen);
          return state.endedAt != null;
        },
        { withSteps: run.showsProgress, signal: run.runEnded },
      );
    } finally {
      clearInterval(idleCheck);
    }
    return this.results(run);
  }

  /**
   * Enqueues again the steps that can start, with the run's code record: when a run has not
   * changed for a while, Redis may have lost them (restarted without persistence, flushed), and
   * nothing else would. Steps still queued are left as they are (their job ids are taken).
   */
  private async enqueueLostSteps(run: RecordedRun): Promise<void> {
    const state = await run.client.getRun(run.run.id);
    if (state && !state.endedAt) await this.enqueueReadySteps(run, state);
  }

  /** Records the run's code, then enqueues the steps that can start in this state of the run. */
  private async enqueueReadySteps(run: RecordedRun, state: RunState): Promise<void> {
    const ready = readySteps(run.invocations, state);
    if (ready.length === 0) return;
    // The run's code record goes first, so any worker can check its steps.
    await recordRunCode(this.queue(), this.redis(), run.run.id, run.invocations);
    await enqueueSteps(this.queue(), this.redis(), this.runJobData(run), ready, stepJobOptions(this.settings));
  }

  async close(): Promise<void> {
    await this.queueInstance?.close();
    this.queueInstance = null;
    await this.redisInstance?.quit();
    this.redisInstance = null;
  }

  private queue(): Queue {
    this.queueInstance ??= stepQueue(this.queueName, this.settings.redisUrl);
    return this.queueInstance;
  }

  private redis(): Redis {
    this.redisInstance ??= redisClient(this.settings.redisUrl);
    return this.redisInstance;
  }

  private runJobData(run: RecordedRun): RunJobData {
    return {
      runId: run.run.id,
      runName: run.run.name,
      pipeline: run.pipelineName,
      stack: run.stackName,
      artifactStoreId: run.store.id,
      parameters: run.parameters,
      enableCache: run.enableCache ?? null,
      pipelineEnableCache: run.pipelineEnableCache ?? null,
      timeoutSeconds: this.settings.stepTimeoutSeconds ?? null,
      runPriority: run.priority,
    };
  }

  /** Progress lines from the statuses the server reports, each step's change once. */
  private async reportProgress(run: RecordedRun, steps: NonNullable<ProgressRun['steps']>, seen: Map<string, string>): Promise<void> {
    const changed = steps.filter((step) => seen.get(step.name) !== step.status);
    const cached = changed.filter((step) => step.status === 'CACHED').map((step) => step.name);
    const origins = new Map<string, string>();
    if (cached.length > 0) {
      const read = await run.client.request(CachedStepOriginsDocument, { id: run.run.id, names: cached }, { retry: true });
      for (const step of read.run?.steps ?? []) origins.set(step.name, step.originalStepRun?.run.name ?? '');
    }
    for (const step of changed) {
      // A step that started and ended between two updates still gets its start line, as the
      // local orchestrator prints it: the lines of a run read alike on every orchestrator.
      if (!seen.has(step.name) && (step.status === 'COMPLETED' || step.status === 'FAILED')) run.progress({ kind: 'step-started', step: step.name });
      seen.set(step.name, step.status);
      const durationMs = step.durationMs ?? 0;
      if (step.status === 'RUNNING') run.progress({ kind: 'step-started', step: step.name });
      else if (step.status === 'COMPLETED') run.progress({ kind: 'step-completed', step: step.name, durationMs });
      else if (step.status === 'CACHED') run.progress({ kind: 'step-cached', step: step.name, durationMs, originalRunName: origins.get(step.name) ?? '' });
      else if (step.status === 'FAILED') run.progress({ kind: 'step-failed', step: step.name, durationMs, message: step.errorMessage ?? '' });
    }
  }

  /** Each step's result as the server recorded it, outputs included; steps without a step run did not run. */
  private async results(run: RecordedRun): Promise<Map<string, StepResult>> {
    const recorded = await run.client.getRun(run.run.id);
    const byName = new Map((recorded?.steps ?? []).map((step) => [step.name, step]));
    const results = new Map<string, StepResult>();
    for (const invocation of run.invocations) {
      const step = byName.get(invocation.name);
      if (!step || step.status === 'RUNNING' || step.status === 'STOPPED') {
        results.set(invocation.name, { name: invocation.name, status: 'skipped', stepRunId: step?.id ?? null, outputs: {} });
        continue;
      }
      results.set(invocation.name, recordedResult(step));
    }
    return results;
  }
}
