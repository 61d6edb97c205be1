// The rules of artifact versions: numbering per name without races, idempotent reports,
// metadata.
import { and, eq, inArray, sql } from 'drizzle-orm';
import { stackComponents } from '../components/component-tables';
import type { Database, Queryable } from '../db/database';
import { IllegalOperationError, LimitExceededError, NotFoundError, ValidationError } from '../errors';
import { pipelineRuns, pipelines } from '../runs/run-tables';
import { requireStepRun } from '../runs/run-service';
import { compileOnFirstUse, assertValid, tagSchema, validateName } from '../validation';
import { artifacts, artifactVersions, stepRunOutputs } from './artifact-tables';
import { notifyRunUpdated } from '../runs/run-events';

/** Published in the schema (`serverLimits`): a larger batch is refused with LimitExceededError. */
export const MAX_OUTPUTS_PER_REPORT = 100;

export interface ReportedOutput {
  /** The step's output name. */
  name: string;
  /** Defaults to `{pipeline}::{step}::{output}`. */
  artifactName?: string | null;
  uri: string;
  /** Defaults to the artifact store of the run's stack snapshot. */
  artifactStoreId?: string | null;
  type?: string | null;
  dataType?: string | null;
  materializer?: string | null;
  contentHash?: string | null;
  sizeBytes?: number | null;
  metadata?: Record<string, unknown> | null;
  tags?: string[] | null;
}

const validateOutput = compileOnFirstUse({
  type: 'object',
  required: ['uri'],
  properties: {
    uri: { type: 'string', minLength: 1, maxLength: 4096 },
    type: { type: ['string', 'null'], minLength: 1, maxLength: 64 },
    dataType: { type: ['string', 'null'], maxLength: 1024 },
    materializer: { type: ['string', 'null'], maxLength: 1024 },
    contentHash: { type: ['string', 'null'], maxLength: 256 },
    sizeBytes: { type: ['integer', 'null'], minimum: 0 },
    tags: { type: ['array', 'null'], maxItems: 100, items: tagSchema },
  },
});

export interface StepOutputLink {
  name: string;
  artifactVersionId: string;
}

/**
 * Records a batch of a step run's outputs as new artifact versions. Idempotent per (step run,
 * output name): an output reported before answers the version stored then.
 */
export async function reportStepOutputs(db: Database, stepRunId: string, outputs: ReportedOutput[]): Promise<StepOutputLink[]> {
  if (outputs.length > MAX_OUTPUTS_PER_REPORT) {
    throw new LimitExceededError(`At most ${MAX_OUTPUTS_PER_REPORT} outputs per report`, 'outputs', MAX_OUTPUTS_PER_REPORT);
  }
  const seen = new Set<string>();
  const checked = outputs.map((output, index) => {
    const field = `outputs.${index}`;
    const name = validateName(output.name, `${field}.name`);
    if (seen.has(name)) throw new ValidationError(`Output "${name}" is reported twice`, `${field}.name`);
    seen.add(name);
    assertValid(validateOutput, output, field);
    return {
      ...output,
      name,
      artifactName: output.artifactName == null ? null : validateName(output.artifactName, `${field}.artifactName`),
    };
  });

  return db.transaction(async (tx) => {
    // Locking the step serialises retries of one report, so each output is stored once.
    const step = await requireStepRun(tx, stepRunId, 'stepRunId', true);
    const [context] = await tx
      .select({ pipeline: pipelines.name, snapshot: pipelineRuns.stackSnapshot })
      .from(pipelineRuns)
      .innerJoin(pipelines, eq(pipelines.id, pipelineRuns.pipelineId))
      .where(eq(pipelineRuns.id, step.runId));
    const stored = await tx
      .select({ name: stepRunOutputs.name, artifactVersionId: stepRunOutputs.artifactVersionId })
      .from(stepRunOutputs)
      .where(eq(stepRunOutputs.stepRunId, step.id));
    const storedByName = new Map(stored.map((link) => [link.name, link]));
    const fresh = checked.filter((output) => !storedByName.has(output.name));
    if (fresh.length > 0 && step.status !== 'running') {
      throw new IllegalOperationError(`The step "${step.name}" has finished (${step.status}); it takes no new outputs`, 'stepRunId');
    }
    if (fresh.length > 0) {
      const storeIds = await existingStoreIds(tx, [
        ...fresh.map((output) => output.artifactStoreId).filter((id): id is string => !!id),
        ...context.snapshot.components.filter((c) => c.type === 'artifact_store').map((c) => c.id),
      ]);
      const missingStore = fresh.findIndex((output) => output.artifactStoreId && !storeIds.has(output.artifactStoreId));
      if (missingStore >= 0) throw new NotFoundError('No such artifact store', `outputs.${missingStore}.artifactStoreId`);
      const snapshotStore = context.snapshot.components.find((c) => c.type === 'artifact_store')?.id;
      const defaultStore = snapshotStore && storeIds.has(snapshotStore) ? snapshotStore : null;

      const artifactNameOf = (output: (typeof fresh)[number]) =>
        output.artifactName ?? `${context.pipeline}::${step.name}::${output.name}`;
      const counts = new Map<string, number>();
      for (const output of fresh) counts.set(artifactNameOf(output), (counts.get(artifactNameOf(output)) ?? 0) + 1);
      // One statement claims every number: the upsert bumps each name's counter under its row
      // lock, so concurrent reporters of one name get distinct, gapless versions. Names go in a
      // fixed order so two batches never wait on each other's locks in opposite orders.
      const claimed = await tx
        .insert(artifacts)
        .values([...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, count]) => ({ name, latestVersion: count })))
        .onConflictDoUpdate({
          target: artifacts.name,
          set: { latestVersion: sql`${artifacts.latestVersion} + excluded.latest_version` },
        })
        .returning({ id: artifacts.id, name: artifacts.name, latestVersion: artifacts.latestVersion });
      const next = new Map(claimed.map((row) => [row.name, { id: row.id, version: row.latestVersion - counts.get(row.name)! }]));
      const versions = await tx
        .insert(artifactVersions)
        .values(
          fresh.map((output) => {
            const slot = next.get(artifactNameOf(output))!;
            slot.version += 1;
            return {
              artifactId: slot.id,
              version: slot.version,
              uri: output.uri,
              artifactStoreId: output.artifactStoreId ?? defaultStore,
              type: output.type ?? 'data',
              dataType: output.dataType ?? null,
              materializer: output.materializer ?? null,
              contentHash: output.contentHash ?? null,
              sizeBytes: output.sizeBytes ?? null,
              metadata: output.metadata ?? {},
              tags: [...new Set(output.tags ?? [])],
              producerStepRunId: step.id,
              producerOutputName: output.name,
            };
          }),
        )
        .returning({ id: artifactVersions.id, outputName: artifactVersions.producerOutputName });
      const links = versions.map((version) => ({ stepRunId: step.id, name: version.outputName!, artifactVersionId: version.id }));
      await tx.insert(stepRunOutputs).values(links);
      for (const link of links) storedByName.set(link.name, link);
      await tx
        .update(pipelineRuns)
        .set({ updatedAt: sql`clock_timestamp()`, lastHeartbeatAt: sql`clock_timestamp()` })
        .where(eq(pipelineRuns.id, step.runId));
      await notifyRunUpdated(tx, step.runId);
    }
    return checked.map((output) => ({ name: output.name, artifactVersionId: storedByName.get(output.name)!.artifactVersionId }));
  });
}

async function existingStoreIds(tx: Queryable, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await tx
    .select({ id: stackComponents.id })
    .from(stackComponents)
    .where(and(inArray(stackComponents.id, [...new Set(ids)]), eq(stackComponents.type, 'artifact_store')));
  return new Set(rows.map((row) => row.id));
}

