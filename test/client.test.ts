// The typed client: error members become StackyardError, connections iterate across pages,
// connection settings resolve from options, environment and config file, and the
// generated documents are checked against the schema.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { afterAll, describe, expect, it } from 'vitest';
import { StackyardClient, StackyardError, configFilePath, resolveConnectionSettings } from '../client';
import { writeConfigFile } from '../client/connection-settings';
import { RegisterComponentDocument } from '../client/generated/graphql';
import codegenConfig from '../codegen';
import { databaseTargets, uniqueName, useTestServer } from './harness';

const directories: string[] = [];
afterAll(() => directories.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function temporaryDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-client-'));
  directories.push(dir);
  return dir;
}

describe.each(databaseTargets)('typed client on $name', (target) => {
  const server = useTestServer(target);
  const client = () => new StackyardClient({ url: server().url, configDir: temporaryDirectory() });

  it('throws an error member as a StackyardError with its type, message and field', async () => {
    const name = uniqueName('store');
    await client().registerComponent({ type: 'ARTIFACT_STORE', name, flavor: 'local', configuration: { path: '/tmp/x' } });
    const taken = await client().registerComponent({ type: 'ARTIFACT_STORE', name, flavor: 'local', configuration: { path: '/tmp/y' } }).catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(StackyardError);
    expect(taken).toMatchObject({ type: 'NameTakenError', field: 'name' });
    const invalid = await client()
      .registerComponent({ type: 'ARTIFACT_STORE', name: uniqueName('store'), flavor: 'local', configuration: { path: 's3://bucket' } })
      .catch((e: unknown) => e);
    expect(invalid).toMatchObject({ type: 'ValidationError', field: 'configuration.path' });
    await expect(client().setActiveStack(uniqueName('missing'))).rejects.toMatchObject({ type: 'NotFoundError' });
  });

  it('answers the raw typed union through request()', async () => {
    const result = await client().request(RegisterComponentDocument, { type: 'ORCHESTRATOR', name: 'default', flavor: 'local' });
    expect(result.registerComponent.__typename).toBe('NameTakenError');
    if (result.registerComponent.__typename === 'NameTakenError') expect(result.registerComponent.message).toContain('default');
  });

  it('iterates a connection across pages, fetching as it is read', async () => {
    const sdk = client();
    const prefix = uniqueName('paged');
    for (let i = 0; i < 5; i += 1) await sdk.registerStack({ name: `${prefix}-${i}`, components: { orchestrator: 'default', artifactStore: 'default' } });
    const names: string[] = [];
    for await (const stack of sdk.stacks({ nameContains: prefix }, { pageSize: 2 })) names.push(stack.name);
    expect(names).toEqual([0, 1, 2, 3, 4].map((i) => `${prefix}-${i}`));

    const seen: string[] = [];
    for await (const stack of sdk.stacks({ nameContains: prefix }, { pageSize: 2 })) {
      seen.push(stack.name);
      if (seen.length === 3) break;
    }
    expect(seen).toHaveLength(3);
  });

  it('reports server-side GraphQL errors as ServerError without internals', async () => {
    const error = await client()
      .request(RegisterComponentDocument, { type: 'NOT_A_TYPE' as never, name: 'x', flavor: 'local' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ type: 'ServerError' });
    expect((error as Error).message).toMatch(/NOT_A_TYPE/);
  });
});

describe('connection settings', () => {
  it('takes options over the environment over the config file, with a local default', () => {
    const configDir = temporaryDirectory();
    expect(resolveConnectionSettings({ configDir, env: {} })).toEqual({ url: 'http://127.0.0.1:8080/graphql' });
    writeConfigFile(configFilePath({ configDir }), { url: 'http://file.example:1/', token: 'file-token' });
    expect(statSync(configFilePath({ configDir })).mode & 0o777).toBe(0o600);
    expect(resolveConnectionSettings({ configDir, env: {} })).toEqual({ url: 'http://file.example:1/graphql', token: 'file-token' });
    const env = { STACKYARD_URL: 'https://env.example/graphql', STACKYARD_TOKEN: 'env-token' };
    expect(resolveConnectionSettings({ configDir, env })).toEqual({ url: 'https://env.example/graphql', token: 'env-token' });
    expect(resolveConnectionSettings({ configDir, env, url: 'http://option.example:9', token: 'option-token' })).toEqual({
      url: 'http://option.example:9/graphql',
      token: 'option-token',
    });
    expect(resolveConnectionSettings({ env: { STACKYARD_CONFIG_DIR: configDir } }).url).toBe('http://file.example:1/graphql');
    expect(() => resolveConnectionSettings({ url: 'not a url', env: {} })).toThrow(/not a URL/);
  });

  it('sends the token as a bearer credential', async () => {
    let authorization: string | null = null;
    const fakeFetch: typeof fetch = async (_input, init) => {
      authorization = new Headers(init?.headers).get('authorization');
      return new Response(JSON.stringify({ data: { serverLimits: { maxOutputsPerReport: 1, maxPageSize: 1, heartbeatTimeoutSeconds: 1 } } }), {
        headers: { 'content-type': 'application/json' },
      });
    };
    await new StackyardClient({ url: 'http://127.0.0.1:1', token: 'secret-token', fetch: fakeFetch, env: {} }).serverLimits();
    expect(authorization).toBe('Bearer secret-token');
  });

  it('names the URL it cannot reach, after retrying idempotent requests', async () => {
    let attempts = 0;
    const failingFetch: typeof fetch = async () => {
      attempts += 1;
      throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
    };
    const unreachable = new StackyardClient({ url: 'http://127.0.0.1:1', retries: 2, fetch: failingFetch, env: {} });
    const error = await unreachable.serverLimits().catch((e: unknown) => e);
    expect(error).toMatchObject({ type: 'ConnectionError' });
    expect((error as Error).message).toBe('Cannot reach the Stackyard server at http://127.0.0.1:1/graphql: connect ECONNREFUSED 127.0.0.1:1; start one with `npm start` or set STACKYARD_URL');
    expect(attempts).toBe(3);
    // Registering is not idempotent, so a lost request is not silently repeated.
    attempts = 0;
    await expect(unreachable.registerComponent({ type: 'ALERTER', name: 'a', flavor: 'slack' })).rejects.toMatchObject({ type: 'ConnectionError' });
    expect(attempts).toBe(1);
  });
});

describe('generated documents', () => {
  it('fail generation when a schema change breaks an operation', async () => {
    const schema = readFileSync('schema.graphql', 'utf8');
    const broken = schema.replace(/\n  secretsSet: \[String!\]!\n/, '\n');
    expect(broken).not.toBe(schema);
    const output = temporaryDirectory();
    const config = { ...codegenConfig, schema: broken, generates: { [`${output}/`]: codegenConfig.generates['client/generated/'] }, silent: true };
    await expect(generate(config, false)).rejects.toThrow(/secretsSet/);
    // The committed schema itself generates cleanly.
    await expect(generate({ ...config, schema }, false)).resolves.toBeDefined();
  });
});
