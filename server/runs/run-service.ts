// The rules of pipeline runs and step runs: starting, finishing, heartbeats and expiry.
import { randomUUID } from 'node:crypto';
import { and, eq, gt, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { checkReportedOutputs, recordedOutputsCtes, reportStepOutputs, type CheckedOutput, type ReportedOutput } from '../artifacts/artifact-service';
import { stepRunOutputs, stepRunInputs, artifactVersions } from '../artifacts/artifact-tables';
import { FOREIGN_KEY_VIOLATION, UNIQUE_VIOLATION, postgresErrorCode, postgresErrorConstraint, type Database, type Queryable } from '../db/database';
import { executePrepared } from '../db/prepared-statements';
import { resultRows, rowColumns } from '../db/row-columns';
import { IdempotencyConflictError, IllegalOperationError, NameTakenError, NotFoundError, ValidationError } from '../errors';
import { activeStackIdSql, stackMembers } from '../stacks/stack-service';
import { stacks } from '../stacks/stack-tables';
import { creatorIdSql } from '../users/user-service';
import { compileOnFirstUse, assertValid, tagSchema, validateName } from '../validation';
import { derivedRunStatusSql, isFinished, refreshedRunSql, unfinishedSteps } from './run-status';
import {
  pipelineRunComponents,
  pipelineRuns,
  pipelines,
  stepAttempts,
  stepRuns,
  type ExpectedStep,
  type RunStatus,
  type StackSnapshot,
  type StepStatus,
  type StepWorker,
} from './run-tables';
import { notifyRunUpdated } from './run-events';
import { assertSameArguments } from './idempotency';
import { attemptArguments, checkAttempt, checkWorker, endCurrentAttempt, endedAttempt, openNextAttempt, type AttemptStart } from './step-attempts';
import { checkLogsFolder, stepLogUri } from '../logs/step-log-service';

export type RunRow = typeof pipelineRuns.$inferSelect;
export type StepRunRow = typeof stepRuns.$inferSelect;

const validateTags = compileOnFirstUse({ type: 'array', maxItems: 100, items: tagSchema });

function checkTags(tags: string[] | null | undefined, field = 'tags'): string[] {
  const list = tags ?? [];
  assertValid(validateTags, list, field);
  return [...new Set(list.map((tag) => tag.trim()))];
}

/** Checks step names, that parents are expected steps, and that the graph has no cycle. */
function checkExpectedSteps(steps: ExpectedStep[]): ExpectedStep[] {
  const names = new Set<string>();
  const checked = steps.map((step, index) => {
    const name = validateName(step.name, `steps.${index}.name`);
    if (names.has(name)) throw new ValidationError(`Step "${name}" is listed twice`, `steps.${index}.name`);
    names.add(name);
    return { name, parents: [...new Set((step.parents ?? []).map((parent) => parent.trim()))] };
  });
  for (const [index, step] of checked.entries()) {
    for (const parent of step.parents) {
      if (!names.has(parent)) throw new ValidationError(`Step "${step.name}" waits for unknown step "${parent}"`, `steps.${index}.parents`);
    }
  }
  // Kahn's algorithm: whatever cannot be ordered sits on a cycle.
  const remaining = new Map(checked.map((step) => [step.name, new Set(step.parents)]));
  let progressed = true;
  while (remaining.size > 0 && progressed) {
    progressed = false;
    for (const [name, parents] of remaining) {
      if ([...parents].every((parent) => !remaining.has(parent))) {
        remaining.delete(name);
        progressed = true;
      }
    }
  }
  if (remaining.size > 0) {
    throw new ValidationError(`The steps ${[...remaining.keys()].map((n) => `"${n}"`).join(', ')} wait for each other`, 'steps');
  }
  return checked;
}

export interface StartRunInput {
  pipeline: string;
  /** Stack name; the caller's active stack when absent. */
  stack?: string | null;
  name?: string | null;
  steps?: ExpectedStep[] | null;
  tags?: string[] | null;
  config?: Record<string, unknown> | null;
  idempotencyKey?: string | null;
}

export async function startRun(db: Database, userId: string, input: StartRunInput): Promise<RunRow> {
  const pipelineName = validateName(input.pipeline, 'pipeline');
  const runName = input.name == null ? null : validateName(input.name, 'name');
  const expectedSteps = checkExpectedSteps(input.steps ?? []);
  const tags = checkTags(input.tags);
  const idempotencyKey = input.idempotencyKey == null ? null : validateName(input.idempotencyKey, 'idempotencyKey');
  // What a replay of the key must repeat: the arguments as given, normalised.
  const request = {
    pipeline: pipelineName,
    stack: input.stack ?? null,
    name: runName,
    steps: expectedSteps,
    tags: [...tags].sort(),
    config: input.config ?? {},
  };
  if (idempotencyKey) {
    const existing = await findRunByIdempotencyKey(db, idempotencyKey, request);
    if (existing) return existing;
  }
  try {
    return await db.transaction(async (tx) => {
      await tx.insert(pipelines).values({ name: pipelineName }).onConflictDoNothing();
      const [pipeline] = await tx.select().from(pipelines).where(eq(pipelines.name, pipelineName));
      const stack = await lockRunStack(tx, userId, input.stack);
      const members = await stackMembers(tx, stack.id);
      const snapshot: StackSnapshot = {
        stackId: stack.id,
        name: stack.name,
        // configuration holds no secrets: those live in their own column.
        components: members.map((component) => ({
          id: component.id,
          type: component.type,
          name: component.name,
          flavor: component.flavor,
          configuration: component.configuration,
        })),
      };
      const [run] = await tx
        .insert(pipelineRuns)
        .values({
          pipelineId: pipeline.id,
          stackId: stack.id,
          userId: creatorIdSql(userId),
          // The default name carries the start time to the microsecond, as ZenML's does.
          name: runName ?? sql`${pipelineName} || '-' || to_char(clock_timestamp() at time zone 'UTC', 'YYYY_MM_DD-HH24_MI_SS_US')`,
          expectedSteps,
          expectedStepCount: expectedSteps.length,
          stackSnapshot: snapshot,
          tags,
          config: input.config ?? {},
          idempotencyKey,
          idempotencyRequest: idempotencyKey ? request : null,
        })
        .returning();
      if (members.length > 0) {
        await tx.insert(pipelineRunComponents).values(members.map((component) => ({ runId: run.id, componentId: component.id })));
      }
      await notifyRunUpdated(tx, run.id);
      return run;
    });
  } catch (error) {
    if (postgresErrorCode(error) === UNIQUE_VIOLATION) {
      // A concurrent retry with the same key won the race: answer its run.
      if (idempotencyKey) {
        const existing = await findRunByIdempotencyKey(db, idempotencyKey, request);
        if (existing) return existing;
      }
      throw new NameTakenError(`A run named "${runName ?? pipelineName}" already exists`, 'name');
    }
    throw error;
  }
}

/**
 * Locks the stack a run starts on (FOR SHARE: it keeps its components and stays while the run
 * records them): the one named, else the caller's active stack.
 */
async function lockRunStack(tx: Queryable, userId: string, name: string | null | undefined): Promise<typeof stacks.$inferSelect> {
  const lock = () => tx.select().from(stacks).where(name == null ? sql`${stacks.id} = ${activeStackIdSql(userId)}` : eq(stacks.name, name.trim())).for('share');
  let [stack] = await lock();
  // The active stack found was deleted while this waited for its lock: the caller's active stack
  // is now the default one (ON DELETE SET NULL), which a second look, in a new snapshot, finds.
  if (!stack && name == null) [stack] = await lock();
  if (!stack) throw name == null ? new NotFoundError('Your active stack was deleted; set another one active', 'stack') : new NotFoundError(`No stack named "${name}"`, 'stack');
  return stack;
}

/** The run started under this key, if its arguments match the replay's; runs from before they were kept are trusted. */
async function findRunByIdempotencyKey(db: Queryable, key: string, request: Record<string, unknown>): Promise<RunRow | undefined> {
  const [run] = await db.select().from(pipelineRuns).where(eq(pipelineRuns.idempotencyKey, key));
  if (run?.idempotencyRequest) assertSameArguments(run.idempotencyRequest, request);
  return run;
}

export async function requireRun(db: Queryable, runId: string, field = 'runId', lock = false): Promise<RunRow> {
  const query = db.select().from(pipelineRuns).where(eq(pipelineRuns.id, runId));
  // NO KEY UPDATE: it does not change the id, so foreign keys to the row (step runs inserted,
  // a worker's current steps) do not wait for it, nor it for them; FOR UPDATE deadlocked there.
  const [run] = lock ? await query.for('no key update') : await query;
  if (!run) throw new NotFoundError('No such run', field);
  return run;
}

export async function requireStepRun(db: Queryable, stepRunId: string, field = 'stepRunId', lock: boolean | 'key share' = false): Promise<StepRunRow> {
  const query = db.select().from(stepRuns).where(eq(stepRuns.id, stepRunId));
  // NO KEY UPDATE, as requireRun's; KEY SHARE only keeps the step from being deleted.
  const [step] = lock ? await query.for(lock === true ? 'no key update' : lock) : await query;
  if (!step) throw new NotFoundError('No such step run', field);
  return step;
}

/** Recomputes a run's status from its steps and announces it, when no step's status changed (the trigger does it then). */
async function refreshRunStatus(tx: Queryable, runId: string): Promise<void> {
  await tx.execute(refreshedRunSql(runId));
}

function endedNow() {
  return {
    endedAt: sql`clock_timestamp()`,
    durationMs: sql`greatest(0, floor(extract(epoch from (clock_timestamp() - ${pipelineRuns.startedAt})) * 1000))::bigint`,
  };
}

export interface StartStepInput {
  runId: string;
  name: string;
  parents?: string[] | null;
  cacheKey?: string | null;
  codeHash?: string | null;
  parameters?: Record<string, unknown> | null;
  /** Input name → artifact version id. */
  inputs?: { name: string; artifactVersionId: string }[] | null;
  /** Which attempt at the step this is (1 when absent); a higher one takes the step run over. */
  attempt?: number | null;
  /** The worker process running the attempt; absent when the step runs in the run's own process. */
  worker?: StepWorker | null;
  /** When the attempt was enqueued. */
  queuedAt?: string | null;
  /** The logs folder of the run's artifact store: the step run's log goes in its subfolder named by its id. */
  logsFolder?: string | null;
  /**
   * The new step run's id, chosen by the caller so the step can begin while its start is
   * recorded; the server's own when absent. A step that has a step run already keeps its id.
   */
  id?: string | null;
}

export async function startStep(db: Database, input: StartStepInput): Promise<StepRunRow> {
  const name = validateName(input.name);
  const attempt = { attempt: checkAttempt(input.attempt), worker: checkWorker(input.worker), queuedAt: input.queuedAt ?? null };
  const inputs = input.inputs ?? [];
  const inputNames = new Set<string>();
  for (const [index, item] of inputs.entries()) {
    validateName(item.name, `inputs.${index}.name`);
    if (inputNames.has(item.name)) throw new ValidationError(`Input "${item.name}" is listed twice`, `inputs.${index}.name`);
    inputNames.add(item.name);
  }
  const logsFolder = input.logsFolder == null ? null : checkLogsFolder(input.logsFolder);
  const opening: StepOpening = { name, parents: input.parents ?? null, cacheKey: input.cacheKey ?? null, codeHash: input.codeHash ?? null, parameters: input.parameters ?? {} };
  const start = async () => {
    // The usual first start of a step is one statement; a retry, a later attempt, or a start
    // that cannot be, follows the rules one by one.
    const opened = await openStep(db, input.runId, opening, attempt, inputs, logsFolder, input.id ?? randomUUID());
    if (opened) return opened;
    return db.transaction(async (tx) => {
      // Only what the rules read: a run's expected steps and stack snapshot can be large.
      const [run] = await tx
        .select({ id: pipelineRuns.id, name: pipelineRuns.name, status: pipelineRuns.status, endedAt: pipelineRuns.endedAt, expected: sql<ExpectedStep | null>`${expectedStepSql(name)}` })
        .from(pipelineRuns)
        .where(eq(pipelineRuns.id, input.runId))
        .for('no key update');
      if (!run) throw new NotFoundError('No such run', 'runId');
      return startedAgain(tx, run, { ...opening, parents: opening.parents ?? run.expected?.parents ?? [] }, attempt, inputs, logsFolder);
    });
  };
  // A chosen id can collide with the key of another step run; or with this very start's, when a
  // retry of it ran while the first was inserting (the insert yields only to a step run of the
  // same name): once the first is in, the start again answers it.
  const idTaken = (error: unknown) => input.id != null && postgresErrorCode(error) === UNIQUE_VIOLATION && postgresErrorConstraint(error) === STEP_RUNS_PRIMARY_KEY;
  try {
    try {
      return await start();
    } catch (error) {
      if (!idTaken(error)) throw error;
      return await start();
    }
  } catch (error) {
    if (postgresErrorCode(error) === FOREIGN_KEY_VIOLATION && inputs.length > 0) await requireInputVersions(db, inputs);
    if (idTaken(error)) throw new IdempotencyConflictError('Another step run has this id', 'id');
    throw error;
  }
}

/** The primary key of step_runs, which a step run id chosen by startStep's caller can collide with. */
const STEP_RUNS_PRIMARY_KEY = 'step_runs_pkey';

/**
 * A run that has ended starts no step. A run that has failed but not ended still does: its
 * steps that do not depend on the failed one run on (Dagster's and Vertex's "fail slow"), and it
 * ends once nothing runs and nothing more can start (stackyard_run_ends).
 */
function runEndedError(run: { name: string; status: RunStatus }): IllegalOperationError {
  return new IllegalOperationError(`The run "${run.name}" has already finished (${run.status})`, 'runId');
}

/** A step as startStep opens it; parents null: the run's expected step's. */
interface StepOpening {
  name: string;
  parents: string[] | null;
  cacheKey: string | null;
  codeHash: string | null;
  parameters: Record<string, unknown>;
}

/** The run's expected step of this name, or null. */
function expectedStepSql(name: string): SQL {
  return sql`jsonb_path_query_first(${pipelineRuns.expectedSteps}, '$[*] ? (@.name == $name)', jsonb_build_object('name', ${name}::text))`;
}

/**
 * The first start of a step, in one statement: the run's lock (taken first, as finishRun takes
 * it, so neither waits on the other), the step run, its inputs, and the run's status; nothing
 * when the run has ended, does not expect the step, or has a step run of this name already.
 */
async function openStep(
  db: Queryable,
  runId: string,
  opening: StepOpening,
  attempt: AttemptStart,
  inputs: { name: string; artifactVersionId: string }[],
  logsFolder: string | null,
  id: string,
): Promise<StepRunRow | undefined> {
  const result = await executePrepared(db, sql`
    with run as (
      select ${pipelineRuns.id} as id, ${expectedStepSql(opening.name)} as expected, ${pipelineRuns.expectedStepCount} > 0 as expects_steps,
             ${pipelineRuns.stepsFailed} + ${pipelineRuns.stepsStopped} > 0 as has_ended_badly
      from ${pipelineRuns}
      where ${pipelineRuns.id} = ${runId} and ${pipelineRuns.endedAt} is null
      for no key update),
    opened as (
      insert into ${stepRuns} (id, run_id, name, parents, cache_key, code_hash, parameters, attempt, worker, queued_at, log_uri)
      select ${id}::uuid, run.id, ${opening.name},
             array(select jsonb_array_elements_text(coalesce(${opening.parents === null ? null : JSON.stringify(opening.parents)}::jsonb, run.expected -> 'parents', '[]'::jsonb))),
             ${opening.cacheKey}, ${opening.codeHash}, ${JSON.stringify(opening.parameters)}::jsonb, ${attempt.attempt},
             ${attempt.worker === null ? null : JSON.stringify(attempt.worker)}::jsonb, ${attempt.queuedAt}::timestamptz,
             ${logsFolder === null ? null : stepLogUri(logsFolder, id)}
      from run
      where (not run.expects_steps or run.expected is not null)
        -- A step whose parent failed or stopped never starts (startedAgain says why).
        and (not run.has_ended_badly or not exists (
          select 1 from ${stepRuns} parent
          where parent.run_id = run.id and parent.status in ('failed', 'stopped')
            and parent.name in (select jsonb_array_elements_text(coalesce(${opening.parents === null ? null : JSON.stringify(opening.parents)}::jsonb, run.expected -> 'parents', '[]'::jsonb)))))
      on conflict (run_id, name) do nothing
      returning *),
    linked as (
      insert into ${stepRunInputs} (step_run_id, name, artifact_version_id)
      select opened.id, i.name, i.artifact_version_id
      from opened cross join jsonb_to_recordset(${JSON.stringify(inputs.map((item) => ({ name: item.name, artifact_version_id: item.artifactVersionId })))}::jsonb)
        as i(name text, artifact_version_id uuid)
      returning 1)
    select ${rowColumns(stepRuns, 'opened')}, (select count(*) from linked) as linked
    from opened`);
  const [row] = resultRows<StepRunRow & { linked: unknown }>(result);
  if (!row) return undefined;
  const { linked: _linked, ...step } = row;
  return step;
}

/** Throws NotFoundError naming the first input whose artifact version does not exist. */
async function requireInputVersions(db: Queryable, inputs: { name: string; artifactVersionId: string }[]): Promise<void> {
  const found = await db
    .select({ id: artifactVersions.id })
    .from(artifactVersions)
    .where(inArray(artifactVersions.id, inputs.map((item) => item.artifactVersionId)));
  const foundIds = new Set(found.map((row) => row.id));
  const missing = inputs.findIndex((item) => !foundIds.has(item.artifactVersionId));
  if (missing >= 0) throw new NotFoundError('No such artifact version', `inputs.${missing}.artifactVersionId`);
}

/**
 * startStep of a step that has a step run already, or cannot have one: a retry answers the step
 * run it created, if it repeats the same arguments; a later attempt at the same step (same
 * arguments too) takes the step run over; otherwise the reason it cannot start.
 */
async function startedAgain(
  tx: Queryable,
  run: { id: string; name: string; status: RunStatus; endedAt: string | null },
  opened: StepOpening & { parents: string[] },
  attempt: AttemptStart,
  inputs: { name: string; artifactVersionId: string }[],
  logsFolder: string | null,
): Promise<StepRunRow> {
  const [existing] = await tx.select().from(stepRuns).where(and(eq(stepRuns.runId, run.id), eq(stepRuns.name, opened.name)));
  if (!existing) {
    if (run.endedAt) throw runEndedError(run);
    const [blocker] =
      opened.parents.length === 0
        ? []
        : await tx
            .select({ name: stepRuns.name, status: stepRuns.status })
            .from(stepRuns)
            .where(and(eq(stepRuns.runId, run.id), inArray(stepRuns.name, opened.parents), inArray(stepRuns.status, ['failed', 'stopped'])))
            .orderBy(stepRuns.name)
            .limit(1);
    if (blocker) {
      // The run goes on with the steps that do not depend on the failure, never with this one.
      throw new IllegalOperationError(`Step "${opened.name}" waits for step "${blocker.name}", which ${blocker.status}: it cannot start`, 'name');
    }
    throw new ValidationError(`The run does not expect a step named "${opened.name}"`, 'name');
  }
  if (attempt.attempt < existing.attempt) {
    throw new IllegalOperationError(`Attempt ${attempt.attempt} of step "${opened.name}" is over: attempt ${existing.attempt} has started`, 'attempt');
  }
  const storedInputs = await tx
    .select({ name: stepRunInputs.name, artifactVersionId: stepRunInputs.artifactVersionId })
    .from(stepRunInputs)
    .where(eq(stepRunInputs.stepRunId, existing.id))
    .orderBy(stepRunInputs.name);
  assertSameArguments(
    { ...existing, inputs: storedInputs },
    { ...opened, inputs: [...inputs].sort((a, b) => (a.name < b.name ? -1 : 1)).map(({ name, artifactVersionId }) => ({ name, artifactVersionId })) },
  );
  const logUri = logsFolder === null ? null : stepLogUri(logsFolder, existing.id);
  if (logUri !== null && existing.logUri !== null && existing.logUri !== logUri) {
    throw new IdempotencyConflictError('The step run already has its log in another folder', 'logsFolder');
  }
  if (attempt.attempt === existing.attempt) {
    assertSameArguments(attemptArguments(existing), attemptArguments(attempt));
    // A step opened for the cache, whose original was deleted before it could be reused, runs
    // after all: its start again brings the folder for the log it now writes.
    if (logUri !== null && existing.logUri === null && existing.status === 'running') {
      const [opened] = await tx.update(stepRuns).set({ logUri }).where(eq(stepRuns.id, existing.id)).returning();
      return opened;
    }
    return existing;
  }
  if (existing.status !== 'running') {
    throw new IllegalOperationError(`The step "${opened.name}" has already finished (${existing.status})`, 'attempt');
  }
  if (run.endedAt) throw runEndedError(run);
  const taken = await openNextAttempt(tx, existing, attempt, existing.logUri ?? logUri);
  await refreshRunStatus(tx, run.id);
  return taken;
}

export interface FinishStepInput {
  stepRunId: string;
  status: Exclude<StepStatus, 'running'>;
  errorMessage?: string | null;
  /** For a cached step: the step run whose outputs it reused. */
  originalStepRunId?: string | null;
  /** The attempt this reports on; the current one when absent. A report on another attempt is refused. */
  attempt?: number | null;
  /** With FAILED: ends the attempt but not the step, which awaits its next attempt. */
  willRetry?: boolean | null;
  /** With COMPLETED: outputs not reported yet, recorded as reportStepOutputs records them before the step ends. */
  outputs?: ReportedOutput[] | null;
}

export async function finishStep(db: Database, input: FinishStepInput): Promise<StepRunRow> {
  if (input.status === 'failed' && !input.errorMessage?.trim()) {
    throw new ValidationError('A failed step needs an error message', 'errorMessage');
  }
  if (input.willRetry && input.status !== 'failed') {
    throw new ValidationError('Only a FAILED attempt is retried', 'willRetry');
  }
  if (input.status === 'cached' && !input.originalStepRunId) {
    throw new ValidationError('A cached step needs the step run it reused', 'originalStepRunId');
  }
  if (input.outputs?.length && input.status !== 'completed') throw new ValidationError('Only a COMPLETED step brings outputs', 'outputs');
  const outputs = input.outputs?.length ? checkReportedOutputs(input.outputs) : null;
  // The usual end of a step, its last outputs with it, is one statement; the other cases follow
  // the rules one by one.
  if (input.status !== 'cached' && !input.willRetry) {
    const ended = outputs ? await endRunningStepWithOutputs(db, input, outputs) : await endRunningStep(db, input);
    if (ended) return ended;
  }
  // The outputs first, in their own statement: a retry of the whole call finds them stored and
  // goes on, and outputs that cannot be stored are refused with the report's own error.
  if (outputs) await reportStepOutputs(db, input.stepRunId, outputs);
  return db.transaction(async (tx) => {
    // The run first, then the step, in the order startStep and finishRun lock them; and the run
    // before the statements that count its steps, so they see every step that ended before.
    const [run] = await tx
      .select({ id: pipelineRuns.id, status: pipelineRuns.status, endedAt: pipelineRuns.endedAt })
      .from(pipelineRuns)
      .where(eq(pipelineRuns.id, tx.select({ runId: stepRuns.runId }).from(stepRuns).where(eq(stepRuns.id, input.stepRunId))))
      .for('no key update');
    if (!run) throw new NotFoundError('No such step run', 'stepRunId');
    // A retry, a report on another attempt, an attempt that fails and is retried, a cached step,
    // or a step that cannot end: the rules one by one.
    const step = await requireStepRun(tx, input.stepRunId, 'stepRunId', true);
    const ended = input.attempt != null || input.willRetry ? await endedAttempt(tx, step.id, input.attempt ?? step.attempt) : undefined;
    if (input.attempt != null && input.attempt !== step.attempt) {
      // A retry of a report that ended an earlier attempt answers as the first did.
      if (input.willRetry && ended?.status === 'failed' && ended.errorMessage === input.errorMessage!.trim()) return step;
      throw new IllegalOperationError(
        input.attempt < step.attempt
          ? `Attempt ${input.attempt} of step "${step.name}" is over: attempt ${step.attempt} has started`
          : `Attempt ${input.attempt} of step "${step.name}" has not started; the current attempt is ${step.attempt}`,
        'attempt',
      );
    }
    // A run that has ended starts no further attempt: a failure that would be retried ends the
    // step instead, below. A run that has failed but not ended retries its other steps.
    if (input.willRetry && !run.endedAt) {
      if (step.status !== 'running') throw new IllegalOperationError(`The step "${step.name}" has already finished (${step.status})`, 'status');
      if (ended) {
        if (ended.status === 'failed' && ended.errorMessage === input.errorMessage!.trim()) return step;
        throw new IllegalOperationError(`Attempt ${step.attempt} of step "${step.name}" has already ended (${ended.status})`, 'attempt');
      }
      await endCurrentAttempt(tx, step, 'failed', input.errorMessage!.trim());
      // The run goes on; its watchers see the failed attempt.
      await refreshRunStatus(tx, run.id);
      return step;
    }
    // The attempt named has failed and awaits its retry; only the step as a whole can still end.
    if (input.attempt != null && ended) {
      throw new IllegalOperationError(`Attempt ${step.attempt} of step "${step.name}" has already ended (${ended.status})`, 'attempt');
    }
    if (step.status !== 'running') {
      // A retry of the same call answers what was stored; a contradicting one is refused.
      if (step.status === input.status) return step;
      throw new IllegalOperationError(`The step "${step.name}" has already finished (${step.status})`, 'status');
    }
    if (input.status === 'cached') {
      // Locked against deletion (its run's) till the outputs are copied: deleted between this
      // look and the copy, it left a cached step with none of its outputs.
      const original = await requireStepRun(tx, input.originalStepRunId!, 'originalStepRunId', 'key share');
      if (original.status !== 'completed') {
        throw new ValidationError('The original step run did not complete', 'originalStepRunId');
      }
      await tx
        .insert(stepRunOutputs)
        .select(
          tx
            .select({
              stepRunId: sql`${step.id}::uuid`.as('step_run_id'),
              name: stepRunOutputs.name,
              artifactVersionId: stepRunOutputs.artifactVersionId,
            })
            .from(stepRunOutputs)
            .where(eq(stepRunOutputs.stepRunId, original.id)),
        )
        .onConflictDoNothing();
    }
    const [finished] = await tx
      .update(stepRuns)
      .set({
        status: input.status,
        errorMessage: input.status === 'failed' ? input.errorMessage!.trim() : null,
        originalStepRunId: input.status === 'cached' ? input.originalStepRunId! : null,
        endedAt: sql`clock_timestamp()`,
      })
      .where(eq(stepRuns.id, step.id))
      .returning();
    // The trigger on step_runs has refreshed the run from the step's new status.
    return finished;
  });
}

/**
 * The usual end of a step, in one statement: the run's lock (taken first, as finishRun takes it),
 * then the current attempt of a running step ends it (completed, failed or stopped) and the run's
 * status is refreshed (by the trigger on step_runs); nothing when the step is not so.
 */
async function endRunningStep(db: Queryable, input: FinishStepInput): Promise<StepRunRow | undefined> {
  const result = await executePrepared(db, sql`
    with run as (
      select ${pipelineRuns.id} as id from ${pipelineRuns}
      where ${pipelineRuns.id} = (select s.run_id from ${stepRuns} s where s.id = ${input.stepRunId})
      for no key update),
    step as (
      select s.id from ${stepRuns} s
      where s.id = ${input.stepRunId} and s.status = 'running'${input.attempt != null ? sql` and s.attempt = ${input.attempt}` : sql``}
        and not exists (select 1 from ${stepAttempts} a where a.step_run_id = s.id and a.attempt = s.attempt)
        and exists (select 1 from run)
      for no key update),
    ended as (
      update ${stepRuns} set status = ${input.status}, error_message = ${input.status === 'failed' ? input.errorMessage!.trim() : null},
        original_step_run_id = null, ended_at = clock_timestamp()
      from step where ${stepRuns}.id = step.id
      returning ${stepRuns}.*)
    select ${rowColumns(stepRuns, 'ended')}
    from ended`);
  const [row] = resultRows<StepRunRow>(result);
  return row;
}

/**
 * The usual end of a step that brings its last outputs, in one statement: recordedOutputsCtes
 * (the run's lock first), then a running step whose current attempt has not ended completes with
 * them, and the run's status is refreshed (by the trigger); nothing at all when the outputs or the step are not
 * so.
 */
async function endRunningStepWithOutputs(db: Queryable, input: FinishStepInput, outputs: CheckedOutput[]): Promise<StepRunRow | undefined> {
  const endable = sql`${input.attempt != null ? sql`step.attempt = ${input.attempt} and ` : sql``}not exists (select 1 from ${stepAttempts} a where a.step_run_id = step.id and a.attempt = step.attempt)`;
  let result: unknown;
  try {
    result = await executePrepared(db, sql`
      with ${recordedOutputsCtes(input.stepRunId, outputs, endable)},
      ended as (
        update ${stepRuns} set status = 'completed', error_message = null, original_step_run_id = null, ended_at = clock_timestamp()
        from checked where ${stepRuns}.id = ${input.stepRunId} and checked.accepted
        returning ${stepRuns}.*)
      select ${rowColumns(stepRuns, 'ended')}
      from ended`);
  } catch (error) {
    // A concurrent retry stored the same outputs first; the statement stored nothing, and the
    // report's second look answers them.
    if (postgresErrorCode(error) === UNIQUE_VIOLATION) return undefined;
    throw error;
  }
  const [row] = resultRows<StepRunRow>(result);
  return row;
}

export interface FinishRunInput {
  runId: string;
  /** completed, failed or stopped; derived from the steps when absent. */
  status?: Extract<RunStatus, 'completed' | 'failed' | 'stopped'> | null;
  reason?: string | null;
}

export async function finishRun(db: Database, input: FinishRunInput): Promise<RunRow> {
  return db.transaction(async (tx) => {
    const run = await requireRun(tx, input.runId, 'runId', true);
    const steps = await tx.select({ name: stepRuns.name, status: stepRuns.status }).from(stepRuns).where(eq(stepRuns.runId, run.id));
    if (isFinished(run.status) && run.endedAt) {
      if (!input.status || input.status === run.status) return run;
      throw new IllegalOperationError(`The run "${run.name}" has already finished (${run.status})`, 'status');
    }
    const [{ status: derived }] = resultRows<{ status: RunStatus }>(await tx.execute(derivedRunStatusSql(run.id)));
    const missing = unfinishedSteps(run.expectedSteps, steps);
    let status: RunStatus;
    let reason = input.reason?.trim() || null;
    if (input.status === 'completed') {
      if (derived === 'failed' || derived === 'stopped' || missing.length > 0) {
        throw new IllegalOperationError(
          missing.length > 0 ? `Steps not finished: ${missing.join(', ')}` : `The run has a ${derived} step`,
          'status',
        );
      }
      status = derived === 'cached' ? 'cached' : 'completed';
    } else if (input.status) {
      status = input.status;
    } else if (isFinished(derived)) {
      status = derived;
    } else {
      status = 'failed';
      reason ??= `Finished before these steps completed: ${missing.join(', ')}`;
    }
    return endRun(tx, run.id, status, reason);
  });
}

/** Ends a locked run with this status; its steps still running end as stopped. */
async function endRun(tx: Queryable, runId: string, status: RunStatus, reason: string | null): Promise<RunRow> {
  // Steps still running when the run ends can no longer report.
  await tx
    .update(stepRuns)
    .set({ status: 'stopped', endedAt: sql`clock_timestamp()` })
    .where(and(eq(stepRuns.runId, runId), eq(stepRuns.status, 'running')));
  const [ended] = await tx
    .update(pipelineRuns)
    .set({ status, statusReason: reason, updatedAt: sql`clock_timestamp()`, ...endedNow() })
    .where(eq(pipelineRuns.id, runId))
    .returning();
  await notifyRunUpdated(tx, runId);
  return ended;
}

export interface StopRunInput {
  runId: string;
  /** The name of the user who stops it, kept in the run's status reason. */
  stoppedBy: string;
  reason?: string | null;
}

/**
 * A user's stop of a run, as Dagster's terminate and `zenml pipeline runs stop`: the run and its
 * running steps end as stopped, and the workers running them abort them at their next heartbeat.
 * Unlike finishRun, which answers a driver's repeated report of the same end, a run that has
 * already ended is refused, saying how it ended: the user learns their stop changed nothing.
 */
export async function stopRun(db: Database, input: StopRunInput): Promise<RunRow> {
  const reason = input.reason?.trim();
  return db.transaction(async (tx) => {
    const run = await requireRun(tx, input.runId, 'runId', true);
    if (isFinished(run.status) && run.endedAt) {
      throw new IllegalOperationError(`The run "${run.name}" has already ended (${run.status}); only a run that has not ended can be stopped`, 'runId');
    }
    return endRun(tx, run.id, 'stopped', `Stopped by ${input.stoppedBy}${reason ? `: ${reason}` : ''}`);
  });
}

export async function heartbeat(db: Database, runId: string): Promise<RunRow> {
  const [run] = await db
    .update(pipelineRuns)
    .set({ lastHeartbeatAt: sql`clock_timestamp()` })
    .where(eq(pipelineRuns.id, runId))
    .returning();
  if (!run) throw new NotFoundError('No such run', 'runId');
  return run;
}

/**
 * Marks a run as handed to its orchestrator's queue by a driver that does not wait for it
 * (run({ wait: false })): from then on the heartbeat timeout applies only while one of its steps
 * runs, so a run that waits in a long queue waits for a worker, as a queued run does in Dagster.
 * A run that has ended is answered as it is; a repeated call keeps the first time.
 */
export async function detachRun(db: Database, runId: string): Promise<RunRow> {
  const [detached] = await db
    .update(pipelineRuns)
    .set({ detachedAt: sql`coalesce(${pipelineRuns.detachedAt}, clock_timestamp())`, lastHeartbeatAt: sql`clock_timestamp()` })
    .where(and(eq(pipelineRuns.id, runId), isNull(pipelineRuns.endedAt)))
    .returning();
  return detached ?? requireRun(db, runId);
}

export function describeDuration(milliseconds: number): string {
  if (milliseconds % 3_600_000 === 0) return `${milliseconds / 3_600_000}h`;
  if (milliseconds % 60_000 === 0) return `${milliseconds / 60_000}m`;
  if (milliseconds % 1000 === 0) return `${milliseconds / 1000}s`;
  return `${milliseconds}ms`;
}

/**
 * Fails the runs whose process went silent: no heartbeat (or other report) within the timeout.
 * Their running steps are failed too. A detached run (detachRun) is left alone while none of its
 * steps runs: its steps wait in a queue, and no process owes it a heartbeat. Answers how many runs it failed.
 */
export async function expireSilentRuns(db: Database, timeoutMs: number): Promise<number> {
  const reason = `no heartbeat for ${describeDuration(timeoutMs)}`;
  return db.transaction(async (tx) => {
    // The silent runs are locked in id order first, as deleteStack and deleteUser lock the runs
    // they change: the update alone locked them in the order it found them (by heartbeat), and
    // deadlocked with a delete of their stack. A run that reported while this waited for it is
    // left out: the lock reads it again.
    const silent = tx
      .select({ id: pipelineRuns.id })
      .from(pipelineRuns)
      .where(
        and(
          isNull(pipelineRuns.endedAt),
          lt(pipelineRuns.lastHeartbeatAt, sql`clock_timestamp() - ${`${timeoutMs} milliseconds`}::interval`),
          // A detached run whose steps wait in its queue owes no heartbeat; one whose step runs an
          // attempt does. A step whose attempt failed and awaits its retry (in BullMQ's backoff,
          // then the queue) counts as running but runs nothing: it waits too.
          or(
            isNull(pipelineRuns.detachedAt),
            and(
              gt(pipelineRuns.stepsRunning, 0),
              sql`exists (select 1 from ${stepRuns} where ${stepRuns.runId} = ${pipelineRuns.id} and ${stepRuns.status} = 'running'
                and not exists (select 1 from ${stepAttempts} where ${stepAttempts.stepRunId} = ${stepRuns.id} and ${stepAttempts.attempt} = ${stepRuns.attempt}))`,
            ),
          ),
        ),
      )
      .orderBy(pipelineRuns.id)
      .for('no key update');
    const expired = await tx
      .update(pipelineRuns)
      .set({ status: 'failed', statusReason: reason, updatedAt: sql`clock_timestamp()`, ...endedNow() })
      .where(inArray(pipelineRuns.id, silent))
      .returning({ id: pipelineRuns.id });
    if (expired.length > 0) {
      await tx
        .update(stepRuns)
        .set({ status: 'failed', errorMessage: `The run stopped reporting: ${reason}`, endedAt: sql`clock_timestamp()` })
        .where(and(inArray(stepRuns.runId, expired.map((run) => run.id)), eq(stepRuns.status, 'running')));
    }
    for (const run of expired) await notifyRunUpdated(tx, run.id);
    return expired.length;
  });
}

export async function deleteRun(db: Database, runId: string): Promise<RunRow> {
  const [run] = await db.delete(pipelineRuns).where(eq(pipelineRuns.id, runId)).returning();
  if (!run) throw new NotFoundError('No such run', 'id');
  return run;
}

const METADATA_TABLES = { PipelineRun: pipelineRuns, StepRun: stepRuns, ArtifactVersion: artifactVersions } as const;
export type MetadataTarget = keyof typeof METADATA_TABLES;

/** Merges keys into the metadata of a run, step run or artifact version (a key set to null is kept as null). */
export async function logMetadata(
  db: Database,
  target: MetadataTarget,
  id: string,
  metadata: Record<string, unknown>,
): Promise<{ id: string; metadata: Record<string, unknown> }> {
  const table = METADATA_TABLES[target];
  const [row] = await db
    .update(table)
    .set({ metadata: sql`${table.metadata} || ${JSON.stringify(metadata)}::jsonb` })
    .where(eq(table.id, id))
    .returning({ id: table.id, metadata: table.metadata });
  if (!row) throw new NotFoundError(`No such ${target}`, 'id');
  return row;
}

export const METADATA_TARGETS = Object.keys(METADATA_TABLES) as MetadataTarget[];
