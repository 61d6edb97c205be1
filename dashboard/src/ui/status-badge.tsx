import type { RunStatsFieldsFragment, RunStatus, StepAttemptStatus, StepStatus } from '../../../client/generated/graphql';
import type { UnstartedStepStatus } from '../../../client/unstarted-steps';
import { statusLabel } from './format';

export type ShownStatus = RunStatus | StepStatus | StepAttemptStatus | UnstartedStepStatus;

export function StatusBadge({ status }: { status: ShownStatus }) {
  return <span className={`status status-${status.toLowerCase()}`}>{statusLabel(status)}</span>;
}

/** Runs per status, the statuses that have any. */
export function StatusCounts({ counts, label }: { counts: RunStatsFieldsFragment['byStatus']; label: string }) {
  const shown = counts.filter((entry) => entry.count > 0);
  if (shown.length === 0) return <p className="muted">No runs yet</p>;
  return (
    <ul className="status-counts" aria-label={label}>
      {shown.map((entry) => (
        <li key={entry.status}>
          <StatusBadge status={entry.status} /> <span className="count">{entry.count}</span>
        </li>
      ))}
    </ul>
  );
}
