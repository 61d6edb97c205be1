// What to call a step the run expects but that has no step run, for the CLI and the dashboard
// alike: it is `PENDING` while the run can still start it, and `SKIPPED` once the run has ended
// without it (a step it waits for failed, or the run stopped). The SDK calls the same step
// `skipped` in its results, as Dagster and ZenML do.
import type { RunStatus } from './generated/graphql';

export type UnstartedStepStatus = 'PENDING' | 'SKIPPED';

export function unstartedStepStatus(runStatus: RunStatus): UnstartedStepStatus {
  return runStatus === 'INITIALIZING' || runStatus === 'RUNNING' ? 'PENDING' : 'SKIPPED';
}
