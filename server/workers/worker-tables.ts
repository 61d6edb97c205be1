import { index, integer, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { microsecondTimestamp, stepRuns } from '../runs/run-tables';

/** Worker processes of remote orchestrators, as their last heartbeat described them. */
export const workers = pgTable(
  'workers',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Unique per worker process (host:pid unless given). */
    name: text('name').notNull().unique('workers_name_key'),
    host: text('host').notNull(),
    pid: integer('pid').notNull(),
    queue: text('queue').notNull(),
    concurrency: integer('concurrency').notNull(),
    /** Name of the stack the worker serves, as the worker gave it. */
    stack: text('stack'),
    /** First heartbeat of this process (a new host or pid under the same name starts again). */
    startedAt: microsecondTimestamp('started_at').notNull().defaultNow(),
    lastSeenAt: microsecondTimestamp('last_seen_at').notNull().defaultNow(),
    /** When the process said, in its last heartbeat, that it stopped; null while it runs. */
    stoppedAt: microsecondTimestamp('stopped_at'),
    /** How often the worker said it sends heartbeats; null from workers that did not say (5 s, the default). */
    heartbeatIntervalMs: integer('heartbeat_interval_ms'),
  },
  (table) => [index('workers_last_seen_idx').on(table.lastSeenAt)],
);

/** The step runs a worker was running at its last heartbeat. */
export const workerCurrentSteps = pgTable(
  'worker_current_steps',
  {
    workerId: uuid('worker_id')
      .notNull()
      .references(() => workers.id, { onDelete: 'cascade' }),
    stepRunId: uuid('step_run_id')
      .notNull()
      .references(() => stepRuns.id, { onDelete: 'cascade' }),
  },
  (table) => [
    primaryKey({ name: 'worker_current_steps_pkey', columns: [table.workerId, table.stepRunId] }),
    index('worker_current_steps_step_idx').on(table.stepRunId),
  ],
);
