// The rules of artifact versions: numbering per name without races, idempotent reports,
// metadata.
import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import { stackComponents } from '../components/component-tables';
import { postgresErrorCode, UNIQUE_VIOLATION, type Database } from '../db/database';
import { executePrepared } from '../db/prepared-statements';
import { IdempotencyConflictError, IllegalOperationError, LimitExceededError, NotFoundError, ValidationError } from '../errors';
import { assertSameArguments } from '../runs/idempotency';
import { pipelineRuns, pipelines, stepRuns } from '../runs/run-tables';
import { RUN_UPDATED_CHANNEL } from '../runs/run-events';
import { assertValid, compileOnFirstUse, tagSchema, validateName } from '../validation';
import { artifacts, artifactVersions, stepRunOutputs } from './artifact-tables';

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

/** An output's name and the version stored for it, as the statement that stored it answered. */
export interface StepOutputLink {
  name: string;
  artifactVersion: typeof artifactVersions.$inferSelect;
}

/**
 * Checks a batch of a step run's outputs as reportStepOutputs and finishStep take them: within the
 * limit, valid names given once, fields of the right shapes. Throws the typed error of the first
 * fault.
 */
export function checkReportedOutputs(outputs: ReportedOutput[]): CheckedOutput[] {
  if (outputs.length > MAX_OUTPUTS_PER_REPORT) {
    throw new LimitExceededError(`At most ${MAX_OUTPUTS_PER_REPORT} outputs per report`, 'outputs', MAX_OUTPUTS_PER_REPORT);
  }
  const seen = new Set<string>();
  return outputs.map((output, index) => {
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
}

/**
 * Records a batch of a step run's outputs as new artifact versions. Idempotent per (step run,
 * output name): an output reported before answers the version stored then.
 */
export async function reportStepOutputs(db: Database, stepRunId: string, outputs: ReportedOutput[]): Promise<StepOutputLink[]> {
  const checked = checkReportedOutputs(outputs);
  const report = () => reportInOneStatement(db, stepRunId, checked);
  let outcome: ReportOutcome;
  try {
    outcome = await report();
  } catch (error) {
    // A retry of the same report that raced this one and committed first: its links are now
    // visible, so a second look answers them (the failed statement stored nothing).
    if (postgresErrorCode(error) !== UNIQUE_VIOLATION) throw error;
    outcome = await report();
  }
  const { check, links } = outcome;
  if (!check.found) throw new NotFoundError('No such step run', 'stepRunId');
  if (check.conflict != null) throwConflict(checked, check.conflict, check.pipeline!, check.stepName!, outcome.conflictWith!);
  if (check.hasFresh && check.status !== 'running') {
    throw new IllegalOperationError(`The step "${check.stepName}" has finished (${check.status}); it takes no new outputs`, 'stepRunId');
  }
  if (check.missingStore != null) throw new NotFoundError('No such artifact store', `outputs.${check.missingStore}.artifactStoreId`);
  const stored = new Map(links.map((link) => [link.name, link.artifactVersion]));
  return checked.map((output) => ({ name: output.name, artifactVersion: stored.get(output.name)! }));
}

/**
 * A retried output answers the version it stored only if it repeats what that version records;
 * the statement stored nothing of the batch, and this names the first field that differs.
 */
function throwConflict(outputs: CheckedOutput[], index: number, pipeline: string, stepName: string, stored: ConflictingVersion): never {
  const output = outputs[index];
  assertSameArguments(
    { ...stored.version, artifactName: stored.artifactName, tags: [...stored.version.tags].sort() },
    {
      artifactName: output.artifactName ?? `${pipeline}::${stepName}::${output.name}`,
      uri: output.uri,
      type: output.type ?? 'data',
      dataType: output.dataType ?? null,
      materializer: output.materializer ?? null,
      contentHash: output.contentHash ?? null,
      sizeBytes: output.sizeBytes ?? null,
      tags: [...new Set(output.tags ?? [])].sort(),
      // The store defaults to the snapshot's, which may since have been deleted: compared only when given.
      ...(output.artifactStoreId ? { artifactStoreId: output.artifactStoreId } : {}),
    },
    `outputs.${index}.`,
  );
  // The statement's comparison and this one are the same rule; should they ever disagree, still refuse.
  throw new IdempotencyConflictError(`outputs.${index} differs from the call this one repeats; a retry must carry the same arguments`, `outputs.${index}`);
}

/** A version row as JSON with Drizzle's field names, so the schema reads it as a loaded row. */
function versionJson(alias: string) {
  const columns = Object.entries(getTableColumns(artifactVersions)).map(([field, column]) => `'${field}', ${alias}.${column.name}`);
  return sql.raw(`json_build_object(${columns.join(', ')})`);
}

/** A reported output that passed checkReportedOutputs. */
export type CheckedOutput = ReportedOutput & { name: string; artifactName: string | null };

interface ConflictingVersion {
  artifactName: string;
  version: typeof artifactVersions.$inferSelect;
}

interface ReportOutcome {
  check: {
    found: boolean;
    pipeline: string | null;
    stepName: string | null;
    status: string | null;
    hasFresh: boolean;
    missingStore: number | null;
    /** Index of the first output that repeats a stored one with other arguments. */
    conflict: number | null;
  };
  links: StepOutputLink[];
  conflictWith: ConflictingVersion | null;
}

/**
 * The CTEs that record a step run's outputs, for a statement that goes on from them. They lock
 * the step's run (`run`) before the step (`step`), in the order finishRun and finishStep take
 * them: a report locking the step first deadlocked with a run stopped at the same time. Then
 * they keep the outputs the step has not stored yet, check them, claim version numbers, and
 * insert the versions (`versions`) and links (`links`). `checked` is one row of what they found,
 * `accepted` true when the outputs are stored: the step is running, a repeated output repeats
 * what was stored, the stores exist, and `requires`, a condition on the CTE `step` (the step
 * run's row), holds. The writes only happen when it is, and the statement commits or fails as one.
 *
 * Gap-free numbers: the upsert bumps each name's counter under its row lock (names in a fixed
 * order, so two reports never wait on each other's locks in opposite orders) and hands out
 * counter - count + 1 .. counter. Idempotence: the links' primary key (step run, output name);
 * a concurrent retry that loses fails on it and is answered by a second look.
 */
export function recordedOutputsCtes(stepRunId: string, outputs: CheckedOutput[], requires: SQL = sql`true`): SQL {
  const rows = outputs.map((output, index) => ({
    ord: index,
    name: output.name,
    artifact_name: output.artifactName,
    uri: output.uri,
    artifact_store_id: output.artifactStoreId ?? null,
    type: output.type ?? 'data',
    data_type: output.dataType ?? null,
    materializer: output.materializer ?? null,
    content_hash: output.contentHash ?? null,
    size_bytes: output.sizeBytes ?? null,
    metadata: output.metadata ?? {},
    tags: [...new Set(output.tags ?? [])],
  }));
  return sql`
    run as (
      select ${pipelineRuns.id} as id from ${pipelineRuns}
      where ${pipelineRuns.id} = (select s.run_id from ${stepRuns} s where s.id = ${stepRunId})
      for no key update),
    step as (
      select s.id, s.name, s.status, s.attempt, s.run_id, p.name as pipeline,
             (select (c->>'id')::uuid from jsonb_array_elements(r.stack_snapshot->'components') c
              where c->>'type' = 'artifact_store' limit 1) as snapshot_store
      from ${stepRuns} s
      join ${pipelineRuns} r on r.id = s.run_id
      join ${pipelines} p on p.id = r.pipeline_id
      where s.id = ${stepRunId} and exists (select 1 from run)
      for no key update of s),
    stored as (
      select o.name, a.name as artifact_name, v.uri, v.type, v.data_type, v.materializer, v.content_hash,
             v.size_bytes, v.tags, v.artifact_store_id, ${versionJson('v')} as version
      from ${stepRunOutputs} o join ${artifactVersions} v on v.id = o.artifact_version_id
      join ${artifacts} a on a.id = v.artifact_id
      where o.step_run_id = ${stepRunId}),
    input as (
      select i.*, coalesce(i.artifact_name, step.pipeline || '::' || step.name || '::' || i.name) as full_name
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as i(
        ord int, name text, artifact_name text, uri text, artifact_store_id uuid, type text, data_type text,
        materializer text, content_hash text, size_bytes bigint, metadata jsonb, tags text[])
      cross join step),
    fresh as (
      select * from input where name not in (select name from stored)),
    conflicts as (
      -- The same comparison as throwConflict's (metadata aside): a retry must repeat what was stored.
      select i.ord, s.artifact_name, s.version from input i join stored s on s.name = i.name
      where s.artifact_name <> i.full_name or s.uri <> i.uri or s.type <> i.type
         or s.data_type is distinct from i.data_type or s.materializer is distinct from i.materializer
         or s.content_hash is distinct from i.content_hash or s.size_bytes is distinct from i.size_bytes
         or (i.artifact_store_id is not null and s.artifact_store_id is distinct from i.artifact_store_id)
         or array(select distinct t from unnest(s.tags) t order by t) <> array(select distinct t from unnest(i.tags) t order by t)
      order by i.ord limit 1),
    stores as (
      -- Locked against deletion (KEY SHARE, after the run and the step): a store that a delete
      -- has taken is waited for and then left out, as missing, where the versions' foreign key
      -- would otherwise find it gone and fail the statement.
      select c.id from ${stackComponents} c
      where c.type = 'artifact_store'
        and c.id in (select artifact_store_id from fresh union all select snapshot_store from step)
      for key share),
    findings as (
      select exists (select 1 from step) as found,
             (select pipeline from step) as pipeline,
             (select name from step) as step_name,
             (select ord from conflicts) as conflict,
             (select status from step) as status,
             exists (select 1 from fresh) as has_fresh,
             (select min(ord) from fresh
              where artifact_store_id is not null and artifact_store_id not in (select id from stores)) as missing_store,
             coalesce((select ${requires} from step), false) as required),
    checked as (
      select f.*, f.status = 'running' and f.conflict is null and f.missing_store is null and f.required as accepted
      from findings f),
    accepted as (
      select fresh.* from fresh, checked where checked.accepted),
    claimed as (
      insert into ${artifacts} (name, latest_version)
      select full_name, count(*) from accepted group by full_name order by full_name
      on conflict (name) do update set latest_version = ${artifacts}.latest_version + excluded.latest_version
      returning id, name, latest_version),
    versions as (
      insert into ${artifactVersions} (artifact_id, version, uri, artifact_store_id, type, data_type, materializer,
                                       content_hash, size_bytes, metadata, tags, producer_step_run_id, producer_output_name)
      select claimed.id,
             claimed.latest_version - count(*) over same_name + row_number() over (same_name order by a.ord),
             a.uri, coalesce(a.artifact_store_id, (select id from stores where id = (select snapshot_store from step))),
             a.type, a.data_type, a.materializer, a.content_hash, a.size_bytes, a.metadata, a.tags, ${stepRunId}, a.name
      from accepted a join claimed on claimed.name = a.full_name
      window same_name as (partition by a.full_name)
      returning *),
    links as (
      insert into ${stepRunOutputs} (step_run_id, name, artifact_version_id)
      select ${stepRunId}, producer_output_name, id from versions
      returning name)`;
}

/**
 * The whole report as one statement of data-modifying CTEs, so no transaction is held open
 * across round trips: recordedOutputsCtes, then touch the run and notify when it stored any.
 */
async function reportInOneStatement(db: Database, stepRunId: string, outputs: CheckedOutput[]): Promise<ReportOutcome> {
  const result = await executePrepared(db, sql`
    with ${recordedOutputsCtes(stepRunId, outputs)},
    touched as (
      update ${pipelineRuns} set updated_at = clock_timestamp(), last_heartbeat_at = clock_timestamp()
      where id = (select id from run) and exists (select 1 from links)
      returning id),
    notified as (
      select pg_notify(${RUN_UPDATED_CHANNEL}, id::text) from touched)
    select row_to_json(checked) as "check",
           (select count(*) from notified) as notified,
           coalesce((select json_agg(json_build_object('name', name, 'artifactVersion', version))
                     from (select name, version from stored
                           union all select v.producer_output_name, ${versionJson('v')} from versions v) l),
                    '[]'::json) as links,
           (select json_build_object('artifactName', artifact_name, 'version', version) from conflicts) as conflict_with
    from checked`);
  const [row] = (result as unknown as { rows: { check: Record<string, unknown>; links: StepOutputLink[]; conflict_with: ConflictingVersion | null }[] }).rows;
  const check = row.check;
  return {
    check: {
      found: Boolean(check.found),
      pipeline: (check.pipeline as string | null) ?? null,
      stepName: (check.step_name as string | null) ?? null,
      status: (check.status as string | null) ?? null,
      hasFresh: Boolean(check.has_fresh),
      missingStore: (check.missing_store as number | null) ?? null,
      conflict: (check.conflict as number | null) ?? null,
    },
    links: row.links,
    conflictWith: row.conflict_with,
  };
}

