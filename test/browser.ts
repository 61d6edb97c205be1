// Browser tests' tools: Debian's Chromium driven by playwright-core, the dashboard built from
// dashboard/ for the test server to serve, and screenshots kept as test artifacts.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';

const execFileAsync = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const dashboardRoot = join(root, 'dashboard');

export const CHROMIUM_PATH = process.env.STACKYARD_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM_PATH);
export const SCREENSHOT_DIR = join(root, 'test-artifacts', 'screenshots');

export const LAPTOP = { width: 1366, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Headless Chromium with a fresh profile (playwright makes one per launch), quiet on the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** What the build reads: a change to any of them makes dashboard/dist stale. */
const DASHBOARD_SOURCES = ['dashboard/src', 'dashboard/index.html', 'dashboard/public', 'client/unstarted-steps.ts', 'dashboard/vite.config.ts', 'client/generated', 'package-lock.json'].map((path) => join(root, path));

function lastModified(path: string): number {
  if (!existsSync(path)) return 0;
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  return Math.max(stats.mtimeMs, ...readdirSync(path, { recursive: true }).map((entry) => statSync(join(path, String(entry))).mtimeMs));
}

/**
 * Builds dashboard/ into dashboard/dist (about a second) unless the build there is newer than
 * its sources, as after `npm ci`; rebuilding then could pull files from under a server that
 * another test file is running. Call it before starting servers: each looks for the build once.
 */
export async function buildDashboardIfStale(): Promise<void> {
  const built = lastModified(join(dashboardRoot, 'dist', 'index.html'));
  if (built > Math.max(...DASHBOARD_SOURCES.map(lastModified))) return;
  // A process of its own, as `npm ci` runs it: under vitest NODE_ENV is "test", and Vite would
  // bundle React's development build.
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  await execFileAsync(process.execPath, [vite, 'build', 'dashboard', '--logLevel', 'warn'], { cwd: root, env: { ...process.env, NODE_ENV: 'production' } });
}

/** Fails with the reason when the server does not answer `/` with the built dashboard. */
export async function expectServedDashboard(serverUrl: string): Promise<void> {
  const response = await fetch(`${serverUrl}/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
  const text = response.ok ? await response.text() : '';
  if (!text.includes('content="Stackyard dashboard"')) {
    throw new Error(`${serverUrl}/ answered HTTP ${response.status} without the dashboard; was dashboard/dist built before the server started?`);
  }
}

/** A full-page screenshot in test-artifacts/screenshots, for people to look at after a run. */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** A page of a fresh browser context (no shared storage) at this viewport, opened at `path` of the server. */
export async function openPage(browser: Browser, serverUrl: string, path: string, viewport = LAPTOP): Promise<Page> {
  const context = await browser.newContext({ viewport, baseURL: serverUrl });
  const page = await context.newPage();
  await page.goto(path);
  return page;
}
