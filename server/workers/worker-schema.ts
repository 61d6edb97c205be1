// GraphQL for the worker registry: the heartbeat workers send, and the list of workers.
import { sql } from 'drizzle-orm';
import { builder } from '../builder';
import { NAME } from '../name-arguments';
import { ValidationError } from '../errors';
import { databaseId } from '../ids';
import { recordWorkerHeartbeat, workerStatus, type WorkerStatus } from './worker-service';

const WorkerStatusEnum = builder.enumType('WorkerStatus', {
  values: {
    LIVE: { value: 'live' as WorkerStatus, description: 'Sends its heartbeats.' },
    SILENT: { value: 'silent' as WorkerStatus, description: 'Missed three heartbeats without saying it stopped: killed, or its machine lost.' },
    STOPPED: { value: 'stopped' as WorkerStatus, description: 'Said in its last heartbeat that it stopped.' },
  } as const,
});

export const WorkerType = builder.drizzleObject('workers', {
  name: 'Worker',
  description: 'A worker process of a remote orchestrator (`stackyard worker start`), as its last heartbeat described it.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique per worker process.' }),
    host: t.exposeString('host'),
    pid: t.exposeInt('pid'),
    queue: t.exposeString('queue'),
    concurrency: t.exposeInt('concurrency', { description: 'Steps it runs at once at most.' }),
    stack: t.exposeString('stack', { nullable: true, description: 'Name of the stack it serves, as the worker gave it.' }),
    currentSteps: t.relation('currentSteps', {
      description: 'Step runs it is running: those its last heartbeat named that are still running and that no other worker has taken over since.',
      query: { where: { status: 'running' }, orderBy: { startedAt: 'asc', id: 'asc' } },
    }),
    startedAt: t.expose('startedAt', { type: 'DateTime', description: 'First heartbeat of this process.' }),
    lastSeenAt: t.expose('lastSeenAt', { type: 'DateTime' }),
    stoppedAt: t.expose('stoppedAt', { type: 'DateTime', nullable: true, description: 'When it stopped, as its last heartbeat said; null while it runs.' }),
    status: t.field({
      type: WorkerStatusEnum,
      description: 'LIVE, SILENT once it has missed three heartbeats (of the interval it gave) without saying it stopped, or STOPPED.',
      select: { columns: { lastSeenAt: true, stoppedAt: true, heartbeatIntervalMs: true } },
      resolve: (worker) => workerStatus(worker),
    }),
  }),
});

const WorkerHeartbeatInput = builder.inputType('WorkerHeartbeatInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: 'Unique per worker process, such as host:pid.' }),
    host: t.string({ required: true, ...NAME }),
    pid: t.int({ required: true }),
    queue: t.string({ required: true, ...NAME, description: 'The queue it takes steps from.' }),
    concurrency: t.int({ required: true }),
    currentStepRunIds: t.idList({ required: true, description: 'Step runs it runs now.' }),
    stack: t.string({ description: 'Name of the stack it serves.' }),
    stopping: t.boolean({ description: 'The last heartbeat of a worker that stops: it takes no more steps and exits.' }),
    heartbeatIntervalMs: t.int({ description: 'How often it sends heartbeats (5000 when not given): it counts as SILENT after missing three.' }),
  }),
});

builder.queryFields((t) => ({
  workers: t.drizzleField({
    authScopes: { reader: true },
    type: ['workers'],
    description: 'Workers seen recently, by name: those running, and with includeStopped those that stopped.',
    args: {
      seenWithinSeconds: t.arg.int({ defaultValue: 300, description: 'Only workers whose last heartbeat is at most this old; 0 or less lists none.' }),
      includeStopped: t.arg.boolean({ defaultValue: false, description: 'Also the workers that said they stopped.' }),
    },
    resolve: (query, _root, args, context) =>
      context.db.query.workers.findMany(
        query({
          where: {
            RAW: (table) =>
              sql`${table.lastSeenAt} >= clock_timestamp() - make_interval(secs => ${args.seenWithinSeconds ?? 300})${args.includeStopped ? sql`` : sql` and ${table.stoppedAt} is null`}`,
          },
          orderBy: { name: 'asc' },
        }),
      ),
  }),
}));

builder.mutationFields((t) => ({
  workerHeartbeat: t.field({
    authScopes: { reporter: true },
    type: WorkerType,
    errors: { types: [ValidationError] },
    description: 'Tells the server a worker is alive and which step runs it runs. Workers send it every few seconds and at each step start and end.',
    args: { input: t.arg({ type: WorkerHeartbeatInput, required: true }) },
    resolve: (_root, args, context) =>
      recordWorkerHeartbeat(context.db, {
        ...args.input,
        currentStepRunIds: args.input.currentStepRunIds.map((id, index) => databaseId(id, 'StepRun', `input.currentStepRunIds.${index}`)),
      }),
  }),
}));
