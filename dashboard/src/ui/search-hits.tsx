// Where each kind of search hit leads, and how it is described, for the header's search box and
// the search page alike.
import { Link } from 'react-router';
import type { SearchQuery } from '../../../client/generated/graphql';
import { componentAnchor } from '../pages/component-details';
import { artifactPath, pipelinePath, runPath, stackPath } from '../paths';
import { componentTypeLabel, statusLabel } from './format';

type Results = Extract<SearchQuery['search'], { __typename: 'SearchResults' }>;
export type SearchHit = Results['hits'][number];

export function hitPath(hit: SearchHit): string {
  switch (hit.__typename) {
    case 'Stack':
      return stackPath(hit.name);
    case 'StackComponent':
      return `/components#${componentAnchor(hit)}`;
    case 'Pipeline':
      return pipelinePath(hit.name);
    case 'PipelineRun':
      return runPath(hit.id);
    case 'Artifact':
      return artifactPath(hit.name);
  }
}

/** What the hit is, in a word or two: "Stack", "Run · completed", "Artifact store". */
export function hitKind(hit: SearchHit): string {
  switch (hit.__typename) {
    case 'Stack':
      return 'Stack';
    case 'StackComponent':
      return `${componentTypeLabel(hit.type)} · ${hit.flavorName}`;
    case 'Pipeline':
      return 'Pipeline';
    case 'PipelineRun':
      return `Run · ${statusLabel(hit.status).toLowerCase()}`;
    case 'Artifact':
      return `Artifact · v${hit.latestVersion}`;
  }
}

export function HitLink({ hit, onFollow }: { hit: SearchHit; onFollow?: () => void }) {
  return (
    <Link to={hitPath(hit)} onClick={onFollow} className="search-hit">
      <span className="search-hit-name">{hit.name}</span> <span className="muted">{hitKind(hit)}</span>
    </Link>
  );
}
