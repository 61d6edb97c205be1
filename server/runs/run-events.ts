// Live run updates: every change to a run or its steps sends a NOTIFY inside its transaction,
// so Postgres delivers it on commit to every server listening (and PGlite to this process).
// Each server hands what it hears to its subscribers in process.
import { sql } from 'drizzle-orm';
import { createPubSub } from 'graphql-yoga';
import type { DatabaseHandle, Queryable } from '../db/database';

export const RUN_UPDATED_CHANNEL = 'stackyard_run_updated';

/** Announces that a run changed. Call inside the changing transaction: a rollback sends nothing. */
export async function notifyRunUpdated(tx: Queryable, runId: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${RUN_UPDATED_CHANNEL}, ${runId})`);
}

export type RunUpdates = ReturnType<typeof createRunUpdatesPubSub>;

function createRunUpdatesPubSub() {
  return createPubSub<{ runUpdated: [runId: string] }>();
}

/** Listens on the database and republishes each run id to this process's subscriptions. */
export async function startRunUpdates(database: DatabaseHandle): Promise<{ updates: RunUpdates; stop(): Promise<void> }> {
  const updates = createRunUpdatesPubSub();
  const stop = await database.listen(RUN_UPDATED_CHANNEL, (runId) => updates.publish('runUpdated', runId));
  return { updates, stop };
}
