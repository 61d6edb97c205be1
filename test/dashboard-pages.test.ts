// The dashboard's browsing pages in a real browser: pipelines, all runs with filters, artifacts
// with previews of JSON, a CSV table and an image, search from the header, and a 12-way fan-out
// step graph that fits its frame and pans and zooms. Screenshots at laptop and phone widths land
// in test-artifacts/screenshots.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { LocalPath, StackyardClient, pipeline, step } from '../client';
import { LAPTOP, PHONE, buildDashboardIfStale, expectServedDashboard, hasChromium, launchChromium, openPage as openDashboardPage, saveScreenshot } from './browser';
import { databaseTargets, startTestServer, uniqueName, type TestServer } from './harness';

// One database is enough here: the server's behaviour is the other suites' business.
const target = databaseTargets[0];

const temporaryDirectories: string[] = [];
function temporaryDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-dashboard-pages-'));
  temporaryDirectories.push(dir);
  return dir;
}

beforeAll(async () => {
  if (hasChromium) await buildDashboardIfStale();
});

describe.skipIf(!hasChromium)(`dashboard pages in Chromium on ${target.name}`, () => {
  let server: TestServer;
  let browser: Browser;
  let client: StackyardClient;
  const stackName = uniqueName('pages-stack');
  const trainingName = uniqueName('pages-training');
  const fanOutName = uniqueName('pages-fanout');
  const fanOutRunIds: Record<number, string> = {};
  let png: Buffer;

  beforeAll(async () => {
    server = await startTestServer(target);
    [browser] = await Promise.all([launchChromium(), expectServedDashboard(server.url)]);
    client = new StackyardClient({ url: server.url, configDir: temporaryDirectory() });
    const store = uniqueName('pages-store');
    await client.registerComponent({ type: 'ARTIFACT_STORE', name: store, flavor: 'local', configuration: { path: temporaryDirectory() } });
    await client.registerStack({ name: stackName, components: { orchestrator: 'default', artifactStore: store } });

    // An image the browser draws itself: a gradient, as a PNG.
    const painter = await browser.newPage({ viewport: { width: 96, height: 64 } });
    await painter.setContent('<body style="margin:0;background:linear-gradient(90deg,#3451b2,#1f7a3f)"></body>');
    png = await painter.screenshot({ type: 'png' });
    await painter.close();
    const files = temporaryDirectory();
    writeFileSync(join(files, 'metrics.csv'), 'epoch,loss,accuracy\n1,0.92,0.61\n2,0.55,0.78\n3,0.31,0.88\n');
    writeFileSync(join(files, 'confusion.png'), png);

    const config = step('config', () => ({ lr: 0.2, rows: 500, layers: [64, 32] }));
    const rows = step('rows', ({ settings }: { settings: { rows: number } }) => [
      { split: 'train', rows: settings.rows * 0.8 },
      { split: 'test', rows: settings.rows * 0.2 },
    ]);
    const metrics = step('metrics', () => new LocalPath(join(files, 'metrics.csv')), { enableCache: false });
    const plot = step('plot', ({ table }: { table: unknown }) => (table ? new LocalPath(join(files, 'confusion.png')) : null), { enableCache: false });
    const training = pipeline(trainingName, () => {
      const settings = config();
      plot({ table: rows({ settings }) });
      metrics();
    });
    await training.run({ client, stack: stackName, progress: false, tags: ['nightly'] });
    await training.run({ client, stack: stackName, progress: false, tags: ['adhoc'] });

    // One source feeding 12 (and 8) workers that one merge waits for.
    for (const width of [12, 8]) {
      const source = step('source', () => 1);
      const workers = Array.from({ length: width }, (_, index) => step(`worker-${String(index + 1).padStart(2, '0')}`, ({ value }: { value: number }) => value + index));
      const merge = step('merge', (inputs: Record<string, number>) => Object.values(inputs).reduce((sum, value) => sum + value, 0));
      const fanOut = pipeline(width === 12 ? fanOutName : `${fanOutName}-8`, () => {
        const value = source();
        merge(Object.fromEntries(workers.map((worker, index) => [`w${index}`, worker({ value })])));
      });
      fanOutRunIds[width] = (await fanOut.run({ client, stack: stackName, progress: false })).id;
    }
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    temporaryDirectories.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  });

  const openPage = (path: string, viewport = LAPTOP) => openDashboardPage(browser, server.url, path, viewport);

  /** Screenshots of the page as it is, on a laptop and then on a phone. */
  async function shoot(page: Page, name: string, ready: () => Promise<unknown>): Promise<void> {
    await saveScreenshot(page, `${name}-laptop`);
    await page.setViewportSize(PHONE);
    await ready();
    await saveScreenshot(page, `${name}-phone`);
    await page.setViewportSize(LAPTOP);
  }

  function rowHeaders(page: Page, table: string): Promise<string[]> {
    return page.getByRole('region', { name: table, exact: true }).getByRole('rowheader').allInnerTexts();
  }

  it('lists pipelines with their runs, last run and success rate, and opens one with its runs and duration trend', async () => {
    const page = await openPage('/');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Pipelines' }).click();
    const row = page.getByRole('region', { name: 'Pipelines', exact: true }).getByRole('row', { name: new RegExp(`^${trainingName}`) });
    await expect.poll(() => row.getByRole('cell').allInnerTexts()).toEqual(['2', expect.stringMatching(/ago|now/), '100%']);
    await shoot(page, 'pages-pipelines', () => row.waitFor());

    await row.getByRole('link', { name: trainingName }).click();
    await page.getByRole('heading', { level: 1, name: trainingName }).waitFor();
    const runs = await client.runsPage({ filter: { pipeline: trainingName } });
    await expect.poll(() => rowHeaders(page, 'Runs')).toEqual(runs.edges.map((edge) => edge.node.name));
    await page.getByRole('img', { name: new RegExp(`^Duration of the last 50 runs of ${trainingName}: 2 finished runs`) }).waitFor();
    await page.getByText('100%', { exact: true }).waitFor();
    await shoot(page, 'pages-pipeline', () => page.getByRole('img', { name: /^Duration of/ }).waitFor());
  });

  it('lists all runs, filters them by tag and name, and keeps the filters in the address', async () => {
    const page = await openPage('/runs');
    const all = await client.runsPage({ first: 20 });
    await expect.poll(() => rowHeaders(page, 'Runs')).toEqual(all.edges.map((edge) => edge.node.name));

    await page.getByRole('textbox', { name: 'Tags (all of)' }).fill('nightly');
    await page.getByRole('searchbox', { name: 'Name contains' }).fill(trainingName);
    const nightly = await client.runsPage({ filter: { tags: ['nightly'], nameContains: trainingName } });
    expect(nightly.totalCount).toBe(1);
    await expect.poll(() => rowHeaders(page, 'Runs')).toEqual(nightly.edges.map((edge) => edge.node.name));
    const address = new URL(page.url());
    expect([address.searchParams.get('tags'), address.searchParams.get('name')]).toEqual(['nightly', trainingName]);

    await page.reload();
    await expect.poll(() => rowHeaders(page, 'Runs')).toEqual(nightly.edges.map((edge) => edge.node.name));
    await page.getByRole('combobox', { name: 'Status' }).selectOption({ label: 'Failed' });
    await page.getByText('No runs match these filters.').waitFor();
    await page.getByRole('combobox', { name: 'Status' }).selectOption({ label: 'All statuses' });
    await page.getByRole('combobox', { name: 'Stack' }).selectOption({ label: stackName });
    await expect.poll(() => rowHeaders(page, 'Runs')).toEqual(nightly.edges.map((edge) => edge.node.name));
    await shoot(page, 'pages-runs-filtered', () => page.getByRole('region', { name: 'Runs', exact: true }).waitFor());

    // A new run that matches the filters appears at the top, live; one that does not, never.
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    const other = await client.startRun({ pipeline: trainingName, stack: stackName, tags: ['adhoc'], name: `${trainingName}-not-nightly` });
    const live = await client.startRun({ pipeline: trainingName, stack: stackName, tags: ['nightly', 'gpu'], name: `${trainingName}-live` });
    await expect.poll(() => rowHeaders(page, 'Runs'), { timeout: 30_000 }).toEqual([live.name, ...nightly.edges.map((edge) => edge.node.name)]);
    for (const run of [live, other]) await client.finishRun({ runId: run.id, status: 'STOPPED' });
  });

  it('browses artifacts to a version, previews its JSON, and shows its lineage', async () => {
    const page = await openPage('/artifacts');
    const name = `${trainingName}::config::output`;
    await page.getByRole('searchbox', { name: 'Name contains' }).fill(trainingName);
    await expect.poll(() => rowHeaders(page, 'Artifacts')).toEqual(
      ['config', 'metrics', 'plot', 'rows'].map((stepName) => `${trainingName}::${stepName}::output`),
    );
    await page.getByRole('link', { name, exact: true }).click();
    await page.getByRole('heading', { level: 1, name }).waitFor();
    // The second run reused the first's config (a cache hit): one version, produced by the first run.
    const version = (await client.artifactVersion(name))!;
    await expect.poll(() => rowHeaders(page, `Versions of ${name}`)).toEqual([`v${version.version}`]);
    await page.getByRole('link', { name: `v${version.version}`, exact: true }).click();

    const preview = page.getByLabel(`Content of ${name} v${version.version}`);
    await expect.poll(() => preview.innerText()).toBe(JSON.stringify({ lr: 0.2, rows: 500, layers: [64, 32] }, null, 2));
    const [firstRun] = (await client.runsPage({ filter: { pipeline: trainingName }, orderBy: { field: 'CREATED', direction: 'ASC' } })).edges.map((edge) => edge.node);
    const producedBy = page.locator('.lineage > div').filter({ has: page.getByRole('heading', { name: 'Produced by' }) });
    await producedBy.getByRole('link', { name: firstRun.name }).waitFor();
    // The rows step read it, in each run (the second's a cache hit that still names its inputs).
    const consumers = page.getByRole('list', { name: 'Consumers' }).getByRole('listitem');
    await expect.poll(() => consumers.count()).toBeGreaterThanOrEqual(1);
    for (const consumer of await consumers.allInnerTexts()) expect(consumer).toMatch(/^Step rows /);
    await shoot(page, 'pages-artifact-json', () => preview.waitFor());

    await producedBy.getByRole('link', { name: firstRun.name }).click();
    await page.getByRole('heading', { level: 1, name: firstRun.name }).waitFor();
    // And back from the run page: its outputs link to their versions.
    await page.getByRole('article', { name: 'config' }).getByRole('link', { name: new RegExp(`^${name}`) }).click();
    await page.getByRole('heading', { level: 2, name: 'Preview' }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/artifacts/${encodeURIComponent(name)}/versions/${version.version}`);
  });

  it('previews a JSON array and a CSV file as tables, and an image as an image', async () => {
    const rows = `${trainingName}::rows::output`;
    const page = await openPage(`/artifacts/${encodeURIComponent(rows)}/versions/1`);
    const rowsTable = page.getByRole('region', { name: `Content of ${rows} v1` });
    await expect.poll(() => rowsTable.getByRole('columnheader').allInnerTexts()).toEqual(['split', 'rows']);
    expect(await rowsTable.getByRole('row').nth(1).getByRole('cell').allInnerTexts()).toEqual(['train', '400']);

    const csv = `${trainingName}::metrics::output`;
    const versions: number[] = [];
    for await (const version of client.artifactVersions({ name: csv })) versions.push(version.version);
    expect(versions).toHaveLength(2);
    await page.goto(`/artifacts/${encodeURIComponent(csv)}/versions/${versions[0]}`);
    const csvTable = page.getByRole('region', { name: `Content of ${csv} v${versions[0]}` });
    await expect.poll(() => csvTable.getByRole('columnheader').allInnerTexts()).toEqual(['epoch', 'loss', 'accuracy']);
    await expect.poll(() => csvTable.getByRole('row').count()).toBe(4);
    expect(await csvTable.getByRole('row').nth(3).getByRole('cell').allInnerTexts()).toEqual(['3', '0.31', '0.88']);
    await shoot(page, 'pages-artifact-csv', () => csvTable.waitFor());

    const image = `${trainingName}::plot::output`;
    await page.goto(`/artifacts/${encodeURIComponent(image)}/versions/1`);
    const img = page.getByRole('img', { name: `Content of ${image} v1` });
    await img.waitFor();
    await expect.poll(() => img.evaluate((element: HTMLImageElement) => element.complete && element.naturalWidth)).toBe(96);
    // The bytes the browser shows are the ones the step stored.
    const shown = await img.evaluate(async (element: HTMLImageElement) => Array.from(new Uint8Array(await (await fetch(element.src)).arrayBuffer())));
    expect(Buffer.from(shown)).toEqual(png);
    await shoot(page, 'pages-artifact-image', () => img.waitFor());
  });

  it('finds a run through the search box in the header', async () => {
    const [run] = (await client.runsPage({ filter: { pipeline: fanOutName } })).edges.map((edge) => edge.node);
    const page = await openPage('/stacks');
    const box = page.getByRole('searchbox', { name: /^Search/ });
    await box.fill(run.name.toUpperCase());
    const results = page.getByRole('list', { name: 'Search results' });
    await expect.poll(() => results.getByRole('link').allTextContents()).toEqual([`${run.name} Run · completed`]);
    await saveScreenshot(page, 'pages-search-laptop');
    // The arrow key moves to the suggestion, and Enter follows it.
    await box.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: run.name }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/runs/${encodeURIComponent(run.id)}`);

    // Enter opens the search page, with every kind of hit.
    await page.setViewportSize(PHONE);
    await box.fill(stackName.slice(0, -3));
    await box.press('Enter');
    await page.getByRole('heading', { level: 1, name: `Names like “${stackName.slice(0, -3)}”` }).waitFor();
    await page.getByRole('main').getByRole('link', { name: `${stackName} Stack`, exact: true }).waitFor();
    await saveScreenshot(page, 'pages-search-phone');
  });

  /** Each node's box and the frame's, to tell whether the whole graph is in view. */
  async function nodesInFrame(graph: Locator): Promise<{ inside: boolean; nodes: number; smallestText: number }> {
    return graph.evaluate((svg: SVGSVGElement) => {
      const frame = svg.getBoundingClientRect();
      const nodes = [...svg.querySelectorAll('a.node rect')].map((rect) => rect.getBoundingClientRect());
      const texts = [...svg.querySelectorAll('text.node-name')].map((text) => text.getBoundingClientRect().height);
      const inside = nodes.every((box) => box.left >= frame.left - 0.5 && box.right <= frame.right + 0.5 && box.top >= frame.top - 0.5 && box.bottom <= frame.bottom + 0.5);
      return { inside, nodes: nodes.length, smallestText: Math.min(...texts) };
    });
  }

  it.each([12, 8])('fits a %i-way fan-out whole into the graph, readable on a laptop and a phone, and pans and zooms it', async (width) => {
    for (const [viewport, minimumText] of [
      [LAPTOP, 9],
      [PHONE, 7],
    ] as const) {
      const page = await openPage(`/runs/${encodeURIComponent(fanOutRunIds[width])}`, viewport);
      const graph = page.getByRole('group', { name: /^Step graph of / });
      await graph.getByRole('link', { name: new RegExp(`^worker-${String(width).padStart(2, '0')}: (Completed|Cached)`) }).waitFor();
      await expect.poll(() => graph.locator('path.edge').count()).toBe(2 * width);
      await expect.poll(() => nodesInFrame(graph)).toEqual({ inside: true, nodes: width + 2, smallestText: expect.any(Number) });
      expect((await nodesInFrame(graph)).smallestText).toBeGreaterThanOrEqual(minimumText);
      await saveScreenshot(page, `pages-fanout-${width}-${viewport === LAPTOP ? 'laptop' : 'phone'}`);
      await page.setViewportSize(viewport);

      const frame = page.locator('.graph-frame');
      const zoomOf = async () => Number(await frame.getAttribute('data-zoom'));
      const fitted = await zoomOf();
      await page.getByRole('button', { name: 'Zoom in' }).click();
      await expect.poll(zoomOf).toBeCloseTo(fitted * 1.25, 2);
      // Zoomed in, part of the graph is out of view; a drag pans it.
      await expect.poll(() => nodesInFrame(graph).then((state) => state.inside)).toBe(false);
      const position = () => graph.locator('a.node rect').first().evaluate((rect) => rect.getBoundingClientRect().left);
      const before = await position();
      // A point of the graph in the window, where the mouse can reach it.
      await graph.scrollIntoViewIfNeeded();
      const box = (await graph.boundingBox())!;
      const [x, y] = [box.x + box.width / 2, Math.max(0, box.y) + 60];
      await page.mouse.move(x, y);
      await page.mouse.down();
      await page.mouse.move(x - 80, y, { steps: 5 });
      await page.mouse.up();
      await expect.poll(async () => Math.round(before - (await position()))).toBe(80);
      // Ctrl and the wheel zoom out; Fit shows the whole graph again.
      await page.mouse.move(x, y);
      await page.keyboard.down('Control');
      await page.mouse.wheel(0, 200);
      await page.keyboard.up('Control');
      await expect.poll(zoomOf).toBeLessThan(fitted * 1.25);
      await page.getByRole('button', { name: 'Fit' }).click();
      await expect.poll(zoomOf).toBeCloseTo(fitted, 2);
      await expect.poll(() => nodesInFrame(graph).then((state) => state.inside)).toBe(true);
      await page.context().close();
    }
  });

  it('ticks the elapsed time of a running step', async () => {
    const run = await client.startRun({ pipeline: uniqueName('pages-running'), stack: stackName, steps: [{ name: 'slow' }] });
    await client.startStep({ runId: run.id, name: 'slow' });
    try {
      const page = await openPage(`/runs/${encodeURIComponent(run.id)}`);
      const node = page.getByRole('group', { name: /^Step graph of / }).getByRole('link', { name: /^slow: Running · / });
      await node.waitFor();
      const first = await node.getAttribute('aria-label');
      await expect.poll(() => node.getAttribute('aria-label'), { timeout: 15_000 }).not.toBe(first);
      // The step's card says how long it has been running too.
      const duration = page.getByRole('article', { name: 'slow' }).locator('dt:text-is("Duration") + dd');
      const shown = await duration.innerText();
      expect(shown).toMatch(/^\d+(\.\d)?s$|^\d+ms$/);
      await expect.poll(() => duration.innerText(), { timeout: 15_000 }).not.toBe(shown);
    } finally {
      await client.finishRun({ runId: run.id, status: 'STOPPED' });
    }
  });

  it('stops a running run with its Stop button, once the user confirms', async () => {
    const run = await client.startRun({ pipeline: uniqueName('pages-stoppable'), stack: stackName, steps: [{ name: 'slow' }] });
    const step = await client.startStep({ runId: run.id, name: 'slow' });
    const page = await openPage(`/runs/${encodeURIComponent(run.id)}`);
    const stop = page.getByRole('button', { name: `Stop run ${run.name}` });
    // Declining changes nothing.
    page.once('dialog', (dialog) => void dialog.dismiss());
    await stop.click();
    expect((await client.getRun(run.id))!.status).toBe('RUNNING');
    page.once('dialog', (dialog) => {
      expect(dialog.message()).toBe(`Stop the run “${run.name}”? Its running steps are abandoned.`);
      void dialog.accept();
    });
    await stop.click();
    await page.getByRole('status', { name: 'Run status' }).getByText('Stopped').waitFor();
    await page.locator('dt:text-is("Reason") + dd').getByText('Stopped by local').waitFor();
    await expect.poll(() => stop.count()).toBe(0);
    const stopped = (await client.getRun(run.id))!;
    expect(stopped).toMatchObject({ status: 'STOPPED', statusReason: 'Stopped by local' });
    expect(stopped.steps.map((candidate) => [candidate.id, candidate.status])).toEqual([[step.id, 'STOPPED']]);
    await page.context().close();
  });
});
