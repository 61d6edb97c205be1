// The local orchestrator: runs a pipeline's steps in this process, each after its parents
// and independent ones concurrently. Every output goes to the artifact store and every
// input comes back from it, so a step never sees another step's value in memory.
import type { Orchestrator, RecordedRun } from './orchestrator';
import { StepExecutor, type StepResult } from './step-execution';

export class LocalOrchestrator implements Orchestrator {
  constructor(readonly name: string) {}

  async verify(): Promise<void> {
    // Nothing to reach: the steps run here.
  }

  /** Runs every step; answers each step's result. Rejects only when the server cannot record them. */
  async execute(run: RecordedRun): Promise<Map<string, StepResult>> {
    const executor = new StepExecutor(run);
    const results = new Map<string, Promise<StepResult>>();
    // Definitions list a step after the steps it takes outputs from, so parents are always registered first.
    for (const invocation of run.invocations) {
      const parents = invocation.parents.map((parent) => results.get(parent)!);
      results.set(
        invocation.name,
        Promise.all(parents).then((parentResults) => executor.execute(invocation, parentResults)),
      );
    }
    const settled = await Promise.allSettled(results.values());
    const failure = settled.find((item): item is PromiseRejectedResult => item.status === 'rejected');
    if (failure) throw failure.reason;
    return new Map(settled.map((item) => [(item as PromiseFulfilledResult<StepResult>).value.name, (item as PromiseFulfilledResult<StepResult>).value]));
  }

  async close(): Promise<void> {}
}
