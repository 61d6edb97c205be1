import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { stackComponents } from '../components/component-tables';
import { stepRuns } from '../runs/run-tables';

export const artifacts = pgTable('artifacts', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull().unique('artifacts_name_key'),
  /** Highest version number handed out; bumped in the same statement that claims new numbers. */
  latestVersion: integer('latest_version').notNull().default(0),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'string', precision: 6 }).notNull().defaultNow(),
});

export const artifactVersions = pgTable(
  'artifact_versions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    artifactId: uuid('artifact_id')
      .notNull()
      .references(() => artifacts.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    uri: text('uri').notNull(),
    /** The store holding it; null once that component is deleted. */
    artifactStoreId: uuid('artifact_store_id').references(() => stackComponents.id, { onDelete: 'set null' }),
    type: text('type').notNull().default('data'),
    dataType: text('data_type'),
    materializer: text('materializer'),
    contentHash: text('content_hash'),
    sizeBytes: bigint('size_bytes', { mode: 'number' }),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    /** The step run that wrote it; it outlives the run (null once the run is deleted). */
    producerStepRunId: uuid('producer_step_run_id').references(() => stepRuns.id, { onDelete: 'set null' }),
    producerOutputName: text('producer_output_name'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string', precision: 6 }).notNull().defaultNow(),
  },
  (table) => [
    unique('artifact_versions_artifact_version_key').on(table.artifactId, table.version),
    index('artifact_versions_producer_idx').on(table.producerStepRunId),
  ],
);

/** A step run's named link to an artifact version; inputs and outputs have this one shape. */
function stepRunArtifactLinks(table: 'step_run_inputs' | 'step_run_outputs') {
  return pgTable(
    table,
    {
      stepRunId: uuid('step_run_id')
        .notNull()
        .references(() => stepRuns.id, { onDelete: 'cascade' }),
      name: text('name').notNull(),
      artifactVersionId: uuid('artifact_version_id')
        .notNull()
        .references(() => artifactVersions.id, { onDelete: 'cascade' }),
    },
    (link) => [
      primaryKey({ name: `${table}_pkey`, columns: [link.stepRunId, link.name] }),
      index(`${table}_artifact_version_idx`).on(link.artifactVersionId),
    ],
  );
}

/** What a step run read: input name → artifact version. These are the lineage graph's edges. */
export const stepRunInputs = stepRunArtifactLinks('step_run_inputs');

/**
 * What a step run produced, output name → artifact version. A cached step links the versions of
 * the step run it reused, so both show the same outputs while the producer stays the original.
 */
export const stepRunOutputs = stepRunArtifactLinks('step_run_outputs');
