// A look at an artifact version's content without loading it whole: the server reads at most
// PREVIEW_MAX_BYTES from the version's artifact store (the SDK's store for its flavor, with the
// component's secrets) and answers JSON, text, a table (CSV, or a JSON array of rows), an image
// (served by GET /artifacts/<id>/content, bounded too) or just "binary".
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { openArtifactStore } from '../../client/sdk/artifact-stores';
import { readChecked } from '../../client/sdk/artifact-store';
import { builder } from '../builder';
import { decryptSecrets } from '../components/secret-encryption';
import type { Database } from '../db/database';
import { ErrorInterface, UserError } from '../errors';
import { databaseId } from '../ids';
import type { Authenticator } from '../users/authentication';
import { artifactContentPath } from './artifact-content-path';
import { ArtifactVersionType } from './artifact-schema';

/** The most of a version's content a preview reads: JSON, text and tables are cut here. */
export const PREVIEW_MAX_BYTES = 256 * 1024;
/** The most rows and columns a table preview shows. */
export const PREVIEW_MAX_ROWS = 100;
const PREVIEW_MAX_COLUMNS = 50;
/** The largest image the content endpoint serves; a bigger one is refused, not truncated. */
export const IMAGE_MAX_BYTES = 10 * 1024 * 1024;

/** The content cannot be read: its store was deleted, cannot be reached, or no longer holds it. */
export class ContentUnavailableError extends UserError {}

builder.objectType(ContentUnavailableError, {
  name: 'ContentUnavailableError',
  description: 'The content cannot be read: its artifact store was deleted or cannot be reached, or no longer holds it as recorded.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ContentUnavailableError,
});

type PreviewKind = 'json' | 'text' | 'table' | 'image' | 'binary';

export interface ArtifactPreview {
  kind: PreviewKind;
  mediaType: string;
  /** JSON (indented when whole) or text, up to the limit. */
  text: string | null;
  table: { columns: string[]; rows: (string | null)[][] } | null;
  contentUrl: string | null;
  /** Whether the preview shows less than the whole content. */
  truncated: boolean;
}

/** What the preview needs of a version row and its store component. */
interface VersionContent {
  id: string;
  uri: string;
  materializer: string | null;
  dataType: string | null;
  sizeBytes: number | null;
  contentHash: string | null;
  metadata: Record<string, unknown>;
  artifactStore: { id: string; name: string; flavor: string; configuration: Record<string, unknown>; secrets: Record<string, unknown> } | null;
}

const CONTENT_COLUMNS = { id: true, uri: true, materializer: true, dataType: true, sizeBytes: true, contentHash: true, metadata: true } as const;
const STORE_COLUMNS = { id: true, name: true, flavor: true, configuration: true, secrets: true } as const;

async function openContent(version: VersionContent, secretKey: Buffer, maxBytes: number): Promise<{ bytes: Buffer; complete: boolean }> {
  const component = version.artifactStore;
  if (!component) throw new ContentUnavailableError('The artifact store that held this version was deleted');
  let stream: Readable;
  try {
    const store = await openArtifactStore(
      { id: component.id, name: component.name, flavorName: component.flavor, configuration: component.configuration },
      decryptSecrets(secretKey, component.secrets),
    );
    if (!store.contains(version.uri)) throw new Error('outside the store');
    stream = await readChecked(store, version);
  } catch {
    throw new ContentUnavailableError(`The artifact store "${component.name}" (${component.flavor}) cannot be read, or no longer holds ${version.uri}`);
  }
  return readHead(stream, maxBytes, component.name);
}

/** At most `maxBytes` of the stream, which is closed as soon as they are in. */
async function readHead(stream: Readable, maxBytes: number, storeName: string): Promise<{ bytes: Buffer; complete: boolean }> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length > maxBytes) {
        stream.destroy();
        return { bytes: Buffer.concat(chunks).subarray(0, maxBytes), complete: false };
      }
    }
  } catch {
    // The checked read fails at its end when the bytes differ from what was recorded.
    throw new ContentUnavailableError(`The content in the artifact store "${storeName}" is not what was recorded (changed or truncated)`);
  }
  return { bytes: Buffer.concat(chunks), complete: true };
}

/** The name the content was stored under or came from: a file output keeps its file's name. */
function fileName(version: VersionContent): string {
  const original = version.metadata.fileName;
  return typeof original === 'string' ? original : (version.uri.split('/').pop() ?? '');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes as text, or null when they are not UTF-8 text; a cut multi-byte character at the end is dropped. */
function asText(bytes: Buffer, complete: boolean): string | null {
  if (bytes.includes(0)) return null;
  for (let cut = 0; cut < (complete ? 1 : 4) && cut <= bytes.length; cut += 1) {
    try {
      return utf8.decode(bytes.subarray(0, bytes.length - cut));
    } catch {
      // try without the last bytes: a character the limit cut in two
    }
  }
  return null;
}

function cell(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A JSON array of objects (or of arrays) as a table; null for any other value. */
function jsonTable(value: unknown): ArtifactPreview['table'] {
  if (!Array.isArray(value) || value.length === 0) return null;
  const rows = value.slice(0, PREVIEW_MAX_ROWS);
  if (rows.every((row) => Array.isArray(row))) {
    const width = Math.min(PREVIEW_MAX_COLUMNS, Math.max(...rows.map((row) => (row as unknown[]).length)));
    const columns = Array.from({ length: width }, (_, index) => String(index + 1));
    return { columns, rows: rows.map((row) => columns.map((_, index) => cell((row as unknown[])[index]))) };
  }
  if (!rows.every((row) => row !== null && typeof row === 'object' && !Array.isArray(row))) return null;
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row as object)))].slice(0, PREVIEW_MAX_COLUMNS);
  return { columns, rows: rows.map((row) => columns.map((column) => cell((row as Record<string, unknown>)[column]))) };
}

async function csvTable(text: string, complete: boolean, delimiter: string): Promise<ArtifactPreview['table']> {
  const { parse } = await import('csv-parse/sync');
  // A cut-off last line is dropped rather than shown half.
  const whole = complete ? text : text.slice(0, text.lastIndexOf('\n') + 1);
  const records = parse(whole, { delimiter, relax_column_count: true, skip_empty_lines: true, to: PREVIEW_MAX_ROWS + 1 }) as string[][];
  if (records.length === 0) return null;
  const [header, ...rows] = records;
  const columns = header.slice(0, PREVIEW_MAX_COLUMNS);
  return { columns, rows: rows.slice(0, PREVIEW_MAX_ROWS).map((row) => columns.map((_, index) => row[index] ?? null)) };
}

/** What the first bytes of the content are, and how to show them. */
export async function previewOf(version: VersionContent, bytes: Buffer, complete: boolean): Promise<ArtifactPreview> {
  const truncated = !complete;
  const base = { text: null, table: null, contentUrl: null, truncated };
  const { fileTypeFromBuffer } = await import('file-type');
  const detected = await fileTypeFromBuffer(bytes);
  if (detected?.mime.startsWith('image/')) {
    return { ...base, kind: 'image', mediaType: detected.mime, contentUrl: artifactContentPath(encodeGlobalID('ArtifactVersion', version.id)), truncated: false };
  }
  const text = asText(bytes, complete);
  if (text === null) return { ...base, kind: 'binary', mediaType: detected?.mime ?? 'application/octet-stream' };
  const name = fileName(version).toLowerCase();
  const isJson = version.materializer === 'stackyard.json' || name.endsWith('.json') || (version.dataType ?? '').startsWith('json');
  if (isJson) {
    if (!complete) return { ...base, kind: 'json', mediaType: 'application/json', text };
    try {
      const value = JSON.parse(text) as unknown;
      const table = jsonTable(value);
      const pretty = JSON.stringify(value, null, 2);
      return { ...base, kind: table ? 'table' : 'json', mediaType: 'application/json', text: pretty.length <= PREVIEW_MAX_BYTES ? pretty : text, table };
    } catch {
      return { ...base, kind: 'text', mediaType: 'text/plain', text };
    }
  }
  if (name.endsWith('.csv') || name.endsWith('.tsv')) {
    try {
      const table = await csvTable(text, complete, name.endsWith('.tsv') ? '\t' : ',');
      if (table) return { ...base, kind: 'table', mediaType: name.endsWith('.tsv') ? 'text/tab-separated-values' : 'text/csv', text, table };
    } catch {
      // Not well-formed CSV after all: shown as the text it is.
    }
  }
  return { ...base, kind: 'text', mediaType: 'text/plain', text };
}

const ArtifactPreviewKindEnum = builder.enumType('ArtifactPreviewKind', {
  values: { JSON: { value: 'json' }, TEXT: { value: 'text' }, TABLE: { value: 'table' }, IMAGE: { value: 'image' }, BINARY: { value: 'binary' } } as const,
});

const ArtifactPreviewRowType = builder.objectRef<(string | null)[]>('ArtifactPreviewRow').implement({
  fields: (t) => ({
    cells: t.field({ type: ['String'], nullable: { list: false, items: true }, description: 'A cell per column; null where the row has none.', resolve: (row) => row }),
  }),
});

const ArtifactPreviewType = builder.objectRef<ArtifactPreview>('ArtifactPreview').implement({
  description: `The first ${PREVIEW_MAX_BYTES / 1024} KiB of a version's content, as the dashboard shows it.`,
  fields: (t) => ({
    kind: t.field({ type: ArtifactPreviewKindEnum, resolve: (preview) => preview.kind }),
    mediaType: t.exposeString('mediaType'),
    text: t.exposeString('text', { nullable: true, description: 'JSON (indented when read whole) or text; for a table, the text it was read from.' }),
    columns: t.stringList({ nullable: true, description: `A table's column names (at most ${PREVIEW_MAX_COLUMNS}).`, resolve: (preview) => preview.table?.columns ?? null }),
    rows: t.field({
      type: [ArtifactPreviewRowType],
      nullable: true,
      description: `A table's first ${PREVIEW_MAX_ROWS} rows.`,
      resolve: (preview) => preview.table?.rows ?? null,
    }),
    contentUrl: t.exposeString('contentUrl', { nullable: true, description: `An image's bytes: GET with the same Authorization header (at most ${IMAGE_MAX_BYTES / 1024 / 1024} MiB).` }),
    truncated: t.exposeBoolean('truncated', { description: 'Whether the preview shows less than the whole content.' }),
  }),
});

builder.drizzleObjectFields(ArtifactVersionType, (t) => ({
  preview: t.field({
    type: ArtifactPreviewType,
    errors: { types: [ContentUnavailableError] },
    description: `A preview of the content, read from the artifact store (at most ${PREVIEW_MAX_BYTES / 1024} KiB of it).`,
    select: { columns: CONTENT_COLUMNS, with: { artifactStore: { columns: STORE_COLUMNS } } },
    resolve: async (version, _args, context) => {
      const content = version as unknown as VersionContent;
      const { bytes, complete } = await openContent(content, context.secretKey, PREVIEW_MAX_BYTES);
      return previewOf(content, bytes, complete);
    },
  }),
}));

/**
 * Answers `GET /artifacts/<version id>/content` with an image version's bytes, for any signed-in
 * reader: at most IMAGE_MAX_BYTES, and only images, sandboxed, so content a step wrote can never
 * run as a page of this server.
 */
export async function serveArtifactContent(
  req: IncomingMessage,
  res: ServerResponse,
  globalId: string,
  db: Database,
  authenticate: Authenticator,
  secretKey: Buffer,
): Promise<void> {
  const refuse = (status: number, error: string): void => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error }));
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return refuse(405, 'Use GET');
  }
  const headers = new Headers();
  if (req.headers.authorization) headers.set('authorization', req.headers.authorization);
  try {
    await authenticate(new Request('http://stackyard/artifacts', { headers }), req.socket.remoteAddress);
  } catch (error) {
    const status = (error as { extensions?: { http?: { status?: number } } }).extensions?.http?.status ?? 401;
    return refuse(status, (error as Error).message);
  }
  let id: string;
  try {
    id = databaseId(globalId, 'ArtifactVersion', 'id');
  } catch {
    return refuse(404, 'No such artifact version');
  }
  const version = (await db.query.artifactVersions.findFirst({
    columns: CONTENT_COLUMNS,
    with: { artifactStore: { columns: STORE_COLUMNS } },
    where: { id },
  })) as VersionContent | undefined;
  if (!version) return refuse(404, 'No such artifact version');
  if (version.sizeBytes != null && version.sizeBytes > IMAGE_MAX_BYTES) return refuse(413, `Images larger than ${IMAGE_MAX_BYTES / 1024 / 1024} MiB are not served`);
  let content: { bytes: Buffer; complete: boolean };
  try {
    content = await openContent(version, secretKey, IMAGE_MAX_BYTES);
  } catch (error) {
    if (error instanceof ContentUnavailableError) return refuse(502, error.message);
    throw error;
  }
  if (!content.complete) return refuse(413, `Images larger than ${IMAGE_MAX_BYTES / 1024 / 1024} MiB are not served`);
  const { fileTypeFromBuffer } = await import('file-type');
  const detected = await fileTypeFromBuffer(content.bytes);
  if (!detected?.mime.startsWith('image/')) return refuse(415, 'Only images are served; see the preview for other content');
  res.writeHead(200, {
    'content-type': detected.mime,
    'content-length': String(content.bytes.length),
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
    'cache-control': 'private, max-age=3600',
  });
  res.end(req.method === 'HEAD' ? undefined : content.bytes);
}
