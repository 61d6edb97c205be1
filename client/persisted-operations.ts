// Generated documents go to the server as their persisted id (the SHA-256 codegen put on each),
// so a server in allow-list mode runs them. Shared by the Node client and the dashboard.

/** The hash codegen gave a generated document: its key in client/generated/persisted-documents.json. */
export function persistedId(document: unknown): string | undefined {
  const hash = (document as { __meta__?: { hash?: unknown } }).__meta__?.hash;
  return typeof hash === 'string' ? hash : undefined;
}

/** The persisted-query protocol's field, in place of the document text. */
export function persistedQueryExtensions(id: string) {
  return { persistedQuery: { version: 1, sha256Hash: id } };
}

/**
 * Whether the server refused a persisted id before running anything, so sending the document
 * text instead is safe: it does not have the operation, or it is older than persisted operations.
 */
export function serverWantsText(errors: readonly { message: string; extensions?: { readonly [key: string]: unknown } }[] | undefined): boolean {
  return (errors ?? []).some((error) => error.extensions?.code === 'PERSISTED_QUERY_NOT_FOUND' || error.message === 'Must provide query string.');
}
