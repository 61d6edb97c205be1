// Parameters, metrics and run comparison in a real browser: a run page shows the run's
// parameters as values, its metrics with sparklines, each step's metadata and metrics, and a
// cached step's reused ones, marked; three
// runs ticked in a stack's runs table open a comparison with differing parameters marked and
// each metric's series overlaid on one chart. Screenshots on laptop and phone widths.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { StackyardClient, pipeline, step } from '../client';
import { LAPTOP, PHONE, buildDashboardIfStale, expectServedDashboard, hasChromium, launchChromium, openPage as openBrowserPage, saveScreenshot } from './browser';
import { databaseTargets, startTestServer, uniqueName, type TestServer } from './harness';

const target = databaseTargets[0];

const temporaryDirectories: string[] = [];
function temporaryDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-dashboard-metrics-'));
  temporaryDirectories.push(dir);
  return dir;
}

beforeAll(async () => {
  if (hasChromium) await buildDashboardIfStale();
});

describe.skipIf(!hasChromium)(`metrics and comparison in Chromium on ${target.name}`, () => {
  let server: TestServer;
  let browser: Browser;
  let client: StackyardClient;
  const stackName = uniqueName('metrics-stack');
  const pipelineName = uniqueName('metrics-training');
  const runIds: string[] = [];

  beforeAll(async () => {
    server = await startTestServer(target);
    [browser] = await Promise.all([launchChromium(), expectServedDashboard(server.url)]);
    client = new StackyardClient({ url: server.url, configDir: temporaryDirectory() });
    const store = await client.registerComponent({ type: 'ARTIFACT_STORE', name: uniqueName('metrics-store'), flavor: 'local', configuration: { path: temporaryDirectory() } });
    await client.registerStack({ name: stackName, components: { orchestrator: 'default', artifactStore: store.name } });

    // The pipeline: parameters lr and rows, a loss curve, a final loss and mse.
    const load = step('load', ({ rows }: { rows: number }, context) => {
      void context.logMetadata({ rows, columns: 4, split: { train: 0.8, test: 0.2 } });
      context.logMetric('rows_loaded', rows);
      return Array.from({ length: rows }, (_, index) => index % 7);
    });
    const train = step('train', ({ data, lr }: { data: number[]; lr: number }, context) => {
      const curve: number[] = [];
      for (let epoch = 0; epoch < 20; epoch += 1) {
        const loss = 1 / (1 + lr * 10 * epoch) + data.length / 1e5;
        curve.push(loss);
        context.logMetric('loss', loss);
      }
      context.logMetric('mse', curve[curve.length - 1] / 2);
      void context.logMetadata({ final_loss: curve[curve.length - 1], loss_curve: curve });
      return curve[curve.length - 1];
    });
    const training = pipeline(pipelineName, (parameters: { lr: number; rows: number }) => {
      train({ data: load({ rows: parameters.rows }), lr: parameters.lr });
    });
    for (const lr of [0.2, 0.05, 0.1]) {
      const run = await training.run({ client, stack: stackName, parameters: { lr, rows: 500 }, progress: false });
      runIds.push(run.id);
    }
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    temporaryDirectories.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  });

  const openPage = (path: string, viewport = LAPTOP) => openBrowserPage(browser, server.url, path, viewport);

  it('shows a run\'s parameters, its metrics as sparklines, and a cached step\'s reused metadata and metrics', async () => {
    const page = await openPage(`/runs/${encodeURIComponent(runIds[1])}`);
    const run = (await client.getRun(runIds[1]))!;
    await page.getByRole('heading', { level: 1, name: run.name }).waitFor();

    const parameterList = page.locator('dl[aria-label="Run parameters"]');
    await expect.poll(() => parameterList.locator('dt').allInnerTexts()).toEqual(['lr', 'rows']);
    expect(await parameterList.locator('dd').allInnerTexts()).toEqual(['0.05', '500']);

    const metrics = page.getByRole('region', { name: 'Run metrics' });
    await expect.poll(() => metrics.getByRole('rowheader').allInnerTexts()).toEqual(['loss', 'mse']);
    const loss = metrics.getByRole('row', { name: /^loss/ });
    expect((await loss.getByRole('cell').allInnerTexts()).slice(1, 2)).toEqual(['19']);
    await expect.poll(() => loss.getByRole('img', { name: /^loss: 20 values from 1\.0/ }).count()).toBe(1);

    // The train step's metadata: a number, a series as a sparkline, never JSON text.
    const trainCard = page.getByRole('article', { name: 'train' });
    const trainMetadata = trainCard.locator('dl[aria-label="Metadata of train"]');
    await trainMetadata.getByRole('img', { name: /^loss_curve: 20 values/ }).waitFor();
    expect(await trainMetadata.innerText()).not.toContain('[');
    // load is a cache hit on the second run: it shows the first run's metadata, marked as reused.
    const loadCard = page.getByRole('article', { name: 'load' });
    const reused = loadCard.locator('dl[aria-label="Metadata of load, reused"]');
    await reused.waitFor();
    const firstRun = (await client.getRun(runIds[0]))!;
    await loadCard.getByRole('heading', { name: `Metadata (reused from ${firstRun.name})` }).getByRole('link', { name: firstRun.name }).waitFor();
    await loadCard.getByRole('heading', { name: `Metrics (reused from ${firstRun.name})` }).waitFor();
    await reused.locator('table[aria-label="split"]').waitFor();
    await expect.poll(() => loadCard.getByRole('region', { name: 'Metrics of load, reused' }).getByRole('rowheader').allInnerTexts()).toEqual(['rows_loaded']);
    const trainMetrics = trainCard.getByRole('region', { name: 'Metrics of train' });
    await expect.poll(() => trainMetrics.getByRole('rowheader').allInnerTexts()).toEqual(['loss', 'mse']);
    await trainMetrics.getByRole('img', { name: /^loss: 20 values/ }).waitFor();
    await saveScreenshot(page, 'metrics-run');

    const phone = await openPage(`/runs/${encodeURIComponent(runIds[1])}`, PHONE);
    await phone.getByRole('region', { name: 'Run metrics' }).getByRole('img', { name: /^loss/ }).waitFor();
    expect(await phone.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await saveScreenshot(phone, 'phone-metrics-run');
  });

  it('compares three runs ticked in the runs table, with an overlaid metric chart', async () => {
    for (const [viewport, name] of [[LAPTOP, 'compare-runs'], [PHONE, 'phone-compare-runs']] as const) {
      const page = await openPage(`/stacks/${stackName}`, viewport);
      const runs = await Promise.all(runIds.map(async (id) => (await client.getRun(id))!));
      for (const run of runs) await page.getByRole('checkbox', { name: `Compare ${run.name}` }).check();
      await page.getByRole('link', { name: 'Compare 3 runs' }).click();
      await page.getByRole('heading', { level: 1, name: 'Compare 3 runs' }).waitFor();

      const parameters = page.getByRole('region', { name: 'Parameters side by side' });
      await expect.poll(() => parameters.getByRole('columnheader').allInnerTexts()).toEqual(['Parameter', ...runs.map((run) => run.name)]);
      const lr = parameters.getByRole('row', { name: /lr/ });
      expect(await lr.getAttribute('class')).toBe('differs');
      expect(await lr.getByRole('cell').allInnerTexts()).toEqual(['0.2', '0.05', '0.1']);
      expect(await parameters.getByRole('row', { name: /rows/ }).getAttribute('class')).toBeNull();

      const latest = page.getByRole('region', { name: 'Latest metrics side by side' });
      // A cached load step logs nothing in its run: only the first run has rows_loaded.
      await expect.poll(() => latest.getByRole('rowheader').allInnerTexts()).toEqual(['≠ loss', '≠ mse', '≠ rows_loaded']);
      expect(await latest.getByRole('row', { name: /rows_loaded/ }).getByRole('cell').allInnerTexts()).toEqual(['500 step 0', '-', '-']);
      const chart = page.getByRole('figure').filter({ has: page.getByRole('img', { name: /^loss:/ }) });
      // One line per run, overlaid in one drawing, and a legend naming each run.
      await expect.poll(() => chart.locator('path.line').count()).toBe(3);
      expect((await chart.getByRole('list', { name: 'Legend of loss' }).getByRole('listitem').allInnerTexts()).map((text) => text.trim())).toEqual(runs.map((run) => run.name));
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      await saveScreenshot(page, name);
    }
    // An address with one run says why there is nothing to compare.
    const single = await openPage(`/compare?runs=${encodeURIComponent(runIds[0])}`);
    await single.getByRole('alert').getByText('Compare at least 2 runs').waitFor();
  });
});
