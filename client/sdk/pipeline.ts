// Pipelines: a definition that wires steps together, and run(), which records a run on the
// server and executes it on the active stack (or STACKYARD_STACK, or the one given).
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { debuglog } from 'node:util';
import { StackyardClient } from '../stackyard-client';
import type { RunStatus } from '../generated/graphql';
import { incompleteWriteTtlMs, type ArtifactStore } from './artifact-store';
import { loadStoredValue, materializerTable, storeForComponent } from './artifact-versions';
import { codeHash } from './cache-key';
import { RunSubmissionError, UnsupportedStackError, type RunEndedError } from './errors';
import { sendRunHeartbeat } from './run-heartbeat';
import { isJsonValue } from './materializers';
import type { Orchestrator, RecordedRun } from './orchestrator';
import { orchestratorForComponent } from './orchestrators';
import { runEndedController, type StepResult, type StoredOutput } from './step-execution';
import { terminalProgress, type ProgressListener } from './progress';
import { Composition, isOutputRef, type StepInvocation } from './step';
import { checkPriority } from './priority';

export interface PipelineOptions {
  /** Default for steps that do not set enableCache themselves; default true. */
  enableCache?: boolean;
  tags?: string[];
}

export interface RunOptions<P> {
  parameters?: P;
  client?: StackyardClient;
  /** Stack name; defaults to STACKYARD_STACK, then the active stack. */
  stack?: string;
  /** Defaults to {pipeline}-{yyyy_mm_dd-hh_mm_ss_micro}. */
  runName?: string;
  tags?: string[];
  /** Forces caching on or off for every step of this run. */
  enableCache?: boolean;
  /** Replaying a key answers the run it created instead of starting another; a new key per call by default. */
  idempotencyKey?: string;
  /** Receives each progress event; terminal lines on stdout by default, `false` for silence. */
  progress?: ProgressListener | false;
  /**
   * false: answer as soon as the run is submitted, and let it finish without this process
   * (workers of a bullmq stack run the steps). Default true: answer when the run has finished.
   */
  wait?: boolean;
  /**
   * Among steps waiting for a remote orchestrator's workers (bullmq), this run's go first when
   * higher, as Dagster's run priority: an integer from -1000 to 1000; default 0. Each step's own
   * `priority` adds to it. Recorded in the run's config.
   */
  priority?: number;
}

export interface PipelineRunResult {
  id: string;
  name: string;
  status: RunStatus;
  stack: string;
  /** Each step's result; empty for run({ wait: false }), which answers before any step ran. */
  steps: Record<string, StepResult>;
  /** Loads a step's output back from the artifact store. */
  load<T = unknown>(step: string, output?: string): Promise<T>;
}

/** Thrown by run() after a step failed; the run is recorded as failed and carries the result. */
export class PipelineRunFailedError extends Error {
  override readonly name = 'PipelineRunFailedError';
  constructor(readonly run: PipelineRunResult) {
    const failed = Object.values(run.steps).filter((step) => step.status === 'failed');
    super(`Pipeline run ${run.name} failed: ${failed.map((step) => `step ${step.name}: ${step.error}`).join('; ')}`);
  }
}

export interface Pipeline<P> {
  readonly name: string;
  /** The steps this definition produces for these parameters, in the order they are wired. */
  compose(parameters?: P): StepInvocation[];
  run(options?: RunOptions<P>): Promise<PipelineRunResult>;
}

/** The stack with its orchestrator and artifact store opened, or an UnsupportedStackError. */
export async function resolveStack(client: StackyardClient, requested: string | undefined): Promise<{ stack: { name: string }; store: ArtifactStore; orchestrator: Orchestrator }> {
  const stack = requested ? await client.getStack(requested) : await client.getActiveStack();
  if (!stack) throw new UnsupportedStackError(`No stack is named "${requested}"`);
  const orchestratorComponent = stack.components.find((component) => component.type === 'ORCHESTRATOR');
  const artifactStore = stack.components.find((component) => component.type === 'ARTIFACT_STORE');
  if (!orchestratorComponent) throw new UnsupportedStackError(`The stack "${stack.name}" has no orchestrator`);
  if (!artifactStore) throw new UnsupportedStackError(`The stack "${stack.name}" has no artifact store`);
  const orchestrator = await orchestratorForComponent(client, orchestratorComponent);
  const store = await storeForComponent(client, artifactStore);
  return { stack, store, orchestrator };
}

const debug = debuglog('stackyard');

/**
 * Removes what killed runs left half written in the store, idle for an hour (or
 * STACKYARD_INCOMPLETE_WRITE_TTL_SECONDS). Best effort: a store that refuses only logs, at
 * debug (NODE_DEBUG=stackyard), and the run goes on.
 */
async function sweepIncompleteWrites(store: ArtifactStore): Promise<void> {
  try {
    const removed = await store.sweepIncompleteWrites(new Date(Date.now() - incompleteWriteTtlMs()));
    if (removed > 0) debug('swept %d half-written objects from the artifact store "%s"', removed, store.name);
  } catch (error) {
    debug('could not sweep half-written objects from the artifact store "%s": %s', store.name, error instanceof Error ? error.message : String(error));
  }
}

function assertJsonParameters(invocations: readonly StepInvocation[]): void {
  for (const invocation of invocations) {
    for (const [name, value] of Object.entries(invocation.inputs)) {
      if (!isOutputRef(value) && !isJsonValue(value)) {
        throw new Error(`Parameter "${name}" of step "${invocation.name}" is not a JSON value; pass it as another step's output instead`);
      }
    }
  }
}

/**
 * Keeps the run alive on the server while its process is (the server fails silent runs), and
 * aborts `runEnded` once a beat's answer says the run has ended elsewhere (`stackyard run stop`).
 * At least every 5 s, as workers beat, so a stop is noticed within seconds.
 */
function startHeartbeats(client: StackyardClient, runId: string, timeoutSeconds: number, runEnded: AbortController): () => void {
  const intervalMs = Math.max(250, Math.min(5_000, (timeoutSeconds * 1000) / 4));
  const timer = setInterval(() => {
    // A missed beat is sent again at the next tick; the run's reports count as beats too.
    void sendRunHeartbeat(client, runId).then((ended) => {
      if (ended && !runEnded.signal.aborted) runEnded.abort(ended);
    });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Ends the run as stopped when the process is interrupted, then exits as the signal would. */
function stopOnSignals(client: StackyardClient, runId: string): () => void {
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const handler = () => {
      client
        .finishRun({ runId, status: 'STOPPED', reason: `Interrupted by ${signal}` })
        .catch(() => undefined)
        .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.once(signal, handler);
    return () => process.off(signal, handler);
  });
  return () => handlers.forEach((remove) => remove());
}

/**
 * Thrown by run() when the run was stopped elsewhere (`stackyard run stop`) while run() waited for
 * it: its running steps were abandoned. Carries the result and the run's status reason.
 */
export class PipelineRunStoppedError extends Error {
  override readonly name = 'PipelineRunStoppedError';
  constructor(
    readonly run: PipelineRunResult,
    readonly reason: string | null,
  ) {
    super(`Pipeline run ${run.name} was stopped${reason ? `: ${reason}` : ''}`);
  }
}

/** Defines a pipeline: `define` calls steps and passes their outputs to later steps. */
export function pipeline<P = void>(name: string, define: (parameters: P) => void, options: PipelineOptions = {}): Pipeline<P> {
  if (!name.trim()) throw new Error('A pipeline needs a name');
  const compose = (parameters?: P) => Composition.collect(() => define(parameters as P));
  return {
    name,
    compose,
    async run(runOptions: RunOptions<P> = {}) {
      checkPriority(runOptions.priority, `Run of pipeline "${name}"`);
      const invocations = compose(runOptions.parameters);
      assertJsonParameters(invocations);
      // Reading the imports of each step's module blocks for a moment (esbuild, once per module):
      // done before the run starts, it never holds up the run's heartbeats.
      for (const invocation of invocations) codeHash(invocation.definition);
      const client = runOptions.client ?? new StackyardClient();
      const progress = runOptions.progress === false ? () => undefined : (runOptions.progress ?? terminalProgress());
      const wait = runOptions.wait ?? true;
      const { stack, store, orchestrator } = await resolveStack(client, runOptions.stack ?? (process.env.STACKYARD_STACK || undefined));
      try {
        if (!wait && !orchestrator.submit) {
          throw new UnsupportedStackError(
            `run({ wait: false }) needs an orchestrator that runs steps in other processes; "${orchestrator.name}" of the stack "${stack.name}" runs them in this one`,
          );
        }
        // Bad settings or an unreachable service fail here, naming the setting, before a run is recorded.
        await store.verify();
        await orchestrator.verify();
        return await recordAndRun(client, invocations, { stack: stack.name, store, orchestrator, wait, progress, runOptions });
      } finally {
        await orchestrator.close();
      }
    },
  };

  async function recordAndRun(
    client: StackyardClient,
    invocations: StepInvocation[],
    { stack, store, orchestrator, wait, progress, runOptions }: { stack: string; store: ArtifactStore; orchestrator: Orchestrator; wait: boolean; progress: ProgressListener; runOptions: RunOptions<P> },
  ): Promise<PipelineRunResult> {
    await sweepIncompleteWrites(store);
    const limits = await client.serverLimits();
    const startedAt = performance.now();
    const run = await client.startRun({
      pipeline: name,
      stack,
      name: runOptions.runName,
      steps: invocations.map((invocation) => ({ name: invocation.name, parents: [...invocation.parents] })),
      tags: [...(options.tags ?? []), ...(runOptions.tags ?? [])],
      config: {
        parameters: runOptions.parameters ?? null,
        enableCache: runOptions.enableCache ?? options.enableCache ?? null,
        ...(runOptions.priority !== undefined ? { priority: runOptions.priority } : {}),
      },
      idempotencyKey: runOptions.idempotencyKey ?? randomUUID(),
    });
    progress({ kind: 'run-started', pipeline: name, runName: run.name, stack });
    const materializers = materializerTable(invocations.flatMap((invocation) => invocation.definition.options.materializers ?? []));
    const recorded: RecordedRun = {
      client,
      pipelineName: name,
      run,
      stackName: stack,
      invocations,
      parameters: runOptions.parameters ?? null,
      showsProgress: runOptions.progress !== false,
      store,
      enableCache: runOptions.enableCache,
      pipelineEnableCache: options.enableCache,
      priority: runOptions.priority ?? 0,
      maxOutputsPerReport: limits.maxOutputsPerReport,
      progress,
      materializers,
    };
    const resultOf = (status: RunStatus, steps: Map<string, StepResult>): PipelineRunResult => ({
      id: run.id,
      name: run.name,
      status,
      stack,
      steps: Object.fromEntries(steps),
      async load<T>(stepName: string, output = 'output') {
        const stored: StoredOutput | undefined = steps.get(stepName)?.outputs[output];
        if (!stored) throw new Error(`The run has no output "${output}" of a step "${stepName}"`);
        return (await loadStoredValue(store, stored, materializers)) as T;
      },
    });
    if (!wait) {
      try {
        await orchestrator.submit!(recorded);
      } catch (error) {
        const reason = error instanceof RunSubmissionError ? error.message : `The run could not be submitted: ${(error as Error).message}`;
        await client.finishRun({ runId: run.id, status: 'FAILED', reason }).catch(() => undefined);
        throw error;
      }
      // The queue holds the run now and no process follows it: the server must not fail it for
      // silence while its steps wait there. The run is submitted whatever this answers, so a
      // failure is not the caller's to handle: at worst a run that waits longer than the
      // heartbeat timeout is failed, saying so.
      await client.detachRun(run.id).catch(() => undefined);
      return resultOf(run.status, new Map());
    }
    const runEnded = runEndedController();
    recorded.runEnded = runEnded.signal;
    const stopHeartbeats = startHeartbeats(client, run.id, limits.heartbeatTimeoutSeconds, runEnded);
    const removeSignalHandlers = stopOnSignals(client, run.id);
    let steps: Map<string, StepResult>;
    let endedElsewhere: RunEndedError | null = null;
    try {
      steps = await orchestrator.execute(recorded);
    } catch (error) {
      // Steps abandoned because the run ended elsewhere, or whose report it refused because it
      // had just ended, before a heartbeat said so: the run's end is the answer.
      endedElsewhere = runEnded.signal.aborted ? (runEnded.signal.reason as RunEndedError) : await sendRunHeartbeat(client, run.id);
      if (!endedElsewhere) {
        const reason = error instanceof RunSubmissionError ? error.message : 'The SDK could not record a step';
        await client.finishRun({ runId: run.id, status: 'FAILED', reason }).catch(() => undefined);
        throw error;
      }
      steps = new Map();
    } finally {
      stopHeartbeats();
      removeSignalHandlers();
    }
    // A run that has ended (stopped elsewhere, say) answers as it ended; a deleted one, so.
    const finished = await client.finishRun({ runId: run.id }).catch((error: unknown) => {
      throw endedElsewhere ?? error;
    });
    progress({ kind: 'run-finished', runName: run.name, status: finished.status.toLowerCase(), durationMs: performance.now() - startedAt });
    const result = resultOf(finished.status, steps);
    if (finished.status === 'FAILED') throw new PipelineRunFailedError(result);
    if (finished.status === 'STOPPED') throw new PipelineRunStoppedError(result, finished.statusReason ?? null);
    return result;
  }
}
