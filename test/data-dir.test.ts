// The embedded database's directory: one server at a time (a lock that outlives no process),
// a damaged directory that says how to restore it, and backups taken from a running server and
// restored into a new directory. The lock and damage are PGlite's alone; backups are too, and on
// Postgres the backup command points to pg_dump.
import { readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServer } from '../server/http-server';
import { createLogger } from '../server/logger';
import { spawnServerProcess, startServerProcess, tempDir } from './cli-process';
import { databaseTargets, startTestServer, TEST_SECRET_KEY } from './harness';

const pglite = databaseTargets.find((target) => target.name === 'pglite');
const serverEnv = { STACKYARD_SECRET_KEY: TEST_SECRET_KEY };

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

describe.runIf(pglite)('the data directory lock', () => {
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
];

describe.runIf(pglite)('a damaged data directory', () => {
  it.each(damages)('with $name, the server exits saying the directory is damaged and how to restore it', async ({ damage, reason }) => {
    const dataDir = await stoppedDataDir();
    damage(dataDir);
    const server = spawnServerProcess(['--data-dir', dataDir], { configDir: tempDir('stackyard-config-'), env: serverEnv });
    const code = await server.exited;
    expectExitedWith(code, server.output(), dataDir, /looks damaged/, reason, 'stackyard db backup', 'stackyard db restore');
  });
});
