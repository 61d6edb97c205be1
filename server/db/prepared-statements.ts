// The statements every step of every run makes (its start, its outputs, its end) as prepared
// statements: Postgres parses and plans a statement of many CTEs in more time than it runs it
// (2 ms against 0.6 for the outputs report), and a prepared one is planned once per session.
//
// On Postgres, drizzle's node-postgres session prepares them under a name per connection. On
// PGlite, drizzle runs every statement as PGlite's `query` does: parse, describe, bind, describe
// and execute, five calls into the database, and planning each time (4.3 of the 10 ms a step's
// three statements took, EXPLAIN ANALYZE). PGlite is one Postgres session, so a statement parsed
// once under a name is planned by Postgres' plan cache and each later run is one call: bind,
// describe, execute and sync in one protocol message (`npm run bench:orchestrator`).
import { PGlite, protocol, parse as pgliteParse, types, type Results } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Queryable } from './database';
import { countStatement } from './statement-count';

// Renders SQL as the database's own dialect does: the database is opened without options that
// would change it (casing).
const dialect = new PgDialect();

/**
 * Runs the statement as `db.execute` does, prepared under a name: on Postgres the name drizzle
 * derives from its text and its parameters' types, on PGlite one per text. Either way the few
 * shapes a call site renders each get their own.
 */
export function executePrepared(db: Queryable, query: SQL): Promise<unknown> {
  const session = db._.session as typeof db._.session & { client?: unknown };
  // Only outside a transaction: inside one, PGlite's transaction object owns the session's turn.
  if (session.client instanceof PGlite) return pglitePrepared(session.client).execute(dialect.sqlToQuery(query));
  return session.prepareQuery(dialect.sqlToQuery(query), 'raw', true, undefined).execute();
}

const { serialize } = protocol;

/** What Postgres said of a statement when it was parsed: the types its parameters take. */
interface ParsedStatement {
  name: string;
  parameterTypes: number[];
}

// As drizzle's PGlite session reads them: timestamps, dates and intervals (and their arrays)
// stay the text Postgres sends, for drizzle's string mode.
const keepText = (value: string) => value;
const TEXT_KEPT_TYPES = [types.TIMESTAMP, types.TIMESTAMPTZ, types.DATE, types.INTERVAL, 1115, 1182, 1185, 1187, 1231];
const drizzleParsers = Object.fromEntries(TEXT_KEPT_TYPES.map((type) => [type, keepText]));

/**
 * Named statements one PGlite keeps at most. The call sites render a few shapes each, far fewer;
 * should one ever render its values into the text, the rest run unnamed instead of each taking
 * the session's memory for good.
 */
const MAX_NAMED_STATEMENTS = 64;

const preparedByClient = new WeakMap<PGlite, ReturnType<typeof preparedStatementsOf>>();

function pglitePrepared(client: PGlite) {
  let prepared = preparedByClient.get(client);
  if (!prepared) preparedByClient.set(client, (prepared = preparedStatementsOf(client)));
  return prepared;
}

/** One PGlite's named statements, by text: parsed on first use, kept for the session's life. */
function preparedStatementsOf(client: PGlite) {
  const statements = new Map<string, Promise<ParsedStatement>>();
  const parsers = { ...client.parsers, ...drizzleParsers };
  let named = 0;

  /** Parses the statement under a new name; called holding the session. */
  async function parseStatement(text: string): Promise<ParsedStatement> {
    const name = `stackyard_${(named += 1)}`;
    const { messages } = await client.execProtocol(
      Buffer.concat([serialize.parse({ name, text }), serialize.describe({ type: 'S', name }), serialize.sync()]),
    );
    return { name, parameterTypes: pgliteParse.parseDescribeStatementResults(messages) };
  }

  return {
    async execute(query: { sql: string; params: unknown[] }): Promise<Results> {
      countStatement();
      if (!statements.has(query.sql) && statements.size >= MAX_NAMED_STATEMENTS) {
        return client.query(query.sql, query.params, { rowMode: 'object', parsers });
      }
      // Both of PGlite's locks, as its `query` takes them: no transaction open on the session
      // may take this statement in, and no other statement may run between its messages.
      return client._runExclusiveTransaction(() =>
        client._runExclusiveQuery(async () => {
          let parsed = statements.get(query.sql);
          if (!parsed) {
            parsed = parseStatement(query.sql);
            statements.set(query.sql, parsed);
            // A statement that failed to parse is parsed afresh next time, and fails as clearly.
            parsed.catch(() => statements.delete(query.sql));
          }
          const { name, parameterTypes } = await parsed;
          const values = query.params.map((value, index) => {
            if (value === null || value === undefined) return null;
            const serializer = client.serializers[parameterTypes[index]];
            return serializer ? serializer(value) : String(value);
          });
          const { messages } = await client.execProtocol(
            Buffer.concat([serialize.bind({ statement: name, values }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]),
          );
          return pgliteParse.parseResults(messages, parsers, { rowMode: 'object' })[0];
        }),
      );
    },
  };
}
