// `npm run bench:artifacts`: the artifact stores side by side, local, s3 (s3rver on loopback) and
// azure (Azurite on loopback): write and read MB/s for 1 MiB and 256 MiB outputs through the
// store interface, and the peak RSS of a step process that sends a 1 GiB directory output through
// the store and loads it back in the next step. The remote figures measure the emulators too.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { StackyardClient } from '../client';
import { openArtifactStore } from '../client/sdk/artifact-stores';
import { startServer } from '../server/http-server';
import { createLogger } from '../server/logger';
import { S3_ACCESS_KEY, S3_SECRET_KEY, startAzurite, startS3 } from '../test/store-services';

const root = fileURLToPath(new URL('..', import.meta.url));
const MiB = 1024 * 1024;
const BUCKET = 'bench';
const scratch = mkdtempSync(join(tmpdir(), 'stackyard-bench-artifacts-'));

/** size bytes of incompressible data, 1 MiB at a time, never all in memory. */
function generated(size: number): Readable {
  const block = randomBytes(MiB);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const length = Math.min(MiB, size - sent);
      sent += length;
      this.push(length === MiB ? block : block.subarray(0, length));
    },
  });
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

const s3 = await startS3([BUCKET]);
const azure = await startAzurite(['bench'], join(scratch, 'azurite'));
const server = await startServer({
  host: '127.0.0.1',
  port: 0,
  dataDir: join(scratch, 'db'),
  logger: createLogger('silent'),
  secretKey: randomBytes(32).toString('base64'),
});
await server.ready;
const url = server.url.replace(/\/graphql$/, '');
const client = new StackyardClient({ url, env: {}, configDir: join(scratch, 'config') });

const flavors: Record<string, Record<string, unknown>> = {
  local: { path: join(scratch, 'local-store') },
  s3: { path: `s3://${BUCKET}/runs`, endpointUrl: s3.endpointUrl, forcePathStyle: true, region: 'us-east-1', awsAccessKeyId: S3_ACCESS_KEY, awsSecretAccessKey: S3_SECRET_KEY },
  azure: { path: 'az://bench/runs', connectionString: azure.connectionString },
};

const rows: string[][] = [];
try {
  for (const [flavor, configuration] of Object.entries(flavors)) {
    const component = await client.registerComponent({ type: 'ARTIFACT_STORE', name: `bench-${flavor}`, flavor, configuration });
    await client.registerStack({ name: `bench-${flavor}`, components: { orchestrator: 'default', artifactStore: component.name } });
    const store = await openArtifactStore({ ...component, configuration: component.configuration as Record<string, unknown> }, await client.componentSecrets(component.id));
    const row = [flavor];
    for (const size of [MiB, 256 * MiB]) {
      const uri = store.outputUri('bench', `out-${size}`, randomBytes(8).toString('hex'), 'data.bin');
      const writeSeconds = await timed(() => store.write(uri, generated(size)));
      const readSeconds = await timed(async () => {
        for await (const _chunk of await store.read(uri)) void _chunk;
      });
      row.push(((size / MiB) / writeSeconds).toFixed(1), ((size / MiB) / readSeconds).toFixed(1));
    }
    // The step process: a pipeline whose step writes 1 GiB into a directory it returns, and whose
    // next step loads it back; it reports its own peak RSS.
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'bench-artifacts-step.ts')], {
      env: { ...process.env, STACKYARD_URL: url, STACKYARD_STACK: `bench-${flavor}`, STACKYARD_CONFIG_DIR: join(scratch, 'config'), STACKYARD_ARTIFACT_CACHE: join(scratch, `loaded-${flavor}`), BENCH_SCRATCH: join(scratch, `step-${flavor}`), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    const peak = /peak-rss-mb=(\d+)/.exec(output);
    if (code !== 0 || !peak) throw new Error(`the ${flavor} step process failed (${code}):\n${output}`);
    row.push(peak[1]);
    rows.push(row);
    rmSync(join(scratch, `step-${flavor}`), { recursive: true, force: true });
    rmSync(join(scratch, `loaded-${flavor}`), { recursive: true, force: true });
  }
} finally {
  await Promise.all([s3.close(), azure.close(), server.close()]);
  rmSync(scratch, { recursive: true, force: true });
}

const head = ['store', '1 MiB write MB/s', '1 MiB read MB/s', '256 MiB write MB/s', '256 MiB read MB/s', '1 GiB step peak RSS MB'];
const widths = head.map((title, index) => Math.max(title.length, ...rows.map((row) => row[index].length)));
for (const row of [head, ...rows]) console.log(row.map((cell, index) => cell.padStart(widths[index])).join('  '));
