import type { ComponentFieldsFragment } from '../../../client/generated/graphql';
import { ConfigurationList } from '../ui/configuration-list';
import { componentTypeLabel } from '../ui/format';

export function componentAnchor(component: Pick<ComponentFieldsFragment, 'type' | 'name'>): string {
  return `component-${component.type.toLowerCase()}-${encodeURIComponent(component.name)}`;
}

/** Labels as chips; nothing when there are none. */
export function Labels({ labels }: { labels: Record<string, unknown> }) {
  const entries = Object.entries(labels);
  if (entries.length === 0) return null;
  return (
    <ul className="chips" aria-label="Labels">
      {entries.map(([key, value]) => (
        <li key={key} className="chip chip-label">
          {key}={String(value)}
        </li>
      ))}
    </ul>
  );
}

/** One component of a stack: its flavor and settings, secrets as "•••• set". */
export function ComponentDetails({ component }: { component: ComponentFieldsFragment }) {
  const headingId = `${componentAnchor(component)}-heading`;
  const title = `${componentTypeLabel(component.type)}: ${component.name}`;
  return (
    <article className="card" aria-labelledby={headingId}>
      <h3 id={headingId}>{title}</h3>
      <p>
        Flavor <strong className="flavor">{component.flavorName}</strong>
      </p>
      <ConfigurationList configuration={component.configuration} secretsSet={component.secretsSet} label={`Configuration of ${title}`} />
      <Labels labels={component.labels} />
    </article>
  );
}
