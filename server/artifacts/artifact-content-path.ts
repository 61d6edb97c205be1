// Where the server serves an artifact version's content (images, for previews):
// /artifacts/<global id>/content. Kept apart from the preview module, and free of imports, so the
// HTTP server routes it without loading the GraphQL schema at start-up.

const CONTENT_PATH = /^\/artifacts\/([^/]+)\/content$/;

export function artifactContentPath(globalId: string): string {
  return `/artifacts/${encodeURIComponent(globalId)}/content`;
}

/** The version's global id in a content path, or null for any other path. */
export function contentPathVersion(path: string): string | null {
  const match = CONTENT_PATH.exec(path);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}
