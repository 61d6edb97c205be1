// `stackyard run ...`: run history newest first, one run with its steps and outputs, and deleting
// a run. Runs are named by their id or their name.
import { InvalidArgumentError, type Command } from 'commander';
import type { RunFilter, RunQuery, RunStatus } from '../generated/graphql';
import type { StackyardClient } from '../stackyard-client';
import { StackyardError } from '../stackyard-error';
import { answer, clientFor, confirmOrRefuse } from './command-context';
import { formatDuration } from '../format-duration';
import { formatTime, printFields, printHeading, printTable } from './output';
import { addRunLogCommand } from './run-log-commands';

type DescribedRun = NonNullable<RunQuery['run']>;

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

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError('Expected a whole number of at least 1.');
  return value;
}

export function addRunCommands(program: Command): void {
  const run = program.command('run').description('Look through pipeline runs');

  run
    .command('list')
    .description('List runs, newest first')
    .option('--stack <name>', 'only runs on this stack')
    .option('--pipeline <name>', 'only runs of this pipeline')
    .option('--status <status>', 'only runs in this status; repeatable, or comma-separated (e.g. failed,running)', collectStatuses, [])
    .option('--limit <count>', `show at most this many runs (default ${DEFAULT_LIMIT})`, positiveInteger, DEFAULT_LIMIT)
    .action(async (options: { stack?: string; pipeline?: string; status: RunStatus[]; limit: number }, command: Command) => {
      const filter: RunFilter = {
        stackName: options.stack,
        pipeline: options.pipeline,
        status: options.status.length > 0 ? options.status : undefined,
      };
      const { runs, totalCount } = await newestRuns(clientFor(command), filter, options.limit);
      answer(command, runs, () => {
        printTable(
          ['NAME', 'PIPELINE', 'STACK', 'STATUS', 'STARTED', 'DURATION'],
          runs.map((item) => [
            item.name,
            item.pipeline.name,
            item.stack?.name ?? `${item.stackSnapshot.name} (deleted)`,
            item.status.toLowerCase(),
            formatTime(item.startedAt),
            formatDuration(item.durationMs),
          ]),
          'No runs.',
        );
        if (totalCount > runs.length) console.log(`Showing ${runs.length} of ${totalCount} runs; --limit shows more.`);
      });
    });

  run
    .command('describe')
    .description('Show a run: status, stack, steps (status, duration, cached from) and outputs with their URIs')
    .argument('<run>', 'the run id or name')
    .action(async (idOrName: string, _options: object, command: Command) => {
      const found = await requireRun(clientFor(command), idOrName);
      answer(command, found, () => printRun(found));
    });

  run
    .command('delete')
    .description('Delete a run and its step runs; the artifact versions they produced remain')
    .argument('<run>', 'the run id or name')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (idOrName: string, options: { yes?: boolean }, command: Command) => {
      const client = clientFor(command);
      const found = await requireRun(client, idOrName);
      if (!options.yes) await confirmOrRefuse(`delete run "${found.name}"`);
      const deleted = await client.deleteRun(found.id);
      answer(command, deleted, () => console.log(`Deleted run "${found.name}".`));
    });

  addRunLogCommand(run, requireRun);
}

/** Up to `limit` runs matching the filter, newest first, and how many match in all. */
async function newestRuns(client: StackyardClient, filter: RunFilter, limit: number) {
  const runs = [];
  let totalCount = 0;
  let after: string | undefined;
  for (;;) {
    const page = await client.runsPage({ filter, first: Math.min(limit - runs.length, PAGE_SIZE), after });
    totalCount = page.totalCount;
    runs.push(...page.edges.map((edge) => edge.node));
    if (runs.length >= limit || !page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return { runs, totalCount };
    after = page.pageInfo.endCursor;
  }
}

/** The run with this global id or, failing that, this name (names are unique). */
async function requireRun(client: StackyardClient, idOrName: string): Promise<DescribedRun> {
  const byId = await client.getRun(idOrName);
  if (byId) return byId;
  const candidates = await client.runsPage({ filter: { nameContains: idOrName }, first: PAGE_SIZE });
  const named = candidates.edges.find((edge) => edge.node.name === idOrName);
  const byName = named ? await client.getRun(named.node.id) : null;
  if (!byName) throw new StackyardError('NotFoundError', `No run with the id or name "${idOrName}"`);
  return byName;
}

function printRun(described: DescribedRun): void {
  console.log(`Run "${described.name}"`);
  printFields([
    ['ID', described.id],
    ['Pipeline', described.pipeline.name],
    ['Stack', described.stack?.name ?? `${described.stackSnapshot.name} (deleted)`],
    ['Status', `${described.status.toLowerCase()}${described.statusReason ? ` (${described.statusReason})` : ''}`],
    ['Started', formatTime(described.startedAt)],
    ['Ended', formatTime(described.endedAt)],
    ['Duration', formatDuration(described.durationMs)],
    ['Tags', described.tags.join(', ') || '-'],
  ]);

  printHeading('Steps');
  const started = new Set(described.steps.map((step) => step.name));
  printTable(
    ['STEP', 'STATUS', 'DURATION', 'CACHED FROM'],
    [
      ...described.steps.map((step) => [
        step.name,
        step.status.toLowerCase(),
        formatDuration(step.durationMs),
        step.originalStepRun ? `run "${step.originalStepRun.run.name}"` : '-',
      ]),
      // Steps the run expects but that have not started, so a stuck run shows where it stands.
      ...described.expectedSteps.filter((step) => !started.has(step.name)).map((step) => [step.name, 'not started', '-', '-']),
    ],
    'No steps.',
  );
  for (const step of described.steps) {
    if (step.errorMessage) console.log(`Step "${step.name}" failed: ${step.errorMessage}`);
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
