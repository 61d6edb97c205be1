// GraphQL operations the registry tests share: registering things and reading the whole registry.
import { expect } from 'vitest';
import type { TestServer } from './harness';

export const RESULT_FIELDS = `__typename ... on Error { message field }`;

export interface MutationResult {
  __typename: string;
  message?: string;
  field?: string | null;
  [key: string]: unknown;
}

export async function registerComponent(
  server: TestServer,
  input: { type: string; name: string; flavor: string; configuration?: Record<string, unknown>; labels?: Record<string, unknown> },
): Promise<MutationResult> {
  const data = await server.gql(
    `mutation($type: ComponentType!, $name: String!, $flavor: String!, $configuration: JSONObject, $labels: JSONObject) {
      registerComponent(type: $type, name: $name, flavor: $flavor, configuration: $configuration, labels: $labels) {
        ${RESULT_FIELDS}
        ... on StackComponent { id type name flavorName configuration labels secretsSet }
      }
    }`,
    input,
  );
  return data.registerComponent;
}

export async function registerStack(
  server: TestServer,
  input: { name: string; components: Record<string, string>; description?: string; labels?: Record<string, unknown> },
): Promise<MutationResult> {
  const data = await server.gql(
    `mutation($name: String!, $components: StackComponentsInput!, $description: String, $labels: JSONObject) {
      registerStack(name: $name, components: $components, description: $description, labels: $labels) {
        ${RESULT_FIELDS}
        ... on Stack { id name description labels components { type name } }
      }
    }`,
    input,
  );
  return data.registerStack;
}

/** Registers a local artifact store and a stack using it with the default orchestrator. */
export async function registerLocalStack(server: TestServer, stackName: string, storeName = `${stackName}-store`) {
  expectType(await registerComponent(server, { type: 'ARTIFACT_STORE', name: storeName, flavor: 'local', configuration: { path: `/tmp/${storeName}` } }), 'StackComponent');
  expectType(await registerStack(server, { name: stackName, components: { orchestrator: 'default', artifactStore: storeName } }), 'Stack');
}

export function expectType(result: MutationResult, typename: string, field?: string | null): MutationResult {
  expect(result, JSON.stringify(result)).toMatchObject({ __typename: typename });
  if (field !== undefined) expect(result.field).toBe(field);
  return result;
}

/** Everything the registry holds, in a stable order, to show that a failed mutation changed nothing. */
export async function registrySnapshot(server: TestServer): Promise<unknown> {
  return server.gql(`{
    activeStack { name }
    stacks(first: 100) { ... on QueryStacksConnection { totalCount nodes: edges { node { id name description labels updatedAt components { id type name } } } } }
    components(first: 100) { ... on QueryComponentsConnection { totalCount edges { node { id type name flavorName configuration secretsSet labels updatedAt } } } }
  }`);
}

/** Runs a mutation that must fail and checks that the registry is exactly as before. */
export async function expectUnchanged(server: TestServer, mutation: () => Promise<unknown>): Promise<void> {
  const before = await registrySnapshot(server);
  await mutation();
  expect(await registrySnapshot(server)).toEqual(before);
}
