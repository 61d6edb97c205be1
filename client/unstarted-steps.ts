// What to call a step the run expects but that has no step run, for the CLI and the dashboard
// alike: `SKIPPED` once it can no longer start (the run has ended, or a step it waits for, directly
// or through others, failed or stopped), and `PENDING` while it can. A failed run goes on with the
// steps that do not depend on the failure, so these stay pending until they run. The SDK calls
// the skipped ones `skipped` in its results, as Dagster and ZenML do.
import type { StepStatus } from './generated/graphql';

export type UnstartedStepStatus = 'PENDING' | 'SKIPPED';

interface RunSteps {
  endedAt?: string | null;
  expectedSteps: readonly { name: string; parents: readonly string[] }[];
  steps: readonly { name: string; status: StepStatus }[];
}

/** The status of each expected step that has not started, by name. */
export function unstartedStepStatuses(run: RunSteps): Map<string, UnstartedStepStatus> {
  const started = new Map(run.steps.map((step) => [step.name, step.status]));
  const parentsOf = new Map(run.expectedSteps.map((step) => [step.name, step.parents]));
  // Whether a step that has not started is blocked: a parent failed or stopped, or is blocked
  // itself (the server never starts a step whose parent failed). Depth-first without recursion:
  // a chain of thousands of steps, listed in any order, must not overflow the stack.
  const blocked = new Map<string, boolean>();
  const parentBlocks = (parent: string) => {
    const status = started.get(parent);
    return status === undefined ? blocked.get(parent) : status === 'FAILED' || status === 'STOPPED';
  };
  for (const { name } of run.expectedSteps) {
    const pending = [name];
    while (pending.length > 0) {
      const current = pending[pending.length - 1];
      if (started.has(current) || blocked.has(current)) {
        pending.pop();
        continue;
      }
      const parents = parentsOf.get(current) ?? [];
      const unknown = parents.filter((parent) => !started.has(parent) && !blocked.has(parent) && parentsOf.has(parent));
      if (unknown.length > 0) {
        pending.push(...unknown);
        continue;
      }
      blocked.set(current, parents.some((parent) => parentBlocks(parent) === true));
      pending.pop();
    }
  }
  return new Map(
    run.expectedSteps
      .filter((step) => !started.has(step.name))
      .map((step) => [step.name, run.endedAt || blocked.get(step.name) ? 'SKIPPED' : 'PENDING']),
  );
}
