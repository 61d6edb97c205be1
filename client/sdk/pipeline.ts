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
import { RunSubmissionError, UnsupportedStackError } from './errors';
import { isJsonValue } from './materializers';
import type { Orchestrator, RecordedRun } from './orchestrator';
import { orchestratorForComponent } from './orchestrators';
import type { StepResult, StoredOutput } from './step-execution';
import { terminalProgress, type ProgressListener } from './progress';
import { Composition, isOutputRef, type StepInvocation } from './step';

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

/** Keeps the run alive on the server while its process is; the server fails silent runs. */
function startHeartbeats(client: StackyardClient, runId: string, timeoutSeconds: number): () => void {
  const intervalMs = Math.max(250, Math.min(30_000, (timeoutSeconds * 1000) / 4));
  const timer = setInterval(() => {
    client.heartbeat(runId).catch(() => {
      // A missed beat is retried at the next tick; the run's reports count as beats too.
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

/** Defines a pipeline: `define` calls steps and passes their outputs to later steps. */
export function pipeline<P = void>(name: string, define: (parameters: P) => void, options: PipelineOptions = {}): Pipeline<P> {
  if (!name.trim()) throw new Error('A pipeline needs a name');
  const compose = (parameters?: P) => Composition.collect(() => define(parameters as P));
  return {
    name,
    compose,
    async run(runOptions: RunOptions<P> = {}) {
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
      config: { parameters: runOptions.parameters ?? null, enableCache: runOptions.enableCache ?? options.enableCache ?? null },
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
      return resultOf(run.status, new Map());
    }
    const stopHeartbeats = startHeartbeats(client, run.id, limits.heartbeatTimeoutSeconds);
    const removeSignalHandlers = stopOnSignals(client, run.id);
    let steps: Map<string, StepResult>;
    try {
      steps = await orchestrator.execute(recorded);
    } catch (error) {
      const reason = error instanceof RunSubmissionError ? error.message : 'The SDK could not record a step';
      await client.finishRun({ runId: run.id, status: 'FAILED', reason }).catch(() => undefined);
      throw error;
    } finally {
      stopHeartbeats();
      removeSignalHandlers();
    }
    const finished = await client.finishRun({ runId: run.id });
    progress({ kind: 'run-finished', runName: run.name, status: finished.status.toLowerCase(), durationMs: performance.now() - startedAt });
    const result = resultOf(finished.status, steps);
    if (finished.status === 'FAILED') throw new PipelineRunFailedError(result);
    return result;
  }
}
