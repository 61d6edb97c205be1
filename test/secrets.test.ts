// Secrets and tokens stay secret: stored encrypted or hashed, never in a response (but the one
// that creates a token) and never in a log line, through every path that touches them.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { StackyardClient } from '../client';
import { createLogger } from '../server/logger';
import { databaseTargets, startTestServer, uniqueName, type DatabaseTarget } from './harness';

/** A server whose log lines, and every response a client with recordingFetch gets, are kept. */
async function recordingServer(target: DatabaseTarget) {
  const logLines: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void logLines.push(line) });
  const adminToken = `sy_admin_${randomBytes(16).toString('hex')}`;
  const server = await startTestServer(target, { adminToken, logger });
  const responses: string[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    responses.push(await response.clone().text());
    return response;
  };
  return { logLines, adminToken, server, responses, recordingFetch };
}

describe.each(databaseTargets)('secrets on $name', (target) => {
  it('never appear in responses or logs, and are encrypted at rest', async () => {
    const { logLines, adminToken, server, responses, recordingFetch } = await recordingServer(target);
    const client = (token: string) => new StackyardClient({ url: server.url, token, fetch: recordingFetch, env: {}, retries: 0 });
    const firstSecret = `first-${randomBytes(12).toString('hex')}`;
    const secondSecret = `second-${randomBytes(12).toString('hex')}`;
    try {
      const admin = client(adminToken);
      const store = uniqueName('lake');
      await admin.registerComponent({ type: 'ARTIFACT_STORE', name: store, flavor: 's3', configuration: { path: 's3://bucket/x', awsSecretAccessKey: firstSecret, awsAccessKeyId: 'AKIA' } });
      const updated = await admin.updateComponent({ type: 'ARTIFACT_STORE', name: store, configuration: { awsSecretAccessKey: secondSecret, region: 'eu-west-1' } });
      expect(updated.secretsSet).toEqual(['awsAccessKeyId', 'awsSecretAccessKey']);
      expect(updated.configuration).toEqual({ path: 's3://bucket/x', region: 'eu-west-1' });
      // A refused update that carries a secret changes nothing and echoes nothing.
      await expect(admin.updateComponent({ type: 'ARTIFACT_STORE', name: store, configuration: { awsSecretAccessKey: firstSecret, region: 7 } })).rejects.toMatchObject({ type: 'ValidationError' });

      const stack = uniqueName('cloud');
      await admin.registerStack({ name: stack, components: { orchestrator: 'default', artifactStore: store } });
      const yaml = await admin.exportStack(stack);
      expect(yaml).toContain('region: eu-west-1');
      const run = await admin.startRun({ pipeline: uniqueName('p'), stack });
      expect(run.stackSnapshot.components.find((c) => c.type === 'ARTIFACT_STORE')!.configuration).toEqual({ path: 's3://bucket/x', region: 'eu-west-1' });
      await admin.getStack(stack);

      const created = await admin.createApiToken({ name: 'short' });
      const creatingResponse = responses.length - 1;
      expect((await client(created.token).me()).name).toBe('admin');
      await admin.revokeApiToken(created.apiToken.id);
      await expect(client(created.token).me()).rejects.toMatchObject({ message: 'The token has been revoked' });
      await expect(client(`sy_guess_${randomBytes(8).toString('hex')}`).me()).rejects.toMatchObject({ message: 'The token is not valid' });

      const secrets = [firstSecret, secondSecret, adminToken, created.token];
      responses.forEach((body, index) => {
        for (const secret of secrets) {
          if (index === creatingResponse && secret === created.token) continue;
          expect(body, `response ${index}`).not.toContain(secret);
        }
      });
      expect(logLines.length).toBeGreaterThan(10);
      for (const line of logLines) for (const secret of secrets) expect(line).not.toContain(secret);

      // At rest: each secret value is ciphertext; the token only as a hash.
      const stored = await server.server.database.db.execute(sql`select secrets::text as secrets from stack_components where name = ${store}`);
      const storedText = String((stored as unknown as { rows: { secrets: string }[] }).rows[0].secrets);
      expect(storedText).toMatch(/"awsSecretAccessKey": "enc:v1:/);
      expect(storedText).not.toContain(secondSecret);
      const tokens = await server.server.database.db.execute(sql`select token_hash from api_tokens`);
      expect(JSON.stringify(tokens)).not.toContain(adminToken);
    } finally {
      await server.close();
    }
  });

  it('of the s3 and azure stores reach only the step process, through componentSecrets, never a response, export, snapshot or log', async () => {
    const { logLines, adminToken, server, responses, recordingFetch } = await recordingServer(target);
    const secret = (name: string) => `${name}-${randomBytes(12).toString('hex')}`;
    const values = {
      s3: { awsAccessKeyId: secret('id'), awsSecretAccessKey: secret('key'), awsSessionToken: secret('session') },
      azure: { accountKey: secret('account'), sasToken: secret('sas'), connectionString: secret('connection') },
    };
    try {
      const admin = new StackyardClient({ url: server.url, token: adminToken, fetch: recordingFetch, env: {}, retries: 0 });
      const paths = { s3: 's3://bucket/x', azure: 'az://container/x' };
      for (const flavor of ['s3', 'azure'] as const) {
        const store = uniqueName(`${flavor}-store`);
        const registered = await admin.registerComponent({ type: 'ARTIFACT_STORE', name: store, flavor, configuration: { path: paths[flavor], ...values[flavor] } });
        expect(registered.secretsSet).toEqual(Object.keys(values[flavor]).sort());
        const stack = uniqueName(`${flavor}-stack`);
        await admin.registerStack({ name: stack, components: { orchestrator: 'default', artifactStore: store } });
        expect(await admin.exportStack(stack)).toContain(paths[flavor]);
        const run = await admin.startRun({ pipeline: uniqueName('p'), stack });
        expect(run.stackSnapshot.components.find((c) => c.type === 'ARTIFACT_STORE')!.configuration).toEqual({ path: paths[flavor] });
        // The step process (an admin, editor or service-account token) reads them decrypted; unrecorded here.
        const unrecorded = new StackyardClient({ url: server.url, token: adminToken, env: {}, retries: 0 });
        expect(await unrecorded.componentSecrets(registered.id)).toEqual(values[flavor]);
      }
      const secrets = [...Object.values(values.s3), ...Object.values(values.azure)];
      responses.forEach((body, index) => {
        for (const value of secrets) expect(body, `response ${index}`).not.toContain(value);
      });
      expect(logLines.length).toBeGreaterThan(5);
      for (const line of logLines) for (const value of secrets) expect(line).not.toContain(value);
    } finally {
      await server.close();
    }
  });

  it('refuses to start with a key that cannot decrypt the stored secrets', async () => {
    const first = await startTestServer(target, { keepDatabase: true });
    await new StackyardClient({ url: first.url, env: {}, configDir: '/nonexistent' }).registerComponent({
      type: 'ALERTER',
      name: uniqueName('slack'),
      flavor: 'slack',
      configuration: { defaultChannelId: 'C1', slackToken: 'xoxb-secret' },
    });
    await first.close();
    const otherKey = randomBytes(32).toString('base64');
    await expect(startTestServer(target, { databaseLocation: first.databaseLocation, keepDatabase: true, secretKey: otherKey })).rejects.toThrow(/cannot decrypt/);
    // With the right key it starts; closing it drops the test database.
    await (await startTestServer(target, { databaseLocation: first.databaseLocation })).close();
  });
});
