// One artifact: its versions, newest first, each with the step run that produced it.
import { Link, useParams } from 'react-router';
import { ArtifactPageDocument, type ArtifactPageQuery } from '../../../client/generated/graphql';
import { useGraphQLQuery } from '../api/query-client';
import { artifactVersionPath, runPath } from '../paths';
import { formatBytes } from '../ui/format';
import { RunTime } from '../ui/runs-table';
import { ScrollingTable } from '../ui/scrolling-table';
import { ErrorState, QueryView } from '../ui/states';
import { stepAnchor } from '../ui/step-graph';
import { Breadcrumbs } from './breadcrumbs';
import { usePageTitle } from './page-title';

/** The versions the page lists; the count says when there are more. */
const VERSIONS = 100;

export function ArtifactPage() {
  const name = useParams().name ?? '';
  usePageTitle(`Artifact ${name}`);
  const artifact = useGraphQLQuery(ArtifactPageDocument, { name, first: VERSIONS });
  return (
    <>
      <Breadcrumbs crumbs={[{ label: 'Artifacts', to: '/artifacts' }, { label: name }]} />
      <QueryView query={artifact} what="the artifact">
        {(data) =>
          data.artifact ? (
            <ArtifactDetails artifact={data.artifact} />
          ) : (
            <>
              <h1>{name}</h1>
              <p role="alert">
                There is no artifact named “{name}”. <Link to="/artifacts">See all artifacts</Link>.
              </p>
            </>
          )
        }
      </QueryView>
    </>
  );
}

function ArtifactDetails({ artifact }: { artifact: NonNullable<ArtifactPageQuery['artifact']> }) {
  const { versions } = artifact;
  return (
    <>
      <header className="page-header">
        <h1>{artifact.name}</h1>
      </header>
      <section aria-labelledby="versions-heading">
        <h2 id="versions-heading">Versions</h2>
        {versions.__typename !== 'ArtifactVersionsConnection' ? (
          <ErrorState what="the versions" error={new Error(versions.message)} />
        ) : (
          <>
            <p className="muted">
              {versions.totalCount > versions.edges.length ? `The newest ${versions.edges.length} of ${versions.totalCount} versions` : `${versions.totalCount} versions`}
            </p>
            <ScrollingTable label={`Versions of ${artifact.name}`} columns={['Version', 'Type', 'Data type', 'Size', 'Produced by', 'Stored']}>
              {versions.edges.map(({ node: version }) => (
                <tr key={version.id}>
                  <th scope="row">
                    <Link to={artifactVersionPath(artifact.name, version.version)}>v{version.version}</Link>
                  </th>
                  <td>{version.type}</td>
                  <td>{version.dataType ?? '-'}</td>
                  <td>{formatBytes(version.sizeBytes)}</td>
                  <td>
                    {version.producer ? (
                      <>
                        <Link to={`${runPath(version.producer.run.id)}#${stepAnchor(version.producer.name)}`}>{version.producer.name}</Link> of{' '}
                        <Link to={runPath(version.producer.run.id)}>{version.producer.run.name}</Link>
                      </>
                    ) : (
                      <span className="muted">run deleted</span>
                    )}
                  </td>
                  <td>
                    <RunTime iso={version.createdAt} />
                  </td>
                </tr>
              ))}
            </ScrollingTable>
          </>
        )}
      </section>
    </>
  );
}
