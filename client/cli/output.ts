// How every command answers: tables and messages for people, JSON for scripts (`--json`), and
// failures as one line on stderr.
import Table from 'cli-table3';

/** Writes `value` as indented JSON, without GraphQL's __typename bookkeeping. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (key, item) => (key === '__typename' ? undefined : item), 2) + '\n');
}

/** A table with a header row; `empty` is printed instead when there are no rows. */
export function printTable(head: string[], rows: string[][], empty: string): void {
  if (rows.length === 0) {
    console.log(empty);
    return;
  }
  // No colours: output is often piped, and ANSI codes would end up in files and greps. Lines
  // between rows only where a cell spans lines and rows would otherwise run together.
  const compact = !rows.some((row) => row.some((cell) => cell.includes('\n')));
  const table = new Table({ head, style: { head: [], border: [], compact } });
  table.push(...rows);
  console.log(table.toString());
}

/** `Label:  value` lines, the values aligned. */
export function printFields(fields: [label: string, value: string][]): void {
  const width = Math.max(...fields.map(([label]) => label.length)) + 2;
  for (const [label, value] of fields) console.log(`${`${label}:`.padEnd(width)}${value}`);
}

/** A blank line and a heading between the sections of a `describe`. */
export function printHeading(text: string): void {
  console.log(`\n${text}`);
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** `key=value` pairs, one a line, for a table cell; `-` when there are none. */
export function formatPairs(pairs: Record<string, unknown>): string {
  const entries = Object.entries(pairs);
  if (entries.length === 0) return '-';
  return entries.map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`).join('\n');
}

/** Run counts for a describe: `3 (2 completed, 1 failed), last 2026-11-26 10:15:30`. */
export function formatRunStats(stats: { total: number; lastRunAt?: string | null; byStatus: { status: string; count: number }[] }): string {
  if (stats.total === 0) return 'none';
  const counts = stats.byStatus
    .filter((entry) => entry.count > 0)
    .map((entry) => `${entry.count} ${entry.status.toLowerCase()}`)
    .join(', ');
  return `${stats.total} (${counts}), last ${formatTime(stats.lastRunAt)}`;
}

/** Prints a failure as `Error: message` on stderr and answers the exit code. */
export function reportFailure(error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`Error: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  return 1;
}
