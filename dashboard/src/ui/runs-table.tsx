import { useState } from 'react';
import { Link } from 'react-router';
import type { RunRow } from '../api/run-cache';
import { comparePath, runPath } from '../paths';
import { MAX_COMPARED_RUNS, MIN_COMPARED_RUNS } from './compare-limits';
import './metric-views.css';
import { formatDateTime, formatDuration, formatRelative } from './format';
import { ScrollingTable } from './scrolling-table';
import { StatusBadge } from './status-badge';

export function RunLink({ run }: { run: Pick<RunRow, 'id' | 'name'> }) {
  return <Link to={runPath(run.id)}>{run.name}</Link>;
}

export function RunTime({ iso }: { iso: string }) {
  return (
    <time dateTime={iso} title={formatDateTime(iso)}>
      {formatRelative(iso)}
    </time>
  );
}

export function RunsTable({ runs, label }: { runs: readonly RunRow[]; label: string }) {
  // Selected run ids in the order they were ticked: the comparison lists them so.
  const [selected, setSelected] = useState<string[]>([]);
  const toggle = (id: string) => setSelected((current) => (current.includes(id) ? current.filter((item) => item !== id) : [...current, id]));
  const full = selected.length >= MAX_COMPARED_RUNS;
  return (
    <>
      <div className="compare-bar" aria-live="polite">
        {selected.length >= MIN_COMPARED_RUNS ? (
          <Link className="button" to={comparePath(selected)}>
            Compare {selected.length} runs
          </Link>
        ) : (
          <span className="muted">Tick {MIN_COMPARED_RUNS} to {MAX_COMPARED_RUNS} runs to compare them.</span>
        )}
        {selected.length > 0 && (
          <button type="button" className="secondary" onClick={() => setSelected([])}>
            Clear selection
          </button>
        )}
      </div>
      <ScrollingTable label={label} columns={['Compare', 'Run', 'Pipeline', 'Status', 'Started', 'Duration', 'Tags']}>
        {runs.map((run) => (
          <tr key={run.id}>
            <td>
              <input
                type="checkbox"
                aria-label={`Compare ${run.name}`}
                checked={selected.includes(run.id)}
                disabled={full && !selected.includes(run.id)}
                onChange={() => toggle(run.id)}
              />
            </td>
            <th scope="row">
              <RunLink run={run} />
            </th>
            <td>{run.pipeline.name}</td>
            <td>
              <StatusBadge status={run.status} />
            </td>
            <td>
              <RunTime iso={run.startedAt} />
            </td>
            <td>{formatDuration(run.durationMs)}</td>
            <td>{run.tags.join(', ')}</td>
          </tr>
        ))}
      </ScrollingTable>
    </>
  );
}
