// The embedded database's directory: one server at a time (a lock that outlives no process),
// a damaged directory that says how to restore it, and backups taken from a running server and
// restored into a new directory. The lock and damage are PGlite's alone; backups are too, and on
// Postgres the backup command points to pg_dump.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServer } from '../server/http-server';
import { createLogger } from '../server/logger';
import { expectFailure, runCli, spawnServerProcess, startServerProcess, tempDir } from './cli-process';
import { databaseTargets, startTestServer, TEST_SECRET_KEY, type TestServer } from './harness';
import { registerLocalStack } from './registry-operations';
import { completeRun } from './run-operations';

const pglite = databaseTargets.find((target) => target.name === 'pglite');
const postgres = databaseTargets.find((target) => target.name === 'postgres');
const serverEnv = { STACKYARD_SECRET_KEY: TEST_SECRET_KEY };
// Each test spawns several processes that each start PGlite: seconds apiece on a busy machine.
const PROCESS_TEST_TIMEOUT_MS = 240_000;

/** A PGlite data directory with a database in it, made by a server that has been stopped. */
async function stoppedDataDir(): Promise<string> {
  const dataDir = tempDir('stackyard-data-dir-');
  const server = await startTestServer(pglite!, { databaseLocation: dataDir, keepDatabase: true });
  await server.close();
  return dataDir;
}

function expectExitedWith(code: number | null, output: string, ...texts: (string | RegExp)[]): void {
  expect(code, output).not.toBe(0);
  expect(code, output).not.toBeNull();
  for (const text of texts) {
    if (typeof text === 'string') expect(output).toContain(text);
    else expect(output).toMatch(text);
  }
  expect(output).not.toContain('Aborted()');
  expect(output).not.toContain('PGlite failed to initialize');
}

describe.runIf(pglite)('the data directory lock', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('refuses a second server on the same data directory, naming the directory and the holder', async () => {
    const dataDir = tempDir('stackyard-lock-');
    const configDir = tempDir('stackyard-config-');
    const first = await startServerProcess(['--data-dir', dataDir], { configDir, env: serverEnv });
    const second = spawnServerProcess(['--data-dir', dataDir], { configDir, env: serverEnv });
    const code = await second.exited;
    expectExitedWith(code, second.output(), dataDir, `pid ${first.pid}`);
    // The first server still answers.
    expect((await fetch(`${first.url}/ready`)).status).toBe(200);
  });

  it('lets a new server start after the holder was killed with SIGKILL', async () => {
    const dataDir = tempDir('stackyard-lock-');
    const configDir = tempDir('stackyard-config-');
    const first = await startServerProcess(['--data-dir', dataDir], { configDir, env: serverEnv });
    process.kill(first.pid, 'SIGKILL');
    await first.exited;
    const next = await startServerProcess(['--data-dir', dataDir], { configDir, env: serverEnv });
    expect((await fetch(`${next.url}/ready`)).status).toBe(200);
  });

  it('refuses a second open in the same process, and frees the directory on close', async () => {
    const dataDir = tempDir('stackyard-lock-');
    const first = await startTestServer(pglite!, { databaseLocation: dataDir, keepDatabase: true });
    const secondStart = startServer({ host: '127.0.0.1', port: 0, dataDir, secretKey: TEST_SECRET_KEY, logger: createLogger('silent') });
    await expect(secondStart).rejects.toThrow(`${dataDir} is already open in this process (pid ${process.pid})`);
    await first.close();
    const again = await startTestServer(pglite!, { databaseLocation: dataDir, keepDatabase: true });
    await again.close();
  });
});

const damages: { name: string; damage(dataDir: string): void; reason: RegExp }[] = [
  { name: 'a truncated global/pg_control', damage: (dir) => truncateSync(join(dir, 'global', 'pg_control'), 100), reason: /pg_control/ },
  { name: 'garbage in PG_VERSION', damage: (dir) => writeFileSync(join(dir, 'PG_VERSION'), 'garbage\n'), reason: /PG_VERSION/ },
  {
    name: 'deleted WAL segments',
    damage: (dir) => {
      for (const entry of readdirSync(join(dir, 'pg_wal'))) rmSync(join(dir, 'pg_wal', entry), { recursive: true, force: true });
    },
    reason: /WAL/,
  },
  // Files that look right but are not: PGlite's own failure, translated.
  { name: 'garbage in global/pg_control', damage: (dir) => writeFileSync(join(dir, 'global', 'pg_control'), randomBytes(8192)), reason: /failed to start/ },
];

describe.runIf(pglite)('a damaged data directory', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it.each(damages)('with $name, the server exits saying the directory is damaged and how to restore it', async ({ damage, reason }) => {
    const dataDir = await stoppedDataDir();
    damage(dataDir);
    const server = spawnServerProcess(['--data-dir', dataDir], { configDir: tempDir('stackyard-config-'), env: serverEnv });
    const code = await server.exited;
    expectExitedWith(code, server.output(), dataDir, /looks damaged/, reason, 'stackyard db backup', 'stackyard db restore');
  });
});

const ADMIN_TOKEN = 'backup-test-admin-token-0123456789';

/** What a backup must carry over: the stack and the run with its steps and artifact versions. */
async function recordedState(server: TestServer, runId: string) {
  return server.gql(`query($id: ID!) {
    stack(name: "backed-up") { name components { type name } }
    run(id: $id) { name status stack { name } steps { name status outputs { name artifactVersion { name version uri } } } }
    artifactVersions(first: 10) { ... on QueryArtifactVersionsConnection { totalCount } }
  }`, { id: runId });
}

describe.runIf(pglite)('stackyard db backup and restore', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('backs up a running server and restores into a new directory that a server then serves', async () => {
    const configDir = tempDir('stackyard-config-');
    const source = await startTestServer(pglite!, { adminToken: ADMIN_TOKEN });
    try {
      await registerLocalStack(source, 'backed-up');
      const runId = await completeRun(source, { pipeline: 'training', stack: 'backed-up', steps: ['load', 'train'] });
      const before = await recordedState(source, runId);
      expect(before.run.steps).toHaveLength(2);
      expect(before.run.steps[1].outputs[0].artifactVersion).toMatchObject({ name: 'training::train::output', version: 1 });

      const file = join(tempDir('stackyard-backup-'), 'backup.tar.gz');
      const backup = await runCli(['--url', source.url, '--token', ADMIN_TOKEN, 'db', 'backup', file], { configDir });
      expect(backup.stderr).toBe('');
      expect(backup.stdout).toContain(`Backed up to ${file}`);
      expect(backup.code).toBe(0);
      // The server kept serving.
      expect(await recordedState(source, runId)).toEqual(before);

      const restoredDir = join(tempDir('stackyard-restored-'), 'db');
      const restore = await runCli(['db', 'restore', file, '--data-dir', restoredDir], { configDir });
      expect(restore.stderr).toBe('');
      expect(restore.code).toBe(0);

      const restored = await startTestServer(pglite!, { databaseLocation: restoredDir, adminToken: ADMIN_TOKEN });
      try {
        expect(await recordedState(restored, runId)).toEqual(before);
      } finally {
        await restored.close();
      }
    } finally {
      await source.close();
    }
  });

  it('takes a backup only for an admin, and only on a POST with the CSRF header', async () => {
    const configDir = tempDir('stackyard-config-');
    const server = await startTestServer(pglite!, { adminToken: ADMIN_TOKEN });
    try {
      const { createApiToken } = await server.gql(
        `mutation { createUser(name: "viewer-1", role: VIEWER) { __typename } createApiToken(userName: "viewer-1", name: "t") { ... on CreatedApiToken { token } } }`,
      );
      const file = join(tempDir('stackyard-backup-'), 'backup.tar.gz');
      expectFailure(await runCli(['--url', server.url, 'db', 'backup', file], { configDir }), 'send an API token');
      expectFailure(await runCli(['--url', server.url, '--token', createApiToken.token, 'db', 'backup', file], { configDir }), 'Only admins');
      expect(existsSync(file)).toBe(false);
      // Only a POST with the CSRF header: a page on another site can send neither.
      const authorization = `Bearer ${ADMIN_TOKEN}`;
      expect((await fetch(`${server.url}/backup`, { headers: { authorization, 'x-stackyard-csrf': '1' } })).status).toBe(405);
      expect((await fetch(`${server.url}/backup`, { method: 'POST', headers: { authorization } })).status).toBe(400);
    } finally {
      await server.close();
    }
  });

  it('backs up a stopped server\'s directory directly, and refuses one a server holds', async () => {
    const configDir = tempDir('stackyard-config-');
    const dataDir = await stoppedDataDir();
    const file = join(tempDir('stackyard-backup-'), 'backup.tar.gz');
    const backup = await runCli(['db', 'backup', file, '--data-dir', dataDir], { configDir });
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    expect(existsSync(file)).toBe(true);

    const server = await startServerProcess(['--data-dir', dataDir], { configDir, env: serverEnv });
    expectFailure(await runCli(['db', 'backup', file, '--data-dir', dataDir], { configDir }), `${dataDir} is in use by another Stackyard process (pid ${server.pid})`);
  });

  it('refuses to restore into a database without --force, or from a file that is no backup', async () => {
    const configDir = tempDir('stackyard-config-');
    const dataDir = await stoppedDataDir();
    const file = join(tempDir('stackyard-backup-'), 'backup.tar.gz');
    expect((await runCli(['db', 'backup', file, '--data-dir', dataDir], { configDir })).code).toBe(0);

    expectFailure(await runCli(['db', 'restore', file, '--data-dir', dataDir], { configDir }), `${dataDir} is not empty; pass --force`);
    const garbage = join(tempDir('stackyard-backup-'), 'garbage.tar.gz');
    writeFileSync(garbage, 'not a backup');
    expectFailure(await runCli(['db', 'restore', garbage, '--data-dir', dataDir, '--force'], { configDir }), `${garbage} is not a backup`);
    // The directory still holds its database, and --force replaces it.
    expect(readdirSync(join(dataDir, 'base')).length).toBeGreaterThan(0);
    const forced = await runCli(['db', 'restore', file, '--data-dir', dataDir, '--force'], { configDir });
    expect(forced.stderr).toBe('');
    expect(forced.code).toBe(0);
  });

  it('refuses to restore into a directory a server holds', async () => {
    const configDir = tempDir('stackyard-config-');
    const dataDir = await stoppedDataDir();
    const file = join(tempDir('stackyard-backup-'), 'backup.tar.gz');
    expect((await runCli(['db', 'backup', file, '--data-dir', dataDir], { configDir })).code).toBe(0);
    const server = await startServerProcess(['--data-dir', dataDir], { configDir, env: serverEnv });
    expectFailure(await runCli(['db', 'restore', file, '--data-dir', dataDir, '--force'], { configDir }), `${dataDir} is in use by another Stackyard process (pid ${server.pid})`);
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
  });
});

describe.runIf(postgres)('stackyard db backup on Postgres', () => {
  it('says to use pg_dump', async () => {
    const server = await startTestServer(postgres!);
    try {
      const file = join(tempDir('stackyard-backup-'), 'backup.tar.gz');
      expectFailure(await runCli(['--url', server.url, 'db', 'backup', file], { configDir: tempDir('stackyard-config-') }), 'pg_dump');
      expect(existsSync(file)).toBe(false);
    } finally {
      await server.close();
    }
  });
});
