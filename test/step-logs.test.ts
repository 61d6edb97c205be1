// Step logs end to end: the SDK captures each step's output (console and the standard streams)
// with levels and a failure's stack trace, concurrent steps apart; the log lands in the artifact
// store (local, s3, azure) as chunk objects; the server serves it by range in whole lines.
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineRunFailedError, StackyardClient, pipeline, step } from '../client';
import { databaseTargets, uniqueName, useTestServer } from './harness';
import { S3_ACCESS_KEY, S3_SECRET_KEY, startAzurite, startS3, type AzureService, type S3Service } from './store-services';

const BUCKET = 'stackyard-logs';
let s3: S3Service;
let azure: AzureService;
/** A pass-through proxy in front of s3rver that counts the bytes of object reads: what a page costs. */
let s3Proxy: { url: string; bytesRead: number; close(): Promise<void> };
const temporaryDirectories: string[] = [];

function temporaryDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-logs-'));
  temporaryDirectories.push(dir);
  return dir;
}

async function countingProxy(target: string): Promise<typeof s3Proxy> {
  const upstream = new URL(target);
  const state = { bytesRead: 0 };
  const server: Server = createServer((req, res) => {
    const forwarded = httpRequest(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.on('data', (chunk: Buffer) => {
          if (req.method === 'GET' && req.url?.includes('x-id=GetObject')) state.bytesRead += chunk.length;
        });
        answer.pipe(res);
      },
    );
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get bytesRead() {
      return state.bytesRead;
    },
    set bytesRead(value: number) {
      state.bytesRead = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

beforeAll(async () => {
  s3 = await startS3([BUCKET]);
  s3Proxy = await countingProxy(s3.endpointUrl);
  azure = await startAzurite([BUCKET]);
}, 60_000);

afterAll(async () => {
  await Promise.all([s3?.close(), azure?.close(), s3Proxy?.close()]);
  temporaryDirectories.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});

const storeSettings = {
  local: () => ({ path: temporaryDirectory() }),
  s3: () => ({
    path: `s3://${BUCKET}/${uniqueName('logs')}`,
    endpointUrl: s3Proxy.url,
    forcePathStyle: true,
    region: 'us-east-1',
    awsAccessKeyId: S3_ACCESS_KEY,
    awsSecretAccessKey: S3_SECRET_KEY,
  }),
  azure: () => ({ path: `az://${BUCKET}/${uniqueName('logs')}`, connectionString: azure.connectionString }),
};

function uuidOf(stepRunId: string): string {
  return Buffer.from(stepRunId, 'base64').toString().replace(/^StepRun:/, '');
}

/** Two steps that run at once and interleave their output, and a third that fails after both. */
function chattyPipeline(name: string) {
  const speak = (who: string) =>
    step(who, async () => {
      for (let i = 0; i < 5; i += 1) {
        console.log(`${who} says ${i}`);
        await sleep(5);
      }
      console.warn(`${who} warns`);
      console.error(`${who} errs`);
      console.debug(`${who} debugs`);
      process.stdout.write(`${who} writes to stdout\n`);
      setTimeout(() => console.info(`${who} callback`), 1);
      await sleep(20);
      return who;
    });
  const left = speak('left');
  const right = speak('right');
  const fail = step('explode', ({ a, b }: { a: string; b: string }) => {
    console.log(`got ${a} and ${b}`);
    throw new Error('the model diverged');
  });
  return pipeline(name, () => {
    fail({ a: left(), b: right() });
  });
}

describe.each(databaseTargets)('step logs on $name', (target) => {
  const server = useTestServer(target);
  const client = () => new StackyardClient({ url: server().url, configDir: temporaryDirectory() });

  async function stackWith(sdk: StackyardClient, flavor: keyof typeof storeSettings) {
    const configuration = storeSettings[flavor]();
    const store = await sdk.registerComponent({ type: 'ARTIFACT_STORE', name: uniqueName(`${flavor}-log-store`), flavor, configuration });
    const stack = uniqueName('log-stack');
    await sdk.registerStack({ name: stack, components: { orchestrator: 'default', artifactStore: store.name } });
    return { stack, configuration };
  }

  async function runChatty(sdk: StackyardClient, stack: string) {
    const failure = await chattyPipeline(uniqueName('chatty')).run({ client: sdk, stack, progress: false }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PipelineRunFailedError);
    return (await sdk.getRun((failure as PipelineRunFailedError).run.id))!;
  }

  it.each(['local', 's3', 'azure'] as const)('captures each step apart, with levels and the stack trace, in a %s store', async (flavor) => {
    const sdk = client();
    const { stack, configuration } = await stackWith(sdk, flavor);
    const run = await runChatty(sdk, stack);

    for (const who of ['left', 'right']) {
      const stepRun = run.steps.find((s) => s.name === who)!;
      expect(stepRun.logUri).toMatch(new RegExp(`/logs/${uuidOf(stepRun.id)}/$`));
      const page = await sdk.stepLog(stepRun.id);
      expect(page).toMatchObject({ stepStatus: 'COMPLETED', startOffset: 0 });
      expect(page.endOffset).toBe(page.totalBytes);
      expect(page.entries.map((entry) => [entry.level, entry.message])).toEqual([
        ...[0, 1, 2, 3, 4].map((i) => ['INFO', `${who} says ${i}`]),
        ['WARN', `${who} warns`],
        ['ERROR', `${who} errs`],
        ['DEBUG', `${who} debugs`],
        ['INFO', `${who} writes to stdout`],
        ['INFO', `${who} callback`],
      ]);
      for (const entry of page.entries) expect(Date.parse(entry.time!)).toBeGreaterThan(Date.now() - 600_000);
    }
    const exploded = run.steps.find((s) => s.name === 'explode')!;
    const { entries } = await sdk.stepLog(exploded.id);
    expect(entries[0]).toMatchObject({ level: 'INFO', message: 'got left and right' });
    expect(entries[1].level).toBe('ERROR');
    expect(entries[1].message).toMatch(/^Error: the model diverged\n\s+at .*step-logs\.test\.ts/);
    expect(exploded.errorMessage).toBe('the model diverged');

    if (flavor === 'local') {
      const folder = join(String(configuration.path), 'logs', uuidOf(exploded.id));
      expect(exploded.logUri).toBe(`${folder}/`);
      expect(readdirSync(folder)).toEqual(['0000000000000000.jsonl']);
    }
  }, 60_000);

  it('pages a log forward and back in whole lines, each page read as a byte range', async () => {
    const sdk = client();
    const { stack } = await stackWith(sdk, 's3');
    // Few long lines: each still reaches the terminal too.
    const lines = 500;
    const shout = step('shout', () => {
      for (let i = 0; i < lines; i += 1) console.log(`line ${i} ${'x'.repeat(4000 + (i % 97))}`);
    });
    const result = await pipeline(uniqueName('long-log'), () => {
      shout();
    }).run({ client: sdk, stack, progress: false });
    const stepRunId = result.steps.shout.stepRunId!;
    const limit = 64 * 1024;

    s3Proxy.bytesRead = 0;
    const forward: string[] = [];
    let offset = 0;
    let pages = 0;
    let total = Infinity;
    while (offset < total) {
      const page = await sdk.stepLog(stepRunId, { offset, limit });
      expect(page.startOffset).toBe(offset);
      expect(page.endOffset - page.startOffset).toBeLessThanOrEqual(limit);
      expect(page.entries.length).toBeGreaterThan(0);
      forward.push(...page.entries.map((entry) => entry.message));
      offset = page.endOffset;
      total = page.totalBytes;
      pages += 1;
    }
    expect(total).toBeGreaterThan(1.5 * 1024 * 1024);
    expect(pages).toBeGreaterThan(total / limit - 1);
    expect(forward).toEqual(Array.from({ length: lines }, (_, i) => `line ${i} ${'x'.repeat(4000 + (i % 97))}`));
    // Each page fetched its range and a byte more, never the log: what the store sent is about the
    // log once (the part line at a page's end is fetched again by the next page).
    expect(s3Proxy.bytesRead).toBeLessThanOrEqual(pages * (limit + 1));
    expect(s3Proxy.bytesRead).toBeLessThan(total * 1.1);

    s3Proxy.bytesRead = 0;
    const tail = await sdk.stepLog(stepRunId, { limit });
    expect(s3Proxy.bytesRead).toBeLessThanOrEqual(limit + 1);
    expect(tail.endOffset).toBe(total);
    expect(tail.entries.at(-1)!.message).toBe(forward.at(-1));
    const backward: string[][] = [tail.entries.map((entry) => entry.message)];
    let start = tail.startOffset;
    while (start > 0) {
      const page = await sdk.stepLog(stepRunId, { before: start, limit });
      expect(page.endOffset).toBe(start);
      backward.unshift(page.entries.map((entry) => entry.message));
      start = page.startOffset;
    }
    expect(backward.flat()).toEqual(forward);
  }, 120_000);

  it('answers typed errors for bad pages and log folders, and an empty page for a step without a log', async () => {
    const sdk = client();
    const { stack } = await stackWith(sdk, 'local');
    const result = await pipeline(uniqueName('quiet'), () => {
      step('quiet', () => 1)();
    }).run({ client: sdk, stack, progress: false });
    const stepRunId = result.steps.quiet.stepRunId!;
    expect(await sdk.stepLog(stepRunId)).toMatchObject({ totalBytes: 0, entries: [], stepStatus: 'COMPLETED' });

    const ask = (variables: Record<string, unknown>) =>
      server().gql(`query($id: ID!, $offset: Float, $before: Float, $limit: Int) { stepLog(stepRunId: $id, offset: $offset, before: $before, limit: $limit) { __typename ... on Error { message field } } }`, variables);
    expect((await ask({ id: stepRunId, offset: 1 })).stepLog).toMatchObject({ __typename: 'ValidationError', field: 'offset' });
    expect((await ask({ id: stepRunId, offset: -1 })).stepLog).toMatchObject({ __typename: 'ValidationError', field: 'offset' });
    expect((await ask({ id: stepRunId, before: 1 })).stepLog).toMatchObject({ __typename: 'ValidationError', field: 'before' });
    expect((await ask({ id: stepRunId, limit: 0 })).stepLog).toMatchObject({ __typename: 'ValidationError', field: 'limit' });
    expect((await ask({ id: stepRunId, limit: 2 * 1024 * 1024 })).stepLog).toMatchObject({ __typename: 'ValidationError', field: 'limit' });
    expect((await ask({ id: 'nope' })).stepLog).toMatchObject({ __typename: 'ValidationError', field: 'stepRunId' });
    const missing = Buffer.from('StepRun:00000000-0000-4000-8000-000000000000').toString('base64');
    expect((await ask({ id: missing })).stepLog).toMatchObject({ __typename: 'NotFoundError' });

    // startStep records the log folder: under the store's logs folder, named by the step run's id.
    const run = await sdk.startRun({ pipeline: uniqueName('logged'), stack, steps: [{ name: 'only' }] });
    const start = (logsFolder: string) =>
      server().gql(`mutation($run: ID!, $folder: String) { startStep(runId: $run, name: "only", logsFolder: $folder) { __typename ... on StepRun { id logUri } ... on Error { message field } } }`, {
        run: run.id,
        folder: logsFolder,
      });
    expect((await start('/tmp/elsewhere/')).startStep).toMatchObject({ __typename: 'ValidationError', field: 'logsFolder' });
    const opened = (await start('/tmp/store/logs/')).startStep as { id: string; logUri: string };
    expect(opened.logUri).toBe(`/tmp/store/logs/${uuidOf(opened.id)}/`);
    expect((await start('/tmp/store/logs/')).startStep).toEqual({ __typename: 'StepRun', id: opened.id, logUri: opened.logUri });
    expect((await start('/tmp/other/logs/')).startStep).toMatchObject({ __typename: 'IdempotencyConflictError', field: 'logsFolder' });
    expect((await sdk.getRun(run.id))!.steps[0].logUri).toBe(opened.logUri);

    // The store that holds the log is deleted: the run keeps its record, the log is unavailable.
    const storeName = (await sdk.getStack(stack))!.components.find((component) => component.type === 'ARTIFACT_STORE')!.name;
    await sdk.deleteStack(stack);
    await sdk.deleteComponent({ type: 'ARTIFACT_STORE', name: storeName });
    expect((await ask({ id: stepRunId })).stepLog).toMatchObject({ __typename: 'StepLogUnavailableError', message: 'The artifact store that holds this log was deleted' });
  }, 60_000);
});
