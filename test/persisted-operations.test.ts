// Persisted operations: the client sends its generated operations by id, so the CLI and the SDK
// work against a server in allow-list mode, which refuses any other document and any id it does
// not have. By default a server runs any operation. A client whose id a server lacks (an older
// server, or an older manifest) sends the document instead, once.
import { createSchema, createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { StackyardClient, StackyardError } from '../client';
import { ServerLimitsDocument } from '../client/generated/graphql';
import manifest from '../client/generated/persisted-documents.json' with { type: 'json' };
import { usePersistedOperations } from '../server/plugins/use-persisted-operations';
import { parsedJson, runCli, tempDir } from './cli-process';
import { databaseTargets, uniqueName, useTestServer, type TestServer } from './harness';

const serverLimitsId = (ServerLimitsDocument as unknown as { __meta__: { hash: string } }).__meta__.hash;
const persisted = (sha256Hash: unknown) => ({ persistedQuery: { version: 1, sha256Hash } });

/** Posts a GraphQL request body as given and answers the status and parsed body. */
async function post(server: TestServer, body: Record<string, unknown>) {
  const response = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] } };
}

it('the manifest holds every generated operation, keyed by the hash its document carries', () => {
  expect(manifest[serverLimitsId as keyof typeof manifest]).toMatch(/^query ServerLimits\b/);
  expect(Object.keys(manifest).length).toBeGreaterThan(25);
});

describe.each(databaseTargets)('allow-list server on $name', (target) => {
  const server = useTestServer(target, { persistedOperationsOnly: true });
  const client = () => new StackyardClient({ url: server().url, configDir: tempDir('stackyard-persisted-'), env: {} });

  it('runs the client: registers, reads back and pages through what it registered', async () => {
    const sdk = client();
    const store = await sdk.registerComponent({ type: 'ARTIFACT_STORE', name: uniqueName('store'), flavor: 'local', configuration: { path: '/tmp/persisted' } });
    const stack = await sdk.registerStack({ name: uniqueName('persisted'), components: { orchestrator: 'default', artifactStore: store.name } });
    expect((await sdk.getStack(stack.name))?.components.map((component) => component.name)).toContain(store.name);
    const names: string[] = [];
    for await (const found of sdk.stacks({ nameContains: stack.name })) names.push(found.name);
    expect(names).toEqual([stack.name]);
    await expect(sdk.setActiveStack(uniqueName('missing'))).rejects.toMatchObject({ type: 'NotFoundError' });
  });

  it('runs the CLI', async () => {
    const name = uniqueName('cli-persisted');
    await client().registerStack({ name, components: { orchestrator: 'default', artifactStore: 'default' } });
    const listed = parsedJson(await runCli(['stack', 'list', '--json'], { url: server().url, configDir: tempDir('stackyard-persisted-cli-') }));
    expect(JSON.stringify(listed)).toContain(name);
  });

  it('refuses a document sent as text with 403, and does not run it', async () => {
    const name = uniqueName('text');
    const { status, body } = await post(server(), {
      query: `mutation { registerStack(name: "${name}", components: { orchestrator: "default", artifactStore: "default" }) { __typename } }`,
    });
    expect(status).toBe(403);
    expect(body).toEqual({ errors: [expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_ONLY' } })] });
    expect(body.errors?.[0].message).toMatch(/only the persisted operations/);
    expect(await client().getStack(name)).toBeNull();
  });

  it('refuses the text of a persisted operation too: only ids are taken', async () => {
    const { status } = await post(server(), { query: manifest[serverLimitsId as keyof typeof manifest] });
    expect(status).toBe(403);
  });

  it("answers the client's own document sent as text with a ServerError naming the rule", async () => {
    const error = await client()
      .request({ ...ServerLimitsDocument, __meta__: undefined } as unknown as typeof ServerLimitsDocument, {})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackyardError);
    expect(error).toMatchObject({ type: 'ServerError', message: expect.stringMatching(/only the persisted operations/) });
  });

  const unknownIds: { id: string; sentence: string; sha256Hash: unknown; status: number; code: string }[] = [
    { id: 'unknown-hash', sentence: 'a well-formed hash of no operation', sha256Hash: '0'.repeat(64), status: 400, code: 'PERSISTED_QUERY_NOT_FOUND' },
    { id: 'prototype-key', sentence: 'the name of an object property', sha256Hash: 'constructor', status: 400, code: 'PERSISTED_QUERY_NOT_FOUND' },
    { id: 'proto', sentence: '__proto__', sha256Hash: '__proto__', status: 400, code: 'PERSISTED_QUERY_NOT_FOUND' },
    { id: 'empty', sentence: 'an empty id', sha256Hash: '', status: 400, code: 'PERSISTED_QUERY_NOT_FOUND' },
    { id: 'not-a-string', sentence: 'an id that is not a string', sha256Hash: 42, status: 400, code: 'PERSISTED_QUERY_ID_REQUIRED' },
  ];
  for (const { id, sentence, sha256Hash, status, code } of unknownIds) {
    it(`${id}: refuses ${sentence} with ${status} ${code}`, async () => {
      const response = await post(server(), { extensions: persisted(sha256Hash) });
      expect(response.status).toBe(status);
      expect(response.body).toEqual({ errors: [expect.objectContaining({ extensions: { code } })] });
    });
  }
});

describe('default server', () => {
  const server = useTestServer({ name: 'pglite' });

  it('runs a document sent as text', async () => {
    expect(await post(server(), { query: '{ activeStack { name } }' })).toEqual({ status: 200, body: { data: { activeStack: { name: 'default' } } } });
  });

  it('runs a persisted operation by id', async () => {
    const { status, body } = await post(server(), { operationName: 'ServerLimits', extensions: persisted(serverLimitsId) });
    expect(status).toBe(200);
    expect(body.data.serverLimits).toMatchObject({ maxPageSize: 100 });
  });

  it('refuses an id it does not have with 400 PERSISTED_QUERY_NOT_FOUND', async () => {
    const { status, body } = await post(server(), { extensions: persisted('f'.repeat(64)) });
    expect(status).toBe(400);
    expect(body.errors?.[0].extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });
});

describe('the client against a server that lacks its ids', () => {
  const typeDefs = 'type Query { serverLimits: ServerLimits! } type ServerLimits { maxOutputsPerReport: Int! maxPageSize: Int! maxJsonDepth: Int! heartbeatTimeoutSeconds: Float! }';

  /** A client talking in process to a yoga server of `plugins`; records what it sends. */
  function clientOf(plugins: Parameters<typeof createYoga>[0]['plugins']) {
    const sent: Record<string, unknown>[] = [];
    let executions = 0;
    const schema = createSchema({
      typeDefs,
      resolvers: {
        Query: {
          serverLimits: () => {
            executions += 1;
            return { maxOutputsPerReport: 1, maxPageSize: 2, maxJsonDepth: 4, heartbeatTimeoutSeconds: 3 };
          },
        },
      },
    });
    const yoga = createYoga({ schema, plugins, logging: false });
    const fetchThroughYoga: typeof fetch = async (input, init) => {
      sent.push(JSON.parse(String(init?.body)));
      return yoga.fetch(String(input), init ?? {});
    };
    const client = new StackyardClient({ url: 'http://yoga', configDir: tempDir('stackyard-persisted-'), env: {}, fetch: fetchThroughYoga, retries: 0 });
    return { client, sent, executions: () => executions };
  }

  it('sends the document once to an older server that wants text', async () => {
    const { client, sent, executions } = clientOf([]);
    expect(await client.serverLimits()).toEqual({ maxOutputsPerReport: 1, maxPageSize: 2, maxJsonDepth: 4, heartbeatTimeoutSeconds: 3 });
    expect(sent).toEqual([
      { operationName: 'ServerLimits', variables: {}, extensions: persisted(serverLimitsId) },
      expect.objectContaining({ operationName: 'ServerLimits', query: expect.stringContaining('serverLimits') }),
    ]);
    expect(executions()).toBe(1);
  });

  it('sends the document once to a server whose manifest lacks the id', async () => {
    const { client, sent, executions } = clientOf([usePersistedOperations({ documents: {} })]);
    expect(await client.serverLimits()).toMatchObject({ maxPageSize: 2 });
    expect(sent.map((body) => Object.keys(body).includes('query'))).toEqual([false, true]);
    expect(executions()).toBe(1);
  });

  it('gives up after the one retry as text when that is refused too', async () => {
    const { client, sent, executions } = clientOf([usePersistedOperations({ documents: {}, only: true })]);
    await expect(client.serverLimits()).rejects.toMatchObject({ type: 'ServerError', message: expect.stringMatching(/only the persisted operations/) });
    expect(sent).toHaveLength(2);
    expect(executions()).toBe(0);
  });
});
