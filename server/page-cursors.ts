// Page arguments of every connection, checked before the drizzle plugin plans the page. A cursor
// is the plugin's keyset position, base64 of `DC:` and one tagged value per column of the order
// (@pothos/core's encodeCursorChunk). The plugin passes the values on as they are, so a forged
// one (a timestamp that is no date, an id that is no uuid) would reach the database and fail
// there; checked against the order's own columns, it is an InvalidCursorError instead.
import { decodeBase64, decodeCursorChunk } from '@pothos/core';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { InvalidCursorError, ValidationError } from './errors';

export interface PageArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

/** A connection's order as the planner takes it: column keys of `table`, each with a direction. */
export type PageOrder<Table extends PgTable> = Partial<Record<keyof Table['_']['columns'] & string, 'asc' | 'desc'>>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Postgres' timestamptz text, as the plugin copies it from a row: 2026-11-30 04:30:34.99+00.
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?:Z|[+-](\d{2})(?::?\d{2})?)$/;

function isTimestamp(text: string): boolean {
  const match = TIMESTAMP.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second, offset] = match.slice(1).map((part) => Number(part ?? 0));
  const date = new Date(Date.UTC(year, month - 1, day));
  // Date.UTC rolls 30 February over into March; Postgres refuses it.
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day && hour < 24 && minute < 60 && second < 60 && offset <= 15;
}

/** Whether the database can compare `value` with `column` without an error. */
function fitsColumn(value: unknown, column: PgColumn): boolean {
  if (value === null) return !column.notNull;
  const [kind, constraint] = column.dataType.split(' ');
  if (kind === 'number') return typeof value === 'number' && (constraint?.startsWith('int') ? Number.isSafeInteger(value) : Number.isFinite(value));
  if (kind !== 'string' || typeof value !== 'string' || value.includes('\u0000')) return false;
  if (constraint === 'uuid') return UUID.test(value);
  if (constraint === 'timestamp') return isTimestamp(value);
  if (constraint === 'enum') return (column.enumValues ?? []).includes(value);
  return constraint === undefined;
}

/** The values of a cursor of the given columns, or an InvalidCursorError naming `field`. */
export function checkCursor(cursor: string, field: string, columns: PgColumn[]): void {
  const invalid = new InvalidCursorError(`${field} is not a cursor of this connection`, field);
  let values: unknown;
  try {
    const decoded = decodeBase64(cursor);
    if (!decoded.startsWith('DC:')) throw invalid;
    values = decodeCursorChunk(decoded.slice(3));
  } catch {
    throw invalid;
  }
  // One column is its value; several are a tuple of exactly as many, as this server writes them.
  const list = columns.length === 1 ? [values] : values;
  if (!Array.isArray(list) || list.length !== columns.length || !list.every((value, index) => fitsColumn(value, columns[index]))) throw invalid;
}

/** The columns a connection of `table` ordered by `order` keys its cursors on, in order. */
export function cursorColumns<Table extends PgTable>(table: Table, order: PageOrder<Table>): PgColumn[] {
  return Object.keys(order).map((key) => (table as unknown as Record<string, PgColumn>)[key]);
}

/**
 * Throws ValidationError on a negative page size and InvalidCursorError on a cursor that is not
 * one of this order's; the planner would refuse the first untyped and pass the second on.
 */
export function checkPageArgs(args: PageArgs, columns: PgColumn[]): void {
  for (const field of ['first', 'last'] as const) {
    if ((args[field] ?? 0) < 0) throw new ValidationError(`${field} must not be negative`, field);
  }
  for (const field of ['after', 'before'] as const) {
    const cursor = args[field];
    if (cursor != null) checkCursor(cursor, field, columns);
  }
}

/** The errors a connection field answers for bad page arguments, as its result union's members. */
export const PAGE_ERRORS = { types: [InvalidCursorError, ValidationError] };

/** `order`, once the page arguments are checked against it: what a connection's resolve passes to its query. */
export function checkedOrder<Table extends PgTable, const Order extends PageOrder<Table>>(table: Table, order: Order, args: PageArgs): Order {
  checkPageArgs(args, cursorColumns(table, order));
  return order;
}
