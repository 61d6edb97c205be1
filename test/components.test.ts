// The rules of stack components (../shared/domain.md, "Stack components"), through GraphQL over HTTP.
import { beforeAll, describe, expect, it } from 'vitest';
import { databaseTargets, uniqueName, useTestServer, type TestServer } from './harness';
import { RESULT_FIELDS, expectType, expectUnchanged as expectUnchangedRegistry, registerComponent, registerStack } from './registry-operations';

describe.each(databaseTargets)('components on $name', (target) => {
  const testServer = useTestServer(target);
  let server: TestServer;
  beforeAll(() => {
    server = testServer();
  });

  const expectUnchanged = (mutation: () => Promise<unknown>) => expectUnchangedRegistry(server, mutation);

  it('registers a component and reads it back by type and name', async () => {
    const name = uniqueName('store');
    const created = expectType(
      await registerComponent(server, { type: 'ARTIFACT_STORE', name, flavor: 'local', configuration: { path: '/data/artifacts' }, labels: { team: 'ml' } }),
      'StackComponent',
    );
    const data = await server.gql(
      `query($name: String!) { component(type: ARTIFACT_STORE, name: $name) { id type name flavorName flavor { name type } configuration labels isDefault } }`,
      { name },
    );
    expect(data.component).toEqual({
      id: created.id,
      type: 'ARTIFACT_STORE',
      name,
      flavorName: 'local',
      flavor: { name: 'local', type: 'ARTIFACT_STORE' },
      configuration: { path: '/data/artifacts' },
      labels: { team: 'ml' },
      isDefault: false,
    });
  });

  it('checks a configuration against the schema of every flavor, refusing an unknown setting', async () => {
    const { flavors } = await server.gql(`{ flavors { name type } }`);
    expect(flavors.length).toBeGreaterThan(10);
    for (const flavor of flavors) {
      const result = await registerComponent(server, { type: flavor.type, name: uniqueName('check'), flavor: flavor.name, configuration: { notASetting: 1 } });
      expectType(result, 'ValidationError', 'configuration.notASetting');
    }
  });

  it('keeps names unique per type, but lets two types share a name', async () => {
    const name = uniqueName('shared');
    expectType(await registerComponent(server, { type: 'ORCHESTRATOR', name, flavor: 'local' }), 'StackComponent');
    expectType(await registerComponent(server, { type: 'ARTIFACT_STORE', name, flavor: 'local', configuration: { path: '/a' } }), 'StackComponent');
    await expectUnchanged(async () => {
      const again = await registerComponent(server, { type: 'ORCHESTRATOR', name, flavor: 'kubernetes' });
      expectType(again, 'NameTakenError', 'name');
      expect(again.message).toBe(`An orchestrator named "${name}" already exists`);
      const store = await registerComponent(server, { type: 'ARTIFACT_STORE', name, flavor: 'local', configuration: { path: '/b' } });
      expect(store.message).toBe(`An artifact store named "${name}" already exists`);
    });
  });

  it('trims names and rejects empty, over-long and control-character names', async () => {
    const name = uniqueName('trimmed');
    const trimmed = await registerComponent(server, { type: 'ORCHESTRATOR', name: `  ${name}\u0020`, flavor: 'local' });
    expect(trimmed.name).toBe(name);
    await expectUnchanged(async () => {
      for (const bad of ['', '   ', 'a'.repeat(256), 'tab\tname', 'new\nline', 'bell\u0007']) {
        expectType(await registerComponent(server, { type: 'ORCHESTRATOR', name: bad, flavor: 'local' }), 'ValidationError', 'name');
      }
    });
    const longest = 'é'.repeat(255);
    expectType(await registerComponent(server, { type: 'ALERTER', name: longest, flavor: 'slack' }), 'StackComponent');
  });

  it('rejects a flavor that does not belong to the type', async () => {
    await expectUnchanged(async () => {
      const result = await registerComponent(server, { type: 'ORCHESTRATOR', name: uniqueName('o'), flavor: 's3' });
      expectType(result, 'ValidationError', 'flavor');
      expect(result.message).toContain('kubernetes');
    });
  });

  it('validates the configuration against the flavor schema, naming the field', async () => {
    await expectUnchanged(async () => {
      const unknown = await registerComponent(server, {
        type: 'ARTIFACT_STORE', name: uniqueName('s3'), flavor: 's3', configuration: { path: 's3://bucket', bucketRegion: 'eu' },
      });
      expectType(unknown, 'ValidationError', 'configuration.bucketRegion');
      const wrongType = await registerComponent(server, {
        type: 'ARTIFACT_STORE', name: uniqueName('s3'), flavor: 's3', configuration: { path: 's3://bucket', region: 42 },
      });
      expectType(wrongType, 'ValidationError', 'configuration.region');
      const missing = await registerComponent(server, { type: 'CONTAINER_REGISTRY', name: uniqueName('r'), flavor: 'default', configuration: {} });
      expectType(missing, 'ValidationError', 'configuration.uri');
    });
  });

  it('checks artifact store paths against the flavor scheme', async () => {
    const cases: [string, string, string | null][] = [
      ['local', '/var/artifacts', null],
      ['local', 's3://bucket/x', 'configuration.path must be a local directory, not a URL; remote stores use the s3, gcs or azure flavor'],
      ['s3', 's3://bucket/x', null],
      ['s3', '/var/artifacts', 'configuration.path must start with s3://'],
      ['gcs', 'gs://bucket/x', null],
      ['gcs', 's3://bucket/x', 'configuration.path must start with gs://'],
      ['azure', 'az://container/x', null],
      ['azure', 'abfs://container/x', null],
      ['azure', 'gs://container/x', 'configuration.path must start with az:// or abfs://'],
    ];
    for (const [flavor, path, error] of cases) {
      const result = await registerComponent(server, { type: 'ARTIFACT_STORE', name: uniqueName(flavor), flavor, configuration: { path } });
      if (!error) expectType(result, 'StackComponent');
      else expect(result).toMatchObject({ __typename: 'ValidationError', field: 'configuration.path', message: error });
    }
  });

  it('stores secret settings but never returns them', async () => {
    const name = uniqueName('secret-store');
    const secretValue = 'AKIA-very-secret-value';
    const created = await registerComponent(server, {
      type: 'ARTIFACT_STORE', name, flavor: 's3',
      configuration: { path: 's3://bucket', region: 'eu-west-1', awsSecretAccessKey: secretValue, awsAccessKeyId: 'id-secret-too' },
    });
    expectType(created, 'StackComponent');
    expect(created.configuration).toEqual({ path: 's3://bucket', region: 'eu-west-1' });
    expect(created.secretsSet).toEqual(['awsAccessKeyId', 'awsSecretAccessKey']);
    const everything = await server.request(`{ components(first: 100) { ... on QueryComponentsConnection { edges { node { configuration labels secretsSet } } } } }`);
    expect(JSON.stringify(everything)).not.toContain(secretValue);
    const flavors = await server.gql(`{ flavors(type: ARTIFACT_STORE) { name secretFields } }`);
    expect(flavors.flavors.find((f: { name: string }) => f.name === 's3').secretFields).toContain('awsSecretAccessKey');
  });

  it('validates updates, merges settings and labels, and keeps secrets', async () => {
    const name = uniqueName('tracker');
    expectType(await registerComponent(server, {
      type: 'EXPERIMENT_TRACKER', name, flavor: 'mlflow',
      configuration: { trackingUri: 'http://mlflow:5000', trackingToken: 'tok' }, labels: { a: '1', b: '2' },
    }), 'StackComponent');
    const update = (configuration: unknown, labels?: unknown) =>
      server.gql(
        `mutation($name: String!, $configuration: JSONObject, $labels: JSONObject) {
          updateComponent(type: EXPERIMENT_TRACKER, name: $name, configuration: $configuration, labels: $labels) {
            ${RESULT_FIELDS} ... on StackComponent { configuration labels secretsSet }
          }
        }`,
        { name, configuration, labels },
      );
    const updated = (await update({ trackingUsername: 'alice' }, { b: null, c: '3' })).updateComponent;
    expect(updated).toMatchObject({
      __typename: 'StackComponent',
      configuration: { trackingUri: 'http://mlflow:5000', trackingUsername: 'alice' },
      labels: { a: '1', c: '3' },
      secretsSet: ['trackingToken'],
    });
    await expectUnchanged(async () => {
      expectType((await update({ trackingUri: 5 })).updateComponent, 'ValidationError', 'configuration.trackingUri');
      expectType((await update({ nope: true })).updateComponent, 'ValidationError', 'configuration.nope');
      expectType((await update({ trackingUri: null })).updateComponent, 'ValidationError', 'configuration.trackingUri');
      expectType((await update({}, { bad: 7 })).updateComponent, 'ValidationError', 'labels.bad');
    });
  });

  it('renames a component, refusing a taken name', async () => {
    const a = uniqueName('a');
    const b = uniqueName('b');
    for (const name of [a, b]) expectType(await registerComponent(server, { type: 'ORCHESTRATOR', name, flavor: 'local' }), 'StackComponent');
    const rename = async (name: string, newName: string) =>
      (await server.gql(
        `mutation($name: String!, $newName: String!) { renameComponent(type: ORCHESTRATOR, name: $name, newName: $newName) { ${RESULT_FIELDS} ... on StackComponent { name } } }`,
        { name, newName },
      )).renameComponent;
    await expectUnchanged(async () => expectType(await rename(a, b), 'NameTakenError', 'newName'));
    const renamed = expectType(await rename(a, `${a}-new`), 'StackComponent');
    expect(renamed.name).toBe(`${a}-new`);
    expectType(await rename('no-such-orchestrator', 'x'), 'NotFoundError', 'name');
  });

  it('refuses to delete a component that a stack uses', async () => {
    const store = uniqueName('used-store');
    expectType(await registerComponent(server, { type: 'ARTIFACT_STORE', name: store, flavor: 'local', configuration: { path: '/x' } }), 'StackComponent');
    const stack = uniqueName('user');
    expectType(await registerStack(server, { name: stack, components: { orchestrator: 'default', artifactStore: store } }), 'Stack');
    const remove = async () =>
      (await server.gql(`mutation($name: String!) { deleteComponent(type: ARTIFACT_STORE, name: $name) { ${RESULT_FIELDS} ... on DeleteComponentPayload { deletedId } } }`, { name: store })).deleteComponent;
    await expectUnchanged(async () => {
      const refused = expectType(await remove(), 'IllegalOperationError', 'name');
      expect(refused.message).toContain(stack);
    });
    await server.gql(`mutation($name: String!) { deleteStack(name: $name) { __typename } }`, { name: stack });
    expectType(await remove(), 'DeleteComponentPayload');
    expectType(await remove(), 'NotFoundError');
  });

  it('protects the default orchestrator and artifact store from rename, update and delete', async () => {
    await expectUnchanged(async () => {
      for (const type of ['ORCHESTRATOR', 'ARTIFACT_STORE']) {
        const data = await server.gql(
          `mutation($type: ComponentType!) {
            rename: renameComponent(type: $type, name: "default", newName: "other") { ${RESULT_FIELDS} }
            update: updateComponent(type: $type, name: "default", labels: { x: "y" }) { ${RESULT_FIELDS} }
            remove: deleteComponent(type: $type, name: "default") { ${RESULT_FIELDS} }
          }`,
          { type },
        );
        for (const result of Object.values(data)) expectType(result as never, 'IllegalOperationError', 'name');
      }
    });
  });

  it('lists components as a connection with filters and a total count', async () => {
    const prefix = uniqueName('listed');
    for (const suffix of ['a', 'b', 'c']) {
      expectType(await registerComponent(server, { type: 'MODEL_DEPLOYER', name: `${prefix}-${suffix}`, flavor: 'mlflow' }), 'StackComponent');
    }
    expectType(await registerComponent(server, { type: 'MODEL_DEPLOYER', name: `${prefix}-seldon`, flavor: 'seldon', configuration: { baseUrl: 'http://seldon' } }), 'StackComponent');
    const page = (after?: string) =>
      server.gql(
        `query($prefix: String!, $after: String) {
          components(type: MODEL_DEPLOYER, flavor: "mlflow", nameContains: $prefix, first: 2, after: $after) { ... on QueryComponentsConnection {
            totalCount pageInfo { hasNextPage endCursor } edges { node { name } }
          } }
        }`,
        { prefix, after },
      );
    const first = (await page()).components;
    expect(first.totalCount).toBe(3);
    expect(first.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual([`${prefix}-a`, `${prefix}-b`]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await page(first.pageInfo.endCursor)).components;
    expect(second.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual([`${prefix}-c`]);
    expect(second.pageInfo.hasNextPage).toBe(false);
    const likeCharacters = await server.gql(`{ components(nameContains: "%") { ... on QueryComponentsConnection { totalCount } } }`);
    expect(likeCharacters.components.totalCount).toBe(0);
  });

  it('offers a flavor with a JSON schema for every component type', async () => {
    const data = await server.gql(`{ __type(name: "ComponentType") { enumValues { name } } flavors { type name configSchema } }`);
    const types = data.__type.enumValues.map((v: { name: string }) => v.name);
    for (const type of types) {
      expect(data.flavors.some((f: { type: string }) => f.type === type), type).toBe(true);
    }
    const filtered = await server.gql(`{ flavors(type: ORCHESTRATOR) { name } }`);
    expect(filtered.flavors.map((f: { name: string }) => f.name).sort()).toEqual(['airflow', 'bullmq', 'kubernetes', 'local']);
    const local = data.flavors.find((f: { type: string; name: string }) => f.type === 'ARTIFACT_STORE' && f.name === 'local');
    expect(local.configSchema).toMatchObject({ type: 'object', required: ['path'], additionalProperties: false });
  });

  it('refetches a component by its global id', async () => {
    const created = expectType(await registerComponent(server, { type: 'ALERTER', name: uniqueName('alert'), flavor: 'slack' }), 'StackComponent');
    const data = await server.gql(`query($id: ID!) { node(id: $id) { __typename ... on StackComponent { name } } }`, { id: created.id });
    expect(data.node).toEqual({ __typename: 'StackComponent', name: created.name });
  });
});
