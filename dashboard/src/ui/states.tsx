// Loading, error and empty states, worded the same on every page.
import type { ReactNode } from 'react';

export function Loading({ what }: { what: string }) {
  return (
    <p role="status" className="state state-loading">
      Loading {what}…
    </p>
  );
}

export function ErrorState({ what, error, onRetry }: { what: string; error: Error; onRetry?: () => void }) {
  return (
    <div role="alert" className="state state-error">
      <p>
        Could not load {what}: {error.message}
      </p>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="state state-empty">{children}</p>;
}

/** What QueryView needs of a TanStack query, plain or infinite. */
interface QueryState<Data> {
  data: Data | undefined;
  error: Error | null;
  refetch(): unknown;
}

/**
 * A query's loading and error states, or what its data renders to. A refetch that fails
 * leaves the data it had on the page, under the error.
 */
export function QueryView<Data>({ query, what, children }: { query: QueryState<Data>; what: string; children: (data: Data) => ReactNode }) {
  const error = query.error && <ErrorState what={what} error={query.error} onRetry={() => void query.refetch()} />;
  if (query.data === undefined) return error || <Loading what={what} />;
  return (
    <>
      {error}
      {children(query.data)}
    </>
  );
}

/** Fetches the next page of a list read page by page; nothing once the last page is in. */
export function LoadMoreButton({ pages, what }: { pages: { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage(): unknown }; what: string }) {
  if (!pages.hasNextPage) return null;
  return (
    <button type="button" onClick={() => void pages.fetchNextPage()} disabled={pages.isFetchingNextPage}>
      {pages.isFetchingNextPage ? `Loading more ${what}…` : `Load more ${what}`}
    </button>
  );
}
