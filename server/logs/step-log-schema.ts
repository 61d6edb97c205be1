// GraphQL for step logs: where a step run's log is (StepRun.logUri, given by startStep) and
// pages of it (stepLog), read by range through the run's artifact store.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../builder';
import { ErrorInterface, NotFoundError, ValidationError } from '../errors';
import { databaseId } from '../ids';
import { StepRunType, StepStatusEnum } from '../runs/run-schema';
import {
  DEFAULT_LOG_PAGE_BYTES,
  MAX_LOG_PAGE_BYTES,
  readStepLog,
  StepLogUnavailableError,
  type StepLogEntry,
  type StepLogPage,
} from './step-log-service';

builder.objectType(StepLogUnavailableError, {
  name: 'StepLogUnavailableError',
  description: 'The log cannot be read now: its artifact store was deleted, refuses the server, or cannot be reached.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof StepLogUnavailableError,
});

const StepLogLevelEnum = builder.enumType('StepLogLevel', {
  values: { DEBUG: { value: 'debug' }, INFO: { value: 'info' }, WARN: { value: 'warn' }, ERROR: { value: 'error' } } as const,
});

const StepLogEntryType = builder.objectRef<StepLogEntry>('StepLogEntry').implement({
  description: 'One line of a step log: console.log/info → INFO, warn → WARN, error and stderr → ERROR, debug → DEBUG.',
  fields: (t) => ({
    time: t.field({ type: 'DateTime', nullable: true, resolve: (entry) => entry.time }),
    level: t.field({ type: StepLogLevelEnum, resolve: (entry) => entry.level }),
    message: t.exposeString('message'),
  }),
});

const StepLogPageType = builder.objectRef<StepLogPage>('StepLogPage').implement({
  description: 'Whole lines of a step log, with the byte offsets to page back (startOffset) and follow on (endOffset) from.',
  fields: (t) => ({
    stepRunId: t.id({ resolve: (page) => encodeGlobalID('StepRun', page.stepRunId) }),
    stepStatus: t.field({ type: StepStatusEnum, description: 'RUNNING while the log can still grow.', resolve: (page) => page.stepStatus }),
    startOffset: t.exposeFloat('startOffset'),
    endOffset: t.exposeFloat('endOffset'),
    totalBytes: t.exposeFloat('totalBytes', { description: 'The size of the log now.' }),
    entries: t.field({ type: [StepLogEntryType], resolve: (page) => page.entries }),
  }),
});

builder.drizzleObjectFields(StepRunType, (t) => ({
  logUri: t.string({
    nullable: true,
    description: 'The folder of chunk objects in the artifact store that holds the log; null for a step that kept none (a cached one).',
    resolve: (step) => step.logUri,
  }),
}));

builder.queryFields((t) => ({
  stepLog: t.field({
    authScopes: { reader: true },
    type: StepLogPageType,
    errors: { types: [ValidationError, NotFoundError, StepLogUnavailableError] },
    description: `A page of a step run's log, never more than ${MAX_LOG_PAGE_BYTES} bytes read: from offset forward, back from before, or the tail. Follow a running step by asking again from endOffset.`,
    args: {
      stepRunId: t.arg.id({ required: true }),
      offset: t.arg.float({ description: 'Byte offset to read forward from: a previous endOffset, to follow the log.' }),
      before: t.arg.float({ description: 'Byte offset to read back from: a previous startOffset, to page back. Without offset or before, the tail.' }),
      limit: t.arg.int({ description: `Bytes to read, 1 to ${MAX_LOG_PAGE_BYTES}; default ${DEFAULT_LOG_PAGE_BYTES}. A line longer than this comes whole.` }),
    },
    resolve: (_root, args, context) =>
      readStepLog(context.db, context.secretKey, databaseId(args.stepRunId, 'StepRun', 'stepRunId'), { offset: args.offset, before: args.before, limit: args.limit }),
  }),
}));
