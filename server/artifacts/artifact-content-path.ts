// Where the server serves an artifact version's content (images, for previews). Kept apart from
// the preview module so the HTTP server can route it without loading the GraphQL schema.
import { encodeGlobalID } from '@pothos/plugin-relay';

const CONTENT_PATH = /^\/artifacts\/([^/]+)\/content$/;

export function artifactContentPath(versionId: string): string {
  return `/artifacts/${encodeURIComponent(encodeGlobalID('ArtifactVersion', versionId))}/content`;
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
