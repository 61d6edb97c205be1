// TanStack Query's cache, keyed by operation name and variables, so a live update can find
// every cached list a run appears in.
import { MutationCache, QueryCache, QueryClient, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { StackyardError } from '../../../client/stackyard-error';
import { UnauthenticatedError, execute, operationName } from './execute';

export function createQueryClient(onUnauthenticated: (reason: string) => void): QueryClient {
  const onError = (error: Error) => {
    if (error instanceof UnauthenticatedError) onUnauthenticated(error.message);
  };
  return new QueryClient({
    queryCache: new QueryCache({ onError }),
    mutationCache: new MutationCache({ onError }),
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        // Only an unreachable server is worth asking again; refusals and bad requests stay refused.
        retry: (failures, error) => failures < 2 && error instanceof StackyardError && error.type === 'ConnectionError',
      },
    },
  });
}

export function queryKey<Variables>(document: TypedDocumentNode<unknown, Variables>, variables: Variables) {
  return [operationName(document), variables] as const;
}

/** One generated query, cached under queryKey(document, variables). */
export function useGraphQLQuery<Result, Variables extends Record<string, unknown>>(
  document: TypedDocumentNode<Result, Variables>,
  variables: Variables,
) {
  return useQuery({ queryKey: queryKey(document, variables), queryFn: () => execute(document, variables) });
}

interface Connection {
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
}

/**
 * A connection read page by page as the user asks for more, cached under queryKey(document, { first }).
 * Each page is the connection `connectionOf` picks from the result, which throws on an error member.
 */
export function useGraphQLPages<Result, Variables extends { first?: number | null; after?: string | null }, Page extends Connection>(
  document: TypedDocumentNode<Result, Variables>,
  pageSize: number,
  connectionOf: (result: Result) => Page,
) {
  return useInfiniteQuery({
    queryKey: queryKey(document, { first: pageSize } as Variables),
    queryFn: async ({ pageParam }) => connectionOf(await execute(document, { first: pageSize, after: pageParam } as Variables)),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => {
      const { pageInfo } = last;
      return pageInfo.hasNextPage ? (pageInfo.endCursor ?? undefined) : undefined;
    },
  });
}
