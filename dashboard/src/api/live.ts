// Live updates: a GraphQL subscription over SSE (graphql-sse's distinct connections mode, which
// graphql-yoga serves as it is). The server pushes each change; nothing here polls. A dropped
// connection is retried with backoff, and the page refetches what it may have missed.
import type { QueryClient, QueryKey } from '@tanstack/react-query';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient, type ExecutionResult } from 'graphql-sse';
import { print } from 'graphql';
import { useEffect, useRef, useState } from 'react';
import { useAuth } from './auth';
import { persistedId, persistedQueryExtensions, serverWantsText } from '../../../client/persisted-operations';
import { GRAPHQL_URL, isUnauthenticated } from './execute';
import { authorizationHeader } from './token';

export type LiveStatus =
  | { state: 'connecting' | 'live' | 'reconnecting' }
  /** The server refused the subscription; the page still works, without live updates. */
  | { state: 'off'; reason: string };

interface LiveHandlers<Result> {
  onData(data: Result): void;
  /**
   * The server is listening, first or again after a break. Data read before this moment may
   * have missed a change: refetch it (see refetchReadBefore).
   */
  onConnected?(connectedAt: number): void;
}

const MAX_RETRY_DELAY_MS = 30_000;

interface ErrorBody {
  errors?: { message: string; extensions?: { code?: unknown } }[];
}

/** The GraphQL errors in an SSE error response, which carries them as a `next` event. */
async function errorsOf(response: Response): Promise<NonNullable<ErrorBody['errors']>> {
  const text = await response.clone().text().catch(() => '');
  const data = /^data: (\{.*\})$/m.exec(text)?.[1];
  try {
    return data ? ((JSON.parse(data) as ErrorBody).errors ?? []) : [];
  } catch {
    return [];
  }
}

/**
 * Follows a subscription while `enabled`, and answers how the connection is doing (null while
 * not enabled). Browsers give HTTP/1.1 six connections per server and each subscription holds
 * one, so pages subscribe only while something can still change.
 */
export function useLiveSubscription<Result, Variables extends Record<string, unknown>>(
  document: TypedDocumentNode<Result, Variables>,
  variables: Variables,
  handlers: LiveHandlers<Result>,
  enabled = true,
): LiveStatus | null {
  const [status, setStatus] = useState<LiveStatus>({ state: 'connecting' });
  const auth = useAuth();
  const latest = useRef({ handlers, requireSignIn: auth.requireSignIn });
  latest.current = { handlers, requireSignIn: auth.requireSignIn };
  const variablesKey = JSON.stringify(variables);

  useEffect(() => {
    if (!enabled) return;
    const vars = JSON.parse(variablesKey) as Variables;
    setStatus({ state: 'connecting' });
    const id = persistedId(document);
    const asText = { query: print(document), variables: vars };
    let stopped = false;
    const stop = (reason: string) => {
      stopped = true;
      setStatus({ state: 'off', reason });
      client.dispose();
    };
    const client = createClient({
      url: GRAPHQL_URL,
      headers: () => authorizationHeader(),
      retryAttempts: Infinity,
      retry: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(MAX_RETRY_DELAY_MS, 1000 * 2 ** retries))),
      // graphql-sse retries every refused connection; only a server that cannot be reached is
      // worth retrying, so refusals stop here. A server without the persisted id gets the text.
      fetchFn: async (input: RequestInfo, init: RequestInit) => {
        let response = await fetch(input, init);
        if (response.ok) return response;
        let errors = await errorsOf(response);
        if (id && serverWantsText(errors)) {
          response = await fetch(input, { ...init, body: JSON.stringify(asText) });
          if (response.ok) return response;
          errors = await errorsOf(response);
        }
        const reason = errors.map((error) => error.message).join('; ') || `HTTP ${response.status}`;
        if (isUnauthenticated(response.status, errors)) latest.current.requireSignIn(reason);
        else if (response.status < 500) stop(reason);
        return response;
      },
      on: {
        connecting: (reconnecting) => {
          if (reconnecting && !stopped) setStatus({ state: 'reconnecting' });
        },
        connected: () => {
          setStatus({ state: 'live' });
          latest.current.handlers.onConnected?.(Date.now());
        },
      },
    });
    // An empty query and the id in extensions: the persisted-query protocol's way to name a document.
    const request = id ? { query: '', variables: vars, extensions: persistedQueryExtensions(id) } : asText;
    client.subscribe<Result>(request, {
      next: (result: ExecutionResult<Result>) => {
        if (result.errors?.length) stop(result.errors.map((error) => error.message).join('; '));
        else if (result.data) latest.current.handlers.onData(result.data);
      },
      error: (error) => {
        if (!stopped) stop(error instanceof Error ? error.message : String(error));
      },
      complete: () => {
        if (!stopped) stop('The server ended the live updates.');
      },
    });
    return () => {
      stopped = true;
      client.dispose();
    };
  }, [document, variablesKey, enabled]);

  return enabled ? status : null;
}

/** Refetches the cached queries under these keys whose data is older than `moment`. */
export function refetchReadBefore(queryClient: QueryClient, keys: readonly QueryKey[], moment: number): void {
  for (const queryKey of keys) void queryClient.invalidateQueries({ queryKey, predicate: (query) => query.state.dataUpdatedAt < moment });
}
