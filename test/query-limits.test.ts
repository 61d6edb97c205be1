// Query size guards: hostile documents are refused before they run, while a dashboard's nested
// queries still pass; and nothing internal reaches the client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseTargets, startTestServer, type TestServer } from './harness';

async function post(server: TestServer, query: string, accept = 'application/graphql-response+json') {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: { message: string }[] } };
}

const nestedBraces = (levels: number) => `${'{ a '.repeat(levels)}${'}'.repeat(levels)}`;

// First in the file: graphql's parser recurses per nesting level, and before the JIT has
// optimised it a few thousand levels overflowed the stack (a 500) where a warm server said 400.
describe.each(databaseTargets)('deeply nested documents sent to a new server on $name', (target) => {
  for (const levels of [5_000, 50_000]) {
    it(`refuses ${levels} nested braces as its first request with a 400`, async () => {
      const server = await startTestServer(target);
      try {
        const response = await post(server, nestedBraces(levels));
        expect(response.status).toBe(400);
        expect(response.body.errors?.[0].message).toBe('Syntax Error: Nesting limit of 64 exceeded.');
      } finally {
        await server.close();
      }
    });
  }
});

describe('query limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ name: 'pglite' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('allows the nested connection query a dashboard sends', async () => {
    const response = await server.request(`{
      stacks(first: 50) { ... on QueryStacksConnection { totalCount pageInfo { hasNextPage endCursor } edges { cursor node {
        id name description isActive labels createdAt
        components { id type name flavorName configuration labels secretsSet
          flavor { name description configSchema secretFields }
          stacks { name components { name flavor { name } } } }
      } }
    } } }`);
    expect(response.errors).toBeUndefined();
    expect(response.data.stacks.totalCount).toBe(1);
  });

  it('refuses a deeply nested query', async () => {
    let selection = 'name';
    for (let depth = 0; depth < 10; depth += 1) selection = `components { stacks { ${selection} } }`;
    const response = await server.request(`{ activeStack { ${selection} } }`);
    expect(response.data).toBeUndefined();
    expect(response.errors?.[0].message).toMatch(/depth/i);
    expect(response.status).toBe(400);
  });

  it('refuses an alias bomb', async () => {
    const aliases = Array.from({ length: 200 }, (_, index) => `a${index}: activeStack { name }`).join(' ');
    const response = await server.request(`{ ${aliases} }`);
    expect(response.data).toBeUndefined();
    expect(response.errors?.[0].message).toMatch(/alias/i);
    expect(response.status).toBe(400);
  });

  it('counts aliases of __typename against the alias limit', async () => {
    const aliases = Array.from({ length: 1000 }, (_, index) => `t${index}: __typename`).join(' ');
    const response = await server.request(`{ ${aliases} }`);
    expect(response.data).toBeUndefined();
    expect(response.errors?.[0].message).toMatch(/alias/i);
    expect(response.status).toBe(400);
  });

  it('parses nesting up to the limit, and refuses it beyond', async () => {
    // Braces, parentheses and lists all count: here 2 levels of them, then the list's.
    const list = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;
    const within = await post(server, `{ field(argument: ${list(62)}) }`);
    expect(within.body.errors?.[0].message).toMatch(/Cannot query field "field"/);
    const beyond = await post(server, `{ field(argument: ${list(63)}) }`);
    expect(beyond).toMatchObject({ status: 400, body: { errors: [{ message: 'Syntax Error: Nesting limit of 64 exceeded.' }] } });
  });

  it('answers a refused document with 400 only to a client that accepts application/graphql-response+json', async () => {
    let deep = 'name';
    for (let depth = 0; depth < 10; depth += 1) deep = `components { stacks { ${deep} } }`;
    const refused = {
      depth: `{ activeStack { ${deep} } }`,
      aliases: `{ ${Array.from({ length: 40 }, (_, index) => `t${index}: __typename`).join(' ')} }`,
      tokens: `{ ${'__typename '.repeat(6000)}}`,
      nesting: nestedBraces(100),
    };
    for (const [limit, query] of Object.entries(refused)) {
      // GraphQL over HTTP: a legacy application/json client gets 200 with the errors, and no data.
      for (const accept of ['application/json', '*/*']) {
        const legacy = await post(server, query, accept);
        expect(legacy.status, `${limit} with ${accept}`).toBe(200);
        expect(legacy.body.data, limit).toBeUndefined();
        expect(legacy.body.errors?.[0].message, limit).toMatch(/limit of \d+ exceeded/);
      }
      expect((await post(server, query)).status, limit).toBe(400);
    }
  });

  it('refuses a huge document', async () => {
    const fields = Array.from({ length: 6000 }, () => '__typename').join(' ');
    const response = await server.request(`{ ${fields} }`);
    expect(response.data).toBeUndefined();
    expect(response.errors?.[0].message).toMatch(/token/i);
    expect(response.status).toBe(400);
  });

  it('refuses an expensive fan-out', async () => {
    // Repeating a field is legal GraphQL and costs the server each time it is planned.
    const scalars = 'id name description labels isActive isDefault createdAt updatedAt '.repeat(10);
    let selection = scalars;
    for (let level = 0; level < 4; level += 1) selection = `${scalars} components { id name stacks { ${selection} } }`;
    const response = await server.request(`{ stacks(first: 100) { ... on QueryStacksConnection { edges { node { ${selection} } } } } }`);
    expect(response.data).toBeUndefined();
    expect(response.errors?.[0].message).toMatch(/cost/i);
    expect(response.status).toBe(400);
  });

  it('does not suggest field names to someone probing the schema', async () => {
    const response = await server.request(`{ activeStak { name } }`);
    expect(response.errors?.[0].message).not.toMatch(/did you mean/i);
  });

  it('masks an invalid global id without leaking internals', async () => {
    const response = await server.request(`{ node(id: "bm9wZQ==") { id } }`);
    const text = JSON.stringify(response);
    expect(text).not.toMatch(/stack|at .*\.ts|select|drizzle/i);
    expect(response.status).toBeLessThan(500);
  });
});
