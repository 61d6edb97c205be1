// One run: its steps as a graph, each step's status, duration, cache hit and outputs, and the
// stack as it was when the run started. The run follows its changes live.
import { useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { RunDocument, RunUpdatedDocument, type RunQuery } from '../../../client/generated/graphql';
import { refetchReadBefore, useLiveSubscription } from '../api/live';
import { queryKey, useGraphQLQuery } from '../api/query-client';
import { artifactVersionPath, stackPath } from '../paths';
import { ConfigurationList } from '../ui/configuration-list';
import { Elapsed } from '../ui/elapsed';
import { Fact } from '../ui/fact';
import { componentTypeLabel, formatBytes, formatDateTime, formatDuration } from '../ui/format';
import { LiveIndicator } from '../ui/live-indicator';
import { RunMetrics, RunParameters, StepMetadataAndMetrics } from '../ui/run-parameters';
import { ValueList } from '../ui/value-view';
import { RunLink } from '../ui/runs-table';
import { ScrollingTable } from '../ui/scrolling-table';
import { Empty, QueryView } from '../ui/states';
import { StatusBadge } from '../ui/status-badge';
import { StepAttempts } from '../ui/step-attempts';
import { StepGantt } from '../ui/step-gantt';
import { StepGraph, stepAnchor, type StepNode } from '../ui/step-graph';
import { StepLog } from '../ui/step-log';
import { Breadcrumbs } from './breadcrumbs';
import { StopRunButton } from './stop-run-button';
import { usePageTitle } from './page-title';
import { unstartedStepStatuses } from '../../../client/unstarted-steps';

type Run = NonNullable<RunQuery['run']>;

/** Nothing more will happen to the run: its status is final and its end recorded. */
function isFinished(run: Run): boolean {
  return run.status !== 'INITIALIZING' && run.status !== 'RUNNING' && run.endedAt != null;
}

export function RunPage() {
  const id = useParams().id ?? '';
  const run = useGraphQLQuery(RunDocument, { id });
  const queryClient = useQueryClient();
  const live = useLiveSubscription(
    RunUpdatedDocument,
    { filter: { runId: id } },
    {
      onData: ({ runUpdated }) => queryClient.setQueryData<RunQuery>(queryKey(RunDocument, { id }), { run: runUpdated }),
      onConnected: (connectedAt) => refetchReadBefore(queryClient, [queryKey(RunDocument, { id })], connectedAt),
    },
    run.data?.run ? !isFinished(run.data.run) : false,
  );
  const name = run.data?.run?.name ?? 'Run';
  usePageTitle(name);
  const stackName = run.data?.run?.stack?.name ?? run.data?.run?.stackSnapshot.name;
  return (
    <>
      <Breadcrumbs crumbs={[{ label: 'Stacks', to: '/stacks' }, ...(stackName ? [{ label: stackName, to: stackPath(stackName) }] : []), { label: name }]} />
      <QueryView query={run} what="the run">
        {(data) =>
          data.run ? (
            <RunDetails run={data.run} live={<LiveIndicator status={live} />} />
          ) : (
            <>
              <h1>Run not found</h1>
              <p role="alert">
                There is no run with id “{id}”; it may have been deleted. <Link to="/stacks">See all stacks</Link>.
              </p>
            </>
          )
        }
      </QueryView>
    </>
  );
}

function RunDetails({ run, live }: { run: Run; live: ReactNode }) {
  // Steps the run expects but has not started are drawn too: pending while they can start, skipped once not.
  const unstarted = unstartedStepStatuses(run);
  const nodes: StepNode[] = [
    ...run.steps.map((step) => ({ name: step.name, parents: step.parents, status: step.status, durationMs: step.durationMs, startedAt: step.startedAt, isCached: step.isCached })),
    ...run.expectedSteps.filter((step) => unstarted.has(step.name)).map((step) => ({ name: step.name, parents: step.parents, status: unstarted.get(step.name)! })),
  ];
  return (
    <>
      <header className="page-header">
        <h1>{run.name}</h1>
        {/* A live region: the status changes while the page is open, and a screen reader says so. */}
        <p role="status" aria-label="Run status" className="run-status">
          <StatusBadge status={run.status} />
        </p>
        {!isFinished(run) && <StopRunButton runId={run.id} runName={run.name} />}
      </header>
      {live}
      <dl className="facts" aria-label="Run">
        <Fact term="Pipeline">{run.pipeline.name}</Fact>
        <Fact term="Stack">{run.stack ? <Link to={stackPath(run.stack.name)}>{run.stack.name}</Link> : `${run.stackSnapshot.name} (deleted)`}</Fact>
        <Fact term="Started">{formatDateTime(run.startedAt)}</Fact>
        <Fact term="Ended">{formatDateTime(run.endedAt)}</Fact>
        <Fact term="Duration">{formatDuration(run.durationMs)}</Fact>
        {run.statusReason && <Fact term="Reason">{run.statusReason}</Fact>}
        {run.tags.length > 0 && <Fact term="Tags">{run.tags.join(', ')}</Fact>}
      </dl>
      <RunParameters config={run.config} />
      <RunMetrics metrics={run.metrics} />
      <section aria-labelledby="steps-heading">
        <h2 id="steps-heading">Steps</h2>
        {nodes.length === 0 ? (
          <Empty>This run has no steps yet.</Empty>
        ) : (
          <>
            <div className="step-views">
              <StepGraph steps={nodes} label={`Step graph of ${run.name}`} />
              <StepGantt steps={run.steps} label={`Timeline of ${run.name}`} />
            </div>
            <ol className="steps">
              {run.steps.map((step) => (
                <li key={step.id}>
                  <StepDetails step={step} />
                </li>
              ))}
            </ol>
          </>
        )}
      </section>
      {Object.keys(run.metadata).length > 0 && (
        <section aria-labelledby="metadata-heading">
          <h2 id="metadata-heading">Metadata</h2>
          <ValueList values={run.metadata} label="Run metadata" empty="No metadata" />
        </section>
      )}
      <section aria-labelledby="snapshot-heading">
        <h2 id="snapshot-heading">Stack when the run started</h2>
        <ScrollingTable label="Stack snapshot" columns={['Type', 'Name', 'Flavor', 'Configuration']}>
          {run.stackSnapshot.components.map((component) => (
            <tr key={component.type}>
              <th scope="row">{componentTypeLabel(component.type)}</th>
              <td>{component.name}</td>
              <td>{component.flavor}</td>
              <td>
                <ConfigurationList configuration={component.configuration} label={`Configuration of ${component.name}`} />
              </td>
            </tr>
          ))}
        </ScrollingTable>
      </section>
    </>
  );
}

function StepDetails({ step }: { step: Run['steps'][number] }) {
  const headingId = `${stepAnchor(step.name)}-heading`;
  return (
    <article id={stepAnchor(step.name)} className="card step" aria-labelledby={headingId}>
      <header className="card-header">
        <h3 id={headingId}>{step.name}</h3>
        <StatusBadge status={step.status} />
      </header>
      <dl className="facts" aria-label={`Step ${step.name}`}>
        <Fact term="Duration">{step.status === 'RUNNING' ? <Elapsed since={step.startedAt} /> : formatDuration(step.durationMs)}</Fact>
        <Fact term="Cache">
          {step.isCached ? (
            <>
              Hit{step.originalStepRun && <>, outputs of <RunLink run={step.originalStepRun.run} /></>}
            </>
          ) : (
            'Miss'
          )}
        </Fact>
        {step.parents.length > 0 && <Fact term="After">{step.parents.join(', ')}</Fact>}
        {step.errorMessage && (
          <Fact term="Error" className="state-error">
            {step.errorMessage}
          </Fact>
        )}
      </dl>
      <StepMetadataAndMetrics step={step} />
      <StepAttempts step={step} />
      {step.outputs.length === 0 ? (
        <p className="muted">No outputs</p>
      ) : (
        <ScrollingTable label={`Outputs of ${step.name}`} columns={['Output', 'Artifact', 'Type', 'Size', 'URI', 'Metadata']}>
          {step.outputs.map(({ name, artifactVersion: version }) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td className="artifact">
                <Link to={artifactVersionPath(version.name, version.version)}>
                  {version.name} <span className="muted">v{version.version}</span>
                </Link>
              </td>
              <td>{version.type}</td>
              <td>{formatBytes(version.sizeBytes)}</td>
              <td className="uri">
                <code>{version.uri}</code>
              </td>
              <td>
                <ConfigurationList configuration={version.metadata} label={`Metadata of ${name}`} empty="-" />
              </td>
            </tr>
          ))}
        </ScrollingTable>
      )}
      <StepLog step={step} />
    </article>
  );
}
