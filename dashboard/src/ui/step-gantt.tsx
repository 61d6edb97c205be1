// A run's steps on one time axis: for each attempt of each step, the time it waited in the queue
// (a light bar) and then the time it ran (a bar in its status colour). The bar of a step that is
// still running grows with the clock.
import type { StepAttemptFieldsFragment, StepRunFieldsFragment } from '../../../client/generated/graphql';
import { formatDuration, statusLabel } from './format';
import { stepAnchor } from './step-graph';
import { useNow } from './use-now';
import './step-views.css';

type Attempt = StepAttemptFieldsFragment['attempts'][number];
export type GanttStep = Pick<StepRunFieldsFragment, 'name' | 'status'> & StepAttemptFieldsFragment;

interface Bar {
  kind: 'queue' | 'run';
  attempt: Attempt;
  from: number;
  to: number;
}

/** An attempt's queue wait and run, in epoch milliseconds; a running attempt runs until now. */
function barsOf(attempt: Attempt, now: number): Bar[] {
  const started = Date.parse(attempt.startedAt);
  const ended = attempt.endedAt ? Date.parse(attempt.endedAt) : attempt.status === 'RUNNING' ? Math.max(now, started) : started;
  const bars: Bar[] = [];
  if (attempt.queuedAt) bars.push({ kind: 'queue', attempt, from: Math.min(Date.parse(attempt.queuedAt), started), to: started });
  bars.push({ kind: 'run', attempt, from: started, to: ended });
  return bars;
}

function describe(bar: Bar): string {
  const where = bar.attempt.worker ? ` on ${bar.attempt.worker.name}` : '';
  return bar.kind === 'queue'
    ? `attempt ${bar.attempt.attempt} queued ${formatDuration(bar.to - bar.from)}`
    : `attempt ${bar.attempt.attempt} ${statusLabel(bar.attempt.status).toLowerCase()}${where}, ${formatDuration(bar.to - bar.from)}`;
}

export function StepGantt({ steps, label }: { steps: readonly GanttStep[]; label: string }) {
  const running = steps.some((step) => step.status === 'RUNNING');
  const now = useNow(running);
  const rows = steps.map((step) => ({ step, bars: step.attempts.flatMap((attempt) => barsOf(attempt, now)) }));
  const all = rows.flatMap((row) => row.bars);
  if (all.length === 0) return null;
  const start = Math.min(...all.map((bar) => bar.from));
  const span = Math.max(1, Math.max(...all.map((bar) => bar.to)) - start);
  const percent = (time: number) => `${((time - start) / span) * 100}%`;
  return (
    <figure className="gantt" aria-label={label}>
      <ol className="gantt-rows">
        {rows.map(({ step, bars }) => (
          <li key={step.name} className="gantt-row" aria-label={`${step.name}: ${bars.map(describe).join('; ')}`}>
            <a className="gantt-name" href={`#${stepAnchor(step.name)}`} title={step.name}>
              {step.name}
            </a>
            <div className="gantt-track">
              {bars.map((bar) => (
                <span
                  key={`${bar.attempt.attempt}-${bar.kind}`}
                  className={`gantt-bar gantt-${bar.kind}${bar.kind === 'run' ? ` gantt-${bar.attempt.status.toLowerCase()}` : ''}`}
                  data-attempt={bar.attempt.attempt}
                  data-kind={bar.kind}
                  style={{ left: percent(bar.from), width: `${((bar.to - bar.from) / span) * 100}%` }}
                  title={`${step.name}: ${describe(bar)}`}
                />
              ))}
            </div>
          </li>
        ))}
      </ol>
      <figcaption className="gantt-axis">
        <span>0s</span>
        <span>
          <span className="gantt-key gantt-queue" /> queued <span className="gantt-key gantt-running" /> ran
        </span>
        <span>{formatDuration(span)}</span>
      </figcaption>
    </figure>
  );
}
