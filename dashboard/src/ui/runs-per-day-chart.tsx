// Runs per day, stacked by status, drawn as SVG bars; the same numbers as a table for
// screen readers and for anyone who wants them exact.
import type { RunStatus } from '../../../client/generated/graphql';
import { RUN_STATUSES, statusLabel } from './format';
import { ScrollingTable } from './scrolling-table';

export interface RunPoint {
  status: RunStatus;
  startedAt: string;
}

interface Day {
  /** yyyy-mm-dd, local time. */
  key: string;
  counts: Map<RunStatus, number>;
  total: number;
}

const DAY_MS = 86_400_000;
/** Bottom of the stack first: the outcomes, then what is still going, failures on top. */
const STACK_ORDER: RunStatus[] = ['COMPLETED', 'CACHED', 'RUNNING', 'INITIALIZING', 'STOPPED', 'FAILED'];

function dayKey(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** One bucket per local day from `from` to `to`, both included. */
export function runsPerDay(runs: readonly RunPoint[], from: Date, to: Date): Day[] {
  const days: Day[] = [];
  const index = new Map<string, Day>();
  const start = new Date(from.getFullYear(), from.getMonth(), from.getDate());
  for (let time = start.getTime(); time <= to.getTime(); time += DAY_MS) {
    // Stepping by 24 h can land on 23:00 across a daylight-saving change; the date is what counts.
    const day: Day = { key: dayKey(new Date(time + DAY_MS / 2)), counts: new Map(), total: 0 };
    if (index.has(day.key)) continue;
    index.set(day.key, day);
    days.push(day);
  }
  for (const run of runs) {
    const day = index.get(dayKey(new Date(run.startedAt)));
    if (!day) continue;
    day.counts.set(run.status, (day.counts.get(run.status) ?? 0) + 1);
    day.total += 1;
  }
  return days;
}

/** The drawing's width; the SVG scales to its box, so a phone shows the same chart smaller. */
const WIDTH = 640;
const MAX_BAR = 28;
const HEIGHT = 160;
const TOP = 16;
const BOTTOM = 22;
const LEFT = 28;

export function RunsPerDayChart({ runs, from, to, title }: { runs: readonly RunPoint[]; from: Date; to: Date; title: string }) {
  const days = runsPerDay(runs, from, to);
  const max = Math.max(1, ...days.map((day) => day.total));
  const scale = (HEIGHT - TOP - BOTTOM) / max;
  const width = WIDTH;
  const slot = (WIDTH - LEFT) / days.length;
  const bar = Math.min(MAX_BAR, slot * 0.7);
  const labelEvery = Math.ceil(days.length / 8);
  const totals = RUN_STATUSES.map((status) => [status, days.reduce((sum, day) => sum + (day.counts.get(status) ?? 0), 0)] as const).filter(([, count]) => count > 0);
  const summary = `${title}: ${runs.length} runs${totals.length ? ` (${totals.map(([status, count]) => `${count} ${statusLabel(status).toLowerCase()}`).join(', ')})` : ''}`;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${HEIGHT}`} role="img" aria-label={summary} preserveAspectRatio="xMinYMin meet">
        <line x1={LEFT} x2={width} y1={HEIGHT - BOTTOM} y2={HEIGHT - BOTTOM} className="axis" />
        <text x={LEFT - 4} y={TOP + 4} className="axis-label" textAnchor="end">
          {max}
        </text>
        <text x={LEFT - 4} y={HEIGHT - BOTTOM} className="axis-label" textAnchor="end">
          0
        </text>
        {days.map((day, i) => {
          const x = LEFT + i * slot + (slot - bar) / 2;
          let y = HEIGHT - BOTTOM;
          return (
            <g key={day.key}>
              <title>{`${day.key}: ${day.total} runs${day.total ? ` (${STACK_ORDER.filter((s) => day.counts.get(s)).map((s) => `${day.counts.get(s)} ${statusLabel(s).toLowerCase()}`).join(', ')})` : ''}`}</title>
              {STACK_ORDER.map((status) => {
                const count = day.counts.get(status) ?? 0;
                if (!count) return null;
                y -= count * scale;
                return <rect key={status} x={x} y={y} width={bar} height={count * scale} className={`bar bar-${status.toLowerCase()}`} />;
              })}
              {i % labelEvery === 0 && (
                <text x={x + bar / 2} y={HEIGHT - 6} className="axis-label" textAnchor="middle">
                  {day.key.slice(5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption>
        {title}
        <ul className="legend" aria-label="Legend">
          {STACK_ORDER.map((status) => (
            <li key={status}>
              <span className={`swatch bar-${status.toLowerCase()}`} aria-hidden="true" /> {statusLabel(status)}
            </li>
          ))}
        </ul>
      </figcaption>
      <details>
        <summary>Runs per day as a table</summary>
        <ScrollingTable label="Runs per day" columns={['Day', ...STACK_ORDER.map(statusLabel), 'Total']}>
          {days
            .filter((day) => day.total > 0)
            .map((day) => (
              <tr key={day.key}>
                <th scope="row">{day.key}</th>
                {STACK_ORDER.map((status) => (
                  <td key={status}>{day.counts.get(status) ?? 0}</td>
                ))}
                <td>{day.total}</td>
              </tr>
            ))}
        </ScrollingTable>
      </details>
    </figure>
  );
}
