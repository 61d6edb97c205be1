// A step's log on the run page in Chromium: followed live while the step runs, levels coloured,
// a failure's stack trace shown, and a long log paged back from its tail. Screenshots at laptop
// and phone widths land in test-artifacts/screenshots.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { PipelineRunFailedError, StackyardClient, pipeline, step } from '../client';
import { LAPTOP, PHONE, buildDashboardIfStale, expectServedDashboard, hasChromium, launchChromium, openPage as openPageAt, saveScreenshot } from './browser';
import { databaseTargets, startTestServer, uniqueName, type TestServer } from './harness';

// One database is enough here: the server's behaviour is step-logs.test.ts's business.
const target = databaseTargets[0];
const temporaryDirectories: string[] = [];

beforeAll(async () => {
  if (hasChromium) await buildDashboardIfStale();
});

describe.skipIf(!hasChromium)(`step logs in the dashboard on ${target.name}`, () => {
  let server: TestServer;
  let browser: Browser;
  let client: StackyardClient;
  let stack: string;

  beforeAll(async () => {
    server = await startTestServer(target);
    [browser] = await Promise.all([launchChromium(), expectServedDashboard(server.url)]);
    const dir = mkdtempSync(join(tmpdir(), 'stackyard-log-dashboard-'));
    temporaryDirectories.push(dir);
    client = new StackyardClient({ url: server.url, configDir: dir });
    const store = await client.registerComponent({ type: 'ARTIFACT_STORE', name: uniqueName('log-dash-store'), flavor: 'local', configuration: { path: dir } });
    stack = uniqueName('log-dash-stack');
    await client.registerStack({ name: stack, components: { orchestrator: 'default', artifactStore: store.name } });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    temporaryDirectories.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  });

  const openPage = (path: string, viewport = LAPTOP): Promise<Page> => openPageAt(browser, server.url, path, viewport);

  async function runIdOf(pipelineName: string): Promise<string> {
    for (let waited = 0; waited < 60_000; waited += 100) {
      const [edge] = (await client.runsPage({ filter: { pipeline: pipelineName } })).edges;
      if (edge) return edge.node.id;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the run never started');
  }

  it('follows a running step’s log live, colours levels and shows the failure’s stack trace', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const train = step('train', async () => {
      let epoch = 0;
      const printing = setInterval(() => console.log(`epoch ${epoch++} loss ${(1 / (epoch + 1)).toFixed(3)}`), 150);
      await released;
      clearInterval(printing);
      console.warn('learning rate schedule ended early');
      console.debug('saving the model');
      return epoch;
    }, { enableCache: false });
    const evaluate = step('evaluate', ({ epochs }: { epochs: number }) => {
      console.info(`evaluating after ${epochs} epochs`);
      console.error('accuracy is NaN');
      throw new Error('the model diverged');
    }, { enableCache: false });
    const pipelineName = uniqueName('log-dash-live');
    const running = pipeline(pipelineName, () => void evaluate({ epochs: train() })).run({ client, stack, progress: false }).catch((error: unknown) => error);
    try {
      const runId = await runIdOf(pipelineName);
      const laptop = await openPage(`/runs/${encodeURIComponent(runId)}`);
      const phone = await openPage(`/runs/${encodeURIComponent(runId)}`, PHONE);
      for (const page of [laptop, phone]) {
        const log = page.getByRole('log', { name: 'Log of train' });
        await log.getByText(/^epoch 3 /).waitFor({ timeout: 60_000 });
        await page.getByRole('region', { name: 'Log of train' }).getByText('following live').waitFor();
        // Lines keep coming without a reload.
        await log.getByText(/^epoch 12 /).waitFor({ timeout: 60_000 });
      }
      await saveScreenshot(laptop, 'step-log-live');
      await saveScreenshot(phone, 'phone-step-log-live');

      release();
      expect(await running).toBeInstanceOf(PipelineRunFailedError);
      for (const page of [laptop, phone]) {
        const trainLog = page.getByRole('log', { name: 'Log of train' });
        await trainLog.getByText('learning rate schedule ended early').waitFor({ timeout: 60_000 });
        await expect.poll(() => page.getByRole('region', { name: 'Log of train' }).getByText('following live').count(), { timeout: 60_000 }).toBe(0);
        const evaluateLog = page.getByRole('log', { name: 'Log of evaluate' });
        const failure = evaluateLog.locator('.level-error').filter({ hasText: 'Error: the model diverged' });
        await failure.waitFor({ timeout: 60_000 });
        expect(await failure.innerText()).toMatch(/Error: the model diverged\n\s+at .*step-log-dashboard\.test\.ts/);
        const colourOf = (text: string) => evaluateLog.locator('.step-log-line').filter({ hasText: text }).locator('.step-log-level').evaluate((element) => getComputedStyle(element).color);
        expect(await colourOf('accuracy is NaN')).not.toBe(await colourOf('evaluating after'));
        expect(await trainLog.locator('.level-warn').innerText()).toContain('learning rate schedule ended early');
        expect(await trainLog.locator('.level-debug').innerText()).toContain('saving the model');
      }
      await saveScreenshot(laptop, 'step-log-failed');
      await phone.getByRole('log', { name: 'Log of evaluate' }).scrollIntoViewIfNeeded();
      await saveScreenshot(phone, 'phone-step-log-failed');
    } finally {
      release();
      await running;
    }
  }, 180_000);

  it('shows a long log’s tail and pages back to its first line', async () => {
    const lines = 300;
    const chatter = step('chatter', () => {
      for (let i = 0; i < lines; i += 1) console.log(`line ${i} ${'·'.repeat(1000)}`);
    }, { enableCache: false });
    const result = await pipeline(uniqueName('log-dash-long'), () => void chatter()).run({ client, stack, progress: false });
    const page = await openPage(`/runs/${encodeURIComponent(result.id)}`);
    const log = page.getByRole('log', { name: 'Log of chatter' });
    await log.getByText(new RegExp(`^line ${lines - 1} `)).waitFor({ timeout: 60_000 });
    // The tail only: the first line is not loaded until asked for.
    expect(await log.getByText(/^line 0 /).count()).toBe(0);
    const earlier = page.getByRole('button', { name: /Show earlier lines/ });
    let clicks = 0;
    while ((await earlier.count()) > 0) {
      const before = await earlier.innerText();
      await earlier.click();
      clicks += 1;
      // Loaded: the button is gone, or names the new, smaller part still before.
      await expect.poll(async () => (await earlier.count()) === 0 || ((await earlier.innerText()) !== before && (await earlier.isEnabled())), { timeout: 60_000 }).toBe(true);
    }
    expect(clicks).toBeGreaterThan(1);
    await log.getByText(/^line 0 /).waitFor();
    expect(await log.locator('.step-log-line').count()).toBe(lines);
  }, 120_000);
});
