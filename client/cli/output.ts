// How every command answers: tables and messages for people, JSON for scripts (`--json`), and
// failures as one line on stderr. Colour and fitting tables to the width only on a terminal:
// piped output goes to files and greps, where ANSI codes and wrapped cells get in the way.
import { stripVTControlCharacters } from 'node:util';
import Table from 'cli-table3';
import { createColors } from 'picocolors';

/**
 * Colour on stdout when it is a terminal that has colours, as no-color.org and FORCE_COLOR
 * ask: NO_COLOR (set and not empty) turns it off, FORCE_COLOR (other than 0) turns it on.
 */
export function stdoutHasColours(env: NodeJS.ProcessEnv = process.env, stdout: NodeJS.WriteStream = process.stdout): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return stdout.isTTY === true && stdout.hasColors();
}

const colours = createColors(stdoutHasColours());

const STATUS_COLOURS: Record<string, (text: string) => string> = {
  completed: colours.green,
  cached: colours.cyan,
  running: colours.blue,
  initializing: colours.blue,
  failed: colours.red,
  stopped: colours.yellow,
  pending: colours.dim,
  skipped: colours.dim,
};

/** A run or step status as the CLI prints it: lower case, coloured on a terminal. */
export function formatStatus(status: string): string {
  const text = status.toLowerCase();
  return (STATUS_COLOURS[text] ?? String)(text);
}

/** How wide tables may be: the terminal's width, or COLUMNS when set; unlimited when piped. */
function outputWidth(): number {
  const columns = process.stdout.columns || Number(process.env.COLUMNS);
  return Number.isInteger(columns) && columns > 0 ? columns : Infinity;
}

const visibleWidth = (text: string) => Math.max(0, ...stripVTControlCharacters(text).split('\n').map((line) => line.length));

/** Each line of `text` cut into pieces of at most `width` characters, one a line. */
function wrapText(text: string, width: number): string {
  return text
    .split('\n')
    .flatMap((line) => (line.length <= width ? [line] : Array.from({ length: Math.ceil(line.length / width) }, (_, piece) => line.slice(piece * width, (piece + 1) * width))))
    .join('\n');
}

/**
 * Column widths (padding included) that fit `total` characters, or null when the natural ones
 * do. Narrow columns keep their natural width; the wide ones share what is left evenly.
 */
function fittedWidths(natural: number[], total: number): number[] | null {
  const available = total - (natural.length + 1); // the borders
  if (natural.reduce((sum, width) => sum + width, 0) <= available) return null;
  const widths = [...natural];
  let left = available;
  let open = natural.map((_, index) => index).sort((a, b) => natural[a] - natural[b]);
  while (open.length > 0) {
    const share = Math.floor(left / open.length);
    const fitting = open.filter((index) => natural[index] <= share);
    if (fitting.length === 0) {
      for (const index of open) widths[index] = Math.max(4, share);
      break;
    }
    for (const index of fitting) left -= natural[index];
    open = open.filter((index) => natural[index] > share);
  }
  return widths;
}

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
  const natural = head.map((title, index) => Math.max(visibleWidth(title), ...rows.map((row) => visibleWidth(row[index] ?? ''))) + 2);
  const widths = fittedWidths(natural, outputWidth());
  // Cells of a column narrower than its text are wrapped here, without their colour codes, which
  // a wrap could split; the other columns keep theirs.
  const fit = (cell: string, index: number) => (widths && widths[index] < natural[index] ? wrapText(stripVTControlCharacters(cell), widths[index] - 2) : cell);
  // Lines between rows only where a cell spans lines and rows would otherwise run together.
  const shown = rows.map((row) => row.map(fit));
  const compact = !shown.some((row) => row.some((cell) => cell.includes('\n')));
  const table = new Table({
    head: head.map((title, index) => (widths && widths[index] < natural[index] ? fit(title, index) : colours.bold(title))),
    style: { head: [], border: [], compact },
    ...(widths ? { colWidths: widths } : {}),
  });
  table.push(...shown);
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
