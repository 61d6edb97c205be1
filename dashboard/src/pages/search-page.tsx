// Everything whose name contains the text: stacks, components, pipelines, runs and artifacts.
import { useSearchParams } from 'react-router';
import { SearchDocument } from '../../../client/generated/graphql';
import { useGraphQLQuery } from '../api/query-client';
import { HitLink } from '../ui/search-hits';
import { Empty, ErrorState, QueryView } from '../ui/states';
import { usePageTitle } from './page-title';

const HITS = 50;

export function SearchPage() {
  const query = (useSearchParams()[0].get('q') ?? '').trim();
  usePageTitle(query ? `Search: ${query}` : 'Search');
  return (
    <>
      <h1>{query ? `Names like “${query}”` : 'Search'}</h1>
      {query ? <SearchResults query={query} /> : <Empty>Type a name in the search box.</Empty>}
    </>
  );
}

function SearchResults({ query }: { query: string }) {
  const results = useGraphQLQuery(SearchDocument, { query, first: HITS });
  return (
    <QueryView query={results} what="the search results">
      {({ search }) => {
        if (search.__typename !== 'SearchResults') return <ErrorState what="the search results" error={new Error(search.message)} />;
        if (search.hits.length === 0) return <Empty>Nothing is named like “{query}”.</Empty>;
        return (
          <ul className="search-results" aria-label="Search results">
            {search.hits.map((hit) => (
              <li key={hit.id}>
                <HitLink hit={hit} />
              </li>
            ))}
          </ul>
        );
      }}
    </QueryView>
  );
}
