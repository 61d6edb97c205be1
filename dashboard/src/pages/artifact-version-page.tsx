// One artifact version: what it is and where it is stored, a preview of its content, and its
// lineage: the step run that produced it and the step runs that consumed it.
import { Link, useParams } from 'react-router';
import { ArtifactVersionPageDocument, type ArtifactVersionPageQuery, type StepRunLinkFieldsFragment } from '../../../client/generated/graphql';
import { useGraphQLQuery } from '../api/query-client';
import { artifactPath, artifactVersionPath, pipelinePath, runPath } from '../paths';
import { ArtifactPreview } from '../ui/artifact-preview';
import { ConfigurationList } from '../ui/configuration-list';
import { Fact } from '../ui/fact';
import { formatBytes, formatDateTime } from '../ui/format';
import { QueryView } from '../ui/states';
import { StatusBadge } from '../ui/status-badge';
import { stepAnchor } from '../ui/step-graph';
import { Breadcrumbs } from './breadcrumbs';
import { usePageTitle } from './page-title';

type Version = NonNullable<ArtifactVersionPageQuery['artifactVersion']>;

export function ArtifactVersionPage() {
  const params = useParams();
  const name = params.name ?? '';
  const version = Number(params.version);
  usePageTitle(`${name} v${params.version}`);
  const query = useGraphQLQuery(ArtifactVersionPageDocument, { name, version: Number.isSafeInteger(version) ? version : -1 });
  return (
    <>
      <Breadcrumbs crumbs={[{ label: 'Artifacts', to: '/artifacts' }, { label: name, to: artifactPath(name) }, { label: `v${params.version}` }]} />
      <QueryView query={query} what="the artifact version">
        {(data) =>
          data.artifactVersion ? (
            <VersionDetails version={data.artifactVersion} />
          ) : (
            <>
              <h1>
                {name} v{params.version}
              </h1>
              <p role="alert">
                There is no version {params.version} of “{name}”. <Link to={artifactPath(name)}>See its versions</Link>.
              </p>
            </>
          )
        }
      </QueryView>
    </>
  );
}

function VersionDetails({ version }: { version: Version }) {
  const latest = version.artifact.latestVersion;
  return (
    <>
      <header className="page-header">
        <h1>
          {version.name} <span className="muted">v{version.version}</span>
        </h1>
        {version.version < latest && <Link to={artifactVersionPath(version.name, latest)}>Latest: v{latest}</Link>}
      </header>
      <dl className="facts" aria-label="Artifact version">
        <Fact term="Type">{version.type}</Fact>
        <Fact term="Data type">{version.dataType ?? '-'}</Fact>
        <Fact term="Materializer">{version.materializer ?? '-'}</Fact>
        <Fact term="Size">{formatBytes(version.sizeBytes)}</Fact>
        <Fact term="Stored">{formatDateTime(version.createdAt)}</Fact>
        <Fact term="Artifact store">{version.artifactStore ? `${version.artifactStore.name} (${version.artifactStore.flavorName})` : 'deleted'}</Fact>
        <Fact term="URI">
          <code>{version.uri}</code>
        </Fact>
        {version.contentHash && (
          <Fact term="SHA-256">
            <code>{version.contentHash}</code>
          </Fact>
        )}
        {version.tags.length > 0 && <Fact term="Tags">{version.tags.join(', ')}</Fact>}
      </dl>
      <section aria-labelledby="preview-heading">
        <h2 id="preview-heading">Preview</h2>
        <ArtifactPreview preview={version.preview} sizeBytes={version.sizeBytes} label={`Content of ${version.name} v${version.version}`} />
      </section>
      <section aria-labelledby="lineage-heading">
        <h2 id="lineage-heading">Lineage</h2>
        <div className="lineage">
          <div>
            <h3>Produced by</h3>
            {version.producer ? <StepRunLink step={version.producer} /> : <p className="muted">The run that produced it was deleted.</p>}
          </div>
          <div>
            <h3>Consumed by</h3>
            {version.consumers.length === 0 ? (
              <p className="muted">No step has read it yet.</p>
            ) : (
              <ul aria-label="Consumers">
                {version.consumers.map((step) => (
                  <li key={step.id}>
                    <StepRunLink step={step} />
                  </li>
                ))}
              </ul>
            )}
          </div>
        </div>
      </section>
      {Object.keys(version.metadata).length > 0 && (
        <section aria-labelledby="metadata-heading">
          <h2 id="metadata-heading">Metadata</h2>
          <ConfigurationList configuration={version.metadata} label="Version metadata" empty="No metadata" />
        </section>
      )}
    </>
  );
}

function StepRunLink({ step }: { step: StepRunLinkFieldsFragment }) {
  return (
    <p className="step-link">
      Step <Link to={`${runPath(step.run.id)}#${stepAnchor(step.name)}`}>{step.name}</Link> <StatusBadge status={step.status} /> of run{' '}
      <Link to={runPath(step.run.id)}>{step.run.name}</Link> (pipeline <Link to={pipelinePath(step.run.pipeline.name)}>{step.run.pipeline.name}</Link>)
    </p>
  );
}
