// How long a pipeline's runs took, oldest to newest, as a line of points coloured by status; the
// same numbers as a table for screen readers and for anyone who wants them exact.
import type { RunStatsFieldsFragment, RunStatus } from '../../../client/generated/graphql';
import { formatDuration, statusLabel } from './format';
import { ScrollingTable } from './scrolling-table';

export interface DurationPoint {
  id: string;
  name: string;
  status: RunStatus;
  startedAt: string;
  durationMs?: number | null;
}

/** Finished runs that succeeded (completed or cached) out of all finished runs; null before any finished. */
export function successRate(byStatus: RunStatsFieldsFragment['byStatus']): number | null {
  const count = (status: RunStatus) => byStatus.find((entry) => entry.status === status)?.count ?? 0;
  const succeeded = count('COMPLETED') + count('CACHED');
  const finished = succeeded + count('FAILED') + count('STOPPED');
  return finished === 0 ? null : succeeded / finished;
}

export function formatRate(rate: number | null): string {
  return rate === null ? '-' : `${Math.round(rate * 100)}%`;
}

const WIDTH = 640;
const HEIGHT = 160;
const TOP = 14;
const BOTTOM = 22;
const LEFT = 56;
const RIGHT = 10;

export function DurationTrendChart({ runs, title }: { runs: readonly DurationPoint[]; title: string }) {
  // Oldest first, finished runs only: a run still going has no duration yet.
  const points = runs.filter((run) => run.durationMs != null).sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
  if (points.length === 0) return <p className="muted">No finished runs to chart yet.</p>;
  const max = Math.max(1, ...points.map((run) => run.durationMs!));
  const x = (index: number) => LEFT + (points.length === 1 ? (WIDTH - LEFT - RIGHT) / 2 : (index * (WIDTH - LEFT - RIGHT)) / (points.length - 1));
  const y = (ms: number) => HEIGHT - BOTTOM - (ms / max) * (HEIGHT - TOP - BOTTOM);
  const line = points.map((run, index) => `${index === 0 ? 'M' : 'L'} ${x(index)} ${y(run.durationMs!)}`).join(' ');
  const summary = `${title}: ${points.length} finished runs, from ${formatDuration(points[0].durationMs)} to ${formatDuration(points[points.length - 1].durationMs)}, longest ${formatDuration(max)}`;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={summary} preserveAspectRatio="xMinYMin meet">
        <line x1={LEFT} x2={WIDTH - RIGHT} y1={HEIGHT - BOTTOM} y2={HEIGHT - BOTTOM} className="axis" />
        <text x={LEFT - 4} y={TOP + 4} className="axis-label" textAnchor="end">
          {formatDuration(max)}
        </text>
        <text x={LEFT - 4} y={HEIGHT - BOTTOM} className="axis-label" textAnchor="end">
          0
        </text>
        <path d={line} className="trend-line" />
        {points.map((run, index) => (
          <circle key={run.id} cx={x(index)} cy={y(run.durationMs!)} r={4} className={`trend-point bar-${run.status.toLowerCase()}`}>
            <title>{`${run.name}: ${formatDuration(run.durationMs)}, ${statusLabel(run.status).toLowerCase()}`}</title>
          </circle>
        ))}
      </svg>
      <figcaption>{title}</figcaption>
      <details>
        <summary>Durations as a table</summary>
        <ScrollingTable label="Run durations" columns={['Run', 'Started', 'Status', 'Duration']}>
          {points.map((run) => (
            <tr key={run.id}>
              <th scope="row">{run.name}</th>
              <td>{new Date(run.startedAt).toLocaleString()}</td>
              <td>{statusLabel(run.status)}</td>
              <td>{formatDuration(run.durationMs)}</td>
            </tr>
          ))}
        </ScrollingTable>
      </details>
    </figure>
  );
}
