// A table's columns for a statement written in SQL (one with data-modifying CTEs, say) whose rows
// must come back exactly as Drizzle's own queries give them: each column under its field name,
// and timestamps kept as the text Drizzle's string mode reads, not parsed by the driver.
import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';

export function rowColumns(table: PgTable, alias: string): SQL {
  const columns = Object.entries(getTableColumns(table)).map(([field, column]) => {
    const value = `${alias}.${column.name}`;
    return `${column.columnType === 'PgTimestampString' ? `${value}::text` : value} as "${field}"`;
  });
  return sql.raw(columns.join(', '));
}

/** The rows of a statement run with `execute`, whatever the driver. */
export function resultRows<Row>(result: unknown): Row[] {
  return (result as { rows: Row[] }).rows;
}
