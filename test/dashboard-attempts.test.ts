// The run page of a run whose steps ran on workers, in a real browser: per step the worker, the
// attempt and the queue wait, every attempt with its error, and a timeline of queue waits and
// runs beside the graph, whose running bar grows. The run is seeded through GraphQL as workers
// report it. Screenshots land in test-artifacts/screenshots.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { LAPTOP, PHONE, buildDashboardIfStale, expectServedDashboard, hasChromium, launchChromium, saveScreenshot } from './browser';
import { databaseTargets, startTestServer, uniqueName, type TestServer } from './harness';
import { RESULT_FIELDS } from './registry-operations';

const target = databaseTargets[0];

beforeAll(async () => {
  if (hasChromium) await buildDashboardIfStale();
});

const worker = (name: string, host: string, pid: number) => ({ name, host, pid });
const W1 = worker('gpu-1:1111', 'gpu-1', 1111);
const W2 = worker('gpu-2:4242', 'gpu-2', 4242);
const W3 = worker('cpu-1:3333', 'cpu-1', 3333);

describe.skipIf(!hasChromium)(`run page of a distributed run in Chromium on ${target.name}`, () => {
  let server: TestServer;
  let browser: Browser;
  let run: { id: string; name: string };
  const stepIds: Record<string, string> = {};

  async function startStep(variables: Record<string, unknown>) {
    const { startStep } = await server.gql(
      `mutation($runId: ID!, $name: String!, $attempt: Int, $worker: StepWorkerInput, $queuedAt: DateTime) {
        startStep(runId: $runId, name: $name, attempt: $attempt, worker: $worker, queuedAt: $queuedAt) { ${RESULT_FIELDS} ... on StepRun { id } } }`,
      { runId: run.id, ...variables },
    );
    expect(startStep.__typename, JSON.stringify(startStep)).toBe('StepRun');
    stepIds[variables.name as string] = startStep.id;
  }

  async function finishStep(name: string, variables: Record<string, unknown>) {
    const { finishStep } = await server.gql(
      `mutation($stepRunId: ID!, $status: StepFinishStatus!, $errorMessage: String, $attempt: Int, $willRetry: Boolean) {
        finishStep(stepRunId: $stepRunId, status: $status, errorMessage: $errorMessage, attempt: $attempt, willRetry: $willRetry) { ${RESULT_FIELDS} } }`,
      { stepRunId: stepIds[name], ...variables },
    );
    expect(finishStep.__typename, JSON.stringify(finishStep)).toBe('StepRun');
  }

  const secondsAgo = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();

  beforeAll(async () => {
    server = await startTestServer(target);
    [browser] = await Promise.all([launchChromium(), expectServedDashboard(server.url)]);
    const { startRun } = await server.gql(
      `mutation($pipeline: String!) { startRun(pipeline: $pipeline, steps: [{ name: "load" }, { name: "train", parents: ["load"] }, { name: "evaluate", parents: ["load"] }]) {
        ${RESULT_FIELDS} ... on PipelineRun { id name } } }`,
      { pipeline: uniqueName('distributed') },
    );
    run = startRun;
    await startStep({ name: 'load', worker: W1, queuedAt: secondsAgo(1.5) });
    await finishStep('load', { status: 'COMPLETED', attempt: 1 });
    await startStep({ name: 'train', worker: W1, queuedAt: secondsAgo(0.5) });
    await finishStep('train', { status: 'FAILED', errorMessage: 'CUDA out of memory', attempt: 1, willRetry: true });
    await startStep({ name: 'train', attempt: 2, worker: W2, queuedAt: secondsAgo(2) });
    await finishStep('train', { status: 'COMPLETED', attempt: 2 });
    // Still running while the page is open.
    await startStep({ name: 'evaluate', worker: W3, queuedAt: secondsAgo(1) });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function openRun(viewport = LAPTOP): Promise<Page> {
    const page = await (await browser.newContext({ viewport, baseURL: server.url })).newPage();
    await page.goto(`/runs/${encodeURIComponent(run.id)}`);
    await page.getByRole('heading', { level: 1, name: run.name }).waitFor();
    return page;
  }

  const barWidth = (page: Page, step: string, kind: 'queue' | 'run', attempt = 1) =>
    page
      .getByRole('figure', { name: `Timeline of ${run.name}` })
      .getByRole('listitem', { name: new RegExp(`^${step}:`) })
      .locator(`[data-kind="${kind}"][data-attempt="${attempt}"]`)
      .evaluate((element) => element.getBoundingClientRect().width);

  it('shows per step its worker, attempt and queue wait, and every attempt with its error', async () => {
    const page = await openRun();
    const train = page.getByRole('article', { name: 'train' });
    const where = train.getByRole('definition');
    await expect.poll(() => where.allInnerTexts()).toEqual(expect.arrayContaining(['gpu-2:4242 (gpu-2, pid 4242)', '2']));
    const facts = await train.getByLabel('Where train ran').innerText();
    // Attempt 2 waited about two seconds in the queue.
    expect(facts).toMatch(/Queue wait\s+(1\.\d|2\.\d)s/);

    const attempts = train.getByRole('region', { name: 'Attempts of train' });
    const rows = attempts.getByRole('row');
    await expect.poll(() => rows.count()).toBe(3);
    const first = await rows.nth(1).getByRole('cell').allInnerTexts();
    expect(first[0]).toBe('Failed');
    expect(first[1]).toBe('gpu-1:1111 (gpu-1, pid 1111)');
    expect(first[4]).toBe('CUDA out of memory');
    const second = await rows.nth(2).getByRole('cell').allInnerTexts();
    expect(second.slice(0, 2)).toEqual(['Completed', 'gpu-2:4242 (gpu-2, pid 4242)']);
    // A step that ran once shows no attempts table, only where it ran.
    const load = page.getByRole('article', { name: 'load' });
    await load.getByLabel('Where load ran').getByText('gpu-1:1111 (gpu-1, pid 1111)').waitFor();
    expect(await load.getByRole('region', { name: 'Attempts of load' }).count()).toBe(0);
    await saveScreenshot(page, 'run-attempts');
  });

  it('draws each step’s queue wait and run on a timeline beside the graph, the running one growing', async () => {
    const page = await openRun();
    const timeline = page.getByRole('figure', { name: `Timeline of ${run.name}` });
    const graph = page.getByRole('group', { name: `Step graph of ${run.name}` });
    await timeline.waitFor();
    const train = timeline.getByRole('listitem', { name: /^train:/ });
    expect(await train.getAttribute('aria-label')).toMatch(/^train: attempt 1 queued [\d.]+m?s; attempt 1 failed on gpu-1:1111, [\d.]+m?s; attempt 2 queued (1\.\d|2\.\d)s; attempt 2 completed on gpu-2:4242, [\d.]+m?s$/);
    expect(await train.locator('[data-kind]').count()).toBe(4);
    expect(await barWidth(page, 'train', 'queue', 2)).toBeGreaterThan(await barWidth(page, 'train', 'queue', 1));

    // Beside the graph on a laptop: the same height on the page, to its right.
    const [graphBox, timelineBox] = [await graph.boundingBox(), await timeline.boundingBox()];
    expect(timelineBox!.x).toBeGreaterThan(graphBox!.x + graphBox!.width / 2);
    expect(Math.abs(timelineBox!.y - graphBox!.y)).toBeLessThan(graphBox!.height);

    // The running step's bar grows with the clock.
    const before = await barWidth(page, 'evaluate', 'run');
    await expect.poll(() => barWidth(page, 'evaluate', 'run'), { timeout: 15_000 }).toBeGreaterThan(before + 5);

    // A failed attempt and its retry show up live.
    await finishStep('evaluate', { status: 'FAILED', errorMessage: 'worker ran out of disk', attempt: 1, willRetry: true });
    await startStep({ name: 'evaluate', attempt: 2, worker: W2, queuedAt: secondsAgo(0.2) });
    const evaluate = page.getByRole('article', { name: 'evaluate' });
    await evaluate.getByRole('region', { name: 'Attempts of evaluate' }).getByText('worker ran out of disk').waitFor({ timeout: 15_000 });
    await expect.poll(() => timeline.getByRole('listitem', { name: /^evaluate:/ }).locator('[data-kind="run"]').count()).toBe(2);
    await saveScreenshot(page, 'run-timeline');
  });

  it('fits a phone screen, the timeline under the graph', async () => {
    const page = await openRun(PHONE);
    const timeline = page.getByRole('figure', { name: `Timeline of ${run.name}` });
    const graph = page.getByRole('group', { name: `Step graph of ${run.name}` });
    await timeline.waitFor();
    await page.getByRole('region', { name: 'Attempts of train' }).waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    const [graphBox, timelineBox] = [await graph.boundingBox(), await timeline.boundingBox()];
    expect(timelineBox!.y).toBeGreaterThan(graphBox!.y);
    expect(timelineBox!.x + timelineBox!.width).toBeLessThanOrEqual(PHONE.width);
    await saveScreenshot(page, 'phone-run-attempts');
  });
});
