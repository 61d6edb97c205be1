// Live run updates: every change to a run or its steps sends a NOTIFY inside its transaction,
// so Postgres delivers it on commit to every server listening (and PGlite to this process).
// Each server hands what it hears to its subscribers in process.
import { Repeater } from '@repeaterjs/repeater';
import { sql } from 'drizzle-orm';
import { createPubSub } from 'graphql-yoga';
import type { DatabaseHandle, Queryable } from '../db/database';

// The database function stackyard_refresh_run (migration run_refresh_in_step_trigger) announces on
// this channel by its name.
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

/**
 * A subscriber's run ids: each run once while it waits to be taken, and the same run at most
 * once per `intervalMs`. A subscriber reads the whole run at each event, and a run changes
 * several times per step (started, outputs, finished), by many workers at once: read per change,
 * a run of n steps costs O(n²). Coalesced, a subscriber still ends on the latest state of every
 * run it follows, and the reads are bounded by the interval and by how fast it takes them.
 */
export function coalesceRunIds(source: AsyncIterable<string>, intervalMs: number): AsyncIterableIterator<string> {
  return new Repeater<string>(async (push, stop) => {
    const iterator = source[Symbol.asyncIterator]();
    const waiting = new Set<string>();
    const lastSent = new Map<string, number>();
    let ended = false;
    let wake: (() => void) | null = null;
    const nudge = () => {
      const waker = wake;
      wake = null;
      waker?.();
    };
    void stop.then(() => {
      ended = true;
      nudge();
      void iterator.return?.();
    });
    void (async () => {
      try {
        for (;;) {
          const next = await iterator.next();
          if (next.done) break;
          waiting.add(next.value);
          nudge();
        }
      } catch (error) {
        stop(error);
      } finally {
        ended = true;
        nudge();
      }
    })();
    while (!ended) {
      const now = Date.now();
      let nextDue = Infinity;
      let due: string | undefined;
      for (const runId of waiting) {
        const at = (lastSent.get(runId) ?? -Infinity) + intervalMs;
        if (at <= now) {
          due = runId;
          break;
        }
        nextDue = Math.min(nextDue, at);
      }
      if (due !== undefined) {
        waiting.delete(due);
        lastSent.set(due, now);
        for (const [runId, at] of lastSent) if (now - at >= intervalMs) lastSent.delete(runId);
        await push(due);
        continue;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (nextDue !== Infinity) setTimeout(nudge, nextDue - now);
      });
    }
    stop();
  });
}
