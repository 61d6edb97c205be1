// GraphQL for artifacts and their versions: lineage, queries, and the output reports of steps.
import { drizzleConnectionHelpers } from '@pothos/plugin-drizzle';
import { arrayContains, eq, ilike, sql } from 'drizzle-orm';
import { builder } from '../builder';
import { IdempotencyConflictError, IllegalOperationError, LimitExceededError, NotFoundError, ValidationError } from '../errors';
import { databaseId } from '../ids';
import { checkedOrder, checkPageArgs, cursorColumns, PAGE_ERRORS, type PageArgs } from '../page-cursors';
import { StepRunType } from '../runs/run-schema';
import { StepOutputInput, storedOutputArguments } from './step-output-input';
import { MAX_OUTPUTS_PER_REPORT, reportStepOutputs, type StepOutputLink } from './artifact-service';
import { artifacts, artifactVersions } from './artifact-tables';
import { escapeLike } from '../validation';

const VERSION_ORDER = { version: 'desc', id: 'desc' } as const;
const versionPages = drizzleConnectionHelpers(builder, 'artifactVersions', { maxSize: 100, defaultSize: 20, query: () => ({ orderBy: VERSION_ORDER }) });
type VersionConnectionShape = ReturnType<typeof versionPages.resolve> & { count: () => Promise<number> };

const VersionConnection = builder.connectionObject(
  {
    type: versionPages.ref,
    name: 'ArtifactVersionsConnection',
    fields: (t) => ({ totalCount: t.int({ resolve: (connection) => (connection as unknown as VersionConnectionShape).count() }) }),
  },
  { name: 'ArtifactVersionsConnectionEdge' },
);

export const ArtifactType = builder.drizzleNode('artifacts', {
  name: 'Artifact',
  // Read straight off the row (see PipelineRun), so a list or a search hit needs no second statement.
  select: { columns: { id: true, name: true, latestVersion: true, createdAt: true } },
  description: 'A named value that steps produce again and again; each production is a version.',
  id: { column: (artifact) => artifact.id },
  fields: (t) => ({
    name: t.string({ resolve: (artifact) => artifact.name }),
    latestVersion: t.int({ resolve: (artifact) => artifact.latestVersion }),
    createdAt: t.field({ type: 'DateTime', resolve: (artifact) => artifact.createdAt }),
    // Planned into the artifact's own statement, as a related connection would be; its page
    // arguments are checked first, so a bad cursor is this field's InvalidCursorError.
    versions: t.field({
      type: VersionConnection,
      errors: { ...PAGE_ERRORS, union: { name: 'ArtifactVersionPageResult' } },
      description: 'Newest version first.',
      args: t.arg.connectionArgs(),
      select: (args: PageArgs, context, nestedSelection) => {
        try {
          checkPageArgs(args, cursorColumns(artifactVersions, VERSION_ORDER));
        } catch {
          return { columns: { id: true } }; // resolve reports the error
        }
        return { columns: { id: true }, with: { versions: versionPages.getQuery(args, context, nestedSelection) } };
      },
      resolve: (artifact, args, context) => {
        checkPageArgs(args, cursorColumns(artifactVersions, VERSION_ORDER));
        const connection = versionPages.resolve((artifact as unknown as { versions: never[] }).versions, args, context);
        return { ...connection, count: () => context.db.$count(artifactVersions, eq(artifactVersions.artifactId, artifact.id)) } as never;
      },
    }),
  }),
});

export const ArtifactVersionType = builder.drizzleNode('artifactVersions', {
  name: 'ArtifactVersion',
  // The columns lists and the SDK read always, straight off the row (see PipelineRun); others
  // when asked for.
  select: { columns: { id: true, version: true, uri: true, type: true, sizeBytes: true, materializer: true } },
  description: 'One stored value of an artifact, in an artifact store.',
  id: { column: (version) => version.id },
  fields: (t) => ({
    artifact: t.relation('artifact'),
    name: t.string({ select: { with: { artifact: { columns: { name: true } } } }, resolve: (v) => v.artifact.name }),
    version: t.int({ resolve: (v) => v.version }),
    uri: t.string({ resolve: (v) => v.uri }),
    artifactStore: t.relation('artifactStore', { nullable: true, description: 'Null once the store is deleted.' }),
    type: t.string({ description: 'data, model, schema, statistics, service, ...', resolve: (v) => v.type }),
    dataType: t.exposeString('dataType', { nullable: true }),
    materializer: t.string({ nullable: true, resolve: (v) => v.materializer }),
    contentHash: t.exposeString('contentHash', { nullable: true }),
    sizeBytes: t.float({ nullable: true, resolve: (v) => v.sizeBytes }),
    metadata: t.field({ type: 'JSONObject', select: { columns: { metadata: true } }, resolve: (v) => v.metadata }),
    tags: t.exposeStringList('tags'),
    producer: t.relation('producer', { nullable: true, description: 'The step run that wrote it; null once its run is deleted.' }),
    consumers: t.relation('consumers', { description: 'Step runs that read it as an input.', query: { orderBy: { startedAt: 'asc' } } }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const StepRunInputType = builder.drizzleObject('stepRunInputs', {
  name: 'StepRunInput',
  select: { columns: { name: true } },
  fields: (t) => ({ name: t.string({ resolve: (link) => link.name }), artifactVersion: t.relation('artifactVersion') }),
});

const StepRunOutputType = builder.drizzleObject('stepRunOutputs', {
  name: 'StepRunOutput',
  select: { columns: { name: true } },
  fields: (t) => ({ name: t.string({ resolve: (link) => link.name }), artifactVersion: t.relation('artifactVersion') }),
});

builder.drizzleObjectFields(StepRunType, (t) => ({
  inputs: t.relation('inputs', { type: StepRunInputType, query: { orderBy: { name: 'asc' } } }),
  outputs: t.relation('outputs', { type: StepRunOutputType, query: { orderBy: { name: 'asc' } } }),
}));

const ReportedOutputType = builder.objectRef<StepOutputLink>('ReportedOutput').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    // The row the report stored (or found stored): its columns need no second statement.
    artifactVersion: t.field({ type: ArtifactVersionType, resolve: (output) => output.artifactVersion as never }),
  }),
});

builder.queryFields((t) => ({
  artifact: t.drizzleField({
    authScopes: { reader: true },
    type: 'artifacts',
    nullable: true,
    args: { name: t.arg.string({ required: true }) },
    resolve: (query, _root, args, context) => context.db.query.artifacts.findFirst(query({ where: { name: args.name.trim() } })),
  }),
  artifacts: t.drizzleConnection({
    authScopes: { reader: true },
    type: 'artifacts',
    errors: PAGE_ERRORS,
    description: 'Artifacts, by name.',
    args: { nameContains: t.arg.string() },
    totalCount: (_parent, args, context) =>
      context.db.$count(artifacts, args.nameContains ? ilike(artifacts.name, `%${escapeLike(args.nameContains)}%`) : undefined),
    resolve: (query, _root, args, context) =>
      context.db.query.artifacts.findMany(
        query({
          where: args.nameContains ? { RAW: (table) => ilike(table.name, `%${escapeLike(args.nameContains!)}%`) } : undefined,
          orderBy: checkedOrder(artifacts, { name: 'asc' }, args),
        }),
      ),
  }),
  artifactVersion: t.drizzleField({
    authScopes: { reader: true },
    type: 'artifactVersions',
    nullable: true,
    description: 'One version of the artifact of this name; the latest when no version is given.',
    args: { name: t.arg.string({ required: true }), version: t.arg.int() },
    resolve: (query, _root, args, context) =>
      context.db.query.artifactVersions.findFirst(
        query({
          where: {
            RAW: (table) =>
              sql`${table.artifactId} = (select id from artifacts where name = ${args.name.trim()})${args.version == null ? sql`` : sql` and ${table.version} = ${args.version}`}`,
          },
          orderBy: { version: 'desc' },
        }),
      ),
  }),
  artifactVersions: t.drizzleConnection({
    authScopes: { reader: true },
    type: 'artifactVersions',
    errors: PAGE_ERRORS,
    description: 'Versions of artifacts, newest first.',
    args: {
      name: t.arg.string({ description: 'Only versions of the artifact of this name.' }),
      type: t.arg.string(),
      tags: t.arg.stringList({ description: 'Versions with all of these tags.' }),
    },
    totalCount: (_parent, args, context) => context.db.$count(artifactVersions, versionFilter(artifactVersions, args)),
    resolve: (query, _root, args, context) =>
      context.db.query.artifactVersions.findMany(
        query({ where: { RAW: (table) => versionFilter(table, args) }, orderBy: checkedOrder(artifactVersions, { createdAt: 'desc', id: 'desc' }, args) }),
      ),
  }),
}));

function versionFilter(table: typeof artifactVersions, args: { name?: string | null; type?: string | null; tags?: string[] | null }) {
  return sql.join(
    [
      sql`true`,
      ...(args.name ? [sql`${table.artifactId} = (select id from artifacts where name = ${args.name.trim()})`] : []),
      ...(args.type ? [sql`${table.type} = ${args.type}`] : []),
      ...(args.tags?.length ? [arrayContains(table.tags, args.tags)] : []),
    ],
    sql` and `,
  );
}

builder.mutationFields((t) => ({
  reportStepOutputs: t.field({
    authScopes: { reporter: true },
    type: builder.objectRef<{ outputs: StepOutputLink[] }>('ReportStepOutputsPayload').implement({
      fields: (f) => ({ outputs: f.field({ type: [ReportedOutputType], resolve: (payload) => payload.outputs }) }),
    }),
    errors: { types: [ValidationError, NotFoundError, IllegalOperationError, LimitExceededError, IdempotencyConflictError] },
    description: `Records a step run's outputs as artifact versions, numbered per artifact name. At most ${MAX_OUTPUTS_PER_REPORT} outputs per call. A retry answers the versions stored the first time; an output repeated with other arguments is an IdempotencyConflictError.`,
    args: {
      stepRunId: t.arg.id({ required: true }),
      outputs: t.arg({ type: [StepOutputInput], required: true }),
    },
    resolve: async (_root, args, context) => ({
      outputs: await reportStepOutputs(context.db, databaseId(args.stepRunId, 'StepRun', 'stepRunId'), storedOutputArguments(args.outputs)),
    }),
  }),
}));

