// Runs the operations of Stackyard's own clients (the CLI, the SDK, the dashboard) by the hash
// codegen gave each one, from client/generated/persisted-documents.json. In allow-list mode it
// runs nothing else, so a server reachable from a network answers only the queries its clients
// were built with: nobody can probe it or send costly documents of their own.
import { usePersistedOperations as usePersistedOperationsPlugin } from '@graphql-yoga/plugin-persisted-operations';
import type { Plugin } from 'graphql-yoga';
import manifest from '../../client/generated/persisted-documents.json' with { type: 'json' };

export interface PersistedOperationsOptions {
  /** Refuse every operation that is not persisted, GraphiQL's included. Default false. */
  only?: boolean;
  /** Documents by hash. Default: the manifest generated from client/operations. */
  documents?: Record<string, string>;
}

export function usePersistedOperations(options: PersistedOperationsOptions = {}): Plugin {
  // A Map, so an id such as "constructor" finds nothing rather than an object's own property.
  const documents = new Map(Object.entries(options.documents ?? manifest));
  return usePersistedOperationsPlugin({
    getPersistedOperation: (id) => documents.get(id) ?? null,
    allowArbitraryOperations: !options.only,
    customErrors: {
      // The code is the persisted-query protocol's; clients send the document on seeing it.
      notFound: {
        message: 'This server has no persisted operation with that id; send the document instead.',
        extensions: { code: 'PERSISTED_QUERY_NOT_FOUND', http: { status: 400 } },
      },
      keyNotFound: {
        message: 'Send a query, or the id of a persisted operation in extensions.persistedQuery.sha256Hash.',
        extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED', http: { status: 400 } },
      },
      persistedQueryOnly: {
        message: "This server runs only the persisted operations of Stackyard's clients; send an operation's id, not its text.",
        extensions: { code: 'PERSISTED_QUERY_ONLY', http: { status: 403 } },
      },
    },
  }) as Plugin;
}
