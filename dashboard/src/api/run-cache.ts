// Puts a run the server pushed into the cached pages of run history: in place where it is
// listed, and at the top of a first page whose filter it matches when it is new.
import type { QueryClient } from '@tanstack/react-query';
import { RunsDocument, type RunFilter, type RunSummaryFieldsFragment, type RunsQuery, type RunsQueryVariables } from '../../../client/generated/graphql';
import { operationName } from './execute';

export type RunRow = RunSummaryFieldsFragment;

/** Whether the run belongs in a list with this filter, for the fields the dashboard filters on. */
export function matchesFilter(run: RunRow, filter: RunFilter | null | undefined): boolean {
  if (!filter) return true;
  if (filter.stackName && run.stack?.name !== filter.stackName) return false;
  if (filter.pipeline && run.pipeline.name !== filter.pipeline) return false;
  if (filter.status?.length && !filter.status.includes(run.status)) return false;
  if (filter.tags?.length && !filter.tags.every((tag) => run.tags.includes(tag))) return false;
  if (filter.nameContains && !run.name.toLowerCase().includes(filter.nameContains.toLowerCase())) return false;
  // What the row does not say (its components, the stack's id, the run's id) cannot be matched here.
  if (filter.component || filter.stackId || filter.runId) return false;
  const started = Date.parse(run.startedAt);
  if (filter.startedAfter && started < Date.parse(filter.startedAfter)) return false;
  if (filter.startedBefore && started > Date.parse(filter.startedBefore)) return false;
  return true;
}

export function placeRunInCachedPages(queryClient: QueryClient, run: RunRow): void {
  const pages = queryClient.getQueriesData<RunsQuery>({ queryKey: [operationName(RunsDocument)] });
  for (const [key, data] of pages) {
    if (data?.runs.__typename !== 'PipelineRunConnection') continue;
    const connection = data.runs;
    const variables = key[1] as RunsQueryVariables;
    const index = connection.edges.findIndex((edge) => edge.node.id === run.id);
    let edges = connection.edges;
    let totalCount = connection.totalCount;
    if (index >= 0) {
      edges = edges.map((edge, i) => (i === index ? { ...edge, node: run } : edge));
    } else if (!variables.after && matchesFilter(run, variables.filter) && isNewest(run, edges)) {
      edges = [{ node: run }, ...edges];
      totalCount += 1;
    } else {
      continue;
    }
    queryClient.setQueryData<RunsQuery>(key, { ...data, runs: { ...connection, edges, totalCount } });
  }
}

/**
 * Newer than the first row, so the top is its place in newest-first order; an older run that
 * changed belongs on a later page, not here.
 */
function isNewest(run: RunRow, edges: { node: RunRow }[]): boolean {
  return edges.length === 0 || Date.parse(run.createdAt) >= Date.parse(edges[0].node.createdAt);
}
