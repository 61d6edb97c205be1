// Every artifact by name, with its latest version; a name filter kept in the address.
import { useInfiniteQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { ArtifactsDocument } from '../../../client/generated/graphql';
import { expectMember } from '../../../client/stackyard-error';
import { execute } from '../api/execute';
import { queryKey } from '../api/query-client';
import { artifactPath, artifactVersionPath } from '../paths';
import { RunTime } from '../ui/runs-table';
import { ScrollingTable } from '../ui/scrolling-table';
import { Empty, LoadMoreButton, QueryView } from '../ui/states';
import { usePageTitle } from './page-title';
import { FilterField } from './run-history';

const PAGE_SIZE = 50;

export function ArtifactsPage() {
  usePageTitle('Artifacts');
  const [params, setParams] = useSearchParams();
  const nameContains = params.get('name') ?? '';
  const variables = { nameContains: nameContains.trim() || undefined, first: PAGE_SIZE };
  const artifacts = useInfiniteQuery({
    queryKey: queryKey(ArtifactsDocument, variables),
    queryFn: async ({ pageParam }) => expectMember((await execute(ArtifactsDocument, { ...variables, after: pageParam })).artifacts, 'QueryArtifactsConnection'),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => (last.pageInfo.hasNextPage ? (last.pageInfo.endCursor ?? undefined) : undefined),
  });
  return (
    <>
      <h1>Artifacts</h1>
      <form className="filters" aria-label="Filter artifacts" onSubmit={(event) => event.preventDefault()}>
        <FilterField label="Name contains">
          {(id) => (
            <input
              id={id}
              type="search"
              value={nameContains}
              onChange={(event) => setParams(event.target.value ? { name: event.target.value } : {}, { replace: true })}
            />
          )}
        </FilterField>
      </form>
      <QueryView query={artifacts} what="artifacts">
        {(data) => {
          const rows = data.pages.flatMap((page) => page.edges.map((edge) => edge.node));
          if (rows.length === 0) return <Empty>{nameContains ? 'No artifact has a name like that.' : 'No artifacts yet.'}</Empty>;
          return (
            <>
              <p className="muted">{data.pages[0].totalCount} artifacts</p>
              <ScrollingTable label="Artifacts" columns={['Artifact', 'Latest version', 'First stored']}>
                {rows.map((artifact) => (
                  <tr key={artifact.id}>
                    <th scope="row" className="artifact">
                      <Link to={artifactPath(artifact.name)}>{artifact.name}</Link>
                    </th>
                    <td>{artifact.latestVersion > 0 ? <Link to={artifactVersionPath(artifact.name, artifact.latestVersion)}>v{artifact.latestVersion}</Link> : '-'}</td>
                    <td>
                      <RunTime iso={artifact.createdAt} />
                    </td>
                  </tr>
                ))}
              </ScrollingTable>
              <LoadMoreButton pages={artifacts} what="artifacts" />
            </>
          );
        }}
      </QueryView>
    </>
  );
}
