// The parameters and metrics part of `stackyard run describe`: what the run ran with, and the
// latest value of each metric with how many points its series has.
import type { RunQuery } from '../generated/graphql';
import { formatPairs, printHeading, printTable } from './output';

type DescribedRun = NonNullable<RunQuery['run']>;

export function printRunParametersAndMetrics(described: DescribedRun): void {
  const { parameters, ...settings } = described.config;
  const shown = typeof parameters === 'object' && parameters !== null && !Array.isArray(parameters) ? (parameters as Record<string, unknown>) : {};
  printHeading('Parameters');
  console.log(formatPairs(shown) === '-' ? 'No parameters.' : formatPairs(shown));
  // How the run was asked to run (enableCache, priority) is not a parameter of the pipeline.
  const otherSettings = Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== null && value !== undefined));
  if (Object.keys(otherSettings).length > 0) {
    printHeading('Settings');
    console.log(formatPairs(otherSettings));
  }

  printHeading('Metrics');
  printTable(
    ['METRIC', 'LATEST', 'STEP', 'POINTS'],
    described.metrics.map((metric) => [metric.name, String(metric.latest.value), String(metric.latest.step), String(metric.points.length)]),
    'No metrics.',
  );
}
