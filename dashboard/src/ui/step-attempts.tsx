// Where a step ran and how it got there: the worker, the attempt and the queue wait of its
// current attempt, and every attempt with its error when there was more than one.
import type { StepAttemptFieldsFragment, StepRunFieldsFragment } from '../../../client/generated/graphql';
import { formatDuration } from './format';
import { ScrollingTable } from './scrolling-table';
import { StatusBadge } from './status-badge';

type Step = StepRunFieldsFragment & StepAttemptFieldsFragment;

export function workerLabel(worker: { name: string; host: string; pid: number }): string {
  return `${worker.name} (${worker.host}, pid ${worker.pid})`;
}

function attemptDuration(attempt: Step['attempts'][number]): number | null {
  return attempt.endedAt ? Math.max(0, Date.parse(attempt.endedAt) - Date.parse(attempt.startedAt)) : null;
}

export function StepAttempts({ step }: { step: Step }) {
  const remote = step.worker != null || step.attempt > 1 || step.queuedAt != null;
  if (!remote) return null;
  return (
    <>
      <dl className="facts" aria-label={`Where ${step.name} ran`}>
        <div>
          <dt>Worker</dt>
          <dd>{step.worker ? workerLabel(step.worker) : '-'}</dd>
        </div>
        <div>
          <dt>Attempt</dt>
          <dd>{step.attempt}</dd>
        </div>
        <div>
          <dt>Queue wait</dt>
          <dd>{formatDuration(step.queueWaitMs)}</dd>
        </div>
      </dl>
      {step.attempts.length > 1 && (
        <ScrollingTable label={`Attempts of ${step.name}`} columns={['Attempt', 'Status', 'Worker', 'Queue wait', 'Duration', 'Error']}>
          {step.attempts.map((attempt) => (
            <tr key={attempt.attempt}>
              <th scope="row">{attempt.attempt}</th>
              <td>
                <StatusBadge status={attempt.status} />
              </td>
              <td>{attempt.worker ? workerLabel(attempt.worker) : '-'}</td>
              <td>{formatDuration(attempt.queueWaitMs)}</td>
              <td>{formatDuration(attemptDuration(attempt))}</td>
              <td className={attempt.errorMessage ? 'state-error' : 'muted'}>
                {attempt.errorMessage ?? (attempt.status === 'LOST' ? 'The worker stopped answering; another attempt took the step over' : '-')}
              </td>
            </tr>
          ))}
        </ScrollingTable>
      )}
    </>
  );
}
