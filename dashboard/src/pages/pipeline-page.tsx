// One pipeline: how its runs went (success rate, runs per status, duration trend) and its runs.
import { Link, useParams } from 'react-router';
import { PipelinePageDocument, type PipelinePageQuery } from '../../../client/generated/graphql';
import { useGraphQLQuery } from '../api/query-client';
import { DurationTrendChart, formatRate, successRate } from '../ui/duration-trend-chart';
import { Fact } from '../ui/fact';
import { formatDateTime } from '../ui/format';
import { ErrorState, QueryView } from '../ui/states';
import { StatusCounts } from '../ui/status-badge';
import { Breadcrumbs } from './breadcrumbs';
import { usePageTitle } from './page-title';
import { RunPages } from './run-history';

/** How many of the newest runs the duration trend shows. */
const TREND_RUNS = 50;

export function PipelinePage() {
  const name = useParams().name ?? '';
  usePageTitle(`Pipeline ${name}`);
  const pipeline = useGraphQLQuery(PipelinePageDocument, { name, trendRuns: TREND_RUNS });
  return (
    <>
      <Breadcrumbs crumbs={[{ label: 'Pipelines', to: '/pipelines' }, { label: name }]} />
      <QueryView query={pipeline} what="the pipeline">
        {(data) =>
          data.pipeline ? (
            <PipelineDetails pipeline={data.pipeline} />
          ) : (
            <>
              <h1>{name}</h1>
              <p role="alert">
                There is no pipeline named “{name}”. <Link to="/pipelines">See all pipelines</Link>.
              </p>
            </>
          )
        }
      </QueryView>
    </>
  );
}

function PipelineDetails({ pipeline }: { pipeline: NonNullable<PipelinePageQuery['pipeline']> }) {
  const { runStats, runs } = pipeline;
  return (
    <>
      <header className="page-header">
        <h1>{pipeline.name}</h1>
      </header>
      <dl className="facts" aria-label="Pipeline">
        <Fact term="Runs">{runStats.total}</Fact>
        <Fact term="Success rate">{formatRate(successRate(runStats.byStatus))}</Fact>
        <Fact term="Last run">{formatDateTime(runStats.lastRunAt)}</Fact>
      </dl>
      <StatusCounts counts={runStats.byStatus} label="Runs per status" />
      <section aria-labelledby="trend-heading" className="activity">
        <h2 id="trend-heading">Duration trend</h2>
        {runs.__typename === 'PipelineRunConnection' ? (
          <DurationTrendChart runs={runs.edges.map((edge) => edge.node)} title={`Duration of the last ${TREND_RUNS} runs of ${pipeline.name}`} />
        ) : (
          <ErrorState what="the runs" error={new Error(runs.message)} />
        )}
      </section>
      <section aria-labelledby="runs-heading">
        <h2 id="runs-heading">Runs</h2>
        <RunPages filter={{ pipeline: pipeline.name }} />
      </section>
    </>
  );
}
