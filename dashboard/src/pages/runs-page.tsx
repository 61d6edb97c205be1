// Every run, whatever its stack, with every filter the API has: status, pipeline, stack,
// component, tags, name and time range. The filters live in the address, so a filtered list is a
// link to share. New and changed runs arrive over the live subscription.
import { useQueryClient } from '@tanstack/react-query';
import { useSearchParams } from 'react-router';
import {
  PipelineNamesDocument,
  RunFilterChoicesDocument,
  RunRowUpdatedDocument,
  RunsDocument,
  type ComponentType,
  type RunFilter,
  type RunStatus,
} from '../../../client/generated/graphql';
import { operationName } from '../api/execute';
import { refetchReadBefore, useLiveSubscription } from '../api/live';
import { useGraphQLQuery } from '../api/query-client';
import { placeRunInCachedPages } from '../api/run-cache';
import { LiveIndicator } from '../ui/live-indicator';
import { componentTypeLabel, RUN_STATUSES, statusLabel } from '../ui/format';
import { usePageTitle } from './page-title';
import { FilterField, RunPages, StartedBetweenFields } from './run-history';

const FILTERS = ['status', 'pipeline', 'stack', 'component', 'tags', 'name', 'from', 'to'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

/** The filters in the address; a value that makes no sense there (hand-edited) is no filter. */
function readFilters(params: URLSearchParams): Filters {
  const filters = Object.fromEntries(FILTERS.map((name) => [name, params.get(name) ?? ''])) as Filters;
  if (!(RUN_STATUSES as readonly string[]).includes(filters.status)) filters.status = '';
  for (const time of ['from', 'to'] as const) if (Number.isNaN(Date.parse(filters[time]))) filters[time] = '';
  if (filters.component && !/^[A-Z_]+:.+$/.test(filters.component)) filters.component = '';
  return filters;
}

/** Tags as typed: separated by commas, blanks ignored. */
function tagList(text: string): string[] {
  return text
    .split(',')
    .map((tag) => tag.trim())
    .filter(Boolean);
}

function toRunFilter(filters: Filters): RunFilter {
  const [componentType, ...componentName] = filters.component.split(':');
  const tags = tagList(filters.tags);
  return {
    ...(filters.status ? { status: [filters.status as RunStatus] } : {}),
    ...(filters.pipeline ? { pipeline: filters.pipeline } : {}),
    ...(filters.stack ? { stackName: filters.stack } : {}),
    ...(filters.component ? { component: { type: componentType as ComponentType, name: componentName.join(':') } } : {}),
    ...(tags.length ? { tags } : {}),
    ...(filters.name.trim() ? { nameContains: filters.name.trim() } : {}),
    ...(filters.from ? { startedAfter: new Date(filters.from).toISOString() } : {}),
    ...(filters.to ? { startedBefore: new Date(filters.to).toISOString() } : {}),
  };
}

export function RunsPage() {
  usePageTitle('Runs');
  const [params, setParams] = useSearchParams();
  const filters = readFilters(params);
  const filter = toRunFilter(filters);
  const queryClient = useQueryClient();
  // The server sends only runs that match the filter; each goes into the cached pages it belongs in.
  const live = useLiveSubscription(
    RunRowUpdatedDocument,
    { filter },
    {
      // A row does not say which components its run had: a list filtered by one is read again.
      onData: ({ runUpdated }) =>
        filter.component ? refetchReadBefore(queryClient, [[operationName(RunsDocument)]], Date.now()) : placeRunInCachedPages(queryClient, runUpdated),
      onConnected: (connectedAt) => refetchReadBefore(queryClient, [[operationName(RunsDocument)]], connectedAt),
    },
  );

  function setFilter(name: keyof Filters, value: string) {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: name === 'name' || name === 'tags' });
  }

  return (
    <>
      <h1>Runs</h1>
      <LiveIndicator status={live} />
      <RunFilters filters={filters} onChange={setFilter} onClear={() => setParams(new URLSearchParams())} />
      {/* A new filter starts again at the first page. */}
      <RunPages key={JSON.stringify(filter)} filter={filter} />
    </>
  );
}

function RunFilters({ filters, onChange, onClear }: { filters: Filters; onChange: (name: keyof Filters, value: string) => void; onClear: () => void }) {
  const pipelines = useGraphQLQuery(PipelineNamesDocument, { first: 100 });
  const choices = useGraphQLQuery(RunFilterChoicesDocument, {});
  const pipelineNames = pipelines.data?.pipelines.__typename === 'QueryPipelinesConnection' ? pipelines.data.pipelines.edges.map((edge) => edge.node.name) : [];
  const stackNames = choices.data?.stacks.__typename === 'QueryStacksConnection' ? choices.data.stacks.edges.map((edge) => edge.node.name) : [];
  const components =
    choices.data?.components.__typename === 'QueryComponentsConnection'
      ? choices.data.components.edges.map((edge) => ({ value: `${edge.node.type}:${edge.node.name}`, label: `${componentTypeLabel(edge.node.type)}: ${edge.node.name}` }))
      : [];
  // A value from the address that the lists do not hold (yet) is still shown as chosen.
  if (filters.pipeline && !pipelineNames.includes(filters.pipeline)) pipelineNames.push(filters.pipeline);
  if (filters.stack && !stackNames.includes(filters.stack)) stackNames.push(filters.stack);
  if (filters.component && !components.some((component) => component.value === filters.component)) components.push({ value: filters.component, label: filters.component });
  const select = (name: keyof Filters, all: string, options: readonly { value: string; label: string }[]) => (id: string) => (
    <select id={id} value={filters[name]} onChange={(event) => onChange(name, event.target.value)}>
      <option value="">{all}</option>
      {options.map((option) => (
        <option key={option.value} value={option.value}>
          {option.label}
        </option>
      ))}
    </select>
  );
  const named = (names: readonly string[]) => names.map((name) => ({ value: name, label: name }));
  return (
    <form className="filters" aria-label="Filter runs" onSubmit={(event) => event.preventDefault()}>
      <FilterField label="Name contains">
        {(id) => <input id={id} type="search" value={filters.name} onChange={(event) => onChange('name', event.target.value)} />}
      </FilterField>
      <FilterField label="Status">{select('status', 'All statuses', RUN_STATUSES.map((status) => ({ value: status, label: statusLabel(status) })))}</FilterField>
      <FilterField label="Pipeline">{select('pipeline', 'All pipelines', named(pipelineNames))}</FilterField>
      <FilterField label="Stack">{select('stack', 'All stacks', named(stackNames))}</FilterField>
      <FilterField label="Component">{select('component', 'All components', components)}</FilterField>
      <FilterField label="Tags (all of)">
        {(id) => <input id={id} type="text" placeholder="nightly, gpu" value={filters.tags} onChange={(event) => onChange('tags', event.target.value)} />}
      </FilterField>
      <StartedBetweenFields from={filters.from} to={filters.to} onChange={onChange} />
      <button type="button" className="secondary" onClick={onClear} disabled={FILTERS.every((name) => !filters[name])}>
        Clear filters
      </button>
    </form>
  );
}
