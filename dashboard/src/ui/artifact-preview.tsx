// An artifact version's content as the server previews it: JSON and text as they are, tables as
// tables, images as images (fetched with the signed-in token), and a word for anything else.
import { useQuery } from '@tanstack/react-query';
import type { ArtifactVersionPageQuery } from '../../../client/generated/graphql';
import { authorizationHeader } from '../api/token';
import { formatBytes } from './format';
import { ScrollingTable } from './scrolling-table';
import { ErrorState, Loading } from './states';

type PreviewResult = NonNullable<ArtifactVersionPageQuery['artifactVersion']>['preview'];
type Preview = Extract<PreviewResult, { __typename: 'ArtifactPreview' }>;

export function ArtifactPreview({ preview, sizeBytes, label }: { preview: PreviewResult; sizeBytes: number | null | undefined; label: string }) {
  if (preview.__typename !== 'ArtifactPreview') {
    return (
      <p role="alert" className="state state-error">
        {preview.message}
      </p>
    );
  }
  return (
    <>
      {preview.truncated && <p className="muted">The preview shows the start of the content ({formatBytes(sizeBytes)} in all).</p>}
      <PreviewBody preview={preview} sizeBytes={sizeBytes} label={label} />
    </>
  );
}

function PreviewBody({ preview, sizeBytes, label }: { preview: Preview; sizeBytes: number | null | undefined; label: string }) {
  switch (preview.kind) {
    case 'TABLE':
      return (
        <ScrollingTable label={label} columns={preview.columns ?? []}>
          {(preview.rows ?? []).map((row, index) => (
            <tr key={index}>
              {row.cells.map((cell, column) => (
                <td key={column}>{cell ?? ''}</td>
              ))}
            </tr>
          ))}
        </ScrollingTable>
      );
    case 'IMAGE':
      return <PreviewImage url={preview.contentUrl!} label={label} />;
    case 'JSON':
    case 'TEXT':
      return (
        <pre className="preview-text" aria-label={label} tabIndex={0}>
          {preview.text}
        </pre>
      );
    default:
      return (
        <p className="muted">
          Binary content ({preview.mediaType}, {formatBytes(sizeBytes)}): nothing to preview.
        </p>
      );
  }
}

/** The image's bytes come with the token an <img> could not send, and show from a blob URL. */
function PreviewImage({ url, label }: { url: string; label: string }) {
  const image = useQuery({
    queryKey: ['artifact-content', url],
    queryFn: async () => {
      const response = await fetch(url, { headers: authorizationHeader() });
      if (!response.ok) throw new Error(((await response.json().catch(() => null)) as { error?: string } | null)?.error ?? `HTTP ${response.status}`);
      return URL.createObjectURL(await response.blob());
    },
    staleTime: Infinity,
    gcTime: 60_000,
  });
  if (image.error) return <ErrorState what="the image" error={image.error} onRetry={() => void image.refetch()} />;
  if (!image.data) return <Loading what="the image" />;
  return <img className="preview-image" src={image.data} alt={label} />;
}
