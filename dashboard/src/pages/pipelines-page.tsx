// Every pipeline, with how often it ran, when it last ran and how often its runs succeed.
import { Link } from 'react-router';
import { PipelineListDocument } from '../../../client/generated/graphql';
import { expectMember } from '../../../client/stackyard-error';
import { useGraphQLPages } from '../api/query-client';
import { pipelinePath } from '../paths';
import { formatRate, successRate } from '../ui/duration-trend-chart';
import { RunTime } from '../ui/runs-table';
import { ScrollingTable } from '../ui/scrolling-table';
import { Empty, LoadMoreButton, QueryView } from '../ui/states';
import { usePageTitle } from './page-title';

const PAGE_SIZE = 50;

export function PipelinesPage() {
  usePageTitle('Pipelines');
  const pipelines = useGraphQLPages(PipelineListDocument, PAGE_SIZE, (result) => expectMember(result.pipelines, 'QueryPipelinesConnection'));
  return (
    <>
      <h1>Pipelines</h1>
      <QueryView query={pipelines} what="pipelines">
        {(data) => {
          const rows = data.pages.flatMap((page) => page.edges.map((edge) => edge.node));
          if (rows.length === 0) return <Empty>No pipeline has run yet.</Empty>;
          return (
            <>
              <ScrollingTable label="Pipelines" columns={['Pipeline', 'Runs', 'Last run', 'Success rate']}>
                {rows.map((pipeline) => (
                  <tr key={pipeline.id}>
                    <th scope="row">
                      <Link to={pipelinePath(pipeline.name)}>{pipeline.name}</Link>
                    </th>
                    <td>{pipeline.runStats.total}</td>
                    <td>{pipeline.runStats.lastRunAt ? <RunTime iso={pipeline.runStats.lastRunAt} /> : '-'}</td>
                    <td>{formatRate(successRate(pipeline.runStats.byStatus))}</td>
                  </tr>
                ))}
              </ScrollingTable>
              <LoadMoreButton pages={pipelines} what="pipelines" />
            </>
          );
        }}
      </QueryView>
    </>
  );
}
