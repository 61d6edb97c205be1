// Stack export to YAML and import back (../shared/domain.md, "Export/import").
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { databaseTargets, uniqueName, useTestServer, type TestServer } from './harness';
import { RESULT_FIELDS, expectType, registerComponent, registerStack, registrySnapshot } from './registry-operations';

describe.each(databaseTargets)('stack export and import on $name', (target) => {
  const testServer = useTestServer(target);
  let server: TestServer;
  beforeAll(() => {
    server = testServer();
  });

  const exportStack = async (name: string) =>
    (await server.gql(`query($name: String!) { exportStack(name: $name) { ${RESULT_FIELDS} ... on ExportStackPayload { yaml } } }`, { name })).exportStack;
  const importStack = async (yaml: string, name?: string) =>
    (
      await server.gql(
        `mutation($yaml: String!, $name: String) { importStack(yaml: $yaml, name: $name) {
          ${RESULT_FIELDS}
          ... on ImportStackPayload {
            stack { name components { type name flavorName configuration } }
            reusedComponents { type name }
            createdComponents { type name }
          }
        } }`,
        { yaml, name },
      )
    ).importStack;

  it('registers a local store and a stack, sets it active, exports, deletes and imports it again', async () => {
    const store = uniqueName('my-store');
    const stack = uniqueName('my-stack');
    expectType(await registerComponent(server, { type: 'ARTIFACT_STORE', name: store, flavor: 'local', configuration: { path: '/srv/artifacts' } }), 'StackComponent');
    expectType(await registerStack(server, { name: stack, components: { orchestrator: 'default', artifactStore: store } }), 'Stack');
    expectType((await server.gql(`mutation($n: String!) { setActiveStack(name: $n) { __typename } }`, { n: stack })).setActiveStack, 'Stack');
    const exported = expectType(await exportStack(stack), 'ExportStackPayload');
    expect(parse(exported.yaml as string)).toEqual({
      format_version: 1,
      stack_name: stack,
      description: '',
      labels: {},
      components: {
        orchestrator: { name: 'default', flavor: 'local', configuration: {} },
        artifact_store: { name: store, flavor: 'local', configuration: { path: '/srv/artifacts' } },
      },
    });
    await server.gql(`mutation { setActiveStack(name: "default") { __typename } }`);
    const deleted = await server.gql(`mutation($n: String!) { deleteStack(name: $n, recursive: true) { __typename ... on DeleteStackPayload { deletedComponents { name } } } }`, { n: stack });
    expect(deleted.deleteStack.deletedComponents).toEqual([{ name: store }]);

    const imported = expectType(await importStack(exported.yaml as string), 'ImportStackPayload');
    expect(imported.stack).toEqual({
      name: stack,
      components: [
        { type: 'ORCHESTRATOR', name: 'default', flavorName: 'local', configuration: {} },
        { type: 'ARTIFACT_STORE', name: store, flavorName: 'local', configuration: { path: '/srv/artifacts' } },
      ],
    });
    expect(imported.reusedComponents).toEqual([{ type: 'ORCHESTRATOR', name: 'default' }]);
    expect(imported.createdComponents).toEqual([{ type: 'ARTIFACT_STORE', name: store }]);
  });

  it('reuses identical components and gives a differing one a free name', async () => {
    const store = uniqueName('store');
    const stack = uniqueName('stack');
    expectType(await registerComponent(server, { type: 'ARTIFACT_STORE', name: store, flavor: 'local', configuration: { path: '/one' } }), 'StackComponent');
    expectType(await registerStack(server, { name: stack, components: { orchestrator: 'default', artifactStore: store } }), 'Stack');
    const { yaml } = await exportStack(stack);

    const copy = expectType(await importStack(yaml, `${stack}-copy`), 'ImportStackPayload');
    expect(copy.createdComponents).toEqual([]);
    expect(copy.reusedComponents).toEqual([{ type: 'ORCHESTRATOR', name: 'default' }, { type: 'ARTIFACT_STORE', name: store }]);

    const changed = (yaml as string).replace('/one', '/two');
    const other = expectType(await importStack(changed, `${stack}-other`), 'ImportStackPayload');
    expect(other.createdComponents).toEqual([{ type: 'ARTIFACT_STORE', name: `${store}-2` }]);
  });

  it('never exports secrets, and reuses the component that holds them', async () => {
    const store = uniqueName('s3');
    const stack = uniqueName('cloud');
    expectType(await registerComponent(server, {
      type: 'ARTIFACT_STORE', name: store, flavor: 's3',
      configuration: { path: 's3://bucket/p', region: 'eu-west-1', awsSecretAccessKey: 'super-secret-key' },
    }), 'StackComponent');
    expectType(await registerStack(server, { name: stack, components: { orchestrator: 'default', artifactStore: store } }), 'Stack');
    const { yaml } = await exportStack(stack);
    expect(yaml).not.toContain('super-secret-key');
    expect(yaml).not.toContain('awsSecretAccessKey');
    const imported = expectType(await importStack(yaml, `${stack}-2`), 'ImportStackPayload');
    expect(imported.reusedComponents).toContainEqual({ type: 'ARTIFACT_STORE', name: store });
  });

  it('rejects bad documents and taken names without creating anything', async () => {
    const stack = uniqueName('exists');
    const store = uniqueName('fresh-store');
    expectType(await registerStack(server, { name: stack, components: { orchestrator: 'default', artifactStore: 'default' } }), 'Stack');
    const document = (components: string, name = stack, version = 1) =>
      `format_version: ${version}\nstack_name: ${name}\ncomponents:\n${components}`;
    const newStore = `  orchestrator: { name: default, flavor: local, configuration: {} }\n  artifact_store: { name: ${store}, flavor: local, configuration: { path: /p } }\n`;
    const before = await registrySnapshot(server);
    expectType(await importStack(document(newStore)), 'NameTakenError', 'name');
    expectType(await importStack('{ not yaml: ['), 'ValidationError', 'yaml');
    expectType(await importStack(document(newStore, uniqueName('v'), 2)), 'ValidationError', 'yaml.format_version');
    expectType(await importStack(document(`  artifact_store: { name: x, flavor: s3, configuration: { path: /not-s3 } }\n  orchestrator: { name: default, flavor: local }\n`, uniqueName('bad'))), 'ValidationError', 'yaml.components.artifact_store.configuration.path');
    expectType(await importStack(document(`  artifact_store: { name: x, flavor: local, configuration: { path: /p } }\n`, uniqueName('noorch'))), 'ValidationError', 'components.orchestrator');
    expectType(await importStack(document(`  spaceship: { name: x, flavor: local }\n`, uniqueName('unknown'))), 'ValidationError', 'yaml.components.spaceship');
    expect(await registrySnapshot(server)).toEqual(before);
    const missing = await exportStack(uniqueName('nothing'));
    expectType(missing, 'NotFoundError', 'name');
  });
});
