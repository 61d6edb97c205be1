// How a run's status follows from its steps (../shared/domain.md, "Pipelines, runs, steps").
import type { ExpectedStep, RunStatus, StepStatus } from './run-tables';

export const FINISHED_RUN_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cached', 'stopped'];

export function isFinished(status: RunStatus): boolean {
  return FINISHED_RUN_STATUSES.includes(status);
}

/**
 * Any step failed → failed; any stopped → stopped; every expected step completed or cached →
 * completed (cached when all were cached); no step yet → initializing; otherwise running.
 */
export function deriveRunStatus(expected: ExpectedStep[], steps: { name: string; status: StepStatus }[]): RunStatus {
  if (steps.some((step) => step.status === 'failed')) return 'failed';
  if (steps.some((step) => step.status === 'stopped')) return 'stopped';
  if (steps.length === 0) return 'initializing';
  const byName = new Map(steps.map((step) => [step.name, step.status]));
  const done = (status?: StepStatus) => status === 'completed' || status === 'cached';
  if (expected.length > 0 && expected.every((step) => done(byName.get(step.name)))) {
    return expected.every((step) => byName.get(step.name) === 'cached') ? 'cached' : 'completed';
  }
  return 'running';
}

/** Expected steps that have not finished successfully. */
export function unfinishedSteps(expected: ExpectedStep[], steps: { name: string; status: StepStatus }[]): string[] {
  const byName = new Map(steps.map((step) => [step.name, step.status]));
  return expected
    .map((step) => step.name)
    .filter((name) => byName.get(name) !== 'completed' && byName.get(name) !== 'cached');
}
