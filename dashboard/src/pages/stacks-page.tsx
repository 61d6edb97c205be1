// Every stack: its components by type, its runs per status and its last run.
import { useQueryClient } from '@tanstack/react-query';
import { useRef } from 'react';
import { Link } from 'react-router';
import { DashboardStacksDocument, RunRowUpdatedDocument, type DashboardStacksQuery, type RunStatus } from '../../../client/generated/graphql';
import { expectMember } from '../../../client/stackyard-error';
import { operationName } from '../api/execute';
import { refetchReadBefore, useLiveSubscription } from '../api/live';
import { useGraphQLPages } from '../api/query-client';
import { stackPath } from '../paths';
import { componentTypeLabel } from '../ui/format';
import { RunLink, RunTime } from '../ui/runs-table';
import { LiveIndicator } from '../ui/live-indicator';
import { Empty, LoadMoreButton, QueryView } from '../ui/states';
import { StatusBadge, StatusCounts } from '../ui/status-badge';
import { usePageTitle } from './page-title';
import { ActiveMarker, SetActiveButton } from './set-active-button';

type StackCard = Extract<DashboardStacksQuery['stacks'], { __typename: 'QueryStacksConnection' }>['edges'][number]['node'];

const PAGE_SIZE = 50;
const STACK_QUERIES = [[operationName(DashboardStacksDocument)]];

export function StacksPage() {
  usePageTitle('Stacks');
  const stacks = useGraphQLPages(DashboardStacksDocument, PAGE_SIZE, (result) => expectMember(result.stacks, 'QueryStacksConnection'));
  const queryClient = useQueryClient();
  const lastStatus = useRef(new Map<string, RunStatus>());
  // Run counts and last runs change when a run starts or changes status, on any stack.
  const live = useLiveSubscription(
    RunRowUpdatedDocument,
    { filter: {} },
    {
      onData: ({ runUpdated: run }) => {
        if (lastStatus.current.get(run.id) === run.status) return;
        lastStatus.current.set(run.id, run.status);
        refetchReadBefore(queryClient, STACK_QUERIES, Date.now());
      },
      onConnected: (connectedAt) => refetchReadBefore(queryClient, STACK_QUERIES, connectedAt),
    },
  );

  return (
    <>
      <h1>Stacks</h1>
      <LiveIndicator status={live} />
      <QueryView query={stacks} what="stacks">
        {(data) => (
          <>
            <p className="muted">{data.pages[0].totalCount} stacks</p>
            {data.pages[0].totalCount === 0 ? (
              <Empty>
                No stacks yet. Register one with <code>stackyard stack register</code>.
              </Empty>
            ) : (
              <ul className="cards" aria-label="Stacks">
                {data.pages
                  .flatMap((page) => page.edges)
                  .map(({ node }) => (
                    <li key={node.id}>
                      <StackSummary stack={node} />
                    </li>
                  ))}
              </ul>
            )}
            <LoadMoreButton pages={stacks} what="stacks" />
          </>
        )}
      </QueryView>
    </>
  );
}

function StackSummary({ stack }: { stack: StackCard }) {
  const headingId = `stack-${stack.id}`;
  const lastRun = stack.runs.__typename === 'PipelineRunConnection' ? stack.runs.edges[0]?.node : undefined;
  return (
    <article className="card" aria-labelledby={headingId}>
      <header className="card-header">
        <h2 id={headingId}>
          <Link to={stackPath(stack.name)}>{stack.name}</Link>
        </h2>
        {stack.isActive ? <ActiveMarker /> : <SetActiveButton stackName={stack.name} />}
      </header>
      {stack.description && <p>{stack.description}</p>}
      <ul className="chips" aria-label="Components">
        {stack.components.map((component) => (
          <li key={component.id} className={`chip chip-${component.type.toLowerCase()}`}>
            <span className="chip-type">{componentTypeLabel(component.type)}</span> {component.name}
          </li>
        ))}
      </ul>
      {lastRun ? (
        <>
          <StatusCounts counts={stack.runStats.byStatus} label="Runs per status" />
          <p className="last-run">
            Last run <RunLink run={lastRun} /> <StatusBadge status={lastRun.status} /> <RunTime iso={lastRun.startedAt} />
          </p>
        </>
      ) : (
        <p className="muted">No runs yet</p>
      )}
    </article>
  );
}
