// Limits on what a request may hold, beyond what the schema says: how deep JSON arguments and
// variables may nest, and that a body must be UTF-8 text. Each refusal names what is wrong.
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { StackyardClient } from '../client';
import { databaseTargets, uniqueName, useTestServer } from './harness';

const MAX_JSON_DEPTH = 32;

/** A JSON object of exactly `levels` levels: {"a": {"a": … {"a": 1}}}. */
function nested(levels: number): Record<string, unknown> {
  let value: unknown = 1;
  for (let level = 0; level < levels; level += 1) value = { a: value };
  return value as Record<string, unknown>;
}

interface Ids {
  store: string;
  stack: string;
  runId: string;
  stepRunId: string;
}

/** Every JSON argument of the schema, as an operation that passes `$json` to it and answers its result. */
const jsonArguments: { field: string; mutation: string; variables: (ids: Ids) => Record<string, unknown>; place: (json: unknown) => unknown }[] = [
  {
    field: 'configuration',
    mutation: 'registerComponent(type: ARTIFACT_STORE, name: $name, flavor: "local", configuration: $json)',
    variables: () => ({ name: uniqueName('deep') }),
    place: (json) => json,
  },
  {
    field: 'labels',
    mutation: 'registerComponent(type: ARTIFACT_STORE, name: $name, flavor: "local", configuration: { path: "/tmp/deep" }, labels: $json)',
    variables: () => ({ name: uniqueName('deep') }),
    place: (json) => json,
  },
  {
    field: 'configuration',
    mutation: 'updateComponent(type: ARTIFACT_STORE, name: $name, configuration: $json)',
    variables: (ids) => ({ name: ids.store }),
    place: (json) => json,
  },
  {
    field: 'labels',
    mutation: 'registerStack(name: $name, components: { orchestrator: "default", artifactStore: "default" }, labels: $json)',
    variables: () => ({ name: uniqueName('deep') }),
    place: (json) => json,
  },
  { field: 'labels', mutation: 'updateStack(name: $name, labels: $json)', variables: (ids) => ({ name: ids.stack }), place: (json) => json },
  { field: 'config', mutation: 'startRun(pipeline: $name, config: $json)', variables: () => ({ name: uniqueName('deep') }), place: (json) => json },
  { field: 'parameters', mutation: 'startStep(runId: $id, name: $name, parameters: $json)', variables: (ids) => ({ id: ids.runId, name: uniqueName('deep') }), place: (json) => json },
  { field: 'metadata', mutation: 'logMetadata(id: $id, metadata: $json)', variables: (ids) => ({ id: ids.runId }), place: (json) => json },
  {
    field: 'outputs',
    mutation: 'reportStepOutputs(stepRunId: $id, outputs: $json)',
    variables: (ids) => ({ id: ids.stepRunId }),
    // The list and its item are two levels of the argument.
    place: (json) => [{ name: 'deep', uri: '/tmp/deep', metadata: json }],
  },
];

function declaration(mutation: string, json: unknown): string {
  const types: Record<string, string> = { $name: 'String!', $id: 'ID!' };
  const declared = Object.entries(types).filter(([name]) => mutation.includes(name)).map(([name, type]) => `${name}: ${type}`);
  const jsonType = Array.isArray(json) ? '[StepOutputInput!]!' : 'JSONObject!';
  return `mutation (${[...declared, `$json: ${jsonType}`].join(', ')}) { result: ${mutation} { __typename ... on Error { message field } } }`;
}

describe.each(databaseTargets)('JSON nesting on $name', (target) => {
  const server = useTestServer(target);

  async function fixture(): Promise<Ids> {
    const client = new StackyardClient({ url: server().url, env: {} });
    const store = uniqueName('store');
    await client.registerComponent({ type: 'ARTIFACT_STORE', name: store, flavor: 'local', configuration: { path: '/tmp/store' } });
    const stack = uniqueName('stack');
    await client.registerStack({ name: stack, components: { orchestrator: 'default', artifactStore: 'default' } });
    const run = await client.startRun({ pipeline: uniqueName('pipeline') });
    const step = await client.startStep({ runId: run.id, name: 'train' });
    return { store, stack, runId: run.id, stepRunId: step.id };
  }

  it('publishes the limit', async () => {
    expect((await server().gql('{ serverLimits { maxJsonDepth } }')).serverLimits).toEqual({ maxJsonDepth: MAX_JSON_DEPTH });
  });

  it('refuses every JSON argument one level past the limit with a ValidationError naming it', async () => {
    const ids = await fixture();
    for (const { field, mutation, variables, place } of jsonArguments) {
      const json = place(nested(MAX_JSON_DEPTH + 1));
      const response = await server().request(declaration(mutation, json), { ...variables(ids), json });
      expect(response.errors, mutation).toBeUndefined();
      expect(response.data.result, mutation).toEqual({ __typename: 'ValidationError', message: `${field} nests deeper than ${MAX_JSON_DEPTH} levels`, field });
    }
  });

  it('refuses a deep JSON literal in the document the same way', async () => {
    const literal = `${'{ a: '.repeat(MAX_JSON_DEPTH + 1)}1${' }'.repeat(MAX_JSON_DEPTH + 1)}`;
    const response = await server().request(`mutation { startRun(pipeline: "deep-literal", config: ${literal}) { __typename ... on Error { field } } }`);
    expect(response.data).toEqual({ startRun: { __typename: 'ValidationError', field: 'config' } });
  });

  it('stores JSON of exactly the limit', async () => {
    const response = await server().request('mutation ($json: JSONObject!) { startRun(pipeline: "deep-enough", config: $json) { ... on PipelineRun { config } } }', { json: nested(MAX_JSON_DEPTH) });
    expect(response.data.startRun.config).toEqual(nested(MAX_JSON_DEPTH));
  });

  it.each([
    ['10,000 levels of objects', `${'{"a": '.repeat(10_000)}1${'}'.repeat(10_000)}`],
    ['100,000 levels of lists', `{"a": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`],
  ])('refuses a run config nested %s with a ValidationError naming it, and stores nothing', async (_depth, json) => {
    const pipeline = `deeper-${json.length}`;
    // As text: JSON.stringify, like any recursive walk, cannot be trusted that deep.
    const query = JSON.stringify(`mutation ($json: JSONObject!) { startRun(pipeline: "${pipeline}", config: $json) { __typename ... on Error { message field } } }`);
    const response = await fetch(`${server().url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: `{"query": ${query}, "variables": {"json": ${json}}}`,
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { data: unknown }).data).toEqual({
      startRun: { __typename: 'ValidationError', message: `config nests deeper than ${MAX_JSON_DEPTH} levels`, field: 'config' },
    });
    const { runs } = await server().gql('query ($p: String!) { runs(filter: { pipeline: $p }) { ... on PipelineRunConnection { totalCount } } }', { p: pipeline });
    expect(runs.totalCount).toBe(0);
  });

  it('ignores deep variables that no argument takes', async () => {
    const response = await server().request('{ __typename }', { unused: nested(1_000) });
    expect(response.status).toBe(200);
    expect(response.data).toEqual({ __typename: 'Query' });
  });
});

describe.each(databaseTargets)('request bodies that are not UTF-8 on $name', (target) => {
  const server = useTestServer(target);

  /** A JSON request whose `text` variable holds `bytes` raw, between its quotes. */
  async function postWithBytes(bytes: number[], contentType = 'application/json') {
    const [before, after] = JSON.stringify({ query: 'query ($text: String) { stacks(nameContains: $text) { ... on QueryStacksConnection { totalCount } } }', variables: { text: '|' } }).split('|');
    const body = Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
    const response = await fetch(`${server().url}/graphql`, { method: 'POST', headers: { 'content-type': contentType, accept: 'application/graphql-response+json' }, body });
    return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: { message: string }[] } };
  }

  for (const [name, bytes] of [
    ['FF FE C3', [0xff, 0xfe, 0xc3]],
    ['the overlong slash C0 AF', [0xc0, 0xaf]],
    ['the truncated sequence E2 82', [0xe2, 0x82]],
    ['an encoded surrogate ED A0 80', [0xed, 0xa0, 0x80]],
  ] as const) {
    it(`refuses ${name} with a 400`, async () => {
      const response = await postWithBytes([...bytes]);
      expect(response).toEqual({ status: 400, body: { errors: [{ message: 'The request body is not valid UTF-8.', extensions: { code: 'BAD_REQUEST' } }] } });
    });
  }

  it('refuses it in a document sent as application/graphql too', async () => {
    const response = await fetch(`${server().url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/graphql', accept: 'application/graphql-response+json' },
      body: Buffer.concat([Buffer.from('{ __typename } # '), Buffer.from([0xff])]),
    });
    expect(response.status).toBe(400);
  });

  it('accepts multi-byte UTF-8', async () => {
    const response = await postWithBytes([...Buffer.from('数据 🚀 é')]);
    expect(response).toEqual({ status: 200, body: { data: { stacks: { totalCount: 0 } } } });
  });
});
