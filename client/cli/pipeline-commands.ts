// `stackyard pipeline ...`, as `zenml pipeline ...`: pipelines with how often their runs
// succeed, and one pipeline with its newest runs.
import type { Command } from 'commander';
import type { RunStatsFieldsFragment } from '../generated/graphql';
import { StackyardError } from '../stackyard-error';
import { allPages } from '../stackyard-client';
import { wholeNumberIn } from './arguments';
import { answer, clientFor, collectAll } from './command-context';
import { formatRunStats, formatTime, printFields, printHeading, printTable } from './output';
import { printRunTable } from './run-table';

/** The server's largest page (serverLimits.maxPageSize). */
const PAGE_SIZE = 100;

/** Completed or cached runs among the finished ones, as `87% (26 of 30)`; `-` before any finished. */
export function formatSuccessRate(stats: RunStatsFieldsFragment): string {
  const count = (status: string) => stats.byStatus.find((entry) => entry.status === status)?.count ?? 0;
  const succeeded = count('COMPLETED') + count('CACHED');
  const finished = succeeded + count('FAILED') + count('STOPPED');
  return finished === 0 ? '-' : `${Math.round((100 * succeeded) / finished)}% (${succeeded} of ${finished})`;
}

const runCount = wholeNumberIn(0, PAGE_SIZE);

export function addPipelineCommands(program: Command): void {
  const pipeline = program.command('pipeline').description('Look through pipelines and how their runs went');

  pipeline
    .command('list')
    .description('List pipelines by name, with their run counts and success rate (completed or cached among finished runs)')
    .action(async (_options: object, command: Command) => {
      const client = clientFor(command);
      const pipelines = await collectAll(allPages((after) => client.pipelinesPage({ first: PAGE_SIZE, after })));
      answer(command, pipelines, () =>
        printTable(
          ['NAME', 'RUNS', 'SUCCESS RATE', 'LAST RUN'],
          pipelines.map((item) => [item.name, String(item.runStats.total), formatSuccessRate(item.runStats), formatTime(item.runStats.lastRunAt)]),
          'No pipelines; a pipeline appears with its first run.',
        ),
      );
    });

  pipeline
    .command('describe')
    .description('Show a pipeline: its runs per status, success rate and newest runs')
    .argument('<name>', 'the pipeline name')
    .option('--runs <count>', 'how many of the newest runs to show', runCount, 10)
    .action(async (name: string, options: { runs: number }, command: Command) => {
      const described = await clientFor(command).describePipeline(name, options.runs);
      if (!described) throw new StackyardError('NotFoundError', `No pipeline named "${name}"; \`stackyard pipeline list\` shows them`);
      answer(command, described, () => {
        console.log(`Pipeline "${described.name}"`);
        printFields([
          ['ID', described.id],
          ['Created', formatTime(described.createdAt)],
          ['Runs', formatRunStats(described.runStats)],
          ['Success rate', formatSuccessRate(described.runStats)],
        ]);
        // --runs 0 asks for the figures alone: no list, rather than one that says there are no runs.
        if (options.runs === 0) return;
        printHeading(described.runStats.total > described.runs.length ? `Newest ${described.runs.length} runs (\`stackyard run list --pipeline ${name}\` lists all)` : 'Runs');
        printRunTable(described.runs, 'No runs.');
      });
    });
}
