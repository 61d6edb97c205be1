import { Link } from 'react-router';
import type { RunRow } from '../api/run-cache';
import { runPath } from '../paths';
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
  return (
    <ScrollingTable label={label} columns={['Run', 'Pipeline', 'Status', 'Started', 'Duration', 'Tags']}>
      {runs.map((run) => (
        <tr key={run.id}>
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
  );
}
