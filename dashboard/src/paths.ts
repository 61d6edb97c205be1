// The dashboard's addresses, which the server's fallback to index.html makes deep links.

export function stackPath(name: string): string {
  return `/stacks/${encodeURIComponent(name)}`;
}

export function runPath(id: string): string {
  return `/runs/${encodeURIComponent(id)}`;
}

/** The comparison of these runs (global ids), in this order. */
export function comparePath(ids: readonly string[]): string {
  return `/compare?runs=${ids.map(encodeURIComponent).join(',')}`;
}

export function pipelinePath(name: string): string {
  return `/pipelines/${encodeURIComponent(name)}`;
}

export function artifactPath(name: string): string {
  return `/artifacts/${encodeURIComponent(name)}`;
}

export function artifactVersionPath(name: string, version: number): string {
  return `${artifactPath(name)}/versions/${version}`;
}

export function searchPath(query: string): string {
  return `/search?${new URLSearchParams({ q: query })}`;
}
