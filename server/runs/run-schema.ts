// GraphQL for pipelines, runs and step runs: the types, run history, and the reporting
// mutations the SDK uses.
import { drizzleConnectionHelpers } from '@pothos/plugin-drizzle';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { and, eq, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import { responsePathAsArray, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { filter as gqlFilter, pipe } from 'graphql-yoga';
import { builder } from '../builder';
import { caller, callerId, type RequestContext } from '../context';
import { ComponentTypeEnum, StackComponentType } from '../components/component-schema';
import { IdempotencyConflictError, IllegalOperationError, LimitExceededError, NameTakenError, NotFoundError, ValidationError } from '../errors';
import { databaseId } from '../ids';
import { NAME } from '../name-arguments';
import { checkedOrder, PAGE_ERRORS } from '../page-cursors';
import { ComponentRefInput, StackType } from '../stacks/stack-schema';
import { RunCursors, RUN_ORDER_FIELDS, runFilterSql, runOrderBy, type PageArgs, type RunFilter, type RunOrder } from './run-history';
import { coalesceRunIds } from './run-events';
import { keepEdges, pageResponseOf, type PageResponse, type PageResponseContext } from './run-page-response';
import { RUN_PAGE_SIZES, runPageConnection, runPageQuery, runPageSql, selectionsAt, type RunPageSql } from './run-page-sql';
import {
  deleteRun,
  finishRun,
  finishStep,
  heartbeat,
  detachRun,
  stopRun,
  logMetadata,
  METADATA_TARGETS,
  startRun,
  startStep,
} from './run-service';
import { pipelineRunComponents, pipelineRuns, pipelines, RUN_STATUSES, STEP_STATUSES, type RunStatus, type StepStatus } from './run-tables';
import { StepAttemptType, StepWorkerInput, StepWorkerType } from './step-attempt-schema';
import { StepOutputInput, storedOutputArguments } from '../artifacts/step-output-input';
import { queueWaitMs, stepAttemptsJson } from './step-attempts';

const REPORTING_ERRORS = [ValidationError, NotFoundError, NameTakenError, IllegalOperationError, LimitExceededError];

const upperEnum = <T extends string>(values: readonly T[]) =>
  Object.fromEntries(values.map((value) => [value.toUpperCase(), { value }])) as Record<Uppercase<T>, { value: T }>;

export const RunStatusEnum = builder.enumType('RunStatus', { values: upperEnum(RUN_STATUSES) });
export const StepStatusEnum = builder.enumType('StepStatus', { values: upperEnum(STEP_STATUSES) });
const StepFinishStatusEnum = builder.enumType('StepFinishStatus', {
  values: upperEnum(STEP_STATUSES.filter((s): s is Exclude<StepStatus, 'running'> => s !== 'running')),
});
const RunFinishStatusEnum = builder.enumType('RunFinishStatus', {
  values: upperEnum(['completed', 'failed', 'stopped'] as const),
});
const RunOrderFieldEnum = builder.enumType('RunOrderField', {
  values: Object.keys(RUN_ORDER_FIELDS) as (keyof typeof RUN_ORDER_FIELDS)[],
});
const SortDirectionEnum = builder.enumType('SortDirection', { values: ['ASC', 'DESC'] as const });


const ExpectedStepType = builder.objectRef<{ name: string; parents: string[] }>('ExpectedStep').implement({
  fields: (t) => ({ name: t.exposeString('name'), parents: t.exposeStringList('parents') }),
});

type Snapshot = (typeof pipelineRuns.$inferSelect)['stackSnapshot'];
const ComponentSnapshotType = builder.objectRef<Snapshot['components'][number]>('ComponentSnapshot').implement({
  description: 'A component as it was when the run started (secrets excluded).',
  fields: (t) => ({
    type: t.field({ type: ComponentTypeEnum, resolve: (component) => component.type as never }),
    name: t.exposeString('name'),
    flavor: t.exposeString('flavor'),
    configuration: t.field({ type: 'JSONObject', resolve: (component) => component.configuration }),
  }),
});
const StackSnapshotType = builder.objectRef<Snapshot>('StackSnapshot').implement({
  description: 'The stack as it was when the run started; it outlives the stack.',
  fields: (t) => ({
    name: t.exposeString('name'),
    components: t.field({ type: [ComponentSnapshotType], resolve: (snapshot) => snapshot.components }),
  }),
});

interface RunStats {
  total: number;
  byStatus: Partial<Record<RunStatus, number>>;
  lastRunAt: string | null;
}
const RunStatusCountType = builder.objectRef<{ status: RunStatus; count: number }>('RunStatusCount').implement({
  fields: (t) => ({ status: t.field({ type: RunStatusEnum, resolve: (c) => c.status }), count: t.exposeInt('count') }),
});
const RunStatsType = builder.objectRef<RunStats>('RunStats').implement({
  fields: (t) => ({
    total: t.exposeInt('total'),
    byStatus: t.field({
      type: [RunStatusCountType],
      description: 'Runs per status, every status listed.',
      resolve: (stats) => RUN_STATUSES.map((status) => ({ status, count: stats.byStatus[status] ?? 0 })),
    }),
    lastRunAt: t.field({ type: 'DateTime', nullable: true, resolve: (stats) => stats.lastRunAt }),
  }),
});

/** Totals per status and the newest run, as one correlated subquery of the parent's statement. */
function runStatsSql(runsWhere: SQL): SQL<RunStats> {
  return sql<RunStats>`(select json_build_object(
      'total', coalesce(sum(grouped.n), 0),
      'byStatus', coalesce(json_object_agg(grouped.status, grouped.n) filter (where grouped.status is not null), '{}'::json),
      'lastRunAt', max(grouped.last_created))
    from (select r.status, count(*) as n, max(r.created_at) as last_created
          from ${pipelineRuns} r where ${runsWhere} group by r.status) grouped)`;
}

export const PipelineType = builder.drizzleNode('pipelines', {
  name: 'Pipeline',
  // Read straight off the row (see PipelineRun), so a search hit needs no second statement.
  select: { columns: { id: true, name: true, createdAt: true } },
  id: { column: (pipeline) => pipeline.id },
  fields: (t) => ({
    name: t.string({ resolve: (pipeline) => pipeline.name }),
    createdAt: t.field({ type: 'DateTime', resolve: (pipeline) => pipeline.createdAt }),
  }),
});

/** The columns of a run that lists and history pages show: always loaded, read off the row. */
const RUN_LISTED = { id: true, name: true, status: true, createdAt: true, startedAt: true, endedAt: true, durationMs: true } as const;
// errorMessage, attempt and logUri too: what startStep and finishStep answer is then read off the
// row they return, with no second statement.
const STEP_LISTED = { id: true, name: true, status: true, startedAt: true, endedAt: true, queuedAt: true, errorMessage: true, attempt: true, logUri: true } as const;

export const PipelineRunType = builder.drizzleNode('pipelineRuns', {
  name: 'PipelineRun',
  // The columns every list shows always come along, and their fields read them straight off the
  // row: an exposed column looks up the query plan for every row it resolves, which was a third
  // of the history page's CPU. Other columns load only when asked for.
  select: { columns: RUN_LISTED },
  id: { column: (run) => run.id },
  fields: (t) => ({
    name: t.string({ resolve: (run) => run.name }),
    status: t.field({ type: RunStatusEnum, resolve: (run) => run.status }),
    statusReason: t.exposeString('statusReason', { nullable: true, description: 'Why the run failed or stopped, where known.' }),
    pipeline: t.relation('pipeline'),
    stack: t.relation('stack', { nullable: true, description: 'The live stack; null once it is deleted.' }),
    stackSnapshot: t.field({
      type: StackSnapshotType,
      select: { columns: { stackSnapshot: true } },
      resolve: (run) => run.stackSnapshot,
    }),
    expectedSteps: t.field({ type: [ExpectedStepType], select: { columns: { expectedSteps: true } }, resolve: (run) => run.expectedSteps }),
    steps: t.relation('steps', {
      args: { names: t.arg.stringList({ ...NAME, description: 'Only the steps of these names (a worker reads the parents of the step it runs).' }) },
      query: (args) => ({
        ...(args.names ? { where: { name: { in: args.names } } } : {}),
        orderBy: { startedAt: 'asc', id: 'asc' },
      }),
    }),
    tags: t.exposeStringList('tags'),
    config: t.field({ type: 'JSONObject', select: { columns: { config: true } }, resolve: (run) => run.config }),
    metadata: t.field({ type: 'JSONObject', select: { columns: { metadata: true } }, resolve: (run) => run.metadata }),
    createdAt: t.field({ type: 'DateTime', resolve: (run) => run.createdAt }),
    startedAt: t.field({ type: 'DateTime', resolve: (run) => run.startedAt }),
    endedAt: t.field({ type: 'DateTime', nullable: true, resolve: (run) => run.endedAt }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    lastHeartbeatAt: t.expose('lastHeartbeatAt', { type: 'DateTime' }),
    detachedAt: t.expose('detachedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When its driver handed the run to its orchestrator\'s queue without waiting for it (run({ wait: false })); null for a run its driver follows.',
    }),
    durationMs: t.float({
      nullable: true,
      description: 'Wall time of a finished run in milliseconds; null while it runs.',
      resolve: (run) => (run.durationMs < 0 ? null : run.durationMs),
    }),
  }),
});

export const StepRunType = builder.drizzleNode('stepRuns', {
  name: 'StepRun',
  // As PipelineRun: the listed columns always, read off the row; others when asked for.
  select: { columns: STEP_LISTED },
  id: { column: (step) => step.id },
  fields: (t) => ({
    name: t.string({ resolve: (step) => step.name }),
    status: t.field({ type: StepStatusEnum, resolve: (step) => step.status }),
    errorMessage: t.string({ nullable: true, resolve: (step) => step.errorMessage }),
    parents: t.exposeStringList('parents', { description: 'Names of the steps this one waited for.' }),
    cacheKey: t.exposeString('cacheKey', { nullable: true }),
    codeHash: t.exposeString('codeHash', { nullable: true }),
    parameters: t.field({ type: 'JSONObject', select: { columns: { parameters: true } }, resolve: (step) => step.parameters }),
    metadata: t.field({ type: 'JSONObject', select: { columns: { metadata: true } }, resolve: (step) => step.metadata }),
    run: t.relation('run'),
    originalStepRun: t.relation('originalStepRun', { nullable: true, description: 'For a cached step: the step run whose outputs it reused.' }),
    isCached: t.boolean({ resolve: (step) => step.status === 'cached' }),
    startedAt: t.field({ type: 'DateTime', description: 'When the current attempt started.', resolve: (step) => step.startedAt }),
    endedAt: t.field({ type: 'DateTime', nullable: true, resolve: (step) => step.endedAt }),
    durationMs: t.float({
      nullable: true,
      description: 'Run time of the current attempt, once the step has ended.',
      resolve: (step) => (step.endedAt ? Math.max(0, Date.parse(step.endedAt) - Date.parse(step.startedAt)) : null),
    }),
    attempt: t.int({ description: 'The current attempt, counting from 1; a remote orchestrator retries a step on the same step run.', resolve: (step) => step.attempt }),
    worker: t.field({
      type: StepWorkerType,
      nullable: true,
      description: "The worker of the current attempt; null when the step ran in the run's own process.",
      select: { columns: { worker: true } },
      resolve: (step) => step.worker,
    }),
    queuedAt: t.field({ type: 'DateTime', nullable: true, description: 'When the current attempt was enqueued.', resolve: (step) => step.queuedAt }),
    queueWaitMs: t.float({
      nullable: true,
      description: 'Time the current attempt waited in the queue, in milliseconds; null when the enqueue time is unknown.',
      resolve: (step) => queueWaitMs(step),
    }),
    attempts: t.field({
      type: [StepAttemptType],
      description: 'Every attempt, oldest first, the current one last.',
      select: { extras: { attempts: (table) => stepAttemptsJson(table) } },
      resolve: (step) => step.attempts,
    }),
  }),
});

const RunFilterInput = builder.inputType('RunFilter', {
  description: 'All given conditions must hold.',
  fields: (t) => ({
    runId: t.id({ description: 'Only this run (global id): for following one run live.' }),
    stackId: t.id({ description: 'Runs on this stack (global id).' }),
    stackName: t.string({ description: 'Runs on the stack of this name.' }),
    component: t.field({ type: ComponentRefInput, description: 'Runs whose stack had this component when they started.' }),
    pipeline: t.string({ description: 'Runs of the pipeline of this name.' }),
    status: t.field({ type: [RunStatusEnum], description: 'Runs in any of these statuses.' }),
    createdAfter: t.field({ type: 'DateTime' }),
    createdBefore: t.field({ type: 'DateTime' }),
    startedAfter: t.field({ type: 'DateTime' }),
    startedBefore: t.field({ type: 'DateTime' }),
    tags: t.stringList({ description: 'Runs with all of these tags.' }),
    nameContains: t.string(),
  }),
});

const RunOrderInput = builder.inputType('RunOrder', {
  description: 'Newest first (CREATED, DESC) when absent.',
  fields: (t) => ({
    field: t.field({ type: RunOrderFieldEnum, defaultValue: 'CREATED' }),
    direction: t.field({ type: SortDirectionEnum, defaultValue: 'DESC' }),
  }),
});

const runHistory = drizzleConnectionHelpers(builder, 'pipelineRuns', {
  args: (t) => ({
    filter: t.field({ type: RunFilterInput }),
    orderBy: t.field({ type: RunOrderInput }),
  }),
  ...RUN_PAGE_SIZES,
  query: (args) => {
    const { filter, orderBy } = args as { filter?: RunFilter; orderBy?: RunOrder };
    return {
      where: { RAW: (table) => runFilterSql(table, filter) ?? sql`true` },
      orderBy: runOrderBy(orderBy),
    };
  },
});

type RunConnectionShape = ReturnType<typeof runHistory.resolve> & { count: () => Promise<number> };

export const RunConnection = builder.connectionObject(
  {
    type: runHistory.ref,
    name: 'PipelineRunConnection',
    fields: (t) => ({
      totalCount: t.int({
        description: 'Runs matching the filter across all pages.',
        resolve: (connection) => (connection as unknown as RunConnectionShape).count(),
      }),
    }),
  },
  { name: 'PipelineRunEdge' },
);

/**
 * A page's SQL: the response's own edges when run-page-response.ts answers this connection (found
 * by its selection in the operation as sent), else runPageSql's runs; null for the planner's path.
 */
function pageSql(context: PageResponseContext & RequestContext, selections: readonly SelectionSetNode[] | null, args: PageArgs & { orderBy?: RunOrder }): RunPageSql | null {
  const response = pageResponseOf(context, selections);
  if (response) return responsePageSql(response, args);
  return selections && runPageSql(selections, context.operation?.fragments, args);
}

/** The page of a connection whose edges run-page-response.ts answers: each run's node as the response's text. */
function responsePageSql(response: PageResponse, args: PageArgs & { orderBy?: RunOrder }): RunPageSql {
  // The document was rewritten only for a page without last or before, which runPageQuery builds.
  return runPageQuery(sql`(${response.node})::text`, args)!;
}

/** The connection, its edges kept as text for the response when this field's are answered so. */
function answered<C extends { edges: { cursor: string; node: unknown }[] }>(context: PageResponseContext, info: GraphQLResolveInfo, connection: C): C {
  const response: PageResponse | undefined = pageResponseOf(context, info.fieldNodes[0]);
  if (!response) return connection;
  // The document asks graphql-js for a string in place of these edges: only their text answers.
  if (connection.edges.some((edge) => typeof edge.node !== 'string')) throw new Error(`${info.parentType.name}.${info.fieldName}: edges answered as text were not built as text`);
  return keepEdges(context, response, responsePathAsArray(info.path), connection);
}

/** The parent's property a page built in SQL arrives under: one per response key, so aliased pages stay apart. */
const sqlPageKey = (responseKey: string) => `runPage_${responseKey}`;
/** The same for a page whose edges run-page-response.ts answers as text. */
const sqlEdgesKey = (responseKey: string) => `runEdges_${responseKey}`;

/**
 * Runs of a parent (stack, component, pipeline), planned into the parent's own statement: built
 * as JSON by a subquery when runPageSql can build the selection, else by the planner.
 */
function nestedRunsField(scope: string, parentRuns: (parentId: string | SQLWrapper) => SQL) {
  return (t: any) =>
    t.field({
      type: RunConnection,
      errors: PAGE_ERRORS,
      args: { ...t.arg.connectionArgs(), ...runHistory.getArgs() },
      description: 'Runs, newest first unless ordered otherwise, with keyset pagination.',
      select: (args: PageArgs & { filter?: RunFilter; orderBy?: RunOrder }, context: RequestContext, nestedSelection: any) => {
        let pageArgs: typeof args;
        let filter: SQL;
        try {
          pageArgs = new RunCursors(scope, args.filter, args.orderBy).unwrap(args);
          filter = runFilterSql(pipelineRuns, args.filter) ?? sql`true`;
        } catch {
          return { columns: { id: true } }; // resolve reports the error
        }
        const path: { field: string; alias: string; parentType: string }[] | undefined = nestedSelection.segments;
        const selections = selectionsAt(context.operation, path);
        const page = pageSql(context, selections, pageArgs);
        if (page && path) {
          const key = (pageResponseOf(context as PageResponseContext, selections) ? sqlEdgesKey : sqlPageKey)(path[path.length - 1].alias);
          return { columns: { id: true }, extras: { [key]: (table: { id: SQLWrapper }) => page.query(sql`${parentRuns(table.id)} and ${filter}`) } };
        }
        return { columns: { id: true }, with: { runs: runHistory.getQuery(pageArgs as never, context, nestedSelection) } };
      },
      resolve: (parent: any, args: PageArgs & { filter?: RunFilter; orderBy?: RunOrder }, context: any, info: GraphQLResolveInfo) => {
        const cursors = new RunCursors(scope, args.filter, args.orderBy);
        const pageArgs = cursors.unwrap(args);
        const responseKey = info.fieldNodes[0].alias?.value ?? info.fieldName;
        const response = pageResponseOf(context, info.fieldNodes[0]);
        const where = () => sql`${parentRuns(parent.id)} and ${runFilterSql(pipelineRuns, args.filter) ?? sql`true`}`;
        const page = (built: unknown) => ({
          ...answered(context, info, cursors.wrap(typeof built === 'string' ? runPageConnection(built, pageArgs) : (runHistory.resolve(parent.runs, pageArgs as never, context) as any))),
          count: () => context.db.$count(pipelineRuns, where()),
        });
        const built = parent[(response ? sqlEdgesKey : sqlPageKey)(responseKey)];
        if (!response || typeof built === 'string') return page(built);
        // Edges the document asks as text whose parent's plan did not build them (a position
        // whose selection `select` could not find): one statement of their own.
        const query = responsePageSql(response, pageArgs).query(where());
        return (context.db.execute(sql`select ${query} as page`) as Promise<unknown>).then((result) => page((result as { rows: { page: string }[] }).rows[0].page));
      },
    });
}

builder.drizzleObjectFields(StackType, (t) => ({
  runs: nestedRunsField('Stack.runs', (stackId) => sql`${pipelineRuns.stackId} = ${stackId}`)(t),
  runStats: t.field({
    type: RunStatsType,
    select: { extras: { runStats: (table) => runStatsSql(sql`r.stack_id = ${table.id}`) } },
    resolve: (stack) => stack.runStats,
  }),
}));

builder.drizzleObjectFields(StackComponentType, (t) => ({
  runs: nestedRunsField('StackComponent.runs', (componentId) =>
    sql`${pipelineRuns.id} in (select ${pipelineRunComponents.runId} from ${pipelineRunComponents} where ${pipelineRunComponents.componentId} = ${componentId})`,
  )(t),
  runStats: t.field({
    type: RunStatsType,
    select: {
      extras: {
        runStats: (table) =>
          runStatsSql(sql`r.id in (select prc.run_id from ${pipelineRunComponents} prc where prc.component_id = ${table.id})`),
      },
    },
    resolve: (component) => component.runStats,
  }),
}));

builder.drizzleObjectFields(PipelineType, (t) => ({
  runs: nestedRunsField('Pipeline.runs', (pipelineId) => sql`${pipelineRuns.pipelineId} = ${pipelineId}`)(t),
  runStats: t.field({
    type: RunStatsType,
    select: { extras: { runStats: (table) => runStatsSql(sql`r.pipeline_id = ${table.id}`) } },
    resolve: (pipeline) => pipeline.runStats,
  }),
}));

const ExpectedStepInput = builder.inputType('ExpectedStepInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    parents: t.stringList({ description: 'Names of the steps this one waits for.' }),
  }),
});

const StepInputInput = builder.inputType('StepInputInput', {
  description: 'An artifact version a step consumes, under its input name.',
  fields: (t) => ({
    name: t.string({ required: true }),
    artifactVersionId: t.id({ required: true }),
  }),
});

const HEARTBEAT_DESCRIPTION = 'A run that sends no heartbeat (or other report) within the server\'s timeout is failed.';

builder.queryFields((t) => ({
  runs: t.field({
    authScopes: { reader: true },
    type: RunConnection,
    errors: PAGE_ERRORS,
    description: 'Run history, newest first unless ordered otherwise. Cursors only work with the filter and order they came from.',
    args: { ...t.arg.connectionArgs(), ...runHistory.getArgs() },
    resolve: async (_root, args, context, info) => {
      const cursors = new RunCursors('Query.runs', args.filter as RunFilter, args.orderBy as RunOrder);
      const pageArgs = cursors.unwrap(args);
      // Decode the filter's ids now, so a bad one is a typed error rather than a failed query.
      const where = runFilterSql(pipelineRuns, args.filter as RunFilter);
      const count = () => context.db.$count(pipelineRuns, where);
      const response = pageResponseOf(context as PageResponseContext, info.fieldNodes[0]);
      const page = response
        ? responsePageSql(response, pageArgs as PageArgs & { orderBy?: RunOrder })
        : runPageSql(
            info.fieldNodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : [])),
            info.fragments,
            pageArgs as PageArgs & { orderBy?: RunOrder },
          );
      if (page) {
        const result = (await context.db.execute(sql`select ${page.query(where ?? sql`true`)} as page`)) as unknown as { rows: { page: string }[] };
        const [row] = result.rows;
        return { ...answered(context as PageResponseContext, info, cursors.wrap(runPageConnection(row.page, pageArgs))), count } as never;
      }
      const query = runHistory.getQuery(pageArgs, context, info, {});
      const rows = await context.db.query.pipelineRuns.findMany(query as never);
      return {
        ...cursors.wrap(runHistory.resolve(rows as never, pageArgs, context) as unknown as RunConnectionShape),
        count,
      } as never;
    },
  }),
  run: t.drizzleField({
    authScopes: { reader: true },
    type: 'pipelineRuns',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) => {
      let id: string;
      try {
        id = databaseId(args.id, 'PipelineRun', 'id');
      } catch {
        return null;
      }
      return context.db.query.pipelineRuns.findFirst(query({ where: { id } }));
    },
  }),
  pipeline: t.drizzleField({
    authScopes: { reader: true },
    type: 'pipelines',
    nullable: true,
    args: { name: t.arg.string({ required: true }) },
    resolve: (query, _root, args, context) => context.db.query.pipelines.findFirst(query({ where: { name: args.name.trim() } })),
  }),
  pipelines: t.drizzleConnection({
    authScopes: { reader: true },
    type: 'pipelines',
    errors: PAGE_ERRORS,
    totalCount: (_parent, _args, context) => context.db.$count(pipelines),
    resolve: (query, _root, args, context) => context.db.query.pipelines.findMany(query({ orderBy: checkedOrder(pipelines, { name: 'asc' }, args) })),
  }),
  serverLimits: t.field({
    authScopes: { reader: true },
    type: builder.objectRef<RequestContext['limits']>('ServerLimits').implement({
      description: 'Limits the server enforces, for clients to plan around.',
      fields: (f) => ({
        maxOutputsPerReport: f.exposeInt('maxOutputsPerReport'),
        maxPageSize: f.exposeInt('maxPageSize'),
        maxJsonDepth: f.exposeInt('maxJsonDepth', { description: 'Deepest nesting of objects and lists in a JSON argument (labels, configuration, config, parameters, metadata).' }),
        heartbeatTimeoutSeconds: f.float({ resolve: (limits) => limits.heartbeatTimeoutMs / 1000 }),
        maxBatchedOperations: f.exposeInt('maxBatchedOperations', {
          description: 'Most operations one request may carry when its body is a JSON array of operations (GraphQL over HTTP batching); each is answered as if sent alone.',
        }),
      }),
    }),
    resolve: (_root, _args, context) => context.limits,
  }),
  cachedStepRun: t.drizzleField({
    authScopes: { reader: true },
    type: 'stepRuns',
    nullable: true,
    description: 'The newest completed step run with this cache key, whose outputs a step can reuse.',
    args: { cacheKey: t.arg.string({ required: true }) },
    resolve: (query, _root, args, context) =>
      context.db.query.stepRuns.findFirst(
        query({ where: { cacheKey: args.cacheKey, status: 'completed' }, orderBy: { endedAt: 'desc', id: 'desc' } }),
      ),
  }),
}));

builder.mutationFields((t) => ({
  startRun: t.field({
    authScopes: { reporter: true },
    type: PipelineRunType,
    errors: { types: [...REPORTING_ERRORS, IdempotencyConflictError] },
    description: 'Starts a run of a pipeline on a stack (the active stack by default), recording a snapshot of the stack. Replaying an idempotency key answers the run it created; with other arguments, an IdempotencyConflictError.',
    args: {
      pipeline: t.arg.string({ required: true }),
      stack: t.arg.string({ description: "Stack name; the caller's active stack when absent." }),
      name: t.arg.string({ description: 'Defaults to {pipeline}-{yyyy_mm_dd-hh_mm_ss_micro}.' }),
      steps: t.arg({ type: [ExpectedStepInput], description: 'The steps the run expects, with their parents.' }),
      tags: t.arg.stringList(),
      config: t.arg({ type: 'JSONObject' }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, context) =>
      startRun(context.db, callerId(context), { ...args, steps: args.steps?.map((s) => ({ name: s.name, parents: s.parents ?? [] })) }),
  }),
  startStep: t.field({
    authScopes: { reporter: true },
    type: StepRunType,
    errors: { types: [...REPORTING_ERRORS, IdempotencyConflictError] },
    description: 'Records that a step started, with the artifact versions it consumes. A retry answers the same step run; with other arguments, an IdempotencyConflictError.',
    args: {
      runId: t.arg.id({ required: true }),
      name: t.arg.string({ required: true }),
      parents: t.arg.stringList({ description: "Defaults to the parents given in startRun's steps." }),
      cacheKey: t.arg.string(),
      codeHash: t.arg.string(),
      parameters: t.arg({ type: 'JSONObject' }),
      inputs: t.arg({ type: [StepInputInput] }),
      attempt: t.arg.int({
        description:
          'Which attempt this is, from 1 (the default). A higher attempt than the current one takes the step run over; the current attempt, if still running, is LOST. A lower one is refused.',
      }),
      worker: t.arg({ type: StepWorkerInput, description: 'The worker process that runs the attempt; absent when the step runs in the run\'s own process.' }),
      queuedAt: t.arg({ type: 'DateTime', description: 'When the attempt was enqueued: its queue wait ends now.' }),
      logsFolder: t.arg.string({
        description: "The logs folder of the run's artifact store (ending in /logs/): the step run's log is kept in its subfolder named by the step run's id (StepRun.logUri).",
      }),
      id: t.arg.id({
        description:
          "The new step run's id, a StepRun id of a fresh UUID the caller chose, so the step can begin while its start is recorded. A step that has a step run already answers that step run, with its own id, whatever id is given; opening a step under an id another step run has is an IdempotencyConflictError.",
      }),
    },
    resolve: (_root, args, context) =>
      startStep(context.db, {
        ...args,
        runId: databaseId(args.runId, 'PipelineRun', 'runId'),
        id: args.id == null ? null : databaseId(args.id, 'StepRun', 'id'),
        inputs: args.inputs?.map((input, index) => ({
          name: input.name,
          artifactVersionId: databaseId(input.artifactVersionId, 'ArtifactVersion', `inputs.${index}.artifactVersionId`),
        })),
      }),
  }),
  finishStep: t.field({
    authScopes: { reporter: true },
    type: StepRunType,
    errors: { types: [...REPORTING_ERRORS, IdempotencyConflictError] },
    description:
      'Ends a step: COMPLETED, FAILED (with errorMessage), STOPPED, or CACHED (with originalStepRunId). FAILED with willRetry ends only the attempt: the step awaits its next one. COMPLETED may bring the last outputs, recorded as reportStepOutputs does before the step ends.',
    args: {
      stepRunId: t.arg.id({ required: true }),
      status: t.arg({ type: StepFinishStatusEnum, required: true }),
      errorMessage: t.arg.string(),
      originalStepRunId: t.arg.id(),
      attempt: t.arg.int({ description: 'The attempt this reports on; the current one when absent. A report on another attempt is refused.' }),
      willRetry: t.arg.boolean({ description: 'With FAILED: the orchestrator retries the step, so the step and its run go on.' }),
      outputs: t.arg({ type: [StepOutputInput], description: 'With COMPLETED: outputs not reported yet, as reportStepOutputs takes them (and at most as many).' }),
    },
    resolve: async (_root, args, context) => {
      return finishStep(context.db, {
        stepRunId: databaseId(args.stepRunId, 'StepRun', 'stepRunId'),
        outputs: args.outputs ? storedOutputArguments(args.outputs) : null,
        status: args.status,
        errorMessage: args.errorMessage,
        attempt: args.attempt,
        willRetry: args.willRetry,
        originalStepRunId: args.originalStepRunId == null ? null : databaseId(args.originalStepRunId, 'StepRun', 'originalStepRunId'),
      });
    },
  }),
  finishRun: t.field({
    authScopes: { reporter: true },
    type: PipelineRunType,
    errors: { types: REPORTING_ERRORS },
    description: 'Ends a run. Without a status it follows from the steps; steps not finished make it failed.',
    args: {
      runId: t.arg.id({ required: true }),
      status: t.arg({ type: RunFinishStatusEnum }),
      reason: t.arg.string(),
    },
    resolve: (_root, args, context) =>
      finishRun(context.db, { runId: databaseId(args.runId, 'PipelineRun', 'runId'), status: args.status, reason: args.reason }),
  }),
  stopRun: t.field({
    authScopes: { reporter: true },
    type: PipelineRunType,
    errors: { types: REPORTING_ERRORS },
    description:
      "Stops a run that has not ended, as a user does (`stackyard run stop`): the run and its running steps end as STOPPED, its reason says who stopped it and why, and workers abort its running steps at their next heartbeat. A run that has already ended is refused with an IllegalOperationError naming how it ended.",
    args: {
      runId: t.arg.id({ required: true }),
      reason: t.arg.string({ description: 'Why, kept in the run\'s statusReason after who stopped it.' }),
    },
    resolve: (_root, args, context) =>
      stopRun(context.db, { runId: databaseId(args.runId, 'PipelineRun', 'runId'), stoppedBy: caller(context).name, reason: args.reason }),
  }),
  detachRun: t.field({
    authScopes: { reporter: true },
    type: PipelineRunType,
    errors: { types: REPORTING_ERRORS },
    description:
      "Marks a run as handed to its orchestrator's queue by a driver that does not wait for it (run({ wait: false })). The heartbeat timeout then applies only while one of its steps runs: a run whose steps wait in the queue waits for a worker however long it takes, and `stackyard run stop` ends it. A run that has ended is answered as it is.",
    args: { runId: t.arg.id({ required: true }) },
    resolve: (_root, args, context) => detachRun(context.db, databaseId(args.runId, 'PipelineRun', 'runId')),
  }),
  heartbeat: t.field({
    authScopes: { reporter: true },
    type: PipelineRunType,
    errors: { types: REPORTING_ERRORS },
    description: `Tells the server the run's process is alive, and answers the run: once it has ended (endedAt set; stopped by a user, say), whoever runs its steps stops them. ${HEARTBEAT_DESCRIPTION}`,
    args: { runId: t.arg.id({ required: true }) },
    resolve: (_root, args, context) => heartbeat(context.db, databaseId(args.runId, 'PipelineRun', 'runId')),
  }),
  logMetadata: t.field({
    authScopes: { reporter: true },
    type: builder.objectRef<{ id: string; metadata: Record<string, unknown>; target: string }>('LogMetadataPayload').implement({
      fields: (f) => ({
        id: f.id({ resolve: (row) => encodeGlobalID(row.target, row.id) }),
        metadata: f.field({ type: 'JSONObject', resolve: (row) => row.metadata }),
      }),
    }),
    errors: { types: REPORTING_ERRORS },
    description: 'Merges keys into the metadata of a PipelineRun, StepRun or ArtifactVersion, named by its id.',
    args: { id: t.arg.id({ required: true }), metadata: t.arg({ type: 'JSONObject', required: true }) },
    resolve: async (_root, args, context) => {
      const target = METADATA_TARGETS.find((typename) => {
        try {
          databaseId(args.id, typename, 'id');
          return true;
        } catch {
          return false;
        }
      });
      if (!target) throw new ValidationError('id is not the id of a PipelineRun, StepRun or ArtifactVersion', 'id');
      const row = await logMetadata(context.db, target, databaseId(args.id, target, 'id'), args.metadata);
      return { ...row, target };
    },
  }),
  deleteRun: t.field({
    authScopes: { editor: true },
    type: builder.objectRef<{ id: string }>('DeleteRunPayload').implement({
      fields: (f) => ({ deletedId: f.id({ resolve: (run) => encodeGlobalID('PipelineRun', run.id) }) }),
    }),
    errors: { types: REPORTING_ERRORS },
    description: 'Deletes a run and its step runs; the artifact versions they produced remain.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, context) => deleteRun(context.db, databaseId(args.id, 'PipelineRun', 'id')),
  }),
}));


builder.subscriptionType({});

/** A subscriber sees each run at most this often: its latest state, however fast it changes. */
const RUN_UPDATE_INTERVAL_MS = 200;

builder.subscriptionFields((t) => ({
  runUpdated: t.drizzleField({
    authScopes: { reader: true },
    type: 'pipelineRuns',
    description:
      'Emits a run each time it or one of its steps changes (status, steps, outputs), for runs matching the filter. Over SSE: POST with Accept: text/event-stream.',
    args: { filter: t.arg({ type: RunFilterInput }) },
    subscribe: (_root, args, context) => {
      const filter = args.filter as RunFilter | null | undefined;
      // Checked before any event, so a malformed filter fails the subscription at once.
      runFilterSql(pipelineRuns, filter);
      // Following one run needs no query per event: the event names its run.
      const { runId: followed, ...rest } = filter ?? {};
      const onlyFollowed = followed != null && Object.values(rest).every((value) => value == null);
      const followedId = followed != null ? databaseId(followed, 'PipelineRun', 'filter.runId') : null;
      return pipe(
        coalesceRunIds(context.runUpdates.subscribe('runUpdated'), RUN_UPDATE_INTERVAL_MS),
        gqlFilter(async (runId: string) => {
          if (followedId !== null && runId !== followedId) return false;
          if (onlyFollowed) return true;
          const [match] = await context.db
            .select({ id: pipelineRuns.id })
            .from(pipelineRuns)
            .where(and(eq(pipelineRuns.id, runId), runFilterSql(pipelineRuns, filter)));
          return match !== undefined;
        }),
      );
    },
    resolve: async (query, runId, _args, context) =>
      (await context.db.query.pipelineRuns.findFirst(query({ where: { id: runId as unknown as string } })))!,
  }),
}));
