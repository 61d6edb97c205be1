// The dashboard of a server in local mode, in Chromium: nobody signed in with a token, so there
// is no "Sign out"; and the icon a browser tab shows, served as /favicon.ico and /favicon.svg.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { LAPTOP, buildDashboardIfStale, expectServedDashboard, hasChromium, launchChromium } from './browser';
import { databaseTargets, startTestServer, type TestServer } from './harness';

// One database is enough: this is about the page, not the server's storage.
const target = databaseTargets[0];

// Built before the server starts, since a server looks for dashboard/dist when it starts.
beforeAll(async () => {
  if (hasChromium) await buildDashboardIfStale();
});

describe.skipIf(!hasChromium)(`dashboard of a local-mode server on ${target.name}`, () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer(target);
    [browser] = await Promise.all([launchChromium(), expectServedDashboard(server.url)]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows who is signed in without a "Sign out", and serves its icon', async () => {
    const page = await (await browser.newContext({ viewport: LAPTOP, baseURL: server.url })).newPage();
    await page.goto('/stacks');
    await page.getByRole('heading', { level: 1, name: 'Stacks' }).waitFor();
    await page.getByText('Signed in as').waitFor();
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);

    const icons = await page.locator('link[rel="icon"]').evaluateAll((links) => links.map((link) => (link as HTMLLinkElement).href));
    expect(icons).toEqual([`${server.url}/favicon.svg`, `${server.url}/favicon.ico`]);
    const ico = await page.request.get('/favicon.ico');
    expect(ico.status()).toBe(200);
    expect(ico.headers()['content-type']).toMatch(/^image\//);
    // An ICO header (reserved 0, type 1 = icon, one image) followed by its PNG.
    expect([...(await ico.body()).subarray(0, 6)]).toEqual([0, 0, 1, 0, 1, 0]);
    const svg = await page.request.get('/favicon.svg');
    expect(svg.headers()['content-type']).toMatch(/^image\/svg\+xml/);
    expect(await svg.text()).toContain('<title>Stackyard</title>');
  });
});
