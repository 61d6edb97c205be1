// A stack's runs: filters kept in the URL, a chart of runs per day, and a table paged by
// keyset cursors. New and changed runs arrive over the live subscription.
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useRef, useState, type ReactNode } from 'react';
import { useSearchParams } from 'react-router';
import {
  PipelineNamesDocument,
  RunActivityDocument,
  RunRowUpdatedDocument,
  RunsDocument,
  StackDocument,
  type RunFilter,
  type RunStatus,
} from '../../../client/generated/graphql';
import { expectMember } from '../../../client/stackyard-error';
import { execute, operationName } from '../api/execute';
import { refetchReadBefore, useLiveSubscription } from '../api/live';
import { queryKey, useGraphQLQuery } from '../api/query-client';
import { placeRunInCachedPages } from '../api/run-cache';
import { RUN_STATUSES, statusLabel } from '../ui/format';
import { LiveIndicator } from '../ui/live-indicator';
import { RunsPerDayChart, type RunPoint } from '../ui/runs-per-day-chart';
import { RunsTable } from '../ui/runs-table';
import { Empty, ErrorState, QueryView } from '../ui/states';

const PAGE_SIZE = 20;
const CHART_DAYS = 14;
const MAX_CHART_DAYS = 92;
/** The chart reads at most this many runs (pages of the server's largest page size). */
const CHART_PAGES = 5;
const CHART_PAGE_SIZE = 100;
/** What the stack page shows of its runs, which the live updates keep current. */
const LIVE_QUERIES = [RunsDocument, StackDocument, RunActivityDocument].map((document) => [operationName(document)]);

interface Filters {
  status: RunStatus | '';
  pipeline: string;
  /** datetime-local values, in the browser's time zone. */
  from: string;
  to: string;
}

/** The filters in the address; a value that makes no sense there (hand-edited) is no filter. */
function readFilters(params: URLSearchParams): Filters {
  const status = params.get('status') ?? '';
  const time = (name: string) => {
    const value = params.get(name) ?? '';
    return Number.isNaN(Date.parse(value)) ? '' : value;
  };
  return {
    status: (RUN_STATUSES as readonly string[]).includes(status) ? (status as RunStatus) : '',
    pipeline: params.get('pipeline') ?? '',
    from: time('from'),
    to: time('to'),
  };
}

function toRunFilter(stackName: string, filters: Filters): RunFilter {
  return {
    stackName,
    ...(filters.status ? { status: [filters.status] } : {}),
    ...(filters.pipeline ? { pipeline: filters.pipeline } : {}),
    ...(filters.from ? { startedAfter: new Date(filters.from).toISOString() } : {}),
    ...(filters.to ? { startedBefore: new Date(filters.to).toISOString() } : {}),
  };
}

export function RunHistory({ stackName }: { stackName: string }) {
  const [params, setParams] = useSearchParams();
  const filters = readFilters(params);
  const filter = toRunFilter(stackName, filters);
  const queryClient = useQueryClient();
  const lastStatus = useRef(new Map<string, RunStatus>());

  const live = useLiveSubscription(
    RunRowUpdatedDocument,
    { filter: { stackName } },
    {
      onData: ({ runUpdated: run }) => {
        placeRunInCachedPages(queryClient, run);
        // Counts and the chart change only when a run appears or changes status.
        if (lastStatus.current.get(run.id) !== run.status) {
          lastStatus.current.set(run.id, run.status);
          refetchReadBefore(queryClient, [[operationName(StackDocument)], [operationName(RunActivityDocument)]], Date.now());
        }
      },
      onConnected: (connectedAt) => refetchReadBefore(queryClient, LIVE_QUERIES, connectedAt),
    },
  );

  function setFilter(name: keyof Filters, value: string) {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next);
  }

  return (
    <>
      <LiveIndicator status={live} />
      <RunFilters filters={filters} onChange={setFilter} onClear={() => setParams(new URLSearchParams())} />
      <RunActivity filter={filter} filters={filters} />
      {/* A new filter starts again at the first page. */}
      <RunPages key={JSON.stringify(filter)} filter={filter} />
    </>
  );
}

function RunFilters({ filters, onChange, onClear }: { filters: Filters; onChange: (name: keyof Filters, value: string) => void; onClear: () => void }) {
  const pipelines = useGraphQLQuery(PipelineNamesDocument, { first: 100 });
  const connection = pipelines.data?.pipelines;
  const pipelineNames = connection?.__typename === 'QueryPipelinesConnection' ? connection.edges.map((edge) => edge.node.name) : [];
  if (filters.pipeline && !pipelineNames.includes(filters.pipeline)) pipelineNames.push(filters.pipeline);
  return (
    <form className="filters" aria-label="Filter runs" onSubmit={(event) => event.preventDefault()}>
      <FilterField label="Status">
        {(id) => (
          <select id={id} value={filters.status} onChange={(event) => onChange('status', event.target.value)}>
            <option value="">All statuses</option>
            {RUN_STATUSES.map((status) => (
              <option key={status} value={status}>
                {statusLabel(status)}
              </option>
            ))}
          </select>
        )}
      </FilterField>
      <FilterField label="Pipeline">
        {(id) => (
          <select id={id} value={filters.pipeline} onChange={(event) => onChange('pipeline', event.target.value)}>
            <option value="">All pipelines</option>
            {pipelineNames.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        )}
      </FilterField>
      <StartedBetweenFields from={filters.from} to={filters.to} onChange={onChange} />
      <button type="button" className="secondary" onClick={onClear} disabled={!filters.status && !filters.pipeline && !filters.from && !filters.to}>
        Clear filters
      </button>
    </form>
  );
}

/** The time range filters, as datetime-local values in the browser's time zone. */
export function StartedBetweenFields({ from, to, onChange }: { from: string; to: string; onChange: (name: 'from' | 'to', value: string) => void }) {
  return (
    <>
      <FilterField label="Started after">
        {(id) => <input id={id} type="datetime-local" value={from} onChange={(event) => onChange('from', event.target.value)} />}
      </FilterField>
      <FilterField label="Started before">
        {(id) => <input id={id} type="datetime-local" value={to} onChange={(event) => onChange('to', event.target.value)} />}
      </FilterField>
    </>
  );
}

export function FilterField({ label, children }: { label: string; children: (id: string) => ReactNode }) {
  const id = useId();
  return (
    <div>
      <label htmlFor={id}>{label}</label>
      {children(id)}
    </div>
  );
}

/** The days the chart covers: the filter's time range, or the last two weeks. */
function chartRange(filters: Filters): { from: Date; to: Date } {
  const to = filters.to ? new Date(filters.to) : new Date();
  const earliest = new Date(to.getTime() - (MAX_CHART_DAYS - 1) * 86_400_000);
  const from = filters.from ? new Date(filters.from) : new Date(to.getTime() - (CHART_DAYS - 1) * 86_400_000);
  return { from: from < earliest ? earliest : from, to };
}

function RunActivity({ filter, filters }: { filter: RunFilter; filters: Filters }) {
  const { from, to } = chartRange(filters);
  // Whole days: the bars stand for days, so the runs of the first day count in full.
  const dayStart = new Date(from.getFullYear(), from.getMonth(), from.getDate());
  const variables = { filter: { ...filter, startedAfter: dayStart.toISOString() } };
  const activity = useQuery({
    queryKey: queryKey(RunActivityDocument, variables),
    queryFn: async () => {
      const runs: RunPoint[] = [];
      let after: string | undefined;
      for (let page = 0; page < CHART_PAGES; page += 1) {
        const result = expectMember((await execute(RunActivityDocument, { ...variables, first: CHART_PAGE_SIZE, after })).runs, 'PipelineRunConnection');
        runs.push(...result.edges.map((edge) => edge.node));
        if (!result.pageInfo.hasNextPage || !result.pageInfo.endCursor) return { runs, complete: true };
        after = result.pageInfo.endCursor;
      }
      return { runs, complete: false };
    },
  });
  return (
    <section aria-labelledby="activity-heading" className="activity">
      <h3 id="activity-heading">Runs per day</h3>
      <QueryView query={activity} what="runs per day">
        {(data) => (
          <>
            <RunsPerDayChart runs={data.runs} from={dayStart} to={to} title={`Runs per day, ${dayStart.toLocaleDateString()} to ${to.toLocaleDateString()}`} />
            {!data.complete && <p className="muted">The chart shows the newest {data.runs.length} runs of this range.</p>}
          </>
        )}
      </QueryView>
    </section>
  );
}

/** A table of the runs matching the filter, a page at a time; a new filter should remount it (key). */
export function RunPages({ filter }: { filter: RunFilter }) {
  // The cursors of the pages before this one: Next pushes one, Previous pops one.
  const [cursors, setCursors] = useState<string[]>([]);
  const variables = { filter, first: PAGE_SIZE, after: cursors.at(-1) };
  const runs = useQuery({
    queryKey: queryKey(RunsDocument, variables),
    queryFn: async () => execute(RunsDocument, variables),
    placeholderData: keepPreviousData,
  });
  return (
    <section aria-labelledby="run-table-heading">
      <h3 id="run-table-heading">Run history</h3>
      <QueryView query={runs} what="runs">
        {({ runs: result }) => {
          if (result.__typename !== 'PipelineRunConnection') return <ErrorState what="runs" error={new Error(result.message)} />;
          const { edges, totalCount, pageInfo } = result;
          return (
            <>
              <p className="muted" aria-live="polite">
                {totalCount} {Object.keys(filter).length > 1 ? 'matching runs' : 'runs'}
              </p>
              {edges.length === 0 ? <Empty>No runs match these filters.</Empty> : <RunsTable runs={edges.map((edge) => edge.node)} label="Runs" />}
              <nav className="pager" aria-label="Pages of runs">
                <button type="button" onClick={() => setCursors((before) => before.slice(0, -1))} disabled={cursors.length === 0 || runs.isFetching}>
                  Previous page
                </button>
                <span>
                  Page {cursors.length + 1} of {Math.max(1, Math.ceil(totalCount / PAGE_SIZE))}
                </span>
                <button
                  type="button"
                  onClick={() => setCursors((before) => [...before, pageInfo.endCursor!])}
                  disabled={!pageInfo.hasNextPage || !pageInfo.endCursor || runs.isFetching}
                >
                  Next page
                </button>
              </nav>
            </>
          );
        }}
      </QueryView>
    </section>
  );
}
