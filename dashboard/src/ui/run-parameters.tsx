// A run's parameters (what the pipeline ran with) and its other settings, and its metrics:
// each value shown as a number, sparkline or table (value-view.tsx), never as JSON text.
import type { MetricSeriesFieldsFragment, RunQuery } from '../../../client/generated/graphql';
import { RunLink } from './runs-table';
import { ScrollingTable } from './scrolling-table';
import { Sparkline } from './sparkline';
import { formatNumber } from './format-number';
import { ValueList } from './value-view';

/** The pipeline's parameters and, apart, the run's other non-empty settings. */
export function splitConfig(config: Record<string, unknown>): { parameters: Record<string, unknown>; settings: Record<string, unknown> } {
  const { parameters, ...rest } = config;
  const settings = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== null && value !== undefined));
  const isObject = typeof parameters === 'object' && parameters !== null && !Array.isArray(parameters);
  return { parameters: isObject ? (parameters as Record<string, unknown>) : parameters == null ? {} : { parameters }, settings };
}

export function RunParameters({ config }: { config: Record<string, unknown> }) {
  const { parameters, settings } = splitConfig(config);
  return (
    <section aria-labelledby="parameters-heading">
      <h2 id="parameters-heading">Parameters</h2>
      <ValueList values={parameters} label="Run parameters" empty="The run has no parameters." />
      {Object.keys(settings).length > 0 && <ValueList values={settings} label="Run settings" empty="" />}
    </section>
  );
}

export function RunMetrics({ metrics }: { metrics: readonly MetricSeriesFieldsFragment[] }) {
  return (
    <section aria-labelledby="metrics-heading">
      <h2 id="metrics-heading">Metrics</h2>
      {metrics.length === 0 ? <p className="muted">The run has logged no metrics.</p> : <MetricsTable metrics={metrics} label="Run metrics" />}
    </section>
  );
}

/** Each metric's latest value and step, and its series as a sparkline. */
function MetricsTable({ metrics, label }: { metrics: readonly MetricSeriesFieldsFragment[]; label: string }) {
  return (
    <ScrollingTable label={label} columns={['Metric', 'Latest', 'Step', 'Series']}>
      {metrics.map((metric) => (
        <tr key={metric.name}>
          <th scope="row">{metric.name}</th>
          <td className="number">{formatNumber(metric.latest.value)}</td>
          <td className="number">{metric.latest.step}</td>
          <td>{metric.points.length > 1 ? <Sparkline values={metric.points.map((point) => point.value)} label={metric.name} /> : <span className="muted">one value</span>}</td>
        </tr>
      ))}
    </ScrollingTable>
  );
}

type RunStep = NonNullable<RunQuery['run']>['steps'][number];

/**
 * A step's metadata and metrics. A cached step ran nothing itself: it shows those of the step
 * run whose outputs it reused, marked as reused, with a link to that run.
 */
export function StepMetadataAndMetrics({ step }: { step: RunStep }) {
  const reused = step.isCached && step.originalStepRun ? step.originalStepRun : null;
  const metadata = reused ? reused.metadata : step.metadata;
  const metrics = reused ? reused.metrics : step.metrics;
  const marker = reused && (
    <span className="muted">
      {' '}
      (reused from <RunLink run={reused.run} />)
    </span>
  );
  return (
    <>
      {Object.keys(metadata).length > 0 && (
        <div className="step-metadata">
          <h4>
            Metadata
            {marker}
          </h4>
          <ValueList values={metadata} label={`Metadata of ${step.name}${reused ? ', reused' : ''}`} empty="" />
        </div>
      )}
      {metrics.length > 0 && (
        <div className="step-metrics">
          <h4>
            Metrics
            {marker}
          </h4>
          <MetricsTable metrics={metrics} label={`Metrics of ${step.name}${reused ? ', reused' : ''}`} />
        </div>
      )}
    </>
  );
}
