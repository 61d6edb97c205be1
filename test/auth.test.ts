// The auth matrix: every query and mutation, called with no token, an expired token, a revoked
// token, and as each role, gets the outcome its scope promises. Plus local mode, the refusal to
// listen beyond loopback without auth, and the rate limit on failed authentication.
import { randomBytes } from 'node:crypto';
import { isObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { StackyardClient } from '../client';
import { schema } from '../server/schema';
import { databaseTargets, startTestServer, uniqueName, useTestServer, type TestServer } from './harness';

type Caller = 'anonymous' | 'expired' | 'revoked' | 'viewer' | 'editor' | 'service_account' | 'admin';
type Scope = 'reader' | 'editor' | 'reporter' | 'member' | 'admin';

const ALLOWED: Record<Scope, Caller[]> = {
  reader: ['viewer', 'editor', 'service_account', 'admin'],
  editor: ['editor', 'admin'],
  reporter: ['editor', 'service_account', 'admin'],
  member: ['viewer', 'editor', 'admin'],
  admin: ['admin'],
};
const CALLERS: Caller[] = ['anonymous', 'expired', 'revoked', 'viewer', 'editor', 'service_account', 'admin'];

const ERR = '__typename ... on Error { message }';
const NO_SUCH_ID = 'UGlwZWxpbmVSdW46MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw'; // PipelineRun:0000…

/** One case per root field: an operation a caller of the right scope may run, as data. */
const cases: { field: string; scope: Scope; query: string; variables?: () => Record<string, unknown> }[] = [
  { field: 'activeStack', scope: 'reader', query: '{ activeStack { name } }' },
  { field: 'apiTokens', scope: 'member', query: '{ apiTokens { name } }' },
  { field: 'artifact', scope: 'reader', query: '{ artifact(name: "x") { name } }' },
  { field: 'artifacts', scope: 'reader', query: '{ artifacts(first: 1) { ... on QueryArtifactsConnection { totalCount } } }' },
  { field: 'artifactVersion', scope: 'reader', query: '{ artifactVersion(name: "x") { id } }' },
  { field: 'artifactVersions', scope: 'reader', query: '{ artifactVersions(first: 1) { ... on QueryArtifactVersionsConnection { totalCount } } }' },
  { field: 'cachedStepRun', scope: 'reader', query: '{ cachedStepRun(cacheKey: "x") { id } }' },
  { field: 'compareRuns', scope: 'reader', query: `{ compareRuns(ids: ["${NO_SUCH_ID}", "x"]) { ${ERR} } }` },
  { field: 'component', scope: 'reader', query: '{ component(type: ORCHESTRATOR, name: "default") { name } }' },
  { field: 'componentSecrets', scope: 'reporter', query: '{ componentSecrets(id: "x") }' },
  { field: 'components', scope: 'reader', query: '{ components(first: 1) { ... on QueryComponentsConnection { totalCount } } }' },
  { field: 'exportStack', scope: 'reader', query: `{ exportStack(name: "default") { ${ERR} } }` },
  { field: 'flavors', scope: 'reader', query: '{ flavors { name } }' },
  { field: 'me', scope: 'reader', query: '{ me { name role } }' },
  { field: 'node', scope: 'reader', query: `{ node(id: "${NO_SUCH_ID}") { id } }` },
  { field: 'nodes', scope: 'reader', query: `{ nodes(ids: ["${NO_SUCH_ID}"]) { id } }` },
  { field: 'pipeline', scope: 'reader', query: '{ pipeline(name: "x") { name } }' },
  { field: 'pipelines', scope: 'reader', query: '{ pipelines(first: 1) { ... on QueryPipelinesConnection { totalCount } } }' },
  { field: 'run', scope: 'reader', query: `{ run(id: "${NO_SUCH_ID}") { name } }` },
  { field: 'runByReference', scope: 'reader', query: `{ runByReference(reference: "no-such-run") { ${ERR} } }` },
  { field: 'runs', scope: 'reader', query: `{ runs(first: 1) { ${ERR} } }` },
  { field: 'serverLimits', scope: 'reader', query: '{ serverLimits { maxPageSize } }' },
  { field: 'search', scope: 'reader', query: '{ search(query: "default") { __typename } }' },
  { field: 'stack', scope: 'reader', query: '{ stack(name: "default") { name } }' },
  { field: 'stepLog', scope: 'reader', query: `{ stepLog(stepRunId: "x") { ${ERR} } }` },
  { field: 'stacks', scope: 'reader', query: '{ stacks(first: 1) { ... on QueryStacksConnection { totalCount } } }' },
  { field: 'users', scope: 'admin', query: '{ users { name } }' },
  { field: 'workers', scope: 'reader', query: '{ workers { name currentSteps { id } } }' },
  { field: 'copyStack', scope: 'editor', query: `mutation($n: String!) { copyStack(name: "default", newName: $n) { ${ERR} } }`, variables: () => ({ n: uniqueName('copy') }) },
  { field: 'createApiToken', scope: 'member', query: `mutation { createApiToken(name: "matrix") { ${ERR} } }` },
  { field: 'createUser', scope: 'admin', query: `mutation($n: String!) { createUser(name: $n, role: VIEWER) { ${ERR} } }`, variables: () => ({ n: uniqueName('user') }) },
  { field: 'deleteComponent', scope: 'editor', query: `mutation { deleteComponent(type: ALERTER, name: "none") { ${ERR} } }` },
  { field: 'deleteRun', scope: 'editor', query: `mutation { deleteRun(id: "${NO_SUCH_ID}") { ${ERR} } }` },
  { field: 'deleteStack', scope: 'editor', query: `mutation { deleteStack(name: "none") { ${ERR} } }` },
  { field: 'deleteUser', scope: 'admin', query: `mutation { deleteUser(name: "none") { ${ERR} } }` },
  { field: 'logMetrics', scope: 'reporter', query: `mutation { logMetrics(runId: "${NO_SUCH_ID}", points: [{ name: "loss", value: 1, step: 0, timestamp: "2026-01-01T00:00:00Z" }]) { ${ERR} } }` },
  { field: 'finishRun', scope: 'reporter', query: `mutation { finishRun(runId: "${NO_SUCH_ID}") { ${ERR} } }` },
  { field: 'stopRun', scope: 'reporter', query: `mutation { stopRun(runId: "${NO_SUCH_ID}") { ${ERR} } }` },
  { field: 'finishStep', scope: 'reporter', query: `mutation { finishStep(stepRunId: "x", status: COMPLETED) { ${ERR} } }` },
  { field: 'detachRun', scope: 'reporter', query: `mutation { detachRun(runId: "${NO_SUCH_ID}") { ${ERR} } }` },
  { field: 'heartbeat', scope: 'reporter', query: `mutation { heartbeat(runId: "${NO_SUCH_ID}") { ${ERR} } }` },
  { field: 'importStack', scope: 'editor', query: `mutation { importStack(yaml: "not: [valid") { ${ERR} } }` },
  { field: 'logMetadata', scope: 'reporter', query: `mutation { logMetadata(id: "${NO_SUCH_ID}", metadata: {}) { ${ERR} } }` },
  { field: 'registerComponent', scope: 'editor', query: `mutation($n: String!) { registerComponent(type: ALERTER, name: $n, flavor: "slack") { ${ERR} } }`, variables: () => ({ n: uniqueName('alerter') }) },
  { field: 'registerStack', scope: 'editor', query: `mutation($n: String!) { registerStack(name: $n, components: { orchestrator: "default", artifactStore: "default" }) { ${ERR} } }`, variables: () => ({ n: uniqueName('stack') }) },
  { field: 'removeStackComponents', scope: 'editor', query: `mutation { removeStackComponents(name: "none", types: [ALERTER]) { ${ERR} } }` },
  { field: 'renameComponent', scope: 'editor', query: `mutation { renameComponent(type: ALERTER, name: "none", newName: "other") { ${ERR} } }` },
  { field: 'renameStack', scope: 'editor', query: `mutation { renameStack(name: "none", newName: "other") { ${ERR} } }` },
  { field: 'reportStepOutputs', scope: 'reporter', query: `mutation { reportStepOutputs(stepRunId: "x", outputs: []) { ${ERR} } }` },
  { field: 'revokeApiToken', scope: 'member', query: `mutation { revokeApiToken(id: "x") { ${ERR} } }` },
  { field: 'setActiveStack', scope: 'editor', query: `mutation { setActiveStack(name: "default") { ${ERR} } }` },
  { field: 'startRun', scope: 'reporter', query: `mutation($p: String!) { startRun(pipeline: $p) { ${ERR} } }`, variables: () => ({ p: uniqueName('pipeline') }) },
  { field: 'startStep', scope: 'reporter', query: `mutation { startStep(runId: "${NO_SUCH_ID}", name: "s") { ${ERR} } }` },
  { field: 'updateComponent', scope: 'editor', query: `mutation { updateComponent(type: ALERTER, name: "none", labels: {}) { ${ERR} } }` },
  { field: 'updateStack', scope: 'editor', query: `mutation { updateStack(name: "none", description: "x") { ${ERR} } }` },
  {
    field: 'workerHeartbeat',
    scope: 'reporter',
    query: `mutation($n: String!) { workerHeartbeat(input: { name: $n, host: "h", pid: 1, queue: "q", concurrency: 1, currentStepRunIds: [] }) { ${ERR} } }`,
    variables: () => ({ n: uniqueName('worker') }),
  },
];

type Outcome = 'allowed' | 'forbidden' | 'unauthenticated';

async function call(server: TestServer, token: string | undefined, query: string, variables?: Record<string, unknown>) {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: response.status,
    wwwAuthenticate: response.headers.get('www-authenticate'),
    body: (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] },
  };
}

function outcomeOf(result: Awaited<ReturnType<typeof call>>): Outcome {
  const code = result.body.errors?.[0]?.extensions?.code;
  // No token and a bad token alike: HTTP's 401 with its challenge, and the code in the body.
  if (result.status === 401 && result.wwwAuthenticate === 'Bearer' && code === 'UNAUTHENTICATED') return 'unauthenticated';
  if (code === 'FORBIDDEN') return 'forbidden';
  expect(result.body.errors, JSON.stringify(result.body)).toBeUndefined();
  return 'allowed';
}

function expectedOutcome(caller: Caller, scope: Scope): Outcome {
  if (caller === 'anonymous' || caller === 'expired' || caller === 'revoked') return 'unauthenticated';
  return ALLOWED[scope].includes(caller) ? 'allowed' : 'forbidden';
}

/** Tokens for every caller of the matrix, made through the API by the admin. */
async function makeCallers(server: TestServer, adminToken: string): Promise<Record<Caller, string | undefined>> {
  const admin = new StackyardClient({ url: server.url, token: adminToken, env: {} });
  const tokens: Partial<Record<Caller, string | undefined>> = { anonymous: undefined, admin: adminToken };
  for (const role of ['viewer', 'editor', 'service_account'] as const) {
    const name = uniqueName(role);
    await admin.createUser(name, role.toUpperCase() as 'VIEWER');
    tokens[role] = (await admin.createApiToken({ name: 'matrix', userName: name })).token;
  }
  const revoked = await admin.createApiToken({ name: 'to revoke' });
  await admin.revokeApiToken(revoked.apiToken.id);
  tokens.revoked = revoked.token;
  // A token that lives 50 ms.
  tokens.expired = (await admin.createApiToken({ name: 'short-lived', expiresInDays: 50 / 86_400_000 })).token;
  await new Promise((resolve) => setTimeout(resolve, 100));
  return tokens as Record<Caller, string | undefined>;
}

describe.each(databaseTargets)('auth on $name', (target) => {
  const adminToken = `sy_test_${randomBytes(16).toString('hex')}`;
  const server = useTestServer(target, { adminToken });

  it('covers every query and mutation of the schema', () => {
    const rootFields = ['Query', 'Mutation'].flatMap((name) => {
      const type = schema.getType(name);
      return isObjectType(type) ? Object.keys(type.getFields()) : [];
    });
    expect(cases.map((c) => c.field).sort()).toEqual(rootFields.sort());
  });

  it('gives each caller the outcome its role allows, on every field', async () => {
    const tokens = await makeCallers(server(), adminToken);
    const mismatches: string[] = [];
    for (const testCase of cases) {
      for (const caller of CALLERS) {
        const outcome = outcomeOf(await call(server(), tokens[caller], testCase.query, testCase.variables?.()));
        const expected = expectedOutcome(caller, testCase.scope);
        if (outcome !== expected) mismatches.push(`${testCase.field} as ${caller}: ${outcome}, expected ${expected}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('refuses a refused request without changing anything', async () => {
    const tokens = await makeCallers(server(), adminToken);
    const name = uniqueName('viewer-made');
    const refused = await call(server(), tokens.viewer, `mutation { registerStack(name: "${name}", components: { orchestrator: "default", artifactStore: "default" }) { __typename } }`);
    expect(outcomeOf(refused)).toBe('forbidden');
    expect(refused.body.errors![0].message).toBe('Your role (viewer) does not allow this');
    const admin = new StackyardClient({ url: server().url, token: adminToken, env: {} });
    expect(await admin.getStack(name)).toBeNull();
  });

  it('records who created each stack, component and run, and keeps active stacks per user', async () => {
    const tokens = await makeCallers(server(), adminToken);
    const editor = new StackyardClient({ url: server().url, token: tokens.editor, env: {} });
    const admin = new StackyardClient({ url: server().url, token: adminToken, env: {} });
    const editorName = (await editor.me()).name;
    const store = uniqueName('store');
    await editor.registerComponent({ type: 'ARTIFACT_STORE', name: store, flavor: 'local', configuration: { path: '/tmp/s' } });
    const stack = uniqueName('mine');
    await editor.registerStack({ name: stack, components: { orchestrator: 'default', artifactStore: store } });
    await editor.setActiveStack(stack);
    const run = await new StackyardClient({ url: server().url, token: tokens.service_account, env: {} }).startRun({ pipeline: uniqueName('p'), stack });
    const created = await server().gql(
      `query($s: String!, $c: String!, $r: ID!) {
        stack(name: $s) { createdBy { name } }
        component(type: ARTIFACT_STORE, name: $c) { createdBy { name } }
        run(id: $r) { createdBy { name role } }
      }`,
      { s: stack, c: store, r: run.id },
      adminToken,
    );
    expect(created.stack.createdBy.name).toBe(editorName);
    expect(created.component.createdBy.name).toBe(editorName);
    expect(created.run.createdBy.role).toBe('SERVICE_ACCOUNT');
    expect((await editor.getActiveStack()).name).toBe(stack);
    expect((await admin.getActiveStack()).name).toBe('default');
  });

  it('lets users list and revoke their own tokens, and only admins touch other users', async () => {
    const tokens = await makeCallers(server(), adminToken);
    const viewer = new StackyardClient({ url: server().url, token: tokens.viewer, env: {} });
    const own = await viewer.createApiToken({ name: 'laptop', expiresInDays: 30 });
    expect(own.token).toMatch(/^sy_/);
    expect((await viewer.apiTokens()).map((t) => t.name)).toEqual(['matrix', 'laptop']);
    await viewer.revokeApiToken(own.apiToken.id);
    expect((await call(server(), own.token, '{ me { name } }')).status).toBe(401);
    // Another user's token is not found for a non-admin: ids are not probed.
    const adminTokens = await new StackyardClient({ url: server().url, token: adminToken, env: {} }).apiTokens();
    await expect(viewer.revokeApiToken(adminTokens[0].id)).rejects.toMatchObject({ type: 'NotFoundError' });
    await expect(viewer.apiTokens('admin')).rejects.toMatchObject({ type: 'ServerError', message: 'Your role (viewer) does not allow this' });
  });
});

describe.each(databaseTargets)('local mode on $name', (target) => {
  const server = useTestServer(target);

  it('acts as the local admin without a token, and still refuses a bad one', async () => {
    expect((await server().gql('{ me { name role } }')).me).toEqual({ name: 'local', role: 'ADMIN' });
    const bad = await call(server(), 'sy_not_a_token', '{ me { name } }');
    expect(bad.status).toBe(401);
    expect(bad.body.errors![0]).toMatchObject({ message: 'The token is not valid', extensions: { code: 'UNAUTHENTICATED' } });
  });
});

describe('starting', () => {
  it('refuses to listen beyond loopback without auth', async () => {
    await expect(startTestServer(databaseTargets[0], { host: '0.0.0.0' })).rejects.toThrow(/Refusing to listen on 0\.0\.0\.0 without auth/);
  });

  it('creates the admin on a first start with auth and announces its token once', async () => {
    const announced: string[] = [];
    const first = await startTestServer(databaseTargets[0], { auth: true, announceAdminToken: (token) => announced.push(token), keepDatabase: true });
    await first.close();
    const second = await startTestServer(databaseTargets[0], { auth: true, announceAdminToken: (token) => announced.push(token), databaseLocation: first.databaseLocation });
    try {
      expect(announced).toHaveLength(1);
      const me = await new StackyardClient({ url: second.url, token: announced[0], env: {} }).me();
      expect(me).toMatchObject({ name: 'admin', role: 'ADMIN' });
      const anonymous = await call(second, undefined, '{ me { name } }');
      expect(anonymous).toMatchObject({ status: 401, wwwAuthenticate: 'Bearer' });
      expect(anonymous.body.errors![0]).toMatchObject({ message: 'Sign in: send an API token as "Authorization: Bearer <token>"', extensions: { code: 'UNAUTHENTICATED' } });
      // GraphiQL's page is no operation: it loads without a token, and its requests send one.
      const page = await fetch(`${second.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>Stackyard</title>');
    } finally {
      await second.close();
    }
  });

  it('answers 429 to an address that keeps failing to authenticate', async () => {
    const server = await startTestServer(databaseTargets[0], { adminToken: `sy_test_${randomBytes(16).toString('hex')}` });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 22; i += 1) statuses.push((await call(server, `sy_guess_${i}`, '{ me { name } }')).status);
      expect(statuses.slice(0, 20)).toEqual(Array(20).fill(401));
      expect(statuses.slice(20)).toEqual([429, 429]);
      const blocked = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sy_guess' },
        body: JSON.stringify({ query: '{ me { name } }' }),
      });
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
});
