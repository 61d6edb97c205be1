// The statements every step of every run makes (its start, its outputs, its end) as prepared
// statements: Postgres parses and plans a statement of many CTEs in more time than it runs it
// (2 ms against 0.6 for the outputs report), and a prepared one is planned once per connection.
// PGlite has no named statements and runs them as any other.
import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Queryable } from './database';

// Renders SQL as the database's own dialect does: the database is opened without options that
// would change it (casing).
const dialect = new PgDialect();

/**
 * Runs the statement as `db.execute` does, prepared under a name drizzle derives from its text
 * and its parameters' types: the few shapes a call site renders each get their own.
 */
export function executePrepared(db: Queryable, query: SQL): Promise<unknown> {
  return db._.session.prepareQuery(dialect.sqlToQuery(query), 'raw', true, undefined).execute();
}
