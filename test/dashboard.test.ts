// The dashboard in a real browser: Chromium clicks through stacks, a stack and a run of a
// server seeded through the SDK, checks what it shows against what the client reads, and
// watches a run finish live. Screenshots land in test-artifacts/screenshots.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { PipelineRunFailedError, StackyardClient, pipeline, step } from '../client';
import { CHROMIUM_PATH, LAPTOP, PHONE, buildDashboardIfStale, expectServedDashboard, hasChromium, launchChromium, openPage as openBrowserPage, saveScreenshot } from './browser';
import { databaseTargets, startTestServer, uniqueName, type TestServer } from './harness';
import { S3_ACCESS_KEY, S3_SECRET_KEY, startAzurite, startS3, type AzureService, type S3Service } from './store-services';

// CI installs Chromium and sets this, so a missing browser fails there instead of skipping.
if (!hasChromium && process.env.STACKYARD_REQUIRE_BROWSER) {
  throw new Error(`STACKYARD_REQUIRE_BROWSER is set but there is no Chromium at ${CHROMIUM_PATH}`);
}
if (!hasChromium) {
  console.warn(`Skipping the dashboard tests: no Chromium at ${CHROMIUM_PATH}. Install it (apt-get install chromium) or set STACKYARD_CHROMIUM.`);
}

// One database is enough here: the server's behaviour is the other suites' business.
const target = databaseTargets[0];
const SECRET = 'mlflow-token-never-shown';

const temporaryDirectories: string[] = [];
function temporaryDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-dashboard-'));
  temporaryDirectories.push(dir);
  return dir;
}

// Built before any server starts, since a server looks for dashboard/dist when it starts.
beforeAll(async () => {
  if (hasChromium) await buildDashboardIfStale();
});

describe.skipIf(!hasChromium)(`dashboard in Chromium on ${target.name}`, () => {
  let server: TestServer;
  let browser: Browser;
  let client: StackyardClient;
  const stackName = uniqueName('dash-stack');
  const storeName = uniqueName('dash-store');
  const trackerName = uniqueName('dash-tracker');
  const pipelineName = uniqueName('dash-training');
  let failedRunId: string;

  beforeAll(async () => {
    server = await startTestServer(target);
    [browser] = await Promise.all([launchChromium(), expectServedDashboard(server.url)]);
    client = new StackyardClient({ url: server.url, configDir: temporaryDirectory() });

    await client.registerComponent({ type: 'ARTIFACT_STORE', name: storeName, flavor: 'local', configuration: { path: temporaryDirectory() } });
    await client.registerComponent({
      type: 'EXPERIMENT_TRACKER',
      name: trackerName,
      flavor: 'mlflow',
      configuration: { trackingUri: 'https://mlflow.example.com', trackingToken: SECRET },
    });
    await client.registerStack({
      name: stackName,
      description: 'Where the dashboard tests train',
      components: { orchestrator: 'default', artifactStore: storeName, experimentTracker: trackerName },
    });

    // A diamond: load feeds clean and stats, which both feed train. The second run is all cache hits.
    const load = step('load', () => ({ rows: [3, 1, 2] }));
    const clean = step('clean', ({ data }: { data: { rows: number[] } }) => data.rows.toSorted());
    const stats = step('stats', ({ data }: { data: { rows: number[] } }) => ({ count: data.rows.length }));
    const train = step('train', ({ rows, summary }: { rows: number[]; summary: { count: number } }) => `model of ${summary.count}: ${rows.join(',')}`);
    const training = pipeline(pipelineName, () => {
      const data = load();
      train({ rows: clean({ data }), summary: stats({ data }) });
    });
    await training.run({ client, stack: stackName, progress: false, tags: ['nightly'] });
    await training.run({ client, stack: stackName, progress: false });
    const broken = step('explode', () => {
      throw new Error('boom');
    });
    const failing = await pipeline(uniqueName('dash-failing'), () => void broken())
      .run({ client, stack: stackName, progress: false })
      .then(() => Promise.reject(new Error('the failing pipeline succeeded')))
      .catch((error: unknown) => {
        if (!(error instanceof PipelineRunFailedError)) throw error;
        return error.run;
      });
    failedRunId = failing.id;
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    temporaryDirectories.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  });

  const openPage = (path: string, viewport = LAPTOP) => openBrowserPage(browser, server.url, path, viewport);

  /** The text of each row's first cell, for comparing a table with what the client reads. */
  async function runNamesIn(page: Page): Promise<string[]> {
    return page.getByRole('region', { name: 'Runs', exact: true }).getByRole('rowheader').allInnerTexts();
  }

  it('lists the stacks with components, run counts and last run, and sets one active', async () => {
    const page = await openPage('/');
    await expect.poll(() => page.url()).toMatch(/\/stacks$/);
    const card = page.getByRole('article', { name: stackName });
    await card.waitFor();
    const chips = await card.getByRole('list', { name: 'Components' }).getByRole('listitem').allInnerTexts();
    expect(chips).toEqual([`Orchestrator default`, `Artifact store ${storeName}`, `Experiment tracker ${trackerName}`]);

    const stack = (await client.getStack(stackName))!;
    const counts = await card.getByRole('list', { name: 'Runs per status' }).getByRole('listitem').allInnerTexts();
    expect(counts).toEqual(stack.runStats.byStatus.filter((entry) => entry.count > 0).map((entry) => `${entry.status[0]}${entry.status.slice(1).toLowerCase()} ${entry.count}`));
    const [lastRun] = (await client.runsPage({ filter: { stackName }, first: 1 })).edges.map((edge) => edge.node);
    await expect.poll(() => card.getByRole('link', { name: lastRun.name }).count()).toBe(1);

    const defaultCard = page.getByRole('article', { name: 'default', exact: true });
    await defaultCard.getByText('Active').waitFor();
    await card.getByRole('button', { name: 'Set active' }).click();
    await card.getByText('Active', { exact: true }).waitFor();
    await defaultCard.getByRole('button', { name: 'Set active' }).waitFor();
    expect((await client.getActiveStack()).name).toBe(stackName);
    await saveScreenshot(page, 'stacks');
    await client.setActiveStack('default');
  });

  it('updates a stack’s run counts live when one of its runs starts and ends', async () => {
    const page = await openPage('/');
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    await page.evaluate('window.notReloaded = true');
    const card = page.getByRole('article', { name: stackName });
    const counts = () => card.getByRole('list', { name: 'Runs per status' }).getByRole('listitem').allInnerTexts();
    const run = await client.startRun({ pipeline: uniqueName('dash-counts'), stack: stackName, steps: [{ name: 'only' }] });
    const only = await client.startStep({ runId: run.id, name: 'only' });
    await expect.poll(counts, { timeout: 60_000 }).toContain('Running 1');
    await client.finishStep({ stepRunId: only.id, status: 'COMPLETED' });
    await expect.poll(counts, { timeout: 60_000 }).not.toContain('Running 1');
    await expect.poll(() => card.getByRole('link', { name: run.name }).count(), { timeout: 60_000 }).toBe(1);
    expect(await page.evaluate('window.notReloaded')).toBe(true);
  });

  it('shows a stack’s configuration and runs as the database has them, secrets only as set', async () => {
    const page = await openPage('/stacks');
    await page.getByRole('link', { name: stackName, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: stackName }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/stacks/${stackName}`);

    const stack = (await client.getStack(stackName))!;
    const typeLabels: Record<string, string> = { ORCHESTRATOR: 'Orchestrator', ARTIFACT_STORE: 'Artifact store', EXPERIMENT_TRACKER: 'Experiment tracker' };
    for (const component of stack.components) {
      const title = `${typeLabels[component.type]}: ${component.name}`;
      const card = page.getByRole('article', { name: title });
      await expect.poll(() => card.getByText(component.flavorName, { exact: true }).count()).toBe(1);
      const shown = card.getByLabel(`Configuration of ${title}`);
      const expected = [
        ...Object.entries(component.configuration).map(([key, value]) => `${key}\n${typeof value === 'string' ? value : JSON.stringify(value)}`),
        ...component.secretsSet.map((key) => `${key}\n•••• set`),
      ];
      if (expected.length === 0) await card.getByText('No settings').waitFor();
      else await expect.poll(() => shown.locator(':scope > div').allInnerTexts()).toEqual(expected);
    }
    expect(stack.components.find((component) => component.type === 'EXPERIMENT_TRACKER')!.secretsSet).toEqual(['trackingToken']);
    expect(await page.content()).not.toContain(SECRET);

    const runs = await client.runsPage({ filter: { stackName }, first: 20 });
    await expect.poll(() => runNamesIn(page)).toEqual(runs.edges.map((edge) => edge.node.name));
    await page.getByText(`${runs.totalCount} runs`, { exact: true }).waitFor();
    await page.getByRole('img', { name: /Runs per day/ }).waitFor();
    await saveScreenshot(page, 'stack');
  });

  it('filters the runs by status, and keeps the filter in the address', async () => {
    const page = await openPage(`/stacks/${stackName}`);
    await expect.poll(() => runNamesIn(page).then((names) => names.length)).toBeGreaterThan(1);
    await page.getByRole('combobox', { name: 'Status' }).selectOption({ label: 'Failed' });
    const failed = await client.runsPage({ filter: { stackName, status: ['FAILED'] } });
    expect(failed.edges.map((edge) => edge.node.id)).toEqual([failedRunId]);
    await expect.poll(() => runNamesIn(page)).toEqual(failed.edges.map((edge) => edge.node.name));
    expect(new URL(page.url()).searchParams.get('status')).toBe('FAILED');

    await page.reload();
    await expect.poll(() => runNamesIn(page)).toEqual(failed.edges.map((edge) => edge.node.name));
    await page.getByRole('combobox', { name: 'Status' }).selectOption({ label: 'Running' });
    await page.getByText('No runs match these filters.').waitFor();
  });

  it('shows a run’s step graph, cache hits and outputs', async () => {
    const page = await openPage(`/stacks/${stackName}`);
    const [cachedRun, firstRun] = (await client.runsPage({ filter: { stackName, pipeline: pipelineName } })).edges.map((edge) => edge.node);
    await page.getByRole('link', { name: cachedRun.name }).click();
    await page.getByRole('heading', { level: 1, name: cachedRun.name }).waitFor();

    const run = (await client.getRun(cachedRun.id))!;
    const graph = page.getByRole('group', { name: `Step graph of ${run.name}` });
    for (const stepRun of run.steps) await graph.getByRole('link', { name: new RegExp(`^${stepRun.name}: Cached`) }).waitFor();
    await expect.poll(() => graph.locator('path.edge').count()).toBe(4);

    const train = run.steps.find((stepRun) => stepRun.name === 'train')!;
    expect(train.isCached).toBe(true);
    const trainCard = page.getByRole('article', { name: 'train' });
    await trainCard.getByText(`Hit, outputs of ${firstRun.name}`).waitFor();
    const output = train.outputs[0].artifactVersion;
    const outputs = trainCard.getByRole('region', { name: 'Outputs of train' });
    const row = await outputs.getByRole('row').nth(1).getByRole('cell').allInnerTexts();
    // The output's name is the row header; the cells are artifact, type, size, URI, metadata.
    expect(row.slice(1, 4)).toEqual([output.type, `${output.sizeBytes} B`, output.uri]);
    await saveScreenshot(page, 'run');

    await trainCard.getByRole('link', { name: firstRun.name }).click();
    await page.getByRole('heading', { level: 1, name: firstRun.name }).waitFor();
    await page.getByRole('article', { name: 'train' }).getByText('Miss').waitFor();
  });

  it('lists the outputs of runs on s3 and azure stores with their whole s3:// and az:// URIs', async () => {
    let s3: S3Service | undefined;
    let azure: AzureService | undefined;
    try {
      // One after the other, so the finally closes whichever started even when the other failed.
      s3 = await startS3(['dash-bucket']);
      azure = await startAzurite(['dash-container']);
      // Long prefixes, so a URI that did not wrap would be cut at the cell's edge.
      const prefix = `team-models/${uniqueName('dashboard')}/nightly-training-artifacts`;
      const stores = {
        s3: {
          path: `s3://dash-bucket/${prefix}`,
          endpointUrl: s3.endpointUrl,
          forcePathStyle: true,
          region: 'us-east-1',
          awsAccessKeyId: S3_ACCESS_KEY,
          awsSecretAccessKey: S3_SECRET_KEY,
        },
        azure: { path: `az://dash-container/${prefix}`, connectionString: azure.connectionString },
      };
      const split = step('split', () => ({ train: [1, 2, 3], test: [4] }), { outputs: ['train', 'test'] });
      for (const [flavor, configuration] of Object.entries(stores)) {
        const store = await client.registerComponent({ type: 'ARTIFACT_STORE', name: uniqueName(`dash-${flavor}`), flavor, configuration });
        const stack = uniqueName(`dash-${flavor}-stack`);
        await client.registerStack({ name: stack, components: { orchestrator: 'default', artifactStore: store.name } });
        const result = await pipeline(uniqueName(`dash-${flavor}`), () => void split()).run({ client, stack, progress: false });

        const page = await openPage(`/runs/${encodeURIComponent(result.id)}`);
        await page.getByRole('heading', { level: 1, name: result.name }).waitFor();
        const outputs = page.getByRole('article', { name: 'split' }).getByRole('region', { name: 'Outputs of split' });
        const run = (await client.getRun(result.id))!;
        for (const { name, artifactVersion } of run.steps[0].outputs) {
          expect(artifactVersion.uri.startsWith(`${flavor === 's3' ? 's3' : 'az'}://${flavor === 's3' ? 'dash-bucket' : 'dash-container'}/${prefix}/split/${name}/`)).toBe(true);
          const row = outputs.getByRole('row', { name: new RegExp(`^${name}\\b`) });
          const uri = row.getByText(artifactVersion.uri, { exact: true });
          await uri.waitFor();
          // Whole on screen: wrapped inside its cell, neither cut nor scrolled away.
          const [cell, box] = await Promise.all([
            uri.evaluate((element) => element.closest('td')!.getBoundingClientRect().toJSON() as DOMRect),
            uri.evaluate((element) => element.getBoundingClientRect().toJSON() as DOMRect),
          ]);
          const table = (await outputs.boundingBox())!;
          expect(box.right).toBeLessThanOrEqual(Math.min(cell.right, table.x + table.width) + 0.5);
          expect(box.left).toBeGreaterThanOrEqual(cell.left - 0.5);
        }
        await saveScreenshot(page, `run-${flavor}`);
        await page.context().close();
      }
    } finally {
      await s3?.close();
      await azure?.close();
    }
  }, 120_000);

  it('shows a new run at the top and a running run turn completed, without reloading', async () => {
    const stackPage = await openPage(`/stacks/${stackName}`);
    await stackPage.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    // A reload would drop this, so finding it at the end shows the page never reloaded.
    await stackPage.evaluate('window.notReloaded = true');

    const run = await client.startRun({ pipeline: uniqueName('dash-live'), stack: stackName, steps: [{ name: 'train' }] });
    const trainStep = await client.startStep({ runId: run.id, name: 'train' });
    await expect.poll(() => runNamesIn(stackPage).then((names) => names[0]), { timeout: 60_000 }).toBe(run.name);
    const row = stackPage.getByRole('region', { name: 'Runs', exact: true }).getByRole('row', { name: new RegExp(run.name) });
    await row.getByText('Running').waitFor();

    await stackPage.getByRole('link', { name: run.name }).click();
    await stackPage.getByRole('status', { name: 'Run status' }).getByText('Running').waitFor();
    await stackPage.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    await saveScreenshot(stackPage, 'run-running');

    await client.finishStep({ stepRunId: trainStep.id, status: 'COMPLETED' });
    await client.finishRun({ runId: run.id });
    await stackPage.getByRole('status', { name: 'Run status' }).getByText('Completed').waitFor({ timeout: 60_000 });
    await stackPage.getByRole('group', { name: /Step graph/ }).getByRole('link', { name: /^train: Completed/ }).waitFor();

    await stackPage.goBack();
    await row.getByText('Completed').waitFor({ timeout: 60_000 });
    expect(await stackPage.evaluate('window.notReloaded')).toBe(true);
  });

  it('lists components by type with the stacks that use them, and the flavors', async () => {
    const page = await openPage('/stacks');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Components' }).click();
    await page.getByRole('heading', { level: 1, name: 'Components' }).waitFor();
    const trackers = page.getByRole('region', { name: 'Experiment trackers' });
    const tracker = trackers.getByRole('row', { name: new RegExp(trackerName) });
    await tracker.getByRole('link', { name: stackName }).waitFor();
    await tracker.getByText('•••• set').waitFor();
    const flavors = await client.flavors();
    const flavorRows = page.getByRole('region', { name: 'Flavors' }).getByRole('row');
    await expect.poll(() => flavorRows.count()).toBe(flavors.length + 1);
    await saveScreenshot(page, 'components');
  });

  it('fits a phone screen', async () => {
    const stackPage = await openPage(`/stacks/${stackName}`, PHONE);
    await expect.poll(() => runNamesIn(stackPage).then((names) => names.length)).toBeGreaterThan(0);
    // Wide tables scroll inside their own region; the page itself never scrolls sideways.
    expect(await stackPage.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await saveScreenshot(stackPage, 'phone-stack');

    await stackPage.getByRole('link', { name: (await client.runsPage({ filter: { stackName, pipeline: pipelineName } })).edges[0].node.name }).click();
    await stackPage.getByRole('group', { name: /Step graph/ }).waitFor();
    expect(await stackPage.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await saveScreenshot(stackPage, 'phone-run');
  });
});

describe.skipIf(!hasChromium)(`dashboard on a locked-down server (tokens, persisted operations only) on ${target.name}`, () => {
  const adminToken = `stackyard-admin-${uniqueName('token')}`;
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer(target, { adminToken, persistedOperationsOnly: true });
    [browser] = await Promise.all([launchChromium(), expectServedDashboard(server.url)]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('asks for a token when the server wants one, keeps it, and forgets it on sign-out', async () => {
    const page = await (await browser.newContext({ viewport: LAPTOP, baseURL: server.url })).newPage();
    await page.goto('/components');
    await page.getByRole('heading', { name: 'Sign in to Stackyard' }).waitFor();
    await saveScreenshot(page, 'sign-in');

    await page.getByLabel('API token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('The server refused this token').waitFor();

    await page.getByLabel('API token').fill(adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Components' }).waitFor();
    await page.getByText('Signed in as').waitFor();

    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Components' }).waitFor();
    // Every query so far went as a persisted id; so does the live subscription.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Stacks' }).click();
    await page.getByRole('heading', { level: 1, name: 'Stacks' }).waitFor();
    await page.getByRole('link', { name: 'default', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    await page.getByText('0 runs', { exact: true }).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Stackyard' }).waitFor();
    await page.getByRole('button', { name: 'Continue without a token' }).click();
    // This server is not in local mode, so going on without a token leads back here.
    await page.getByRole('heading', { name: 'Sign in to Stackyard' }).waitFor();
  });
});
