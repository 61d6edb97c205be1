// The pipeline SDK end to end: real servers, the typed client, a local artifact store in a
// temporary directory. Each test runs on its own stack, so caches never cross tests.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  PipelineRunFailedError,
  StackyardClient,
  UnsupportedStackError,
  pipeline,
  step,
  type Materializer,
  type ProgressEvent,
} from '../client';
import pg from 'pg';
import { databaseId, databaseTargets, uniqueName, until, useTestServer } from './harness';

const temporaryDirectories: string[] = [];
afterAll(() => temporaryDirectories.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function temporaryDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-sdk-'));
  temporaryDirectories.push(dir);
  return dir;
}

/** A stack of the default orchestrator and a fresh local artifact store. */
async function localStack(client: StackyardClient) {
  const storePath = temporaryDirectory();
  const stack = uniqueName('sdk-stack');
  const store = await client.registerComponent({ type: 'ARTIFACT_STORE', name: uniqueName('sdk-store'), flavor: 'local', configuration: { path: storePath } });
  await client.registerStack({ name: stack, components: { orchestrator: 'default', artifactStore: store.name } });
  return { stack, storePath };
}

function recorder() {
  const events: ProgressEvent[] = [];
  return { events, progress: (event: ProgressEvent) => void events.push(event), kinds: () => events.map((event) => `${event.kind}${'step' in event ? ` ${event.step}` : ''}`) };
}

// Only this test's server has a short heartbeat timeout: on a busy machine a pause of the
// event loop longer than it would fail the other tests' runs.
describe.each(databaseTargets)('heartbeats on $name', (target) => {
  const server = useTestServer(target, { heartbeatTimeoutMs: 3000 });

  it('keeps a long step alive with heartbeats past the server timeout', async () => {
    const sdk = new StackyardClient({ url: server().url, configDir: temporaryDirectory() });
    const { stack } = await localStack(sdk);
    expect((await sdk.serverLimits()).heartbeatTimeoutSeconds).toBe(3);
    const slow = step('slow', async () => { await new Promise((resolve) => setTimeout(resolve, 8000)); return 'done'; });
    const result = await pipeline(uniqueName('sdk-heartbeat'), () => { slow(); }).run({ client: sdk, stack, progress: false });
    expect(result.status).toBe('COMPLETED');
    expect((await sdk.getRun(result.id))!.status).toBe('COMPLETED');
  });
});

describe.each(databaseTargets)('pipeline SDK on $name', (target) => {
  const server = useTestServer(target);
  const client = () => new StackyardClient({ url: server().url, configDir: temporaryDirectory() });

  it('runs steps in order, stores each output as a content-hashed file and reports it', async () => {
    const sdk = client();
    const { stack, storePath } = await localStack(sdk);
    const load = step('load', () => ({ rows: [1, 2, 3] }));
    const total = step('total', ({ data, scale }: { data: { rows: number[] }; scale: number }) => data.rows.reduce((a, b) => a + b, 0) * scale);
    const describeIt = step('describe', ({ sum }: { sum: number }) => `sum=${sum}`);
    const name = uniqueName('sdk-success');
    const flow = pipeline(name, () => {
      const data = load();
      const sum = total({ data, scale: 10 });
      describeIt({ sum });
    });
    const { progress, kinds } = recorder();
    const result = await flow.run({ client: sdk, stack, progress, tags: ['test'] });

    expect(result.status).toBe('COMPLETED');
    expect(await result.load('describe')).toBe('sum=60');
    expect(kinds()).toEqual(['run-started', 'step-started load', 'step-completed load', 'step-started total', 'step-completed total', 'step-started describe', 'step-completed describe', 'run-finished']);

    const run = (await sdk.getRun(result.id))!;
    expect(run).toMatchObject({ status: 'COMPLETED', pipeline: { name }, stack: { name: stack }, tags: ['test'] });
    expect(run.steps.map((s) => [s.name, s.status, s.parents])).toEqual([['load', 'COMPLETED', []], ['total', 'COMPLETED', ['load']], ['describe', 'COMPLETED', ['total']]]);
    const totalStep = run.steps.find((s) => s.name === 'total')!;
    expect(totalStep.parameters).toEqual({ scale: 10 });
    expect(totalStep.inputs.map((input) => [input.name, input.artifactVersion.id])).toEqual([['data', run.steps[0].outputs[0].artifactVersion.id]]);
    for (const stepRun of run.steps) {
      const { artifactVersion } = stepRun.outputs[0];
      // {store path}/{step}/{output}/{step run id}/{file}, as domain.md lays it out.
      const stepRunUuid = Buffer.from(stepRun.id, 'base64').toString().replace(/^StepRun:/, '');
      expect(stepRunUuid).toMatch(/^[0-9a-f-]{36}$/);
      expect(artifactVersion.uri).toBe(join(storePath, stepRun.name, 'output', stepRunUuid, 'data.' + (stepRun.name === 'describe' ? 'txt' : 'json')));
      const bytes = readFileSync(artifactVersion.uri);
      expect(artifactVersion.contentHash).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(artifactVersion.sizeBytes).toBe(bytes.length);
      expect(artifactVersion.name).toBe(`${name}::${stepRun.name}::output`);
    }
    expect(run.steps.map((s) => s.outputs[0].artifactVersion.materializer)).toEqual(['stackyard.json', 'stackyard.json', 'stackyard.string']);
  });

  it('gives the next step the value read back from the artifact store, checked against its recorded hash', async () => {
    const sdk = client();
    const { stack } = await localStack(sdk);
    // The producer's success hook runs after its output is stored and before any consumer
    // starts; it rewrites the stored file (same size, other bytes), so only a consumer that
    // reads the store and checks the SHA-256 fails, naming the URI.
    let uri = '';
    const produce = step('produce', () => ({ n: 1 }), {
      onSuccess: ({ outputs }) => {
        uri = outputs.output.uri;
        writeFileSync(uri, JSON.stringify({ n: 4 }));
      },
    });
    const consume = step('consume', ({ value }: { value: { n: number } }) => value.n + 1);
    const failure = await pipeline(uniqueName('sdk-store-crossing'), () => {
      consume({ value: produce() });
    })
      .run({ client: sdk, stack, progress: false })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PipelineRunFailedError);
    const run = (failure as PipelineRunFailedError).run;
    expect(run.steps.consume.status).toBe('failed');
    expect(run.steps.consume.error).toBe(`${uri} does not match its recorded SHA-256 (${run.steps.produce.outputs.output.contentHash}): the object was changed`);
    writeFileSync(uri, JSON.stringify({ n: 41 }));
    await expect(run.load('produce')).rejects.toThrow(`${uri} holds 8 bytes, but 7 were recorded`);
  });

  it('caches a second run, reruns a step whose stored output is gone, and honours enableCache', async () => {
    const sdk = client();
    const { stack } = await localStack(sdk);
    let executions: string[] = [];
    const first = step('first', () => { executions.push('first'); return [1, 2]; });
    const second = step('second', ({ items }: { items: number[] }) => { executions.push('second'); return items.length; });
    const uncached = step('uncached', ({ count }: { count: number }) => { executions.push('uncached'); return count; }, { enableCache: false });
    const name = uniqueName('sdk-cache');
    const flow = pipeline(name, () => {
      const count = second({ items: first() });
      uncached({ count });
    });

    const original = await flow.run({ client: sdk, stack, progress: false });
    expect(executions).toEqual(['first', 'second', 'uncached']);

    executions = [];
    const { progress, kinds } = recorder();
    const cached = await flow.run({ client: sdk, stack, progress });
    expect(executions).toEqual(['uncached']);
    expect(kinds()).toEqual(['run-started', 'step-cached first', 'step-cached second', 'step-started uncached', 'step-completed uncached', 'run-finished']);
    expect(cached.status).toBe('COMPLETED');
    const cachedRun = (await sdk.getRun(cached.id))!;
    const originalRun = (await sdk.getRun(original.id))!;
    expect(cachedRun.steps.map((s) => s.status)).toEqual(['CACHED', 'CACHED', 'COMPLETED']);
    expect(cachedRun.steps[0].originalStepRun).toMatchObject({ id: originalRun.steps[0].id, run: { id: original.id, name: original.name } });
    expect(cachedRun.steps[0].outputs[0].artifactVersion.id).toBe(originalRun.steps[0].outputs[0].artifactVersion.id);

    // A run where every step is cached is itself cached.
    executions = [];
    const allCached = await pipeline(name, () => { second({ items: first() }); }).run({ client: sdk, stack, progress: false });
    expect(executions).toEqual([]);
    expect(allCached.status).toBe('CACHED');

    // Cached outputs must still exist in the store; without the file the step runs again,
    // and its new artifact version changes the cache key of the step that consumes it.
    rmSync(originalRun.steps[0].outputs[0].artifactVersion.uri);
    executions = [];
    await flow.run({ client: sdk, stack, progress: false });
    expect(executions).toEqual(['first', 'second', 'uncached']);

    executions = [];
    await flow.run({ client: sdk, stack, progress: false, enableCache: false });
    expect(executions).toEqual(['first', 'second', 'uncached']);
    executions = [];
    await pipeline(name, () => { second({ items: first() }); }, { enableCache: false }).run({ client: sdk, stack, progress: false });
    expect(executions).toEqual(['first', 'second']);
  });

  it.runIf(target.name === 'postgres')('runs a cached step after all when the run it would reuse is deleted meanwhile', async () => {
    const sdk = client();
    const { stack } = await localStack(sdk);
    let executions = 0;
    const train = step('train', () => { executions += 1; return 'model'; });
    const flow = pipeline(uniqueName('sdk-cache-gone'), () => { train(); });
    const original = await flow.run({ client: sdk, stack, progress: false });
    // Another program's session deletes the original run and holds the delete open: the next run
    // finds the original, and its cached finish waits for the delete, which then commits.
    const other = new pg.Client({ connectionString: server().databaseLocation });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('DELETE FROM pipeline_runs WHERE id = $1', [databaseId(original.id)]);
      const second = flow.run({ client: sdk, stack, progress: false });
      second.catch(() => {}); // awaited below, once the delete commits
      await until('the cached finish to wait for the delete', async () => {
        const { rows } = await other.query(`SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        return rows[0].waiting > 0;
      });
      await other.query('COMMIT');
      const result = await second;
      expect(result.status).toBe('COMPLETED');
      expect(executions).toBe(2);
      const run = (await sdk.getRun(result.id))!;
      expect(run.steps).toMatchObject([{ name: 'train', status: 'COMPLETED', originalStepRun: null, logUri: expect.any(String) }]);
      expect(run.steps[0].outputs).toHaveLength(1);
    } finally {
      await other.end();
    }
  });

  it('fails the step and the run, skips what depends on it and runs what does not', async () => {
    const sdk = client();
    const { stack } = await localStack(sdk);
    const source = step('source', () => 1);
    const broken = step('broken', ({ x }: { x: number }): number => { throw new Error(`boom ${x}`); });
    const after = step('after', ({ x }: { x: number }) => x);
    const sideline = step('sideline', ({ x }: { x: number }) => x + 1);
    // late starts well after broken has failed: the run still runs it.
    const slow = step('slow', async ({ x }: { x: number }) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return x;
    });
    const late = step('late', ({ x }: { x: number }) => x * 2);
    const { progress, kinds } = recorder();
    const failing = pipeline(uniqueName('sdk-failure'), () => {
      const x = source();
      after({ x: broken({ x }) });
      sideline({ x });
      late({ x: slow({ x }) });
    });
    const error = await failing.run({ client: sdk, stack, progress }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PipelineRunFailedError);
    expect((error as Error).message).toContain('step broken: boom 1');
    const result = (error as PipelineRunFailedError).run;
    expect(result.steps.after.status).toBe('skipped');
    expect(result.steps.sideline.status).toBe('completed');
    expect(result.steps.late.status).toBe('completed');
    expect(kinds()).toContain('step-skipped after');

    const run = (await sdk.getRun(result.id))!;
    expect(run.status).toBe('FAILED');
    expect(Object.fromEntries(run.steps.map((s) => [s.name, s.status]))).toEqual({ source: 'COMPLETED', broken: 'FAILED', sideline: 'COMPLETED', slow: 'COMPLETED', late: 'COMPLETED' });
    expect(run.steps.find((s) => s.name === 'broken')!.errorMessage).toBe('boom 1');
  });

  it('records a step failure whose message holds NUL, which the server refuses in text, without it', async () => {
    const sdk = client();
    const { stack } = await localStack(sdk);
    const broken = step('broken', (): number => { throw new Error('read \u0000\u0000 bytes'); });
    const error = await pipeline(uniqueName('sdk-nul'), () => broken()).run({ client: sdk, stack, progress: () => {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PipelineRunFailedError);
    const run = (await sdk.getRun((error as PipelineRunFailedError).run.id))!;
    expect(run.steps.map((s) => [s.name, s.status, s.errorMessage])).toEqual([['broken', 'FAILED', 'read  bytes']]);
  });

  it('records what a step threw that is not an Error in words, not as [object Object]', async () => {
    const sdk = client();
    const { stack } = await localStack(sdk);
    const objectThrower = step('object_thrower', (): number => {
      throw { code: 42, reason: 'quota' };
    });
    const stringThrower = step('string_thrower', (): number => {
      throw 'disk full';
    });
    const flow = pipeline(uniqueName('sdk-throw'), () => {
      objectThrower();
      stringThrower();
    });
    const error = await flow.run({ client: sdk, stack, progress: () => {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PipelineRunFailedError);
    const run = (await sdk.getRun((error as PipelineRunFailedError).run.id))!;
    expect(Object.fromEntries(run.steps.map((s) => [s.name, s.errorMessage]))).toEqual({ object_thrower: '{"code":42,"reason":"quota"}', string_thrower: 'disk full' });
  });

  it('runs independent steps at the same time', async () => {
    const sdk = client();
    const { stack } = await localStack(sdk);
    let running = 0;
    let peak = 0;
    const waitForPeer = async () => {
      running += 1;
      peak = Math.max(peak, running);
      // Each branch waits until the other has started, or gives up: sequential execution fails.
      for (let i = 0; i < 100 && peak < 2; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
      running -= 1;
      return peak;
    };
    const left = step('left', waitForPeer, { enableCache: false });
    const right = step('right', waitForPeer, { enableCache: false });
    const result = await pipeline(uniqueName('sdk-parallel'), () => { left(); right(); }).run({ client: sdk, stack, progress: false });
    expect(peak).toBe(2);
    expect(result.status).toBe('COMPLETED');
  });

  it('runs a fan-out of 30 steps at once without a warning about their listeners', async () => {
    const sdk = client();
    const { stack } = await localStack(sdk);
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      const branches = Array.from({ length: 30 }, (_, index) => step(`branch_${index}`, async () => index, { enableCache: false }));
      const result = await pipeline(uniqueName('sdk-fanout'), () => branches.forEach((branch) => branch())).run({ client: sdk, stack, progress: false });
      expect(result.status).toBe('COMPLETED');
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((warning) => warning.startsWith('MaxListenersExceededWarning'))).toEqual([]);
  });

  it('uses STACKYARD_STACK over the active stack, and refuses stacks it cannot run on', async () => {
    const sdk = client();
    const { stack } = await localStack(sdk);
    const name = uniqueName('sdk-env-stack');
    const flow = pipeline(name, () => { step('only', () => 1)(); });
    process.env.STACKYARD_STACK = stack;
    try {
      expect((await flow.run({ client: sdk, progress: false })).stack).toBe(stack);
    } finally {
      delete process.env.STACKYARD_STACK;
    }
    const remote = await sdk.registerComponent({ type: 'ORCHESTRATOR', name: uniqueName('k8s'), flavor: 'kubernetes', configuration: {} });
    // A remote orchestrator needs a remote store; the SDK refuses the orchestrator before it opens the store.
    const bucket = await sdk.registerComponent({ type: 'ARTIFACT_STORE', name: uniqueName('bucket'), flavor: 's3', configuration: { path: 's3://bucket/sdk' } });
    const remoteStack = uniqueName('remote');
    await sdk.registerStack({ name: remoteStack, components: { orchestrator: remote.name, artifactStore: bucket.name } });
    await expect(flow.run({ client: sdk, stack: remoteStack, progress: false })).rejects.toThrow(UnsupportedStackError);
    await expect(flow.run({ client: sdk, stack: uniqueName('missing'), progress: false })).rejects.toThrow(/No stack is named/);
    const page = await sdk.runsPage({ filter: { pipeline: name } });
    expect(page.totalCount).toBe(1);
  });

  it('stores values through a custom materializer and refuses values none can store', async () => {
    const sdk = client();
    const { stack } = await localStack(sdk);
    class Vector {
      constructor(readonly values: number[]) {}
      norm() { return Math.hypot(...this.values); }
    }
    const vectorMaterializer: Materializer<Vector> = {
      name: 'test.vector',
      fileName: 'vector.csv',
      canHandle: (value): value is Vector => value instanceof Vector,
      dataType: () => 'Vector',
      save: (value) => Buffer.from(value.values.join(',')),
      load: (data) => new Vector(Buffer.from(data).toString().split(',').map(Number)),
    };
    const make = step('make', () => new Vector([3, 4]), { materializers: [vectorMaterializer] });
    const norm = step('norm', ({ v }: { v: Vector }) => v.norm(), { materializers: [vectorMaterializer] });
    const result = await pipeline(uniqueName('sdk-materializer'), () => { norm({ v: make() }); }).run({ client: sdk, stack, progress: false });
    expect(await result.load('norm')).toBe(5);
    const made = result.steps.make.outputs.output;
    expect(readFileSync(made.uri, 'utf8')).toBe('3,4');
    expect(made.materializer).toBe('test.vector');

    const dated = step('dated', () => new Date(0));
    const error = await pipeline(uniqueName('sdk-unstorable'), () => { dated(); }).run({ client: sdk, stack, progress: false }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/Date, which no materializer can store/);
  });

  it('gives several outputs of one step their own artifacts and files', async () => {
    const sdk = client();
    const { stack, storePath } = await localStack(sdk);
    const split = step('split', () => ({ train: [1, 2, 3], test: [4] }), { outputs: ['train', 'test'], artifacts: { test: { name: 'holdout', type: 'data', tags: ['small'] } } });
    const size = step('size', ({ a, b }: { a: number[]; b: number[] }) => a.length * 10 + b.length);
    const name = uniqueName('sdk-multi');
    const result = await pipeline(name, () => {
      const { train, test } = split();
      size({ a: train, b: test });
    }).run({ client: sdk, stack, progress: false });
    expect(await result.load('size')).toBe(31);
    expect(existsSync(join(storePath, 'split', 'train'))).toBe(true);
    const run = (await sdk.getRun(result.id))!;
    const outputs = Object.fromEntries(run.steps[0].outputs.map((o) => [o.name, o.artifactVersion]));
    expect(outputs.train.name).toBe(`${name}::split::train`);
    expect(outputs.test).toMatchObject({ name: 'holdout', type: 'data', tags: ['small'] });
  });
});

describe('pipeline scripts', () => {
  const target = databaseTargets[0];
  const server = useTestServer(target);
  it('exit non-zero with the failure on one line when a step throws', async () => {
    const sdk = new StackyardClient({ url: server().url, configDir: temporaryDirectory() });
    const { stack } = await localStack(sdk);
    // Asynchronous, since the server answering the script runs in this process.
    const child = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'test/fixtures/failing-pipeline.ts'], {
      env: { ...process.env, STACKYARD_URL: server().url, STACKYARD_STACK: stack, STACKYARD_CONFIG_DIR: temporaryDirectory() },
    }).then(
      () => ({ code: 0, stdout: '', stderr: '' }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(child.code, child.stderr).toBe(1);
    expect(child.stdout).toContain('step explode failed');
    expect(child.stdout).toContain('step never skipped: step explode failed');
    expect(child.stderr).toContain('step explode: exploded on purpose');
    const page = await sdk.runsPage({ filter: { pipeline: 'script-failure', stackName: stack } });
    expect(page.edges.map((edge) => edge.node.status)).toEqual(['FAILED']);
  });

  it('record the run as stopped and exit 130 when interrupted', async () => {
    const sdk = new StackyardClient({ url: server().url, configDir: temporaryDirectory() });
    const { stack } = await localStack(sdk);
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/interrupted-pipeline.ts'], {
      env: { ...process.env, STACKYARD_URL: server().url, STACKYARD_STACK: stack, STACKYARD_CONFIG_DIR: temporaryDirectory() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    const started = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        if (stdout.includes('step wait started')) resolve();
      });
    });
    const exited = once(child, 'exit');
    await Promise.race([started, exited]);
    child.kill('SIGINT');
    const [code] = await exited;
    expect(code, stdout).toBe(130);
    const page = await sdk.runsPage({ filter: { pipeline: 'script-interrupted', stackName: stack } });
    expect(page.edges.map((edge) => [edge.node.status, edge.node.statusReason])).toEqual([['STOPPED', 'Interrupted by SIGINT']]);
  });

  it('leave a killed write in the store\'s .incomplete folder, which a later run sweeps once idle for an hour', async () => {
    const sdk = new StackyardClient({ url: server().url, configDir: temporaryDirectory() });
    const { stack, storePath } = await localStack(sdk);
    const incomplete = join(storePath, '.incomplete');
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/streaming-pipeline.ts'], {
      env: { ...process.env, STACKYARD_URL: server().url, STACKYARD_STACK: stack, STACKYARD_CONFIG_DIR: temporaryDirectory() },
      stdio: 'ignore',
    });
    const exited = once(child, 'exit');
    // Killed once the output has started streaming into its temporary file.
    let partial: string[] = [];
    for (let waited = 0; waited < 600 && child.exitCode === null; waited += 1) {
      partial = existsSync(incomplete) ? readdirSync(incomplete).filter((name) => statSync(join(incomplete, name)).size > 0) : [];
      if (partial.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(partial, 'the step never started writing').toHaveLength(1);
    child.kill('SIGKILL');
    await exited;
    const stale = join(incomplete, partial[0]);
    expect(existsSync(stale)).toBe(true);
    // Idle for two hours; another file, just written to, stands for a write still streaming.
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(stale, twoHoursAgo, twoHoursAgo);
    const live = join(incomplete, 'still-streaming.tmp');
    writeFileSync(live, 'partial');

    const result = await pipeline(uniqueName('after-kill'), () => {
      step('small', () => 'done')();
    }).run({ client: sdk, stack, progress: false });
    expect(result.status).toBe('COMPLETED');
    expect(readdirSync(incomplete)).toEqual(['still-streaming.tmp']);
    expect(await result.load('small')).toBe('done');

    // With no idle time allowed, the next run sweeps that one too.
    process.env.STACKYARD_INCOMPLETE_WRITE_TTL_SECONDS = '0';
    try {
      await pipeline(uniqueName('no-ttl'), () => {
        step('small', () => 'again')();
      }).run({ client: sdk, stack, progress: false });
    } finally {
      delete process.env.STACKYARD_INCOMPLETE_WRITE_TTL_SECONDS;
    }
    expect(readdirSync(incomplete)).toEqual([]);
  });
});
