// `stackyard run compare A B ...`: runs side by side, as the dashboard's comparison shows them:
// parameters, then the latest value of each metric, rows that differ marked.
import type { Command } from 'commander';
import type { CompareRunsQuery } from '../generated/graphql';
import { answer, clientFor } from './command-context';
import { printHeading, printTable } from './output';
import type { StackyardClient } from '../stackyard-client';

type Comparison = Extract<CompareRunsQuery['compareRuns'], { __typename: 'RunComparison' }>;

/** The marker of a row whose values are not all the same. */
const DIFFERS = '*';

function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const rowName = (name: string, differs: boolean) => `${differs ? DIFFERS : ' '} ${name}`;

export function addRunCompareCommand(run: Command, findRunId: (client: StackyardClient, idOrName: string) => Promise<string>): void {
  run
    .command('compare')
    .description('Compare 2 to 10 runs: parameters and the latest value of each metric, side by side')
    .argument('<runs...>', 'run ids or names')
    .action(async (idsOrNames: string[], _options: object, command: Command) => {
      const client = clientFor(command);
      const ids = await Promise.all(idsOrNames.map((idOrName) => findRunId(client, idOrName)));
      const comparison = await client.compareRuns(ids);
      answer(command, comparison, () => printComparison(comparison));
    });
}

function printComparison(comparison: Comparison): void {
  const names = comparison.runs.map((run) => run.name);
  printTable(
    ['PARAMETER', ...names],
    comparison.parameters.map((parameter) => [rowName(parameter.name, parameter.differs), ...parameter.values.map(cell)]),
    'No parameters.',
  );
  printHeading('Metrics (latest value, at its step)');
  printTable(
    ['METRIC', ...names],
    comparison.metrics.map((metric) => [
      rowName(metric.name, metric.differs),
      ...metric.runs.map(({ latest }) => (latest ? `${latest.value} (step ${latest.step})` : '-')),
    ]),
    'No metrics.',
  );
  console.log(`\n${DIFFERS} marks a row whose values differ between the runs.`);
}
