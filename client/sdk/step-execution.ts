// Running one step of a recorded run, wherever it runs (the local orchestrator's process or a
// `stackyard worker`): cache lookup, startStep, inputs loaded from the artifact store, the
// step's function, outputs written to the store and reported, finishStep.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { StackyardClient } from '../stackyard-client';
import { StackyardError } from '../stackyard-error';
import type { StartStepMutationVariables, StepOutputInput } from '../generated/graphql';
import { cacheKey, codeHash } from './cache-key';
import { storeHolds, type ArtifactStore } from './artifact-store';
import { loadStoredValue } from './artifact-versions';
import { materializerFor, type Materializer } from './materializers';
import { MetricReporter } from './metric-reporter';
import type { ProgressListener } from './progress';
import { isOutputRef, type StepContext, type StepInvocation, type StepOutcomeInfo } from './step';
import { captureStepOutput, failureText, StepLogWriter } from './step-log';

/** Where one output of a step run is stored. */
export interface StoredOutput {
  artifactVersionId: string;
  version: number;
  uri: string;
  sizeBytes: number | null;
  contentHash: string | null;
  materializer: string | null;
}

export interface StepResult {
  name: string;
  /** `skipped`: never ran, because a step it depends on failed or was skipped. */
  status: 'completed' | 'cached' | 'failed' | 'skipped';
  stepRunId: string | null;
  outputs: Record<string, StoredOutput>;
  error?: string;
}

/** What every step of one run shares, wherever its steps run. */
export interface StepRunSettings {
  client: StackyardClient;
  pipelineName: string;
  run: { id: string; name: string };
  store: ArtifactStore;
  /** Forces caching on or off for every step; otherwise each step's own setting applies. */
  enableCache?: boolean;
  pipelineEnableCache?: boolean;
  maxOutputsPerReport: number;
  progress: ProgressListener;
  /** Materializers by name: the built-in ones and every step's own. */
  materializers: ReadonlyMap<string, Materializer>;
  /**
   * Whether a completed step's result carries its outputs (default true): the local orchestrator
   * hands them to the steps after. A worker's steps after read them from the server, so its
   * results carry them only for a step's onSuccess hook.
   */
  resultsCarryOutputs?: boolean;
  /**
   * Aborts, with a RunEndedError, once the run has ended elsewhere (stopped by a user, failed,
   * deleted): running steps are abandoned and report nothing, and no step starts.
   */
  runEnded?: AbortSignal;
}

/** Where a step runs: the worker process, recorded on its step run. */
export interface StepWorkerIdentity {
  name: string;
  host: string;
  pid: number;
}

/** One try of a step on a worker: which one, where, and what happens when it fails. */
export interface StepAttempt {
  attempt: number;
  worker: StepWorkerIdentity;
  /** When this attempt was enqueued, for the queue wait the server shows; null when not known. */
  queuedAt: Date | null;
  /** Another attempt follows if this one fails: the failure is kept and the run goes on. */
  willRetry: boolean;
  /** The attempt fails with this error once it has run this long. */
  timeout?: { ms: number; message: string };
  /**
   * The step's function may begin while its start is recorded, under a step run id chosen here:
   * only a first attempt (a later one takes over a step run that has its id), of a run the
   * worker has lately heard go on. A refused start aborts it, and nothing of it is kept.
   */
  beginsWhileStarting?: boolean;
  /** Told the step run's id once the server has opened the attempt. */
  onStarted?(stepRunId: string): void;
}

/** What startStep answers. */
type StartedStep = Awaited<ReturnType<StackyardClient['startStep']>>;

/** A step about to start, with what its function is given. */
interface StepOpened {
  invocation: StepInvocation;
  parameters: Record<string, unknown>;
  inputOutputs: Record<string, StoredOutput>;
  attempt: StepAttempt | undefined;
  /** performance.now() when the step's execution began, for its duration. */
  startedAt: number;
}

/** startStep answered a step run other than the one proposed, or one that is not running. */
class StartAnsweredOtherwise extends Error {
  constructor(readonly stepRun: StartedStep) {
    super(`The step has step run ${stepRun.id} already (${stepRun.status})`);
  }
}

/** A new step run's id, as the API gives ids (the type name and a UUID, in base64), for startStep's `id`. */
function newStepRunId(): string {
  return Buffer.from(`StepRun:${randomUUID()}`).toString('base64');
}

/** A step's failure that another attempt will retry; the step run stays running on the server. */
export class StepAttemptFailedError extends Error {
  override readonly name = 'StepAttemptFailedError';
}

/** What a step threw, in words: an Error's message, or a thrown value as JSON where String() would say [object Object]. */
export function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message || error.name : thrownValueText(error);
  // The server refuses text holding NUL (its database cannot store it); the failure still counts.
  return message.replaceAll('\u0000', '').trim() || 'The step failed without a message';
}

function thrownValueText(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The part of an output link the SDK reads: what a step run or a report answers. */
interface OutputLink {
  name: string;
  artifactVersion: { id: string; version: number; uri: string; sizeBytes?: number | null; contentHash?: string | null; materializer?: string | null };
}

export function storedOutputs(step: { outputs: readonly OutputLink[] }): Record<string, StoredOutput> {
  return Object.fromEntries(
    step.outputs.map(({ name, artifactVersion }) => [
      name,
      {
        artifactVersionId: artifactVersion.id,
        version: artifactVersion.version,
        uri: artifactVersion.uri,
        sizeBytes: artifactVersion.sizeBytes ?? null,
        contentHash: artifactVersion.contentHash ?? null,
        materializer: artifactVersion.materializer ?? null,
      },
    ]),
  );
}

/** A step run that has ended, as a result. */
export function recordedResult(step: { id: string; name: string; status: string; errorMessage?: string | null; outputs: readonly OutputLink[] }): StepResult {
  const status = step.status === 'COMPLETED' ? 'completed' : step.status === 'CACHED' ? 'cached' : 'failed';
  return {
    name: step.name,
    status,
    stepRunId: step.id,
    outputs: status === 'failed' ? {} : storedOutputs(step),
    ...(status === 'failed' ? { error: step.errorMessage ?? 'The step failed' } : {}),
  };
}

/**
 * The controller of a run's `ended` signal, which aborts when the run ends elsewhere. Every step
 * of the run that is running listens to it, as many as run at once; Node's default of 10
 * listeners would warn (MaxListenersExceededWarning) on a wide fan-out that leaks nothing.
 */
export function runEndedController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/**
 * Rejects with the timeout's message once it passes, or with the reason of the first of `stops`
 * to abort (the run's end, a refused start). JavaScript cannot stop the step's function, so the
 * work gets a signal that aborts then (the step sees it as context.signal), and must check it
 * before reporting anything. One listener per signal, removed after: the run's signal outlives
 * many steps (AbortSignal.any keeps its dependants on it).
 */
function withinLimits<T>(work: (signal: AbortSignal) => Promise<T>, timeout: StepAttempt['timeout'], stops: readonly (AbortSignal | undefined)[]): Promise<T> {
  const signals = stops.filter((signal): signal is AbortSignal => signal !== undefined);
  // A step stopped before it began does not begin.
  const stopped = signals.find((signal) => signal.aborted);
  if (stopped) return Promise.reject(stopped.reason);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const listeners: [AbortSignal, () => void][] = [];
  const cut = new Promise<never>((_resolve, reject) => {
    const abort = (reason: unknown) => {
      controller.abort(reason);
      reject(reason);
    };
    if (timeout) timer = setTimeout(() => abort(new Error(timeout.message)), timeout.ms);
    for (const signal of signals) {
      const listener = () => abort(signal.reason);
      signal.addEventListener('abort', listener, { once: true });
      listeners.push([signal, listener]);
    }
  });
  return Promise.race([work(controller.signal), cut]).finally(() => {
    clearTimeout(timer);
    for (const [signal, listener] of listeners) signal.removeEventListener('abort', listener);
  });
}

export class StepExecutor {
  constructor(readonly settings: StepRunSettings) {}

  /** Loads a stored output back through the materializer that wrote it, checking its size and hash. */
  async load(output: StoredOutput): Promise<unknown> {
    return loadStoredValue(this.settings.store, output, this.settings.materializers);
  }

  /**
   * Runs the step after its parents; answers its result. A failure on an attempt that will be
   * retried rejects with StepAttemptFailedError after the server has kept its error.
   */
  async execute(invocation: StepInvocation, parentResults: readonly StepResult[], attempt?: StepAttempt): Promise<StepResult> {
    const { client, run, store, progress, runEnded } = this.settings;
    runEnded?.throwIfAborted();
    const blocked = parentResults.find((parent) => parent.status === 'failed' || parent.status === 'skipped');
    if (blocked) {
      progress({ kind: 'step-skipped', step: invocation.name, reason: `step ${blocked.name} ${blocked.status === 'failed' ? 'failed' : 'was skipped'}` });
      return { name: invocation.name, status: 'skipped', stepRunId: null, outputs: {} };
    }
    const startedAt = performance.now();
    const byName = new Map(parentResults.map((parent) => [parent.name, parent]));
    const parameters: Record<string, unknown> = {};
    const inputOutputs: Record<string, StoredOutput> = {};
    for (const [name, value] of Object.entries(invocation.inputs)) {
      if (!isOutputRef(value)) {
        parameters[name] = value;
        continue;
      }
      const stored = byName.get(value.step)?.outputs[value.output];
      if (!stored) throw new Error(`Step "${value.step}" produced no output "${value.output}" for "${invocation.name}"`);
      inputOutputs[name] = stored;
    }
    const inputs = Object.entries(inputOutputs).map(([name, stored]) => ({ name, artifactVersionId: stored.artifactVersionId }));
    const code = codeHash(invocation.definition);
    const key = cacheKey({
      codeHash: code,
      parameters,
      inputs: Object.fromEntries(inputs.map((input) => [input.name, input.artifactVersionId])),
      definition: invocation.definition,
      artifactStore: { id: store.id, path: store.path },
    });
    const stepStart: StartStepMutationVariables = {
      runId: run.id,
      name: invocation.name,
      parents: [...invocation.parents],
      inputs,
      parameters,
      cacheKey: key,
      codeHash: code,
      ...(attempt ? { attempt: attempt.attempt, worker: attempt.worker, queuedAt: attempt.queuedAt?.toISOString() ?? null } : {}),
    };
    const attemptFields = attempt ? { attempt: attempt.attempt } : {};

    let openedForCache = false;
    if (this.cacheEnabled(invocation)) {
      const original = await this.reusableStepRun(key, invocation);
      if (original) {
        openedForCache = true;
        const stepRun = await client.startStep(stepStart);
        attempt?.onStarted?.(stepRun.id);
        const cached = await client.finishStep({ stepRunId: stepRun.id, status: 'CACHED', originalStepRunId: original.id, ...attemptFields }).catch((error: unknown) => {
          // The original's run was deleted since it was found: a cache miss after all, and the
          // step, opened already, runs below.
          if (error instanceof StackyardError && error.type === 'NotFoundError' && error.field === 'originalStepRunId') return null;
          throw error;
        });
        if (cached) {
          progress({ kind: 'step-cached', step: invocation.name, durationMs: performance.now() - startedAt, originalRunName: original.run.name });
          return { name: invocation.name, status: 'cached', stepRunId: cached.id, outputs: storedOutputs({ outputs: cached.outputs ?? [] }) };
        }
      }
    }

    // The server records where the log goes as it opens the step, before the step prints anything.
    // A worker's first attempt at a step of a run it knows goes on begins while its start is
    // recorded, under a step run id it chose (as Prefect's client-side task runs do): with many
    // steps ending together the start's round trip is much of a short step's overhead, and it
    // then overlaps the step. Nothing of the step is stored or reported before its start is
    // recorded, and a refused start aborts it. The local orchestrator's steps print to the
    // user's terminal in order: those start first.
    const proposedId = attempt?.beginsWhileStarting && !openedForCache ? newStepRunId() : undefined;
    const starting = client.startStep({ ...stepStart, logsFolder: store.logsUri(), ...(proposedId ? { id: proposedId } : {}) });
    const opened: StepOpened = { invocation, parameters, inputOutputs, attempt, startedAt };
    if (proposedId) {
      const started = starting.then((stepRun) => {
        if (stepRun.id !== proposedId || stepRun.status !== 'RUNNING') throw new StartAnsweredOtherwise(stepRun);
        return stepRun;
      });
      try {
        return await this.runStep(opened, proposedId, started);
      } catch (error) {
        if (!(error instanceof StartAnsweredOtherwise)) throw error;
        // The step has a step run already (its job was delivered twice): as a later attempt does.
        return this.runStartedStep(opened, error.stepRun);
      }
    }
    return this.runStartedStep(opened, await starting);
  }

  /** Runs a step whose start the server has answered; a repeated start of a step that has ended (its job delivered again) answers what it recorded. */
  private async runStartedStep(opened: StepOpened, stepRun: StartedStep): Promise<StepResult> {
    if (stepRun.status !== 'RUNNING') {
      const recorded = (await this.settings.client.getRun(this.settings.run.id))?.steps.find((step) => step.id === stepRun.id);
      return recordedResult(recorded ?? { ...stepRun, outputs: [] });
    }
    return this.runStep(opened, stepRun.id, Promise.resolve(stepRun));
  }

  /**
   * The step's function, its outputs stored and its end reported, as step run `stepRunId`, once
   * `started` says the server has opened it: the function may begin before, and is aborted
   * with started's reason if it rejects.
   */
  private async runStep(opened: StepOpened, stepRunId: string, started: Promise<StartedStep>): Promise<StepResult> {
    const { client, run, progress, runEnded } = this.settings;
    const { invocation, parameters, inputOutputs, attempt, startedAt } = opened;
    const attemptFields = attempt ? { attempt: attempt.attempt } : {};
    const refused = new AbortController();
    started
      .then(
        (stepRun) => {
          attempt?.onStarted?.(stepRun.id);
          progress({ kind: 'step-started', step: invocation.name });
        },
        (reason: unknown) => refused.abort(reason),
      )
      // A listener that throws fails the step, as it did when called before the step began.
      .catch((error: unknown) => refused.abort(error));
    const log = await this.openStepLog(started, attempt?.attempt ?? 1);
    let outputs: Record<string, StoredOutput>;
    const metrics = new MetricReporter(client, run.id, stepRunId, { started });
    try {
      const loaded: Record<string, unknown> = { ...parameters };
      for (const [name, stored] of Object.entries(inputOutputs)) loaded[name] = await this.load(stored);
      // Outputs are stored inside the limits too: a late or abandoned step must not report anything.
      const { reported, last } = await withinLimits(
        async (signal) => {
          const context: StepContext = {
            pipelineName: this.settings.pipelineName,
            runId: run.id,
            runName: run.name,
            stepName: invocation.name,
            stepRunId,
            attempt: attempt?.attempt ?? 1,
            signal,
            logMetadata: async (metadata) => {
              await started;
              await client.logMetadata(stepRunId, metadata);
            },
            logMetric: (name, value, options) => metrics.log(name, value, options),
          };
          const returned = await captureStepOutput(log, () => invocation.definition.run(loaded, context));
          await metrics.close();
          await started;
          return this.storeOutputs(invocation, stepRunId, returned, signal);
        },
        attempt?.timeout,
        [runEnded, refused.signal],
      );
      // The log is whole before the step ends: who follows it stops at the end of the step.
      await log.close();
      // The last outputs go with the step's end: one request.
      const withOutputs = (this.settings.resultsCarryOutputs ?? true) || invocation.definition.options.onSuccess !== undefined;
      const finished = await client.finishStep({ stepRunId, status: 'COMPLETED', ...attemptFields, ...(last.length > 0 ? { outputs: last } : {}), withOutputs });
      outputs = { ...reported, ...storedOutputs({ outputs: finished.outputs ?? [] }) };
    } catch (error) {
      // A failure before the server answered the start is reported once it has opened the step.
      await started.catch(() => undefined);
      if (refused.signal.aborted) {
        // The server did not open this step run: nothing of it is kept.
        metrics.discard();
        log.discard();
        throw refused.signal.reason;
      }
      // What the step logged before it failed still tells why it failed.
      await metrics.close().catch(() => undefined);
      if (runEnded?.aborted) {
        // The server ended the step with its run: nothing more is reported.
        log.append('error', `The step was abandoned: ${errorMessage(runEnded.reason)}`);
        await log.close().catch(() => undefined);
        throw runEnded.reason;
      }
      const message = errorMessage(error);
      log.append('error', failureText(error));
      await log.close();
      const willRetry = attempt?.willRetry ?? false;
      await client.finishStep({ stepRunId, status: 'FAILED', errorMessage: message, ...attemptFields, ...(willRetry ? { willRetry } : {}), withOutputs: false });
      progress({ kind: 'step-failed', step: invocation.name, durationMs: performance.now() - startedAt, message });
      if (willRetry) throw new StepAttemptFailedError(message, { cause: error });
      const outcome: StepResult = { name: invocation.name, status: 'failed', stepRunId, outputs: {}, error: message };
      await invocation.definition.options.onFailure?.({ stepName: invocation.name, stepRunId, status: 'failed', outputs: {}, error: error instanceof Error ? error : new Error(message) });
      return outcome;
    }
    progress({ kind: 'step-completed', step: invocation.name, durationMs: performance.now() - startedAt });
    await invocation.definition.options.onSuccess?.(this.outcomeInfo(invocation.name, stepRunId, 'completed', outputs));
    return { name: invocation.name, status: 'completed', stepRunId, outputs };
  }

  /** The step run's log in the store; a later attempt adds to it after a line saying which attempt starts. */
  private async openStepLog(started: Promise<StartedStep>, attempt: number): Promise<StepLogWriter> {
    if (attempt === 1) return new StepLogWriter(this.settings.store, started.then((stepRun) => stepRun.logUri!));
    const log = await StepLogWriter.resume(this.settings.store, (await started).logUri!);
    log.append('info', `Attempt ${attempt} starts`);
    return log;
  }

  private cacheEnabled(invocation: StepInvocation): boolean {
    return this.settings.enableCache ?? invocation.definition.options.enableCache ?? this.settings.pipelineEnableCache ?? true;
  }

  /** The completed step run with this key, if every output it stored is still in the store. */
  private async reusableStepRun(key: string, invocation: StepInvocation) {
    const original = await this.settings.client.cachedStepRun(key);
    if (!original) return null;
    const outputs = storedOutputs(original);
    for (const name of invocation.definition.outputNames) {
      const stored = outputs[name];
      // A single-output step that returned nothing has no stored output to check.
      if (!stored && !invocation.definition.multipleOutputs) continue;
      if (!stored || !(await storeHolds(this.settings.store, stored.uri, stored.sizeBytes))) return null;
    }
    return original;
  }

  private async storeOutputs(invocation: StepInvocation, stepRunId: string, returned: unknown, signal: AbortSignal): Promise<{ reported: Record<string, StoredOutput>; last: StepOutputInput[] }> {
    signal.throwIfAborted();
    const { definition } = invocation;
    let values: [string, unknown][];
    if (!definition.multipleOutputs) {
      values = returned === undefined ? [] : [['output', returned]];
    } else {
      if (typeof returned !== 'object' || returned === null) {
        throw new Error(`The step returned ${String(returned)}; it declares outputs ${definition.outputNames.join(', ')} and must return an object of them`);
      }
      const missing = definition.outputNames.filter((name) => !(name in returned));
      if (missing.length > 0) throw new Error(`The step did not return its outputs ${missing.join(', ')}`);
      values = definition.outputNames.map((name) => [name, (returned as Record<string, unknown>)[name]]);
    }
    const reports: StepOutputInput[] = [];
    for (const [name, value] of values) {
      const materializer = materializerFor(value, definition.options.materializers ?? [], `Output "${name}" of step "${invocation.name}"`);
      const data = await materializer.save(value);
      const stored = await this.settings.store.write(this.settings.store.outputUri(invocation.name, name, stepRunId, materializer.fileName), data);
      const artifact = definition.options.artifacts?.[name] ?? {};
      reports.push({
        name,
        uri: stored.uri,
        sizeBytes: stored.sizeBytes,
        contentHash: stored.contentHash,
        materializer: materializer.name,
        dataType: materializer.dataType(value),
        metadata: materializer.metadata?.(value) ?? {},
        ...(artifact.name ? { artifactName: artifact.name } : {}),
        ...(artifact.type ? { type: artifact.type } : {}),
        ...(artifact.tags ? { tags: artifact.tags } : {}),
      });
    }
    // A step that ran past its timeout has been failed (and maybe retried): it reports nothing.
    signal.throwIfAborted();
    // Reported in batches the server takes, all but the last, which finishStep brings.
    const batch = this.settings.maxOutputsPerReport;
    const lastStart = reports.length === 0 ? 0 : Math.floor((reports.length - 1) / batch) * batch;
    const reported: Record<string, StoredOutput> = {};
    for (let start = 0; start < lastStart; start += batch) {
      Object.assign(reported, storedOutputs({ outputs: await this.settings.client.reportStepOutputs(stepRunId, reports.slice(start, start + batch)) }));
    }
    return { reported, last: reports.slice(lastStart) };
  }

  private outcomeInfo(stepName: string, stepRunId: string, status: StepOutcomeInfo['status'], outputs: Record<string, StoredOutput>): StepOutcomeInfo {
    return {
      stepName,
      stepRunId,
      status,
      outputs: Object.fromEntries(Object.entries(outputs).map(([name, stored]) => [name, { uri: stored.uri, artifactVersionId: stored.artifactVersionId, version: stored.version }])),
    };
  }
}
