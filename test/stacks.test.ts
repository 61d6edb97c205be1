// The rules of stacks (../shared/domain.md, "Stacks"), through GraphQL over HTTP.
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { databaseTargets, uniqueName, useTestServer, type TestServer } from './harness';
import {
  RESULT_FIELDS,
  expectType,
  registerComponent,
  registerLocalStack,
  registerStack,
  expectUnchanged as expectUnchangedRegistry,
} from './registry-operations';

const STACK_FIELDS = `id name description labels isDefault isActive components { type name }`;

describe.each(databaseTargets)('stacks on $name', (target) => {
  const testServer = useTestServer(target);
  let server: TestServer;
  beforeAll(() => {
    server = testServer();
  });

  const expectUnchanged = (mutation: () => Promise<unknown>) => expectUnchangedRegistry(server, mutation);

  async function mutate(name: string, args: string, variables: Record<string, unknown>, selection = `... on Stack { ${STACK_FIELDS} }`) {
    const data = await server.gql(`mutation(${args}) { result: ${name} { ${RESULT_FIELDS} ${selection} } }`.replace(`${name} {`, `${name}(${argList(args)}) {`), variables);
    return data.result;
  }

  function argList(args: string): string {
    return args
      .split(',')
      .map((declaration) => declaration.trim().split(':')[0].replace('$', ''))
      .filter(Boolean)
      .map((name) => `${name}: $${name}`)
      .join(', ');
  }

  const stackByName = async (name: string) =>
    (await server.gql(`query($name: String!) { stack(name: $name) { ${STACK_FIELDS} } }`, { name })).stack;

  it('has a default stack with a local orchestrator and local artifact store, active from the start', async () => {
    const data = await server.gql(`{
      activeStack { name isDefault isActive components { type name flavorName isDefault } }
    }`);
    expect(data.activeStack).toEqual({
      name: 'default',
      isDefault: true,
      isActive: true,
      components: [
        { type: 'ORCHESTRATOR', name: 'default', flavorName: 'local', isDefault: true },
        { type: 'ARTIFACT_STORE', name: 'default', flavorName: 'local', isDefault: true },
      ],
    });
  });

  it('registers a stack from component names by type and exposes each component by type', async () => {
    const name = uniqueName('stack');
    const store = uniqueName('store');
    const registry = uniqueName('registry');
    expectType(await registerComponent(server, { type: 'ARTIFACT_STORE', name: store, flavor: 'local', configuration: { path: '/a' } }), 'StackComponent');
    expectType(await registerComponent(server, { type: 'CONTAINER_REGISTRY', name: registry, flavor: 'default', configuration: { uri: 'localhost:5000' } }), 'StackComponent');
    const created = await registerStack(server, {
      name,
      description: 'for tests',
      labels: { env: 'dev' },
      components: { orchestrator: 'default', artifactStore: store, containerRegistry: registry },
    });
    expect(created).toMatchObject({
      __typename: 'Stack',
      name,
      description: 'for tests',
      labels: { env: 'dev' },
      components: [
        { type: 'ORCHESTRATOR', name: 'default' },
        { type: 'ARTIFACT_STORE', name: store },
        { type: 'CONTAINER_REGISTRY', name: registry },
      ],
    });
    const data = await server.gql(
      `query($name: String!) { stack(name: $name) {
        store: component(type: ARTIFACT_STORE) { name configuration }
        tracker: component(type: EXPERIMENT_TRACKER) { name }
      } }`,
      { name },
    );
    expect(data.stack).toEqual({ store: { name: store, configuration: { path: '/a' } }, tracker: null });
  });

  it('requires an orchestrator and an artifact store', async () => {
    await expectUnchanged(async () => {
      expectType(await registerStack(server, { name: uniqueName('s'), components: { orchestrator: 'default' } }), 'ValidationError', 'components.artifactStore');
      expectType(await registerStack(server, { name: uniqueName('s'), components: { artifactStore: 'default' } }), 'ValidationError', 'components.orchestrator');
    });
  });

  it('refuses a taken stack name and creates nothing', async () => {
    const name = uniqueName('taken');
    await registerLocalStack(server, name);
    await expectUnchanged(async () => {
      expectType(await registerStack(server, { name, components: { orchestrator: 'default', artifactStore: 'default' } }), 'NameTakenError', 'name');
      expectType(await registerStack(server, { name: 'default', components: { orchestrator: 'default', artifactStore: 'default' } }), 'NameTakenError', 'name');
    });
  });

  it('refuses a component that does not exist and creates nothing', async () => {
    const name = uniqueName('missing');
    await expectUnchanged(async () => {
      expectType(
        await registerStack(server, { name, components: { orchestrator: 'default', artifactStore: 'default', experimentTracker: 'nope' } }),
        'NotFoundError',
        'components.experimentTracker',
      );
    });
    expect(await stackByName(name)).toBeNull();
  });

  it('validates stack names like component names', async () => {
    await expectUnchanged(async () => {
      for (const bad of ['', 'x'.repeat(256), 'a\tb']) {
        expectType(await registerStack(server, { name: bad, components: { orchestrator: 'default', artifactStore: 'default' } }), 'ValidationError', 'name');
      }
    });
  });

  it('updates a stack: replaces and adds components, changes description and labels', async () => {
    const name = uniqueName('updated');
    await registerLocalStack(server, name);
    const otherStore = uniqueName('other-store');
    const tracker = uniqueName('tracker');
    expectType(await registerComponent(server, { type: 'ARTIFACT_STORE', name: otherStore, flavor: 'local', configuration: { path: '/b' } }), 'StackComponent');
    expectType(await registerComponent(server, { type: 'EXPERIMENT_TRACKER', name: tracker, flavor: 'wandb' }), 'StackComponent');
    const updated = await mutate(
      'updateStack',
      '$name: String!, $description: String, $labels: JSONObject, $components: StackComponentsInput',
      { name, description: 'new', labels: { a: 'b' }, components: { artifactStore: otherStore, experimentTracker: tracker } },
    );
    expect(updated).toMatchObject({
      __typename: 'Stack',
      description: 'new',
      labels: { a: 'b' },
      components: [
        { type: 'ORCHESTRATOR', name: 'default' },
        { type: 'ARTIFACT_STORE', name: otherStore },
        { type: 'EXPERIMENT_TRACKER', name: tracker },
      ],
    });
    await expectUnchanged(async () => {
      expectType(
        await mutate('updateStack', '$name: String!, $components: StackComponentsInput', { name, components: { modelDeployer: 'nope' } }),
        'NotFoundError',
        'components.modelDeployer',
      );
      expectType(await mutate('updateStack', '$name: String!', { name: uniqueName('absent') }), 'NotFoundError', 'name');
    });
  });

  it('removes optional components but never the orchestrator or artifact store', async () => {
    const name = uniqueName('removal');
    await registerLocalStack(server, name);
    const alerter = uniqueName('alerter');
    expectType(await registerComponent(server, { type: 'ALERTER', name: alerter, flavor: 'slack' }), 'StackComponent');
    await mutate('updateStack', '$name: String!, $components: StackComponentsInput', { name, components: { alerter } });
    await expectUnchanged(async () => {
      for (const types of [['ORCHESTRATOR'], ['ARTIFACT_STORE'], ['ALERTER', 'ARTIFACT_STORE']]) {
        expectType(await mutate('removeStackComponents', '$name: String!, $types: [ComponentType!]!', { name, types }), 'IllegalOperationError', 'types');
      }
    });
    const removed = await mutate('removeStackComponents', '$name: String!, $types: [ComponentType!]!', { name, types: ['ALERTER'] });
    expect(removed.components.map((c: { type: string }) => c.type)).toEqual(['ORCHESTRATOR', 'ARTIFACT_STORE']);
  });

  it('renames a stack, refusing a taken name', async () => {
    const a = uniqueName('rename-a');
    const b = uniqueName('rename-b');
    await registerLocalStack(server, a);
    await registerLocalStack(server, b);
    await expectUnchanged(async () => {
      expectType(await mutate('renameStack', '$name: String!, $newName: String!', { name: a, newName: b }), 'NameTakenError', 'newName');
      expectType(await mutate('renameStack', '$name: String!, $newName: String!', { name: a, newName: '' }), 'ValidationError', 'newName');
    });
    const renamed = await mutate('renameStack', '$name: String!, $newName: String!', { name: a, newName: `${a}-2` });
    expect(renamed.name).toBe(`${a}-2`);
  });

  it('copies a stack to a new stack that points at the same components', async () => {
    const source = uniqueName('source');
    await registerLocalStack(server, source);
    const copy = await mutate('copyStack', '$name: String!, $newName: String!', { name: source, newName: `${source}-copy` });
    const original = await stackByName(source);
    expect(copy.__typename).toBe('Stack');
    expect(copy.id).not.toBe(original.id);
    expect(copy.components).toEqual(original.components);
    const components = await server.gql(`{ components(type: ARTIFACT_STORE, first: 100) { ... on QueryComponentsConnection { totalCount } } }`);
    expectType(await mutate('copyStack', '$name: String!, $newName: String!', { name: source, newName: source }), 'NameTakenError', 'newName');
    expect((await server.gql(`{ components(type: ARTIFACT_STORE, first: 100) { ... on QueryComponentsConnection { totalCount } } }`))).toEqual(components);
    expectType(await mutate('copyStack', '$name: String!, $newName: String!', { name: uniqueName('nope'), newName: uniqueName('x') }), 'NotFoundError', 'name');
  });

  it('protects the default stack from rename, update, component removal and delete', async () => {
    await expectUnchanged(async () => {
      expectType(await mutate('renameStack', '$name: String!, $newName: String!', { name: 'default', newName: 'x' }), 'IllegalOperationError', 'name');
      expectType(await mutate('updateStack', '$name: String!, $description: String', { name: 'default', description: 'x' }), 'IllegalOperationError', 'name');
      expectType(await mutate('removeStackComponents', '$name: String!, $types: [ComponentType!]!', { name: 'default', types: ['ALERTER'] }), 'IllegalOperationError', 'name');
      expectType(await mutate('deleteStack', '$name: String!', { name: 'default' }, ''), 'IllegalOperationError', 'name');
    });
  });

  it('deletes a stack and keeps its components unless recursive', async () => {
    const name = uniqueName('plain-delete');
    const store = `${name}-store`;
    await registerLocalStack(server, name, store);
    const deleted = await mutate('deleteStack', '$name: String!', { name }, '... on DeleteStackPayload { deletedId deletedComponents { name } }');
    expect(deleted).toMatchObject({ __typename: 'DeleteStackPayload', deletedComponents: [] });
    expect(await stackByName(name)).toBeNull();
    const kept = await server.gql(`query($name: String!) { component(type: ARTIFACT_STORE, name: $name) { name } }`, { name: store });
    expect(kept.component).toEqual({ name: store });
    expectType(await mutate('deleteStack', '$name: String!', { name }, ''), 'NotFoundError', 'name');
  });

  it('deletes recursively the components no other stack uses', async () => {
    const shared = uniqueName('shared-store');
    const own = uniqueName('own-tracker');
    expectType(await registerComponent(server, { type: 'ARTIFACT_STORE', name: shared, flavor: 'local', configuration: { path: '/s' } }), 'StackComponent');
    expectType(await registerComponent(server, { type: 'EXPERIMENT_TRACKER', name: own, flavor: 'wandb' }), 'StackComponent');
    const keeper = uniqueName('keeper');
    const doomed = uniqueName('doomed');
    expectType(await registerStack(server, { name: keeper, components: { orchestrator: 'default', artifactStore: shared } }), 'Stack');
    expectType(await registerStack(server, { name: doomed, components: { orchestrator: 'default', artifactStore: shared, experimentTracker: own } }), 'Stack');
    const deleted = await mutate('deleteStack', '$name: String!, $recursive: Boolean', { name: doomed, recursive: true }, '... on DeleteStackPayload { deletedComponents { type name } }');
    expect(deleted.deletedComponents).toEqual([{ type: 'EXPERIMENT_TRACKER', name: own }]);
    const left = await server.gql(
      `query($shared: String!, $own: String!) {
        shared: component(type: ARTIFACT_STORE, name: $shared) { name }
        own: component(type: EXPERIMENT_TRACKER, name: $own) { name }
        orchestrator: component(type: ORCHESTRATOR, name: "default") { name }
      }`,
      { shared, own },
    );
    expect(left).toEqual({ shared: { name: shared }, own: null, orchestrator: { name: 'default' } });
  });

  it('sets the active stack for every client and refuses to delete it', async () => {
    const name = uniqueName('active');
    await registerLocalStack(server, name);
    const set = await mutate('setActiveStack', '$name: String!', { name });
    expect(set).toMatchObject({ __typename: 'Stack', name, isActive: true });
    expect((await server.gql(`{ activeStack { name isActive } }`)).activeStack).toEqual({ name, isActive: true });
    expect((await stackByName('default')).isActive).toBe(false);
    await expectUnchanged(async () => {
      expectType(await mutate('deleteStack', '$name: String!', { name }, ''), 'IllegalOperationError', 'name');
      expectType(await mutate('setActiveStack', '$name: String!', { name: uniqueName('ghost') }), 'NotFoundError', 'name');
    });
    await mutate('setActiveStack', '$name: String!', { name: 'default' });
    expectType(await mutate('deleteStack', '$name: String!', { name }, '... on DeleteStackPayload { deletedId }'), 'DeleteStackPayload');
  });

  it('falls back to the default stack when the active stack disappears', async () => {
    const name = uniqueName('vanishing');
    await registerLocalStack(server, name);
    await mutate('setActiveStack', '$name: String!', { name });
    // Another user (or an operator) removes the stack behind this user's back.
    await deleteStackRowDirectly(server, target.name, name);
    expect((await server.gql(`{ activeStack { name isActive } }`)).activeStack).toEqual({ name: 'default', isActive: true });
  });

  it('lists stacks with a total count, filtered by name and by component', async () => {
    const prefix = uniqueName('listed');
    const store = `${prefix}-store`;
    expectType(await registerComponent(server, { type: 'ARTIFACT_STORE', name: store, flavor: 'local', configuration: { path: '/l' } }), 'StackComponent');
    for (const suffix of ['a', 'b', 'c']) {
      expectType(await registerStack(server, { name: `${prefix}-${suffix}`, components: { orchestrator: 'default', artifactStore: suffix === 'c' ? 'default' : store } }), 'Stack');
    }
    const byName = await server.gql(`query($p: String!) { stacks(nameContains: $p, first: 2) { ... on QueryStacksConnection { totalCount pageInfo { hasNextPage } edges { node { name } } } } }`, { p: prefix });
    expect(byName.stacks.totalCount).toBe(3);
    expect(byName.stacks.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual([`${prefix}-a`, `${prefix}-b`]);
    expect(byName.stacks.pageInfo.hasNextPage).toBe(true);
    const byComponent = await server.gql(
      `query($store: String!) { stacks(component: { type: ARTIFACT_STORE, name: $store }) { ... on QueryStacksConnection { totalCount edges { node { name } } } } }`,
      { store },
    );
    expect(byComponent.stacks).toEqual({ totalCount: 2, edges: [{ node: { name: `${prefix}-a` } }, { node: { name: `${prefix}-b` } }] });
    const usage = await server.gql(`query($store: String!) { component(type: ARTIFACT_STORE, name: $store) { stacks { name } } }`, { store });
    expect(usage.component.stacks).toEqual([{ name: `${prefix}-a` }, { name: `${prefix}-b` }]);
  });

  it('refetches a stack by its global id', async () => {
    const name = uniqueName('node');
    await registerLocalStack(server, name);
    const stack = await stackByName(name);
    const data = await server.gql(`query($id: ID!) { node(id: $id) { __typename id ... on Stack { name } } }`, { id: stack.id });
    expect(data.node).toEqual({ __typename: 'Stack', id: stack.id, name });
  });
});

/** Deletes a stack row as another client of the database would, bypassing this user's API. */
async function deleteStackRowDirectly(server: TestServer, kind: string, name: string): Promise<void> {
  if (kind === 'postgres') {
    const client = new pg.Client({ connectionString: server.databaseLocation });
    await client.connect();
    await client.query('DELETE FROM stacks WHERE name = $1', [name]);
    await client.end();
  } else {
    await (server.server.database.db as unknown as { $client: { query(sql: string, params: unknown[]): Promise<unknown> } }).$client.query('DELETE FROM stacks WHERE name = $1', [name]);
  }
}
