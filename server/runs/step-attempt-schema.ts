// GraphQL types of step attempts and the workers that run them (see step-attempts.ts).
import { alias as aliasOf } from 'drizzle-orm/pg-core';
import { builder } from '../builder';
import { registerSqlField } from './run-page-sql';
import { STEP_ATTEMPT_STATUSES, stepRuns, type StepWorker } from './run-tables';
import { queueWaitMs, stepAttemptsJson, type StepAttemptView } from './step-attempts';

export const StepAttemptStatusEnum = builder.enumType('StepAttemptStatus', {
  description: "A step's statuses, and LOST: the attempt's worker stopped answering and another attempt took the step over.",
  values: Object.fromEntries(STEP_ATTEMPT_STATUSES.map((value) => [value.toUpperCase(), { value }])) as Record<
    Uppercase<(typeof STEP_ATTEMPT_STATUSES)[number]>,
    { value: (typeof STEP_ATTEMPT_STATUSES)[number] }
  >,
});

export const StepWorkerType = builder.objectRef<StepWorker>('StepWorker').implement({
  description: 'The worker process that ran a step attempt.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique per worker process.' }),
    host: t.exposeString('host'),
    pid: t.exposeInt('pid'),
  }),
});

export const StepWorkerInput = builder.inputType('StepWorkerInput', {
  description: 'The worker process that runs a step attempt.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Unique per worker process, such as host:pid.' }),
    host: t.string({ required: true }),
    pid: t.int({ required: true }),
  }),
});

export const StepAttemptType = builder.objectRef<StepAttemptView>('StepAttempt').implement({
  description: 'One attempt at a step: a remote orchestrator retries a step that failed or whose worker was lost.',
  fields: (t) => ({
    attempt: t.exposeInt('attempt', { description: 'Counts from 1.' }),
    status: t.field({ type: StepAttemptStatusEnum, resolve: (attempt) => attempt.status }),
    errorMessage: t.exposeString('errorMessage', { nullable: true }),
    worker: t.field({ type: StepWorkerType, nullable: true, resolve: (attempt) => attempt.worker }),
    queuedAt: t.field({ type: 'DateTime', nullable: true, resolve: (attempt) => attempt.queuedAt }),
    startedAt: t.field({ type: 'DateTime', resolve: (attempt) => attempt.startedAt }),
    endedAt: t.field({ type: 'DateTime', nullable: true, resolve: (attempt) => attempt.endedAt }),
    queueWaitMs: t.float({
      nullable: true,
      description: 'Time between enqueue and start in milliseconds; null when the enqueue time is unknown.',
      resolve: (attempt) => queueWaitMs(attempt),
    }),
  }),
});

// Pages built as JSON in SQL answer a step's attempts with the same subquery as its select.
registerSqlField('StepRun', 'attempts', (alias) => stepAttemptsJson(aliasOf(stepRuns, alias)));
