import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgEnum, pgTable, primaryKey, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { stackComponents } from '../components/component-tables';
import { stacks } from '../stacks/stack-tables';
import { users } from '../users/user-tables';

export const RUN_STATUSES = ['initializing', 'running', 'completed', 'failed', 'cached', 'stopped'] as const;
export const STEP_STATUSES = ['running', 'completed', 'failed', 'cached', 'stopped'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export type StepStatus = (typeof STEP_STATUSES)[number];
/** A step's statuses, and `lost`: the worker of an attempt stopped answering and another took the step over. */
export const STEP_ATTEMPT_STATUSES = [...STEP_STATUSES, 'lost'] as const;
export type StepAttemptStatus = (typeof STEP_ATTEMPT_STATUSES)[number];

export const runStatusEnum = pgEnum('run_status', RUN_STATUSES);
export const stepStatusEnum = pgEnum('step_status', STEP_STATUSES);
export const stepAttemptStatusEnum = pgEnum('step_attempt_status', STEP_ATTEMPT_STATUSES);

/** Where a step attempt ran: the worker process that took it. */
export interface StepWorker {
  name: string;
  host: string;
  pid: number;
}

// Run times are read as text: a JavaScript Date holds milliseconds, Postgres microseconds, and a
// keyset cursor built from a rounded value would skip rows.
export const microsecondTimestamp = (name: string) => timestamp(name, { withTimezone: true, mode: 'string', precision: 6 });

export const pipelines = pgTable('pipelines', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull().unique('pipelines_name_key'),
  createdAt: microsecondTimestamp('created_at').notNull().defaultNow(),
});

/** A step the run expects to execute, with the steps it waits for. */
export interface ExpectedStep {
  name: string;
  parents: string[];
}

/** The stack as it was when the run started: it outlives the stack and later edits to it. */
export interface StackSnapshot {
  stackId: string;
  name: string;
  components: { id: string; type: string; name: string; flavor: string; configuration: Record<string, unknown> }[];
}

export const pipelineRuns = pgTable(
  'pipeline_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    pipelineId: uuid('pipeline_id')
      .notNull()
      .references(() => pipelines.id, { onDelete: 'cascade' }),
    /** Null once the stack is deleted; the snapshot remains. */
    stackId: uuid('stack_id').references(() => stacks.id, { onDelete: 'set null' }),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'set null' }),
    name: text('name').notNull().unique('pipeline_runs_name_key'),
    status: runStatusEnum('status').notNull().default('initializing'),
    statusReason: text('status_reason'),
    expectedSteps: jsonb('expected_steps').$type<ExpectedStep[]>().notNull().default([]),
    /** How many steps expectedSteps lists: the run's status reads it at every step, and the list can hold thousands. */
    expectedStepCount: integer('expected_step_count').notNull().default(0),
    stackSnapshot: jsonb('stack_snapshot').$type<StackSnapshot>().notNull(),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    config: jsonb('config').$type<Record<string, unknown>>().notNull().default({}),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    /** A retried startRun with the same key answers the run it created the first time. */
    idempotencyKey: text('idempotency_key').unique('pipeline_runs_idempotency_key_key'),
    /** The arguments the run was started with under its idempotency key, so a replay can be checked against them. */
    idempotencyRequest: jsonb('idempotency_request').$type<Record<string, unknown>>(),
    createdAt: microsecondTimestamp('created_at').notNull().defaultNow(),
    startedAt: microsecondTimestamp('started_at').notNull().defaultNow(),
    endedAt: microsecondTimestamp('ended_at'),
    updatedAt: microsecondTimestamp('updated_at').notNull().defaultNow(),
    lastHeartbeatAt: microsecondTimestamp('last_heartbeat_at').notNull().defaultNow(),
    /**
     * When its driver handed the run to its orchestrator's queue and left (run({ wait: false })).
     * Such a run is not failed for silence while its steps only wait there: no process owes it a
     * heartbeat until a worker takes one of them.
     */
    detachedAt: microsecondTimestamp('detached_at'),
    /** Wall time of a finished run; -1 while it runs, so unfinished runs sort as shortest. */
    durationMs: bigint('duration_ms', { mode: 'number' }).notNull().default(-1),
    // Its step runs by status, kept by a trigger on step_runs (migration run_step_count_trigger):
    // the run's status follows from them (run-status.ts) without counting its steps each time.
    stepsRunning: integer('steps_running').notNull().default(0),
    stepsCompleted: integer('steps_completed').notNull().default(0),
    stepsCached: integer('steps_cached').notNull().default(0),
    stepsFailed: integer('steps_failed').notNull().default(0),
    stepsStopped: integer('steps_stopped').notNull().default(0),
  },
  (table) => [
    // Keyset pages of one stack's history, in each order the API offers. Ascending indexes on
    // purpose: scanned backwards they match ORDER BY ... DESC exactly (NULLS FIRST included),
    // which a DESC NULLS LAST index would not, and the planner would sort the whole stack.
    index('pipeline_runs_stack_created_idx').on(table.stackId, table.createdAt, table.id),
    index('pipeline_runs_stack_started_idx').on(table.stackId, table.startedAt, table.id),
    index('pipeline_runs_stack_updated_idx').on(table.stackId, table.updatedAt, table.id),
    index('pipeline_runs_stack_duration_idx').on(table.stackId, table.durationMs, table.id),
    index('pipeline_runs_created_idx').on(table.createdAt, table.id),
    index('pipeline_runs_pipeline_created_idx').on(table.pipelineId, table.createdAt, table.id),
    // The runs the heartbeat sweep reads: those that have not ended (a failed run may not have:
    // it goes on with the steps that do not depend on the failure).
    index('pipeline_runs_unfinished_idx')
      .on(table.lastHeartbeatAt)
      .where(sql`${table.endedAt} is null`),
    index('pipeline_runs_tags_idx').using('gin', table.tags),
  ],
);

/** Which components a run's stack had when it started, so history can be asked per component. */
export const pipelineRunComponents = pgTable(
  'pipeline_run_components',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => pipelineRuns.id, { onDelete: 'cascade' }),
    componentId: uuid('component_id')
      .notNull()
      .references(() => stackComponents.id, { onDelete: 'cascade' }),
  },
  (table) => [
    primaryKey({ name: 'pipeline_run_components_pkey', columns: [table.runId, table.componentId] }),
    index('pipeline_run_components_component_idx').on(table.componentId, table.runId),
  ],
);

export const stepRuns = pgTable(
  'step_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runId: uuid('run_id')
      .notNull()
      .references(() => pipelineRuns.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    status: stepStatusEnum('status').notNull().default('running'),
    errorMessage: text('error_message'),
    parents: text('parents').array().notNull().default(sql`'{}'::text[]`),
    cacheKey: text('cache_key'),
    codeHash: text('code_hash'),
    parameters: jsonb('parameters').$type<Record<string, unknown>>().notNull().default({}),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    /** For a cached step: the step run whose outputs it reused. */
    originalStepRunId: uuid('original_step_run_id'),
    /** The current attempt (a remote orchestrator retries a step on the same step run); 1 for local runs. */
    attempt: integer('attempt').notNull().default(1),
    /** The worker of the current attempt; null when the step ran in the process that started the run. */
    worker: jsonb('worker').$type<StepWorker>(),
    /** When the current attempt was enqueued; its queue wait ends at startedAt. */
    queuedAt: microsecondTimestamp('queued_at'),
    /** The folder of the step's log in the run's artifact store (server/logs/step-log-service.ts). */
    logUri: text('log_uri'),
    /** When the current attempt started. */
    startedAt: microsecondTimestamp('started_at').notNull().defaultNow(),
    endedAt: microsecondTimestamp('ended_at'),
  },
  (table) => [
    unique('step_runs_run_name_key').on(table.runId, table.name),
    index('step_runs_cache_key_idx').on(table.cacheKey, table.endedAt, table.id).where(sql`${table.status} = 'completed'`),
  ],
);

/**
 * Attempts of a step run that ended while the step run went on: failed ones a retry follows, and
 * lost ones whose worker stopped answering. The current attempt is the step run itself; an
 * attempt that failed and awaits its retry is in both, and read from here.
 */
export const stepAttempts = pgTable(
  'step_attempts',
  {
    stepRunId: uuid('step_run_id')
      .notNull()
      .references(() => stepRuns.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    status: stepAttemptStatusEnum('status').notNull(),
    errorMessage: text('error_message'),
    worker: jsonb('worker').$type<StepWorker>(),
    queuedAt: microsecondTimestamp('queued_at'),
    startedAt: microsecondTimestamp('started_at').notNull(),
    endedAt: microsecondTimestamp('ended_at').notNull(),
  },
  (table) => [primaryKey({ name: 'step_attempts_pkey', columns: [table.stepRunId, table.attempt] })],
);
