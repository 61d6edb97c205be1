import { doublePrecision, index, integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { pipelineRuns, stepRuns } from '../runs/run-tables';

/**
 * One value of a run's metric at a step index, as MLflow's log_metric records it. As in MLflow,
 * the whole point is the key: a retried report inserts nothing twice, and a run may log several
 * values at one step (they differ in time or value).
 */
export const metricPoints = pgTable(
  'metric_points',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => pipelineRuns.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    step: integer('step').notNull(),
    /** When the client logged it; a retry sends the same time, which keeps it one point. */
    loggedAt: timestamp('logged_at', { withTimezone: true, mode: 'string', precision: 3 }).notNull(),
    value: doublePrecision('value').notNull(),
    /** The step run that logged it, if a step did. */
    stepRunId: uuid('step_run_id').references(() => stepRuns.id, { onDelete: 'cascade' }),
  },
  (table) => [
    // Its order serves both reads: a series by step, and the latest point per name (the highest step, then the newest).
    primaryKey({ name: 'metric_points_pkey', columns: [table.runId, table.name, table.step, table.loggedAt, table.value] }),
    index('metric_points_step_run_idx').on(table.stepRunId),
  ],
);
