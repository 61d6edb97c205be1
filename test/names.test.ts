// Names are normalised once, at the boundary (trim, then Unicode NFC), before any rule or lookup
// sees them; the defaults are found by a flag, not by their name; names, tags and labels are text.
import { getNamedType, isInputObjectType, type GraphQLInputType } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../server/schema';
import { databaseTargets, uniqueName, useTestServer, type TestServer } from './harness';
import { expectType, expectUnchanged, registerComponent, registerStack, RESULT_FIELDS, type MutationResult } from './registry-operations';
import { reportOutputs, startRun, startStep } from './run-operations';

/** " default " and the like: the default's name behind whitespace that JavaScript's trim removes. */
const PADDED_DEFAULTS = [' default ', 'default\u00a0', '\tdefault\n', '\u3000default'];

/** The five mutations that must never act on a default, each given the name to act on. */
const PROTECTED_MUTATIONS: { id: string; document: string; variables: (name: string) => Record<string, unknown> }[] = [
  { id: 'deleteStack', document: 'deleteStack(name: $name, recursive: true)', variables: (name) => ({ name }) },
  { id: 'renameStack', document: 'renameStack(name: $name, newName: $other)', variables: (name) => ({ name, other: uniqueName('hijacked') }) },
  { id: 'updateStack', document: 'updateStack(name: $name, description: $other)', variables: (name) => ({ name, other: 'changed' }) },
  {
    id: 'updateComponent',
    document: 'updateComponent(type: ARTIFACT_STORE, name: $name, configuration: $configuration)',
    variables: (name) => ({ name, configuration: { path: '/tmp/hijacked' } }),
  },
  { id: 'renameComponent', document: 'renameComponent(type: ORCHESTRATOR, name: $name, newName: $other)', variables: (name) => ({ name, other: uniqueName('hijacked') }) },
];

const VARIABLE_TYPES: Record<string, string> = { name: 'String!', other: 'String!', configuration: 'JSONObject' };

async function mutate(server: TestServer, document: string, variables: Record<string, unknown>): Promise<MutationResult> {
  const declared = Object.keys(variables).map((key) => `$${key}: ${VARIABLE_TYPES[key]}`);
  const data = await server.gql(`mutation(${declared.join(', ')}) { result: ${document} { ${RESULT_FIELDS} } }`, variables);
  return data.result;
}

/**
 * String arguments and input fields that hold free text, not a name, and so are not normalised.
 * A new String argument must be either a name (server/name-arguments.ts) or listed here.
 */
const FREE_TEXT = new Set([
  'Mutation.finishRun(reason)',
  'Mutation.stopRun(reason)',
  'Mutation.finishStep(errorMessage)',
  'Mutation.importStack(yaml)',
  'Mutation.registerComponent(flavor)',
  'Mutation.registerStack(description)',
  'Mutation.updateStack(description)',
  'Mutation.startRun(idempotencyKey)',
  'Mutation.startStep(cacheKey)',
  'Mutation.startStep(codeHash)',
  'Mutation.startStep(logsFolder)',
  'Query.cachedStepRun(cacheKey)',
  'Query.components(flavor)',
  'Query.artifactVersions(type)',
  'StepOutputInput.contentHash',
  'StepOutputInput.dataType',
  'StepOutputInput.materializer',
  'StepOutputInput.type',
  'StepOutputInput.uri',
]);
const PAGE_CURSOR = /\((after|before)\)$/;

it('normalises every String argument and input field that is not listed as free text', () => {
  const unnormalised = new Set<string>();
  const walk = (path: string, type: GraphQLInputType, extensions: { name?: unknown } | undefined | null, seen: Set<string>) => {
    const named = getNamedType(type);
    if (named.name === 'String' && extensions?.name !== true) unnormalised.add(path);
    if (isInputObjectType(named) && !seen.has(named.name)) {
      for (const field of Object.values(named.getFields())) {
        walk(`${named.name}.${field.name}`, field.type, field.extensions, new Set([...seen, named.name]));
      }
    }
  };
  for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    for (const field of Object.values(root?.getFields() ?? {})) {
      for (const arg of field.args) walk(`${root!.name}.${field.name}(${arg.name})`, arg.type, arg.extensions, new Set());
    }
  }
  expect([...unnormalised].filter((path) => !PAGE_CURSOR.test(path)).sort()).toEqual([...FREE_TEXT].sort());
});

describe.each(databaseTargets)('names on $name', (target) => {
  const testServer = useTestServer(target);
  let server: TestServer;
  let defaultStackId: string;
  beforeAll(async () => {
    server = testServer();
    defaultStackId = (await server.gql('{ activeStack { id name isDefault } }')).activeStack.id;
  });

  for (const mutation of PROTECTED_MUTATIONS) {
    it(`refuses ${mutation.id} of a default named with surrounding whitespace`, async () => {
      for (const name of PADDED_DEFAULTS) {
        await expectUnchanged(server, async () => {
          const result = await mutate(server, mutation.document, mutation.variables(name));
          expectType(result, 'IllegalOperationError', 'name');
        });
      }
    });
  }

  it('keeps the default stack the default after attempts to move its name away', async () => {
    for (const name of PADDED_DEFAULTS) {
      await mutate(server, 'renameStack(name: $name, newName: $other)', { name, other: uniqueName('moved') });
    }
    const taken = await registerStack(server, { name: 'default', components: { orchestrator: 'default', artifactStore: 'default' } });
    expectType(taken, 'NameTakenError', 'name');
    const padded = await registerStack(server, { name: ' default\u00a0', components: { orchestrator: 'default', artifactStore: 'default' } });
    expectType(padded, 'NameTakenError', 'name');
    const { activeStack, stack } = await server.gql('{ activeStack { id name isDefault } stack(name: "default") { id } }');
    expect(activeStack).toEqual({ id: defaultStackId, name: 'default', isDefault: true });
    expect(stack.id).toBe(defaultStackId);
  });

  it('treats names that differ only in Unicode form as one name', async () => {
    const suffix = uniqueName('');
    const decomposed = `cafe\u0301${suffix}`;
    const composed = `caf\u00e9${suffix}`;
    const store = await registerComponent(server, { type: 'ARTIFACT_STORE', name: decomposed, flavor: 'local', configuration: { path: '/tmp/cafe' } });
    expect(expectType(store, 'StackComponent').name).toBe(composed);
    expectType(
      await registerComponent(server, { type: 'ARTIFACT_STORE', name: composed, flavor: 'local', configuration: { path: '/tmp/cafe' } }),
      'NameTakenError',
      'name',
    );
    expectType(await registerStack(server, { name: composed, components: { orchestrator: 'default', artifactStore: decomposed } }), 'Stack');
    expectType(await registerStack(server, { name: ` ${decomposed} `, components: { orchestrator: 'default', artifactStore: composed } }), 'NameTakenError', 'name');
    for (const name of [decomposed, composed, ` ${decomposed}\u00a0`]) {
      const found = await server.gql('query($name: String!) { stack(name: $name) { name components { name } } }', { name });
      expect(found.stack, JSON.stringify(name)).toEqual({ name: composed, components: [{ name: 'default' }, { name: composed }] });
    }
    const filtered = await server.gql('query($name: String!) { stacks(nameContains: $name) { ... on QueryStacksConnection { totalCount } } }', { name: `e\u0301${suffix}` });
    expect(filtered.stacks.totalCount).toBe(1);

    // Runs, steps and outputs: a pipeline, step or output named in the other form is the same one.
    const run = await startRun(server, { pipeline: decomposed, tags: [`${decomposed} `, composed] });
    expect(run).toMatchObject({ __typename: 'PipelineRun', tags: [composed] });
    const pipeline = await server.gql('query($name: String!) { pipeline(name: $name) { name } }', { name: ` ${decomposed}` });
    expect(pipeline.pipeline).toEqual({ name: composed });
    const step = await startStep(server, { runId: run.id, name: decomposed });
    expect(step).toMatchObject({ __typename: 'StepRun', name: composed });
    const again = await startStep(server, { runId: run.id, name: ` ${composed}` });
    expect(again).toMatchObject({ __typename: 'StepRun', id: step.id });
    const [first] = (await reportOutputs(server, step.id, [{ name: decomposed, uri: '/tmp/out' }])).outputs;
    const [replayed] = (await reportOutputs(server, step.id, [{ name: composed, uri: '/tmp/out' }])).outputs;
    expect(replayed.artifactVersion.id).toBe(first.artifactVersion.id);
  });

  it('treats user and token names in either Unicode form, padded or not, as one name', async () => {
    const suffix = uniqueName('');
    const decomposed = `jose\u0301${suffix}`;
    const composed = `jos\u00e9${suffix}`;
    const createUser = 'mutation($name: String!) { createUser(name: $name, role: VIEWER) { __typename ... on User { name } ... on Error { field } } }';
    expect((await server.gql(createUser, { name: decomposed })).createUser).toEqual({ __typename: 'User', name: composed });
    expect((await server.gql(createUser, { name: ` ${composed} ` })).createUser).toEqual({ __typename: 'NameTakenError', field: 'name' });
    const token = await server.gql(
      'mutation($user: String!, $name: String!) { createApiToken(userName: $user, name: $name) { __typename ... on CreatedApiToken { apiToken { name } } } }',
      { user: `${decomposed}\u00a0`, name: ` cafe\u0301 ` },
    );
    expect(token.createApiToken).toEqual({ __typename: 'CreatedApiToken', apiToken: { name: 'caf\u00e9' } });
    const deleted = await server.gql('mutation($name: String!) { deleteUser(name: $name) { __typename } }', { name: ` ${decomposed}` });
    expect(deleted.deleteUser.__typename).toBe('DeleteUserPayload');
  });

  it('refuses names, tags and labels that are not text, naming the field', async () => {
    for (const bad of ['bad\ud800', 'bad\udfff-x', 'bad\ufffd']) {
      expectType(await registerComponent(server, { type: 'ARTIFACT_STORE', name: bad, flavor: 'local', configuration: { path: '/tmp/x' } }), 'ValidationError', 'name');
      expectType(await registerStack(server, { name: bad, components: { orchestrator: 'default', artifactStore: 'default' } }), 'ValidationError', 'name');
      expectType(
        await registerStack(server, { name: uniqueName('labels'), components: { orchestrator: 'default', artifactStore: 'default' }, labels: { team: bad } }),
        'ValidationError',
        'labels.team',
      );
      expectType(
        await registerComponent(server, { type: 'ARTIFACT_STORE', name: uniqueName('labels'), flavor: 'local', configuration: { path: '/tmp/x' }, labels: { [bad]: 'x' } }),
        'ValidationError',
        'labels',
      );
      expect(await startRun(server, { pipeline: bad })).toMatchObject({ __typename: 'ValidationError', field: 'pipeline' });
      expect(await startRun(server, { pipeline: 'text', tags: ['ok', bad] })).toMatchObject({ __typename: 'ValidationError', field: 'tags.1' });
    }
    const { stacks } = await server.gql('{ stacks(nameContains: "bad") { ... on QueryStacksConnection { totalCount } } }');
    expect(stacks.totalCount).toBe(0);
  });
});
