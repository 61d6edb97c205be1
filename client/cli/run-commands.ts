// `stackyard run ...`: run history newest first, one run with its steps and outputs, stopping and
// deleting a run. Runs are named by their name, global id, UUID or a unique UUID prefix.
import { InvalidArgumentError, type Command } from 'commander';
import type { RunFilter, RunQuery, RunStatus } from '../generated/graphql';
import type { StackyardClient } from '../stackyard-client';
import { collectValues, positiveInteger } from './arguments';
import { answer, clientFor, confirmOrRefuse } from './command-context';
import { formatDuration } from '../format-duration';
import { formatStatus, formatTime, printFields, printHeading, printTable } from './output';
import { addRunCompareCommand } from './run-compare-command';
import { printRunParametersAndMetrics } from './run-metrics-output';
import { unstartedStepStatuses } from '../unstarted-steps';
import { printRunTable } from './run-table';
import { addRunLogCommand } from './run-log-commands';

type DescribedRun = NonNullable<RunQuery['run']>;
type RunDescription = Awaited<ReturnType<StackyardClient['describeRun']>>;
type StepWorker = NonNullable<DescribedRun['steps'][number]['worker']>;

// A Record, so the compiler insists on every status the schema has.
const RUN_STATUSES: Record<RunStatus, true> = { INITIALIZING: true, RUNNING: true, COMPLETED: true, FAILED: true, CACHED: true, STOPPED: true };
const DEFAULT_LIMIT = 50;
/** The server's largest page (serverLimits.maxPageSize). */
const PAGE_SIZE = 100;

/** Commander collector for `--status failed,running` (repeatable, any case). */
function collectStatuses(text: string, statuses: RunStatus[]): RunStatus[] {
  const parsed = text.split(',').map((status) => status.trim().toUpperCase());
  const unknown = parsed.find((status) => !Object.hasOwn(RUN_STATUSES, status));
  if (unknown !== undefined) {
    throw new InvalidArgumentError(`Expected one of ${Object.keys(RUN_STATUSES).join(', ').toLowerCase()}.`);
  }
  return [...statuses, ...(parsed as RunStatus[])];
}

const DURATION_UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--since 3h`, `2d`, `1w`, or a date such as `2026-11-01` or `2026-11-01T08:00Z`: the moment it names, as ISO. */
export function parseSince(text: string, now = Date.now()): string {
  const ago = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (ago) return new Date(now - Number(ago[1]) * DURATION_UNITS_MS[ago[2]]).toISOString();
  const date = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : NaN;
  if (Number.isNaN(date)) throw new InvalidArgumentError('Expected a time ago such as 30m, 3h, 2d or 1w, or a date such as 2026-11-01 or 2026-11-01T08:00Z.');
  return new Date(date).toISOString();
}

interface RunListOptions {
  stack?: string;
  pipeline?: string;
  status: RunStatus[];
  tag: string[];
  since?: string;
  name?: string;
  limit: number;
  after?: string;
}

export function addRunCommands(program: Command): void {
  const run = program.command('run').description('Look through pipeline runs, stop or delete them');

  run
    .command('list')
    .description('List runs, newest first')
    .option('--stack <name>', 'only runs on this stack')
    .option('--pipeline <name>', 'only runs of this pipeline')
    .option('--status <status>', 'only runs in this status; repeatable, or comma-separated (e.g. failed,running)', collectStatuses, [])
    .option('--tag <tag>', 'only runs with this tag; repeatable, runs must have all', collectValues, [])
    .option('--since <when>', 'only runs started since then: a time ago (30m, 3h, 2d, 1w) or a date (2026-11-01)', (text: string) => parseSince(text))
    .option('--name <text>', 'only runs whose name contains this')
    .option('--limit <count>', 'show at most this many runs', positiveInteger, DEFAULT_LIMIT)
    .option('--after <cursor>', 'continue after the last run of a previous listing, with the same filters (it prints the cursor)')
    .action(async (options: RunListOptions, command: Command) => {
      const filter: RunFilter = {
        stackName: options.stack,
        pipeline: options.pipeline,
        status: options.status.length > 0 ? options.status : undefined,
        tags: options.tag.length > 0 ? options.tag : undefined,
        startedAfter: options.since,
        nameContains: options.name,
      };
      const { runs, totalCount, nextCursor } = await newestRuns(clientFor(command), filter, options.limit, options.after);
      answer(command, runs, () => {
        printRunTable(runs, 'No runs.');
        if (nextCursor) console.log(`Showing ${runs.length} of ${totalCount} runs; the next ${options.limit}: the same command with --after ${nextCursor}`);
      });
    });

  run
    .command('describe')
    .description('Show a run: status, stack, steps (status, duration, cached from; attempt, worker and queue wait when a remote orchestrator ran them, with each attempt) and outputs with their URIs')
    .argument('<run>', RUN_ARGUMENT)
    .action(async (idOrName: string, _options: object, command: Command) => {
      const found = await clientFor(command).describeRun(idOrName);
      answer(command, found, () => printRun(found));
    });

  run
    .command('delete')
    .description('Delete a run and its step runs; the artifact versions they produced remain')
    .argument('<run>', RUN_ARGUMENT)
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (idOrName: string, options: { yes?: boolean }, command: Command) => {
      const client = clientFor(command);
      const found = await requireRun(client, idOrName);
      if (!options.yes) await confirmOrRefuse(`delete run "${found.name}"`);
      const deleted = await client.deleteRun(found.id);
      answer(command, deleted, () => console.log(`Deleted run "${found.name}".`));
    });

  run
    .command('stop')
    .description('Stop a run that has not ended: it and its running steps end as stopped, and workers abort those steps within a heartbeat')
    .argument('<run>', RUN_ARGUMENT)
    .option('--reason <text>', 'why, kept in the run\'s status reason after your name')
    .action(async (idOrName: string, options: { reason?: string }, command: Command) => {
      const client = clientFor(command);
      const found = await requireRun(client, idOrName);
      const stopped = await client.stopRun(found.id, options.reason);
      answer(command, stopped, () => console.log(`Stopped run "${stopped.name}" (${stopped.statusReason}).`));
    });

  addRunCompareCommand(run, async (client, idOrName) => (await requireRun(client, idOrName)).id);
  addRunLogCommand(run, requireRun);
}

/**
 * Up to `limit` runs matching the filter, newest first from `after`, how many match in all, and
 * the cursor of the next page when there is one.
 */
async function newestRuns(client: StackyardClient, filter: RunFilter, limit: number, after?: string) {
  const runs = [];
  let totalCount = 0;
  for (;;) {
    const page = await client.runsPage({ filter, first: Math.min(limit - runs.length, PAGE_SIZE), after });
    totalCount = page.totalCount;
    runs.push(...page.edges.map((edge) => edge.node));
    const nextCursor = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    if (runs.length >= limit || !nextCursor) return { runs, totalCount, nextCursor };
    after = nextCursor;
  }
}

/** How every command that takes a run describes its argument. */
export const RUN_ARGUMENT = 'the run: its name, id, UUID or the start of its UUID';

/** The run named by its name, global id, UUID or a unique UUID prefix; the server decides which. */
export async function requireRun(client: StackyardClient, reference: string): Promise<DescribedRun> {
  return client.findRun(reference);
}

/** A worker as the dashboard names it: its name, then where it ran. */
function workerLabel(worker: StepWorker | null | undefined): string {
  return worker ? `${worker.name} (${worker.host}, pid ${worker.pid})` : '-';
}

function printRun(described: RunDescription): void {
  console.log(`Run "${described.name}"`);
  printFields([
    ['ID', described.id],
    ['Pipeline', described.pipeline.name],
    ['Stack', described.stack?.name ?? `${described.stackSnapshot.name} (deleted)`],
    ['Status', `${formatStatus(described.status)}${described.statusReason ? ` (${described.statusReason})` : ''}`],
    ['Started', formatTime(described.startedAt)],
    ['Ended', formatTime(described.endedAt)],
    ['Duration', formatDuration(described.durationMs)],
    ['Tags', described.tags.join(', ') || '-'],
  ]);
  printRunParametersAndMetrics(described);

  printHeading('Steps');
  // Where and how many times a step ran matters for a remote orchestrator's steps only; a local
  // run's steps all ran once, in the driver.
  const remote = described.steps.some((step) => step.worker != null || step.attempt > 1 || step.queuedAt != null);
  const whereRan = (cells: string[]) => (remote ? cells : []);
  printTable(
    ['STEP', 'STATUS', ...whereRan(['ATTEMPT', 'WORKER', 'QUEUE WAIT']), 'DURATION', 'CACHED FROM'],
    [
      ...described.steps.map((step) => [
        step.name,
        formatStatus(step.status),
        ...whereRan([String(step.attempt), workerLabel(step.worker), formatDuration(step.queueWaitMs)]),
        formatDuration(step.durationMs),
        step.originalStepRun ? `run "${step.originalStepRun.run.name}"` : '-',
      ]),
      // Steps the run expects but that have not started, so a stuck run shows where it stands.
      ...[...unstartedStepStatuses(described)].map(([name, status]) => [name, formatStatus(status), ...whereRan(['-', '-', '-']), '-', '-']),
    ],
    'No steps.',
  );
  for (const step of described.steps) {
    if (step.errorMessage) console.log(`Step "${step.name}" failed: ${step.errorMessage}`);
  }

  // Every attempt of the steps that took more than one, each with its worker and its error.
  const retried = described.steps.filter((step) => step.attempts.length > 1);
  if (retried.length > 0) {
    printHeading('Attempts');
    printTable(
      ['STEP', 'ATTEMPT', 'STATUS', 'WORKER', 'QUEUE WAIT', 'DURATION', 'ERROR'],
      retried.flatMap((step) =>
        step.attempts.map((attempt) => [
          step.name,
          String(attempt.attempt),
          formatStatus(attempt.status),
          workerLabel(attempt.worker),
          formatDuration(attempt.queueWaitMs),
          formatDuration(attempt.endedAt ? Math.max(0, Date.parse(attempt.endedAt) - Date.parse(attempt.startedAt)) : null),
          attempt.errorMessage ?? (attempt.status === 'LOST' ? 'The worker stopped answering; another attempt took the step over' : '-'),
        ]),
      ),
      'No attempts.',
    );
  }

  printHeading('Outputs');
  printTable(
    ['STEP', 'OUTPUT', 'ARTIFACT', 'URI'],
    described.steps.flatMap((step) =>
      step.outputs.map((output) => [step.name, output.name, `${output.artifactVersion.name} v${output.artifactVersion.version}`, output.artifactVersion.uri]),
    ),
    'No outputs.',
  );
}
