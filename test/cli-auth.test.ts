// `stackyard login`, `user` and `token` against a server with auth, as an admin sets up a
// service account for a pipeline and takes its token away again.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectFailure, parsedJson, runCli, succeeded, tempDir } from './cli-process';
import { databaseTargets, uniqueName, useTestServer } from './harness';

describe.each(databaseTargets)('stackyard users and tokens on $name', (target) => {
  const adminToken = `sy_admin_${randomBytes(16).toString('hex')}`;
  const server = useTestServer(target, { adminToken });

  it('logs in, creates a service account with a token, and revokes it', async () => {
    const configDir = tempDir('stackyard-cli-auth-');
    const cli = (...args: string[]) => runCli(args, { configDir });
    const endpoint = `${server().url}/graphql`;

    expectFailure(await cli('login', '--url', server().url, '--token', 'sy_wrong'), 'The token is not valid');
    expect(succeeded(await cli('login', '--url', server().url, '--token', adminToken))).toBe(
      `Logged in to ${endpoint} as "admin" (admin); saved to ${join(configDir, 'config.json')}.\n`,
    );
    expect(JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8'))).toEqual({ url: endpoint, token: adminToken });

    const bot = uniqueName('ci-bot');
    expect(succeeded(await cli('user', 'create', bot, '--role', 'service-account'))).toBe(`Created user "${bot}" (service-account).\n`);
    expectFailure(await cli('user', 'create', uniqueName('x'), '--role', 'owner'), /Expected one of admin, editor, viewer, service-account/);
    expect(parsedJson(await cli('user', 'list', '--json')).map((user: { name: string; role: string }) => [user.name, user.role])).toContainEqual([bot, 'SERVICE_ACCOUNT']);

    const created = parsedJson(await cli('token', 'create', '--user', bot, '--name', 'nightly', '--expires-in', '30', '--json'));
    expect(created.token).toMatch(/^sy_/);
    const asBot = (...args: string[]) => runCli(args, { configDir, env: { STACKYARD_TOKEN: created.token } });
    expect(succeeded(await asBot('stack', 'get')).trim()).toBe('default');
    expectFailure(await asBot('stack', 'register', uniqueName('s'), '-o', 'default', '-a', 'default'), 'Your role (service_account) does not allow this');
    expectFailure(await asBot('token', 'list'), 'Your role (service_account) does not allow this');

    const listed = parsedJson(await cli('token', 'list', '--user', bot, '--json'));
    expect(listed).toMatchObject([{ name: 'nightly', isActive: true, user: { name: bot } }]);
    expect(JSON.stringify(listed)).not.toContain(created.token);
    expect(succeeded(await cli('token', 'revoke', listed[0].id))).toBe(`Revoked token "nightly" of "${bot}".\n`);
    expectFailure(await asBot('stack', 'get'), 'The token has been revoked');

    expectFailure(await cli('user', 'delete', bot), 'Refusing to delete user');
    expect(succeeded(await cli('user', 'delete', bot, '-y'))).toBe(`Deleted user "${bot}".\n`);
    expectFailure(await cli('user', 'delete', 'admin', '-y'), 'You cannot delete yourself');
  });
});
