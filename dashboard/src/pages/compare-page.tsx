// Runs side by side (/compare?runs=ID,ID,...): parameters with the rows that differ marked,
// the latest value of each metric, and each metric's series overlaid on one chart.
import { Link, useSearchParams } from 'react-router';
import { CompareRunsDocument, type CompareRunsQuery } from '../../../client/generated/graphql';
import { useGraphQLQuery } from '../api/query-client';
import { MetricChart, SERIES_COLOURS } from '../ui/metric-chart';
import { formatNumber } from '../ui/format-number';
import { ScrollingTable } from '../ui/scrolling-table';
import { QueryView } from '../ui/states';
import { StatusBadge } from '../ui/status-badge';
import { RunLink } from '../ui/runs-table';
import { ValueView } from '../ui/value-view';
import { Breadcrumbs } from './breadcrumbs';
import { usePageTitle } from './page-title';

type Comparison = Extract<CompareRunsQuery['compareRuns'], { __typename: 'RunComparison' }>;

export function ComparePage() {
  const [search] = useSearchParams();
  const ids = (search.get('runs') ?? '').split(',').filter(Boolean);
  const comparison = useGraphQLQuery(CompareRunsDocument, { ids });
  usePageTitle(`Compare ${ids.length} runs`);
  return (
    <>
      <Breadcrumbs crumbs={[{ label: 'Stacks', to: '/stacks' }, { label: `Compare ${ids.length} runs` }]} />
      <h1>Compare {ids.length} runs</h1>
      <QueryView query={comparison} what="the comparison">
        {(data) =>
          data.compareRuns.__typename === 'RunComparison' ? (
            <ComparisonView comparison={data.compareRuns} />
          ) : (
            <p role="alert" className="state state-error">
              {'message' in data.compareRuns ? data.compareRuns.message : 'These runs cannot be compared.'} <Link to="/stacks">Pick runs from a stack</Link>.
            </p>
          )
        }
      </QueryView>
    </>
  );
}

function ComparisonView({ comparison }: { comparison: Comparison }) {
  const names = comparison.runs.map((run) => run.name);
  const differing = comparison.parameters.filter((parameter) => parameter.differs).length;
  return (
    <>
      <ul className="compare-runs" aria-label="Compared runs">
        {comparison.runs.map((run, index) => (
          <li key={run.id}>
            <span className="swatch-line" style={{ background: SERIES_COLOURS[index % SERIES_COLOURS.length] }} aria-hidden="true" /> <RunLink run={run} />{' '}
            <StatusBadge status={run.status} /> <span className="muted">{run.pipelineName}</span>
          </li>
        ))}
      </ul>
      <section aria-labelledby="compare-parameters-heading">
        <h2 id="compare-parameters-heading">Parameters</h2>
        <p className="muted">{differing === 0 ? 'Every parameter is the same in all runs.' : `${differing} of ${comparison.parameters.length} differ, marked ≠.`}</p>
        <ScrollingTable label="Parameters side by side" columns={['Parameter', ...names]}>
          {comparison.parameters.map((parameter) => (
            <tr key={parameter.name} className={parameter.differs ? 'differs' : undefined}>
              <th scope="row">
                {parameter.differs && (
                  <span className="differs-marker" title="differs between runs">
                    ≠ <span className="visually-hidden">differs:</span>
                  </span>
                )}{' '}
                {parameter.name}
              </th>
              {parameter.values.map((value, index) => (
                <td key={comparison.runs[index].id}>
                  <ValueView value={value} label={`${parameter.name} of ${names[index]}`} />
                </td>
              ))}
            </tr>
          ))}
        </ScrollingTable>
      </section>
      <section aria-labelledby="compare-metrics-heading">
        <h2 id="compare-metrics-heading">Metrics</h2>
        {comparison.metrics.length === 0 ? (
          <p className="muted">None of these runs logged metrics.</p>
        ) : (
          <>
            <ScrollingTable label="Latest metrics side by side" columns={['Metric', ...names]}>
              {comparison.metrics.map((metric) => (
                <tr key={metric.name} className={metric.differs ? 'differs' : undefined}>
                  <th scope="row">
                    {metric.differs && <span className="differs-marker">≠ </span>}
                    {metric.name}
                  </th>
                  {metric.runs.map((run, index) => (
                    <td key={comparison.runs[index].id} className="number">
                      {run.latest ? (
                        <>
                          {formatNumber(run.latest.value)} <span className="muted">step {run.latest.step}</span>
                        </>
                      ) : (
                        '-'
                      )}
                    </td>
                  ))}
                </tr>
              ))}
            </ScrollingTable>
            <div className="metric-charts">
              {comparison.metrics.map((metric) => (
                <MetricChart key={metric.name} title={metric.name} series={metric.runs.map((run, index) => ({ label: names[index], points: run.points }))} />
              ))}
            </div>
          </>
        )}
      </section>
    </>
  );
}
