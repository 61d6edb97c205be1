// Search by name across the registry and run history, and previews of artifact versions' content
// read from their store: one SQL statement for a search, bounded reads for a preview.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StackyardClient, pipeline, step } from '../client';
import { ArtifactPageDocument, ArtifactVersionPageDocument, PipelineListDocument, PipelinePageDocument, SearchDocument } from '../client/generated/graphql';
import { databaseTargets, uniqueName, useTestServer, type TestServer } from './harness';
import { expectType, registerComponent, registerStack } from './registry-operations';
import { completeRun, finishStep, reportOutputs, startRun, startStep } from './run-operations';
import { S3_ACCESS_KEY, S3_SECRET_KEY, startAzurite, startS3, type AzureService, type S3Service } from './store-services';

const SEARCH = `query($query: String!, $first: Int) {
  search(query: $query, first: $first) {
    __typename
    ... on Error { message field }
    ... on SearchResults {
      query
      hits {
        __typename
        ... on Stack { id name }
        ... on StackComponent { id type name flavorName }
        ... on Pipeline { id name }
        ... on PipelineRun { id name status startedAt }
        ... on Artifact { id name latestVersion }
      }
    }
  }
}`;

const PREVIEW = `query($name: String!, $version: Int) {
  artifactVersion(name: $name, version: $version) {
    id
    preview {
      __typename
      ... on Error { message }
      ... on ArtifactPreview { kind mediaType text truncated contentUrl columns rows { cells } }
    }
  }
}`;

// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

describe.each(databaseTargets)('search and artifact previews on $name', (target) => {
  const testServer = useTestServer(target);
  let server: TestServer;
  const word = uniqueName('zebra');
  const storeDir = mkdtempSync(join(tmpdir(), 'stackyard-preview-'));
  const artifacts: Record<string, string> = {};

  afterAll(() => rmSync(storeDir, { recursive: true, force: true }));

  beforeAll(async () => {
    server = testServer();
    const store = `${word}-store`;
    expectType(await registerComponent(server, { type: 'ARTIFACT_STORE', name: store, flavor: 'local', configuration: { path: storeDir } }), 'StackComponent');
    expectType(await registerStack(server, { name: `${word}-stack`, components: { orchestrator: 'default', artifactStore: store } }), 'Stack');
    await completeRun(server, { pipeline: `${word}-pipeline`, stack: `${word}-stack`, name: `${word}-run-1` });

    // Outputs with content in the store: JSON, a JSON array of rows, CSV, text, an image, bytes, a big JSON.
    const run = await startRun(server, { pipeline: 'previews', stack: `${word}-stack`, name: `${word}-previews` });
    const step = await startStep(server, { runId: run.id, name: 'write' });
    const files: [string, string, Buffer, Record<string, unknown>][] = [
      ['config', 'data.json', Buffer.from(JSON.stringify({ lr: 0.2, layers: [64, 32] })), { materializer: 'stackyard.json' }],
      ['rows', 'data.json', Buffer.from(JSON.stringify([{ a: 1, b: 'x' }, { a: 2, c: true }])), { materializer: 'stackyard.json' }],
      ['csv', 'data.bin', Buffer.from('city,population\nOslo,709000\nBergen,291000\n'), { materializer: 'stackyard.file', metadata: { fileName: 'cities.csv' } }],
      ['notes', 'data.txt', Buffer.from('hello, world\n'), { materializer: 'stackyard.string' }],
      ['image', 'data.bin', PNG, { materializer: 'stackyard.file', metadata: { fileName: 'pixel.png' } }],
      ['blob', 'data.bin', Buffer.from([0, 1, 2, 3, 255, 254]), { materializer: 'stackyard.bytes' }],
      ['big', 'data.json', Buffer.from(JSON.stringify(Array.from({ length: 40_000 }, (_, i) => ({ index: i, label: `row ${i}` })))), { materializer: 'stackyard.json' }],
    ];
    const outputs = files.map(([name, file, bytes, extra]) => {
      const dir = join(storeDir, 'write', name, step.id.replace(/[^A-Za-z0-9]/g, '_'));
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, file), bytes);
      const artifactName = `${word}-${name}`;
      artifacts[name] = artifactName;
      return { name, artifactName, uri: join(dir, file), sizeBytes: bytes.length, ...extra };
    });
    expect((await reportOutputs(server, step.id, outputs)).__typename).toBe('ReportStepOutputsPayload');
    await finishStep(server, { stepRunId: step.id, status: 'COMPLETED' });
  });

  it('finds stacks, components, pipelines, runs and artifacts by name, best matches first, in one statement', async () => {
    const response = await server.request(SEARCH, { query: word.toUpperCase(), first: 50 });
    expect(response.errors).toBeUndefined();
    expect(response.headers.get('x-sql-statements')).toBe('1');
    const hits = response.data.search.hits as { __typename: string; name: string }[];
    const found = new Set(hits.map((hit) => `${hit.__typename}:${hit.name}`));
    for (const expected of [
      `Stack:${word}-stack`,
      `StackComponent:${word}-store`,
      `Pipeline:${word}-pipeline`,
      `PipelineRun:${word}-run-1`,
      `PipelineRun:${word}-previews`,
      `Artifact:${word}-csv`,
    ]) {
      expect(found, expected).toContain(expected);
    }
    // Shorter names (closer matches) come first.
    const lengths = hits.map((hit) => hit.name.length);
    expect(lengths).toEqual([...lengths].sort((a, b) => a - b));

    const exact = await server.gql(SEARCH, { query: `${word}-stack`, first: 1 });
    expect(exact.search.hits).toEqual([expect.objectContaining({ __typename: 'Stack', name: `${word}-stack` })]);
    const run = await server.gql(SEARCH, { query: `${word}-run`, first: 5 });
    expect(run.search.hits[0]).toMatchObject({ __typename: 'PipelineRun', name: `${word}-run-1`, status: 'COMPLETED' });
  });

  it('takes LIKE characters literally and answers nothing for a name nobody has', async () => {
    expect((await server.gql(SEARCH, { query: '%' })).search.hits.filter((hit: { name: string }) => !hit.name.includes('%'))).toEqual([]);
    expect((await server.gql(SEARCH, { query: `${word}-nothing` })).search.hits).toEqual([]);
  });

  it('refuses an empty query or a page size out of range as a typed error', async () => {
    expect((await server.gql(SEARCH, { query: '   ' })).search).toMatchObject({ __typename: 'ValidationError', field: 'query' });
    expect((await server.gql(SEARCH, { query: 'x', first: 0 })).search).toMatchObject({ __typename: 'ValidationError', field: 'first' });
    expect((await server.gql(SEARCH, { query: 'x', first: 51 })).search).toMatchObject({ __typename: 'ValidationError', field: 'first' });
  });

  it('previews JSON indented, text as it is, and bytes as binary, with the version in one statement', async () => {
    const json = await server.request(PREVIEW, { name: artifacts.config });
    expect(json.headers.get('x-sql-statements')).toBe('1');
    expect(json.data.artifactVersion.preview).toEqual({
      __typename: 'ArtifactPreview',
      kind: 'JSON',
      mediaType: 'application/json',
      text: JSON.stringify({ lr: 0.2, layers: [64, 32] }, null, 2),
      truncated: false,
      contentUrl: null,
      columns: null,
      rows: null,
    });
    expect((await server.gql(PREVIEW, { name: artifacts.notes })).artifactVersion.preview).toMatchObject({ kind: 'TEXT', text: 'hello, world\n', truncated: false });
    expect((await server.gql(PREVIEW, { name: artifacts.blob })).artifactVersion.preview).toMatchObject({ kind: 'BINARY', text: null });
  });

  it('previews a JSON array of rows and a CSV file as tables', async () => {
    expect((await server.gql(PREVIEW, { name: artifacts.rows })).artifactVersion.preview).toMatchObject({
      kind: 'TABLE',
      columns: ['a', 'b', 'c'],
      rows: [{ cells: ['1', 'x', null] }, { cells: ['2', null, 'true'] }],
    });
    expect((await server.gql(PREVIEW, { name: artifacts.csv })).artifactVersion.preview).toMatchObject({
      kind: 'TABLE',
      mediaType: 'text/csv',
      columns: ['city', 'population'],
      rows: [{ cells: ['Oslo', '709000'] }, { cells: ['Bergen', '291000'] }],
    });
  });

  it('reads no more than the preview limit of a big artifact, and says it is cut', async () => {
    const preview = (await server.gql(PREVIEW, { name: artifacts.big })).artifactVersion.preview;
    expect(preview).toMatchObject({ kind: 'JSON', truncated: true });
    expect(preview.text.length).toBe(256 * 1024);
  });

  it('serves an image version through its content URL, and nothing else there', async () => {
    const { artifactVersion } = await server.gql(PREVIEW, { name: artifacts.image });
    expect(artifactVersion.preview).toMatchObject({ kind: 'IMAGE', mediaType: 'image/png' });
    const image = await fetch(`${server.url}${artifactVersion.preview.contentUrl}`);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(image.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await image.arrayBuffer())).toEqual(PNG);

    const notImage = await server.gql(PREVIEW, { name: artifacts.notes });
    const refused = await fetch(`${server.url}/artifacts/${encodeURIComponent(notImage.artifactVersion.id)}/content`);
    expect(refused.status).toBe(415);
    expect((await fetch(`${server.url}/artifacts/nonsense/content`)).status).toBe(404);
  });

  it('answers ContentUnavailableError, not an internal error, when the store no longer holds the content', async () => {
    const run = await startRun(server, { pipeline: 'previews', stack: `${word}-stack`, name: `${word}-missing` });
    const step = await startStep(server, { runId: run.id, name: 'write' });
    await reportOutputs(server, step.id, [{ name: 'gone', artifactName: `${word}-gone`, uri: join(storeDir, 'nowhere', 'data.json'), sizeBytes: 10 }]);
    const outside = `${word}-outside`;
    await reportOutputs(server, step.id, [{ name: 'outside', artifactName: outside, uri: '/etc/hostname' }]);
    for (const name of [`${word}-gone`, outside]) {
      const response = await server.request(PREVIEW, { name });
      expect(response.errors).toBeUndefined();
      expect(response.data.artifactVersion.preview.__typename).toBe('ContentUnavailableError');
      expect(response.data.artifactVersion.preview.message).not.toMatch(/ENOENT|EACCES|\n\s+at /);
    }
  });

  it('counts a pipeline\'s runs by status in the statement that lists pipelines', async () => {
    const response = await server.request(
      `query { pipelines(first: 100) { ... on QueryPipelinesConnection { edges { node { name runStats { total lastRunAt byStatus { status count } } } } } } }`,
    );
    expect(response.headers.get('x-sql-statements')).toBe('1');
    const pipeline = response.data.pipelines.edges.find((edge: { node: { name: string } }) => edge.node.name === `${word}-pipeline`).node;
    expect(pipeline.runStats.total).toBe(1);
    expect(pipeline.runStats.byStatus).toContainEqual({ status: 'COMPLETED', count: 1 });
  });
});

describe.each(databaseTargets)('artifact content with auth on $name', (target) => {
  const adminToken = `sy_test_${uniqueName('content')}`;
  const server = useTestServer(target, { adminToken });

  it('refuses a caller without a token before looking anything up', async () => {
    const response = await fetch(`${server().url}/artifacts/${encodeURIComponent(Buffer.from('ArtifactVersion:00000000-0000-0000-0000-000000000000').toString('base64'))}/content`);
    expect(response.status).toBe(401);
    const signedIn = await fetch(`${server().url}/artifacts/nonsense/content`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(signedIn.status).toBe(404);
  });
});

describe.each(databaseTargets)('the dashboard pages\' reads on $name', (target) => {
  const testServer = useTestServer(target);

  it('are one SQL statement each, and one more for a total count', async () => {
    const server = testServer();
    const name = uniqueName('reads');
    await completeRun(server, { pipeline: name, name: `${name}-run`, steps: ['load', 'train'] });
    // completeRun's steps each report an output of this name, and the second reads nothing: give it a consumer.
    const artifact = `${name}::load::output`;
    const { artifactVersion } = await server.gql(`query($name: String!) { artifactVersion(name: $name) { id } }`, { name: artifact });
    const run = await startRun(server, { pipeline: name, name: `${name}-reader` });
    await startStep(server, { runId: run.id, name: 'read', inputs: [{ name: 'data', artifactVersionId: artifactVersion.id }] });
    for (const [document, variables, statements] of [
      [PipelineListDocument, { first: 50 }, '1'],
      [PipelinePageDocument, { name, trendRuns: 50 }, '1'],
      // The page says how many versions there are in all.
      [ArtifactPageDocument, { name: artifact, first: 100 }, '2'],
      [SearchDocument, { query: name, first: 8 }, '1'],
    ] as const) {
      const response = await server.request(print(document), variables);
      expect(response.errors, print(document)).toBeUndefined();
      expect(response.headers.get('x-sql-statements'), print(document)).toBe(statements);
    }
    // The version page reads the database once; its preview then reads the store (here, nothing is there).
    const version = await server.request(print(ArtifactVersionPageDocument), { name: artifact, version: 1 });
    expect(version.headers.get('x-sql-statements')).toBe('1');
    expect(version.data.artifactVersion.consumers).toEqual([expect.objectContaining({ name: 'read' })]);
    expect(version.data.artifactVersion.producer).toMatchObject({ name: 'load', run: { name: `${name}-run` } });
    expect(version.data.artifactVersion.preview.__typename).toBe('ContentUnavailableError');
  });
});

describe.each(databaseTargets)('previews from s3 and azure stores on $name', (target) => {
  const testServer = useTestServer(target);
  let s3: S3Service | undefined;
  let azure: AzureService | undefined;
  const configDir = mkdtempSync(join(tmpdir(), 'stackyard-preview-client-'));

  beforeAll(async () => {
    s3 = await startS3(['preview-bucket']);
    azure = await startAzurite(['preview-container']);
  }, 60_000);
  afterAll(async () => {
    await s3?.close();
    await azure?.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  it.each(['s3', 'azure'] as const)('reads a preview from %s with the store\'s secrets, at most the limit of a big object', async (flavor) => {
    const server = testServer();
    const client = new StackyardClient({ url: server.url, configDir });
    const prefix = uniqueName('preview');
    const configuration =
      flavor === 's3'
        ? { path: `s3://preview-bucket/${prefix}`, endpointUrl: s3!.endpointUrl, forcePathStyle: true, region: 'us-east-1', awsAccessKeyId: S3_ACCESS_KEY, awsSecretAccessKey: S3_SECRET_KEY }
        : { path: `az://preview-container/${prefix}`, connectionString: azure!.connectionString };
    const store = await client.registerComponent({ type: 'ARTIFACT_STORE', name: prefix, flavor, configuration });
    await client.registerStack({ name: prefix, components: { orchestrator: 'default', artifactStore: store.name } });
    const small = step('small', () => ({ flavor, ok: true }));
    const big = step('big', () => Array.from({ length: 40_000 }, (_, index) => ({ index })));
    await pipeline(prefix, () => {
      small();
      big();
    }).run({ client, stack: prefix, progress: false });

    const preview = async (stepName: string) => (await server.gql(PREVIEW, { name: `${prefix}::${stepName}::output` })).artifactVersion.preview;
    expect(await preview('small')).toMatchObject({ kind: 'JSON', text: JSON.stringify({ flavor, ok: true }, null, 2), truncated: false });
    const cut = await preview('big');
    expect(cut).toMatchObject({ kind: 'JSON', truncated: true });
    expect(cut.text).toHaveLength(256 * 1024);
  }, 60_000);
});
