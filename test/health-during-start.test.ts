// A server answers /health from the moment it listens, before its database exists: on a fresh
// PGlite directory it listens first, then loads the database code and copies in the built image
// without blocking, so a supervisor's liveness probe never times out during a first start. /ready
// stays 503 until the database answers.
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../scripts/free-port';
import { spawnServerProcess, tempDir } from './cli-process';
import { databaseTargets, TEST_SECRET_KEY } from './harness';

const pglite = databaseTargets.find((target) => target.name === 'pglite');
// Generous: a start on a machine shared with other work can take many times its idle figure.
const START_TIMEOUT_MS = 120_000;

/** One request on a connection of its own; undefined while nothing listens. */
function send(method: 'GET' | 'POST', url: string, body?: string): Promise<{ status: number; body: any } | undefined> {
  return new Promise((resolve) => {
    const headers = body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {};
    const req = request(url, { method, agent: false, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', () => resolve(undefined));
    req.end(body);
  });
}

describe.runIf(pglite)('a first start on a fresh PGlite directory', () => {
  it('answers /health before the database exists, and /ready only once it answers queries', { timeout: START_TIMEOUT_MS + 30_000 }, async () => {
    const dataDir = tempDir('stackyard-health-');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = spawnServerProcess(['--data-dir', dataDir, '--port', String(port)], {
      configDir: tempDir('stackyard-config-'),
      env: { STACKYARD_SECRET_KEY: TEST_SECRET_KEY },
    });
    let exited = false;
    void server.exited.then(() => (exited = true));

    // The first answer of /health, and whether the database existed by then.
    const deadline = Date.now() + START_TIMEOUT_MS;
    let firstHealth: { status: number; body: any } | undefined;
    while (!firstHealth) {
      if (exited) throw new Error(`the server exited before it listened:\n${server.output()}`);
      if (Date.now() > deadline) throw new Error(`no answer on /health:\n${server.output()}`);
      firstHealth = await send('GET', `${url}/health`);
      if (!firstHealth) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // PG_VERSION is the last file a first start moves into place (server/db/pglite-template.ts).
    const databaseExisted = existsSync(join(dataDir, 'PG_VERSION'));
    expect(firstHealth).toEqual({ status: 200, body: { status: 'starting' } });
    expect(databaseExisted, 'the database was created before /health answered').toBe(false);

    // Until ready, /health keeps answering and GraphQL is refused; ready means queries work.
    const answers: { health: number; ready: number }[] = [];
    for (;;) {
      if (exited) throw new Error(`the server exited before it was ready:\n${server.output()}`);
      if (Date.now() > deadline) throw new Error(`not ready in time:\n${server.output()}`);
      const health = await send('GET', `${url}/health`);
      const ready = await send('GET', `${url}/ready`);
      answers.push({ health: health!.status, ready: ready!.status });
      if (ready!.status === 200) break;
      expect(ready).toEqual({ status: 503, body: { status: 'starting' } });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(answers.every((answer) => answer.health === 200)).toBe(true);
    const query = await send('POST', `${url}/graphql`, JSON.stringify({ query: '{ activeStack { name } }' }));
    expect(query).toEqual({ status: 200, body: { data: { activeStack: { name: 'default' } } } });
    expect(await send('GET', `${url}/health`)).toEqual({ status: 200, body: { status: 'ok' } });
  });
});
