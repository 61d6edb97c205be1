// Every component, by type, with its flavor, settings and the stacks that use it; and every
// flavor a component can have, with the settings its schema declares.
import { Link } from 'react-router';
import { DashboardComponentsDocument, FlavorsDocument, type DashboardComponentsQuery, type FlavorFieldsFragment } from '../../../client/generated/graphql';
import { expectMember } from '../../../client/stackyard-error';
import { useGraphQLPages, useGraphQLQuery } from '../api/query-client';
import { stackPath } from '../paths';
import { ConfigurationList } from '../ui/configuration-list';
import { COMPONENT_TYPES, componentTypeLabel } from '../ui/format';
import { ScrollingTable } from '../ui/scrolling-table';
import { Empty, LoadMoreButton, QueryView } from '../ui/states';
import { componentAnchor, Labels } from './component-details';
import { usePageTitle } from './page-title';

type Component = Extract<DashboardComponentsQuery['components'], { __typename: 'QueryComponentsConnection' }>['edges'][number]['node'];

const PAGE_SIZE = 100;

export function ComponentsPage() {
  usePageTitle('Components');
  const components = useGraphQLPages(DashboardComponentsDocument, PAGE_SIZE, (result) => expectMember(result.components, 'QueryComponentsConnection'));
  const flavors = useGraphQLQuery(FlavorsDocument, {});
  return (
    <>
      <h1>Components</h1>
      <section aria-labelledby="components-heading">
        <h2 id="components-heading">Components by type</h2>
        <QueryView query={components} what="components">
          {(data) => (
            <>
              <ComponentsByType components={data.pages.flatMap((page) => page.edges.map((edge) => edge.node))} />
              <LoadMoreButton pages={components} what="components" />
            </>
          )}
        </QueryView>
      </section>
      <section aria-labelledby="flavors-heading">
        <h2 id="flavors-heading">Flavors</h2>
        <QueryView query={flavors} what="flavors">
          {(data) => <FlavorsTable flavors={data.flavors} />}
        </QueryView>
      </section>
    </>
  );
}

function ComponentsByType({ components }: { components: readonly Component[] }) {
  if (components.length === 0) return <Empty>No components yet.</Empty>;
  return (
    <>
      {COMPONENT_TYPES.map(({ type, plural }) => {
        const ofType = components.filter((component) => component.type === type);
        if (ofType.length === 0) return null;
        const headingId = `type-${type.toLowerCase()}`;
        return (
          <section key={type} aria-labelledby={headingId}>
            <h3 id={headingId}>{plural}</h3>
            <ScrollingTable label={plural} columns={['Name', 'Flavor', 'Configuration', 'Used by']}>
              {ofType.map((component) => (
                <tr key={component.id} id={componentAnchor(component)}>
                  <th scope="row">
                    {component.name}
                    <Labels labels={component.labels} />
                  </th>
                  <td>{component.flavorName}</td>
                  <td>
                    <ConfigurationList configuration={component.configuration} secretsSet={component.secretsSet} label={`Configuration of ${component.name}`} />
                  </td>
                  <td>
                    {component.stacks.length === 0 ? (
                      <span className="muted">No stack</span>
                    ) : (
                      <ul className="inline-list">
                        {component.stacks.map((stack) => (
                          <li key={stack.name}>
                            <Link to={stackPath(stack.name)}>{stack.name}</Link>
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                </tr>
              ))}
            </ScrollingTable>
          </section>
        );
      })}
    </>
  );
}

/** The settings a flavor's JSON Schema declares, secrets marked. */
function FlavorSettings({ flavor }: { flavor: FlavorFieldsFragment }) {
  const properties = (flavor.configSchema.properties ?? {}) as Record<string, { type?: unknown; description?: string }>;
  const required = new Set((flavor.configSchema.required as string[] | undefined) ?? []);
  const names = Object.keys(properties);
  if (names.length === 0) return <span className="muted">No settings</span>;
  return (
    <ul className="settings">
      {names.map((name) => (
        <li key={name} title={properties[name].description}>
          <code>{name}</code>
          {required.has(name) && <span className="muted"> (required)</span>}
          {flavor.secretFields.includes(name) && <span className="secret"> secret</span>}
        </li>
      ))}
    </ul>
  );
}

function FlavorsTable({ flavors }: { flavors: readonly FlavorFieldsFragment[] }) {
  if (flavors.length === 0) return <Empty>The server lists no flavors.</Empty>;
  return (
    <ScrollingTable label="Flavors" columns={['Type', 'Flavor', 'Description', 'Settings', 'Runs here']}>
      {flavors.map((flavor) => (
        <tr key={`${flavor.type}/${flavor.name}`}>
          <td>{componentTypeLabel(flavor.type)}</td>
          <th scope="row">{flavor.name}</th>
          <td>{flavor.description}</td>
          <td>
            <FlavorSettings flavor={flavor} />
          </td>
          <td>{flavor.runsLocally ? 'Yes' : 'No'}</td>
        </tr>
      ))}
    </ScrollingTable>
  );
}
