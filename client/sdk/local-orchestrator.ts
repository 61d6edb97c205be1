// The local orchestrator: runs a pipeline's steps in this process, each after its parents
// and independent ones concurrently. Every output goes to the artifact store and every
// input comes back from it, so a step never sees another step's value in memory.
import { performance } from 'node:perf_hooks';
import type { StackyardClient } from '../stackyard-client';
import type { StepFinishStatus, StepOutputInput } from '../generated/graphql';
import { cacheKey, codeHash } from './cache-key';
import { storeHolds, type ArtifactStore } from './artifact-store';
import { loadStoredValue, materializerTable } from './artifact-versions';
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

export interface LocalRunSettings {
  client: StackyardClient;
  pipelineName: string;
  run: { id: string; name: string };
  invocations: readonly StepInvocation[];
  store: ArtifactStore;
  /** Forces caching on or off for every step; otherwise each step's own setting applies. */
  enableCache?: boolean;
  pipelineEnableCache?: boolean;
  maxOutputsPerReport: number;
  progress: ProgressListener;
}

function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message || error.name : String(error);
  // The server refuses text holding NUL (its database cannot store it); the failure still counts.
  return message.replaceAll('\u0000', '').trim() || 'The step failed without a message';
}

/** The part of an output link the SDK reads: what a step run or a report answers. */
interface OutputLink {
  name: string;
  artifactVersion: { id: string; version: number; uri: string; sizeBytes?: number | null; contentHash?: string | null; materializer?: string | null };
}

function storedOutputs(step: { outputs: OutputLink[] }): Record<string, StoredOutput> {
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

export class LocalOrchestrator {
  private readonly materializers: Map<string, Materializer>;

  constructor(private readonly settings: LocalRunSettings) {
    this.materializers = materializerTable(settings.invocations.flatMap((invocation) => invocation.definition.options.materializers ?? []));
  }

  /** Runs every step; answers each step's result. Rejects only when the server cannot record them. */
  async execute(): Promise<Map<string, StepResult>> {
    const results = new Map<string, Promise<StepResult>>();
    // Definitions list a step after the steps it takes outputs from, so parents are always registered first.
    for (const invocation of this.settings.invocations) {
      const parents = invocation.parents.map((parent) => results.get(parent)!);
      results.set(
        invocation.name,
        Promise.all(parents).then((parentResults) => this.executeStep(invocation, parentResults)),
      );
    }
    const settled = await Promise.allSettled(results.values());
    const failure = settled.find((item): item is PromiseRejectedResult => item.status === 'rejected');
    if (failure) throw failure.reason;
    return new Map(settled.map((item) => [(item as PromiseFulfilledResult<StepResult>).value.name, (item as PromiseFulfilledResult<StepResult>).value]));
  }

  /** Loads a stored output back through the materializer that wrote it, checking its size and hash. */
  async load(output: StoredOutput): Promise<unknown> {
    return loadStoredValue(this.settings.store, output, this.materializers);
  }

  private async executeStep(invocation: StepInvocation, parentResults: StepResult[]): Promise<StepResult> {
    const { client, run, store, progress } = this.settings;
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
    const stepStart = { runId: run.id, name: invocation.name, parents: [...invocation.parents], inputs, parameters, cacheKey: key, codeHash: code };

    if (this.cacheEnabled(invocation)) {
      const original = await this.reusableStepRun(key, invocation);
      if (original) {
        const stepRun = await client.startStep(stepStart);
        const cached = await client.finishStep({ stepRunId: stepRun.id, status: 'CACHED', originalStepRunId: original.id });
        progress({ kind: 'step-cached', step: invocation.name, durationMs: performance.now() - startedAt, originalRunName: original.run.name });
        return { name: invocation.name, status: 'cached', stepRunId: cached.id, outputs: storedOutputs(cached) };
      }
    }

    const stepRun = await client.startStep(stepStart);
    progress({ kind: 'step-started', step: invocation.name });
    const log = await this.openStepLog(stepRun.id);
    let outputs: Record<string, StoredOutput>;
    const metrics = new MetricReporter(client, run.id, stepRun.id);
    try {
      const loaded: Record<string, unknown> = { ...parameters };
      for (const [name, stored] of Object.entries(inputOutputs)) loaded[name] = await this.load(stored);
      const context: StepContext = {
        pipelineName: this.settings.pipelineName,
        runId: run.id,
        runName: run.name,
        stepName: invocation.name,
        stepRunId: stepRun.id,
        logMetadata: async (metadata) => {
          await client.logMetadata(stepRun.id, metadata);
        },
        logMetric: (name, value, options) => metrics.log(name, value, options),
      };
      const returned = await captureStepOutput(log, () => invocation.definition.run(loaded, context));
      await metrics.close();
      outputs = await this.storeOutputs(invocation, stepRun.id, returned);
    } catch (error) {
      // What the step logged before it failed still tells why it failed.
      await metrics.close().catch(() => undefined);
      const message = errorMessage(error);
      log.append('error', failureText(error));
      await log.close();
      await this.finish(stepRun.id, 'FAILED', message);
      progress({ kind: 'step-failed', step: invocation.name, durationMs: performance.now() - startedAt, message });
      const outcome: StepResult = { name: invocation.name, status: 'failed', stepRunId: stepRun.id, outputs: {}, error: message };
      await invocation.definition.options.onFailure?.({ stepName: invocation.name, stepRunId: stepRun.id, status: 'failed', outputs: {}, error: error instanceof Error ? error : new Error(message) });
      return outcome;
    }
    await log.close();
    await this.finish(stepRun.id, 'COMPLETED');
    progress({ kind: 'step-completed', step: invocation.name, durationMs: performance.now() - startedAt });
    await invocation.definition.options.onSuccess?.(this.outcomeInfo(invocation.name, stepRun.id, 'completed', outputs));
    return { name: invocation.name, status: 'completed', stepRunId: stepRun.id, outputs };
  }

  /** The step run's log in the store, recorded on the server before the step prints anything. */
  private async openStepLog(stepRunId: string): Promise<StepLogWriter> {
    const uri = this.settings.store.logUri(stepRunId);
    await this.settings.client.attachStepLog(stepRunId, uri);
    return new StepLogWriter(this.settings.store, uri);
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

  private async storeOutputs(invocation: StepInvocation, stepRunId: string, returned: unknown): Promise<Record<string, StoredOutput>> {
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
    const outputs: Record<string, StoredOutput> = {};
    for (let start = 0; start < reports.length; start += this.settings.maxOutputsPerReport) {
      const reported = await this.settings.client.reportStepOutputs(stepRunId, reports.slice(start, start + this.settings.maxOutputsPerReport));
      Object.assign(outputs, storedOutputs({ outputs: reported }));
    }
    return outputs;
  }

  private async finish(stepRunId: string, status: StepFinishStatus, message?: string): Promise<void> {
    await this.settings.client.finishStep({ stepRunId, status, ...(message ? { errorMessage: message } : {}) });
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
