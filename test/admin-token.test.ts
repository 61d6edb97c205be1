// STACKYARD_ADMIN_TOKEN across restarts: a changed token replaces the old one, which stops
// working, and the log says so without printing either token.
import { describe, expect, it, onTestFinished } from 'vitest';
import { createLogger } from '../server/logger';
import { hashToken } from '../server/users/user-service';
import { databaseTargets, freshDatabaseLocation, startTestServer } from './harness';

const ME = '{ me { name role } }';

describe.each(databaseTargets)('STACKYARD_ADMIN_TOKEN on $name', (target) => {
  it('revokes the token it replaced when it changes, and logs that without either token', async () => {
    const oldToken = `old-admin-token-${Math.random().toString(36).slice(2)}`;
    const newToken = `new-admin-token-${Math.random().toString(36).slice(2)}`;
    const databaseLocation = await freshDatabaseLocation(target);
    const first = await startTestServer(target, { databaseLocation, adminToken: oldToken });
    expect((await first.gql(ME)).me).toEqual({ name: 'admin', role: 'ADMIN' });
    await first.close();

    const logLines: string[] = [];
    const logger = createLogger('debug', { write: (line: string) => void logLines.push(line) });
    const second = await startTestServer(target, { databaseLocation, adminToken: newToken, logger });
    onTestFinished(() => second.close());

    expect((await second.request(ME, {}, oldToken)).status).toBe(401);
    expect((await second.gql(ME, {}, newToken)).me).toEqual({ name: 'admin', role: 'ADMIN' });

    const log = logLines.join('');
    expect(log).toContain('revoked the admin token it replaced');
    for (const secret of [oldToken, newToken, hashToken(oldToken), hashToken(newToken), oldToken.slice(0, 8), newToken.slice(0, 8)]) {
      expect(log).not.toContain(secret);
    }
  });

  it('keeps the token working across a restart with the same token', async () => {
    const token = `same-admin-token-${Math.random().toString(36).slice(2)}`;
    const databaseLocation = await freshDatabaseLocation(target);
    const first = await startTestServer(target, { databaseLocation, adminToken: token });
    await first.close();
    const second = await startTestServer(target, { databaseLocation, adminToken: token });
    onTestFinished(() => second.close());
    expect((await second.gql(ME, {}, token)).me).toEqual({ name: 'admin', role: 'ADMIN' });
  });
});
