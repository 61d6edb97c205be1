// One stack: its components with their flavors and settings, and its run history.
import { Link, useParams } from 'react-router';
import { StackDocument, type StackQuery } from '../../../client/generated/graphql';
import { useGraphQLQuery } from '../api/query-client';
import { QueryView } from '../ui/states';
import { StatusCounts } from '../ui/status-badge';
import { Breadcrumbs } from './breadcrumbs';
import { ComponentDetails, Labels } from './component-details';
import { usePageTitle } from './page-title';
import { RunHistory } from './run-history';
import { ActiveMarker, SetActiveButton } from './set-active-button';

export function StackPage() {
  const name = useParams().name ?? '';
  usePageTitle(`Stack ${name}`);
  const stack = useGraphQLQuery(StackDocument, { name });
  return (
    <>
      <Breadcrumbs crumbs={[{ label: 'Stacks', to: '/stacks' }, { label: name }]} />
      <QueryView query={stack} what="the stack">
        {(data) =>
          data.stack ? (
            <StackDetails stack={data.stack} />
          ) : (
            <>
              <h1>{name}</h1>
              <p role="alert">
                There is no stack named “{name}”. <Link to="/stacks">See all stacks</Link>.
              </p>
            </>
          )
        }
      </QueryView>
    </>
  );
}

function StackDetails({ stack }: { stack: NonNullable<StackQuery['stack']> }) {
  return (
    <>
      <header className="page-header">
        <h1>{stack.name}</h1>
        {stack.isActive ? <ActiveMarker /> : <SetActiveButton stackName={stack.name} />}
      </header>
      {stack.description && <p>{stack.description}</p>}
      <Labels labels={stack.labels} />
      <section aria-labelledby="components-heading">
        <h2 id="components-heading">Components</h2>
        <ul className="cards" aria-label="Components of the stack">
          {stack.components.map((component) => (
            <li key={component.id}>
              <ComponentDetails component={component} />
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="runs-heading">
        <h2 id="runs-heading">Runs</h2>
        <p>
          {stack.runStats.total} runs in all{stack.runStats.lastRunAt ? `, the last started ${new Date(stack.runStats.lastRunAt).toLocaleString()}` : ''}.
        </p>
        <StatusCounts counts={stack.runStats.byStatus} label="Runs per status" />
        <RunHistory stackName={stack.name} />
      </section>
    </>
  );
}
