// The table of runs that `run list` and `pipeline describe` print, one run a row.
import type { RunSummaryFieldsFragment } from '../generated/graphql';
import { formatDuration } from '../format-duration';
import { formatStatus, formatTime, printTable } from './output';

export function printRunTable(runs: readonly RunSummaryFieldsFragment[], empty: string): void {
  printTable(
    ['NAME', 'PIPELINE', 'STACK', 'STATUS', 'STARTED', 'DURATION'],
    runs.map((item) => [
      item.name,
      item.pipeline.name,
      item.stack?.name ?? `${item.stackSnapshot.name} (deleted)`,
      formatStatus(item.status),
      formatTime(item.startedAt),
      formatDuration(item.durationMs),
    ]),
    empty,
  );
}
