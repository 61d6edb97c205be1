// context.logMetric end to end: a pipeline's steps log series, the SDK sends them in batches
// (not a request per point), a report that fails in transit is sent again without losing or
// doubling a point, and a bad point fails its step loudly while the good ones are kept.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MetricValueError, PipelineRunFailedError, StackyardClient, pipeline, step } from '../client';
import { RunMetricsDocument } from '../client/generated/graphql';
import { databaseTargets, uniqueName, useTestServer } from './harness';

const directories: string[] = [];
afterAll(() => directories.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function temporaryDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-sdk-metrics-'));
  directories.push(dir);
  return dir;
}

/** A fetch that counts metric reports and can fail the first few with 503, as a proxy would (see below). */
function countingFetch(failFirst = 0) {
  const counts = { reports: 0, failed: 0 };
  const wrapped: typeof fetch = async (input, init) => {
    if (typeof init?.body === 'string' && init.body.includes('"points"')) {
      counts.reports += 1;
      if (counts.failed < failFirst) {
        counts.failed += 1;
        // The first never reaches the server: without a resend its points would be lost. The next
        // is recorded but its answer never arrives: the resend must not double it.
        if (counts.failed > 1) await fetch(input, init);
        return new Response('unavailable', { status: 503 });
      }
    }
    return fetch(input, init);
  };
  return { counts, fetch: wrapped };
}

describe.each(databaseTargets)('logMetric in a pipeline on $name', (target) => {
  const server = useTestServer(target);

  async function setUp(failFirst = 0) {
    const { counts, fetch } = countingFetch(failFirst);
    const client = new StackyardClient({ url: server().url, configDir: temporaryDirectory(), fetch });
    const store = await client.registerComponent({ type: 'ARTIFACT_STORE', name: uniqueName('metrics-store'), flavor: 'local', configuration: { path: temporaryDirectory() } });
    const stack = uniqueName('metrics-stack');
    await client.registerStack({ name: stack, components: { orchestrator: 'default', artifactStore: store.name } });
    const metricsOf = async (runId: string) => (await client.request(RunMetricsDocument, { id: runId })).run!.metrics;
    return { client, stack, counts, metricsOf };
  }

  it('records series in a few batched reports, with step indexes counted per name', async () => {
    const { client, stack, counts, metricsOf } = await setUp();
    const train = step('train', ({ lr }: { lr: number }, context) => {
      for (let epoch = 0; epoch < 2500; epoch += 1) context.logMetric('loss', lr / (epoch + 1));
      context.logMetric('accuracy', 0.9, { step: 5 });
      return 'model';
    });
    const flow = pipeline(uniqueName('metrics-train'), (parameters: { lr: number; rows: number }) => {
      train({ lr: parameters.lr });
    });
    const result = await flow.run({ client, stack, parameters: { lr: 0.2, rows: 500 }, progress: false });
    expect(result.status).toBe('COMPLETED');
    // 2501 points in 1000-point reports: three, maybe a fourth from the timer; never one per point.
    expect(counts.reports).toBeGreaterThanOrEqual(3);
    expect(counts.reports).toBeLessThanOrEqual(4);
    const metrics = await metricsOf(result.id);
    expect(metrics.map((series) => series.name)).toEqual(['accuracy', 'loss']);
    expect(metrics[0].latest).toMatchObject({ step: 5, value: 0.9 });
    expect(metrics[1].points).toHaveLength(2500);
    expect(metrics[1].points.map((point) => point.step)).toEqual(Array.from({ length: 2500 }, (_, index) => index));
    expect(metrics[1].latest).toMatchObject({ step: 2499, value: 0.2 / 2500 });
  });

  it('sends a report again when its answer is lost, and records each point once', async () => {
    const { client, stack, counts, metricsOf } = await setUp(2);
    const fit = step('fit', (_inputs, context) => {
      for (let epoch = 0; epoch < 10; epoch += 1) context.logMetric('mse', 10 - epoch);
    });
    const result = await pipeline(uniqueName('metrics-retry'), () => void fit()).run({ client, stack, progress: false });
    expect(result.status).toBe('COMPLETED');
    expect(counts.failed).toBe(2);
    const [mse] = await metricsOf(result.id);
    expect(mse.points.map((point) => point.value)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('fails the step that logs a bad name, keeping the points it logged well', async () => {
    const { client, stack, metricsOf } = await setUp();
    const fit = step('fit', (_inputs, context) => {
      context.logMetric('loss', 1);
      context.logMetric('bad"name', 2);
      context.logMetric('loss', 0.5);
    });
    const error = await pipeline(uniqueName('metrics-bad'), () => void fit()).run({ client, stack, progress: false }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PipelineRunFailedError);
    const failed = (error as PipelineRunFailedError).run;
    expect(failed.steps.fit.error).toMatch(/Metric name "bad"name"/);
    const [loss] = await metricsOf(failed.id);
    expect(loss.points.map((point) => [point.step, point.value])).toEqual([[0, 1], [1, 0.5]]);
  });

  it('throws MetricValueError where a step logs NaN, and fails the step', async () => {
    const { client, stack } = await setUp();
    let thrown: unknown;
    const fit = step('fit', (_inputs, context) => {
      try {
        context.logMetric('loss', Number.NaN);
      } catch (error) {
        thrown = error;
        throw error;
      }
    });
    const error = await pipeline(uniqueName('metrics-nan'), () => void fit()).run({ client, stack, progress: false }).catch((caught: unknown) => caught);
    expect(thrown).toBeInstanceOf(MetricValueError);
    expect((error as PipelineRunFailedError).run.steps.fit.error).toMatch(/finite number/);
  });
});
