// The dashboard's stack listing is answered by one SQL statement plus at most one count,
// whatever the page size. The server reports its statement count per request in x-sql-statements.
import { beforeAll, describe, expect, it } from 'vitest';
import { databaseTargets, uniqueName, useTestServer, type TestServer } from './harness';
import { expectType, registerComponent, registerStack } from './registry-operations';

const STACKS_WITH_COMPONENTS = `query($first: Int!, $withCount: Boolean!) {
  stacks(first: $first) { ... on QueryStacksConnection {
    totalCount @include(if: $withCount)
    pageInfo { hasNextPage endCursor }
    edges { node {
      id name isActive labels
      components { id type name configuration secretsSet flavor { name description configSchema } }
      store: component(type: ARTIFACT_STORE) { name }
    } }
  } }
}`;

describe.each(databaseTargets)('query planning on $name', (target) => {
  const testServer = useTestServer(target);
  let server: TestServer;
  beforeAll(async () => {
    server = testServer();
    for (let index = 0; index < 12; index += 1) {
      const store = uniqueName('plan-store');
      await registerComponent(server, { type: 'ARTIFACT_STORE', name: store, flavor: 's3', configuration: { path: 's3://b', awsSecretAccessKey: 'k' } });
      await registerComponent(server, { type: 'ALERTER', name: `${store}-alerter`, flavor: 'slack' });
      expectType(await registerStack(server, { name: uniqueName('plan'), components: { orchestrator: 'default', artifactStore: store, alerter: `${store}-alerter` } }), 'Stack');
    }
  });

  it.each([
    [1, false, 1],
    [10, false, 1],
    [13, true, 2],
  ])('stacks(first: %i) with their components and flavors runs %s → %i statement(s)', async (first, withCount, statements) => {
    const response = await server.request(STACKS_WITH_COMPONENTS, { first, withCount });
    expect(response.errors).toBeUndefined();
    expect(response.data.stacks.edges).toHaveLength(first);
    for (const { node } of response.data.stacks.edges) {
      expect(node.components.length).toBeGreaterThanOrEqual(2);
      expect(node.components.every((c: { flavor: { name: string } }) => typeof c.flavor.name === 'string')).toBe(true);
    }
    expect(Number(response.headers.get('x-sql-statements'))).toBe(statements);
  });
});
