// Remote artifact stores that really store: pipelines on s3 (s3rver) and azure (Azurite) stacks,
// objects listed in the bucket or container through the cloud SDKs, cache hits that need the
// object, loads by artifact name, and bad settings that fail before a run is recorded.
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { ArtifactStoreError, LocalPath, PipelineRunFailedError, StackyardClient, UnsupportedStackError, pipeline, step, type Materializer } from '../client';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { closedPortUrl, parsedJson, root, runCli, runProcess, succeeded, tempDir, type ProcessSettings } from './cli-process';
import { databaseTargets, uniqueName, useTestServer } from './harness';
import { S3_ACCESS_KEY, S3_SECRET_KEY, startAzurite, startS3, type AzureService, type S3Service } from './store-services';

const BUCKET = 'stackyard-test';
const CONTAINER = 'stackyard-test';
let s3: S3Service;
let azure: AzureService;
const temporaryDirectories: string[] = [];

beforeAll(async () => {
  // One after the other, so afterAll closes whichever started even when the other failed.
  s3 = await startS3([BUCKET]);
  azure = await startAzurite([CONTAINER]);
}, 60_000);

afterAll(async () => {
  await Promise.all([s3?.close(), azure?.close()]);
  temporaryDirectories.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});

function temporaryDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-stores-'));
  temporaryDirectories.push(dir);
  return dir;
}

/** The settings each flavor registers with, under a fresh prefix. */
const flavors = {
  s3: (prefix: string) => ({
    path: `s3://${BUCKET}/${prefix}`,
    endpointUrl: s3.endpointUrl,
    forcePathStyle: true,
    region: 'us-east-1',
    awsAccessKeyId: S3_ACCESS_KEY,
    awsSecretAccessKey: S3_SECRET_KEY,
  }),
  azure: (prefix: string) => ({ path: `az://${CONTAINER}/${prefix}`, connectionString: azure.connectionString }),
};

/** Keys under the prefix, as the cloud SDK lists them. */
async function listed(flavor: keyof typeof flavors, prefix: string): Promise<{ key: string; size: number }[]> {
  const all = flavor === 's3' ? await s3.list(BUCKET) : (await azure.list(CONTAINER)).map(({ name, size }) => ({ key: name, size }));
  return all.filter((item) => item.key.startsWith(`${prefix}/`));
}

async function deleteObject(flavor: keyof typeof flavors, key: string): Promise<void> {
  if (flavor === 's3') await s3.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
  else await azure.client.getContainerClient(CONTAINER).deleteBlob(key);
}

describe.each(databaseTargets)('remote artifact stores on $name', (target) => {
  const server = useTestServer(target);
  const client = () => new StackyardClient({ url: server().url, configDir: temporaryDirectory() });

  async function remoteStack(sdk: StackyardClient, flavor: string, configuration: Record<string, unknown>) {
    const store = await sdk.registerComponent({ type: 'ARTIFACT_STORE', name: uniqueName(`${flavor}-store`), flavor, configuration });
    const stack = uniqueName(`${flavor}-stack`);
    await sdk.registerStack({ name: stack, components: { orchestrator: 'default', artifactStore: store.name } });
    return { stack, store };
  }

  it.each(['s3', 'azure'] as const)('runs a pipeline on an %s store: objects land there, caches need them, artifacts load by name', async (flavor) => {
    const sdk = client();
    const prefix = uniqueName('runs');
    const { stack, store } = await remoteStack(sdk, flavor, flavors[flavor](prefix));
    const executions: string[] = [];
    const produce = step(
      'produce',
      () => {
        executions.push('produce');
        const dir = temporaryDirectory();
        mkdirSync(join(dir, 'nested'));
        writeFileSync(join(dir, 'weights.bin'), Buffer.alloc(100_000, 7));
        writeFileSync(join(dir, 'nested', 'notes.txt'), 'trained');
        return { model: new LocalPath(dir), metrics: { accuracy: 0.9 } };
      },
      { outputs: ['model', 'metrics'], artifacts: { model: { name: `${prefix}_model`, type: 'model' } } },
    );
    const inspect = step('inspect', ({ model }: { model: LocalPath }) => {
      executions.push('inspect');
      return readFileSync(join(model.path, 'nested', 'notes.txt'), 'utf8') + ':' + readFileSync(join(model.path, 'weights.bin')).length;
    });
    const flow = pipeline(uniqueName(`${flavor}-flow`), () => {
      inspect({ model: produce().model });
    });

    const first = await flow.run({ client: sdk, stack, progress: false });
    expect(first.status).toBe('COMPLETED');
    expect(await first.load('inspect')).toBe('trained:100000');
    const scheme = flavor === 's3' ? `s3://${BUCKET}/` : `az://${CONTAINER}/`;
    const outputs = [first.steps.produce.outputs.model, first.steps.produce.outputs.metrics, first.steps.inspect.outputs.output];
    for (const output of outputs) expect(output.uri.startsWith(`${scheme}${prefix}/`)).toBe(true);
    // The objects are really there, with the sizes recorded.
    const objects = await listed(flavor, prefix);
    expect(objects.map((object) => `${scheme}${object.key}`).sort()).toEqual(outputs.map((output) => output.uri).sort());
    for (const output of outputs) expect(objects.find((object) => `${scheme}${object.key}` === output.uri)!.size).toBe(output.sizeBytes);

    // A second run reuses both steps; a deleted object makes its step a cache miss, not a failure.
    executions.length = 0;
    const second = await flow.run({ client: sdk, stack, progress: false });
    expect([second.steps.produce.status, second.steps.inspect.status]).toEqual(['cached', 'cached']);
    expect(executions).toEqual([]);
    await deleteObject(flavor, first.steps.inspect.outputs.output.uri.slice(scheme.length));
    const third = await flow.run({ client: sdk, stack, progress: false });
    expect([third.steps.produce.status, third.steps.inspect.status]).toEqual(['cached', 'completed']);
    expect(executions).toEqual(['inspect']);

    // Any script loads the model by name, through the store that wrote it.
    const elsewhere = client();
    const loaded = await elsewhere.artifact(`${prefix}_model`).latest().load<LocalPath>();
    expect(readFileSync(join(loaded.path, 'weights.bin')).equals(Buffer.alloc(100_000, 7))).toBe(true);
    expect((await elsewhere.artifact(`${prefix}_model`).version(1).describe()).artifactStore?.name).toBe(store.name);
    await expect(elsewhere.artifact(`${prefix}_model`).version(9).load()).rejects.toThrow(`The artifact "${prefix}_model" has no version 9`);

    // A store whose path changed since cannot read the version, and says so.
    await sdk.updateComponent({ type: 'ARTIFACT_STORE', name: store.name, configuration: { path: flavors[flavor](`${prefix}-moved`).path } });
    await expect(elsewhere.artifact(`${prefix}_model`).latest().load()).rejects.toThrow(`The artifact store "${store.name}" that wrote version 1 of artifact "${prefix}_model"`);
    // A deleted one neither.
    await sdk.deleteStack(stack, { recursive: true });
    await expect(elsewhere.artifact(`${prefix}_model`).latest().load()).rejects.toThrow(
      `The artifact store that wrote version 1 of artifact "${prefix}_model" (${first.steps.produce.outputs.model.uri}) has been deleted`,
    );
  });

  it.each(['s3', 'azure'] as const)('runs the quickstart unchanged on a local + %s stack, switched by `stackyard stack set`', async (flavor) => {
    // The AWS SDK warns on stderr that its releases from 2027 need Node 22; the CLI's stderr stays checked.
    const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const settings: ProcessSettings = { url: server().url, configDir: tempDir('stackyard-stores-config-'), env };
    const cli = (...args: string[]) => runCli(args, settings);
    const prefix = uniqueName('quickstart');
    const store = uniqueName('team_store');
    const stack = uniqueName('team_stack');
    const configuration = flavors[flavor](prefix);
    const flags = Object.entries(configuration).flatMap(([key, value]) => [`--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`, String(value)]);
    succeeded(await cli('artifact-store', 'register', store, '-f', flavor, ...flags));
    succeeded(await cli('stack', 'register', stack, '-o', 'default', '-a', store));
    succeeded(await cli('stack', 'set', stack));

    const first = await runProcess('npm', ['run', '--silent', 'example'], settings);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/accuracy: \d\.\d{3}/);
    const objects = await listed(flavor, prefix);
    expect(objects.map((object) => object.key.split('/')[1]).sort()).toEqual(['evaluate', 'load_data', 'train']);
    const versions = parsedJson(await cli('artifact', 'version', 'list', 'quickstart_model', '--json'));
    const model = versions[0];
    expect(model.uri).toMatch(new RegExp(`^${flavor === 's3' ? 's3' : 'az'}://[^/]+/${prefix}/train/output/`));
    expect(model.artifactStore.name).toBe(store);
    if (flavor !== 's3') return;

    // Another machine: an empty working directory, another HOME and config, the same server.
    const elsewhere: ProcessSettings = { url: server().url, configDir: tempDir('stackyard-stores-other-config-'), cwd: tempDir('stackyard-stores-cwd-'), env: { ...env, HOME: tempDir('stackyard-stores-home-') } };
    const second = await runProcess(process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(root, 'examples', 'quickstart', 'run.ts')], elsewhere);
    expect(second.code, second.stderr).toBe(0);
    for (const name of ['load_data', 'train', 'evaluate']) expect(second.stdout).toContain(`step ${name} cached`);
    const listedThere = parsedJson(await runCli(['artifact', 'list', '--json'], elsewhere));
    expect(listedThere.map((item: { name: string }) => item.name)).toContain('quickstart_model');
    const described = succeeded(await runCli(['artifact', 'version', 'describe', 'quickstart_model', String(model.version)], elsewhere));
    expect(described).toContain(model.uri);
    expect(described).toContain(model.contentHash);
    succeeded(await runCli(['artifact', 'version', 'download', 'quickstart_model', String(model.version), 'model.json'], elsewhere));
    const stored = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: model.uri.slice(`s3://${BUCKET}/`.length) }));
    const downloaded = readFileSync(join(elsewhere.cwd!, 'model.json'));
    expect(downloaded.equals(Buffer.from(await stored.Body!.transformToByteArray()))).toBe(true);
    expect(JSON.parse(downloaded.toString('utf8'))).toMatchObject({ kind: 'nearest-centroid' });
  });

  it.each(['local', 's3', 'azure'] as const)('leaves nothing half written in a %s store when an output stream fails midway', async (flavor) => {
    const sdk = client();
    const prefix = uniqueName('broken');
    const localPath = join(temporaryDirectory(), prefix);
    const { stack } = await remoteStack(sdk, flavor, flavor === 'local' ? { path: localPath } : flavors[flavor](prefix));
    // 12 MiB, more than one multipart part or block, then the source fails.
    const brokenStream: Materializer<{ broken: true }> = {
      name: 'test.broken-stream',
      fileName: 'data.bin',
      canHandle: (value): value is { broken: true } => (value as { broken?: boolean })?.broken === true,
      dataType: () => 'broken',
      save: () => {
        let sent = 0;
        return new Readable({
          read() {
            if (sent >= 12 * 1024 * 1024) return void this.destroy(new Error('the source broke midway'));
            sent += 1024 * 1024;
            this.push(Buffer.alloc(1024 * 1024, 1));
          },
        });
      },
      load: () => ({ broken: true }),
    };
    const produce = step('produce', () => ({ broken: true }), { materializers: [brokenStream] });
    const failure = await pipeline(uniqueName('broken-flow'), () => void produce())
      .run({ client: sdk, stack, progress: false })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PipelineRunFailedError);
    const run = (failure as PipelineRunFailedError).run;
    expect(run.status).toBe('FAILED');
    expect(run.steps.produce.error).toBe('the source broke midway');
    // The failed step's log (with the failure) is kept, in its own folder; no output is.
    if (flavor === 'local') {
      const left = readdirSync(localPath, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile() && !entry.parentPath.startsWith(join(localPath, 'logs')));
      expect(left.map((entry) => entry.name)).toEqual([]);
    } else {
      expect((await listed(flavor, prefix)).filter((item) => !item.key.startsWith(`${prefix}/logs/`))).toEqual([]);
    }
  });

  it('refuses bad settings with an error naming the setting, before any run is recorded', async () => {
    const sdk = client();
    const good = flavors.s3('bad');
    const cases: [string, Record<string, unknown>, string][] = [
      ['wrong bucket', { ...good, path: 's3://no-such-bucket/x' }, 'The bucket "no-such-bucket" in the setting path of artifact store'],
      // s3rver checks the key id, not the signature.
      ['bad credentials', { ...good, awsAccessKeyId: 'not-the-key' }, 'check its awsAccessKeyId, awsSecretAccessKey and awsSessionToken settings'],
      ['unreachable endpoint', { ...good, endpointUrl: await closedPortUrl() }, 'cannot be reached at its setting endpointUrl http://127.0.0.1:'],
      ['azure, wrong container', { ...flavors.azure('x'), path: 'az://no-such-container/x' }, 'The container "no-such-container" in the setting path of artifact store'],
      ['azure, bad credentials', { ...flavors.azure('x'), connectionString: azure.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.from('not-the-key').toString('base64')}`) }, 'check its accountName and its accountKey, sasToken or connectionString setting'],
      ['azure, unreachable endpoint', { ...flavors.azure('x'), connectionString: azure.connectionString.replace(/BlobEndpoint=http:\/\/[^/]+/, `BlobEndpoint=${await closedPortUrl()}`) }, 'cannot be reached with its settings accountName / connectionString: ECONNREFUSED'],
    ];
    for (const [label, configuration, message] of cases) {
      const flavor = String(configuration.path).startsWith('s3') ? 's3' : 'azure';
      const { stack } = await remoteStack(sdk, flavor, configuration);
      const name = uniqueName('bad-settings');
      const error = await pipeline(name, () => void step('only', () => 1)())
        .run({ client: sdk, stack, progress: false })
        .catch((caught: unknown) => caught);
      expect(error, label).toBeInstanceOf(ArtifactStoreError);
      expect((error as Error).message, label).toContain(message);
      expect((error as Error).message, label).not.toContain('not-the-key');
      expect((error as Error).message, label).not.toContain(Buffer.from('not-the-key').toString('base64'));
      expect((error as Error).message, label).not.toContain('AccountKey');
      expect(await sdk.runsPage({ filter: { pipeline: name } }), label).toMatchObject({ edges: [] });
    }
  });

  it('refuses a gcs store at run time, naming why', async () => {
    const sdk = client();
    const { stack } = await remoteStack(sdk, 'gcs', { path: 'gs://bucket/x' });
    await expect(pipeline(uniqueName('gcs'), () => void step('only', () => 1)()).run({ client: sdk, stack, progress: false })).rejects.toThrow(
      UnsupportedStackError,
    );
    await expect(pipeline(uniqueName('gcs'), () => void step('only', () => 1)()).run({ client: sdk, stack, progress: false })).rejects.toThrow(
      /flavor gcs, which this SDK cannot run: no Google Cloud Storage emulator/,
    );
  });
});
