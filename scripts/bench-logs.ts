// `npm run bench:logs`: a step prints a 100 MB log (BENCH_LOG_MB) into a local artifact store
// while this script follows it through a spawned server as the dashboard does (a page from the
// last offset every second, the tail when far behind), then pages all of it forward and the
// last 20 MiB back. Prints the server's RSS at rest (the baseline), its peak while it served the
// log (sampled every 50 ms), and their ratio; fails when the peak passes 250 MB. On the embedded
// PGlite database, and also on Postgres when BENCH_DATABASE_URL (an admin URL) is set: PGlite
// runs inside the server process, so its RSS counts the database too.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { StackyardClient } from '../client';
import { createTestDatabase } from '../test/harness';
import { freePort } from './free-port';
import { processUsage } from './process-usage';

const root = fileURLToPath(new URL('..', import.meta.url));
const MiB = 1024 * 1024;
const TARGET_MB = 250;
/** The page size the benchmark asks for: the largest the server serves, by default. */
const PAGE_BYTES = Number(process.env.BENCH_PAGE_KIB ?? 1024) * 1024;
const log = (text: string) => process.stdout.write(`${text}\n`);

let failed = false;
await benchOn('PGlite', (scratch) => ['--data-dir', join(scratch, 'db')]);
if (process.env.BENCH_DATABASE_URL) {
  const database = await createTestDatabase(process.env.BENCH_DATABASE_URL);
  try {
    await benchOn('Postgres', () => ['--database-url', database.url]);
  } finally {
    await database.drop();
  }
} else {
  log('(set BENCH_DATABASE_URL=postgres://... to measure on Postgres too)');
}
if (failed) process.exitCode = 1;

async function benchOn(databaseName: string, databaseArgs: (scratch: string) => string[]): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'stackyard-bench-logs-'));
  const configDir = join(scratch, 'config');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = spawn(process.execPath, [join(root, 'bin', 'stackyard.js'), 'server', 'start', '--port', String(port), ...databaseArgs(scratch)], {
    env: { ...process.env, STACKYARD_SECRET_KEY: randomBytes(32).toString('base64'), STACKYARD_CONFIG_DIR: configDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const serverExited = new Promise<void>((resolve) => server.once('exit', () => resolve()));

  try {
    while ((await fetch(`${url}/ready`).then((response) => response.status, () => 0)) !== 200) await sleep(100);
    const client = new StackyardClient({ url, env: {}, configDir });
    await client.registerComponent({ type: 'ARTIFACT_STORE', name: 'bench-logs', flavor: 'local', configuration: { path: join(scratch, 'store') } });
    await client.registerStack({ name: 'bench-logs', components: { orchestrator: 'default', artifactStore: 'bench-logs' } });
    const stepEnv = { ...process.env, STACKYARD_URL: url, STACKYARD_STACK: 'bench-logs', STACKYARD_CONFIG_DIR: configDir };

    // A small log first, read once, so the baseline includes the code that reads logs.
    const warmUp = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'bench-logs-step.ts')], { env: { ...stepEnv, BENCH_LOG_MB: '1' }, stdio: 'ignore' });
    await new Promise((resolve) => warmUp.once('exit', resolve));
    const warmRun = (await client.getRun((await client.runsPage({ filter: { pipeline: 'bench-logs' } })).edges[0].node.id))!;
    await client.stepLog(warmRun.steps[0].id, { limit: MiB });
    const baseline = processUsage(server.pid!).rssMb;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, processUsage(server.pid!).rssMb)), 50);

    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'bench-logs-step.ts')], { env: stepEnv, stdio: ['ignore', 'ignore', 'inherit'] });
    const childExited = new Promise<number | null>((resolve) => child.once('exit', resolve));

    let stepRunId: string | undefined;
    while (!stepRunId) {
      const [latest] = (await client.runsPage({ filter: { pipeline: 'bench-logs' }, first: 1 })).edges;
      if (latest && latest.node.id !== warmRun.id) stepRunId = (await client.getRun(latest.node.id))?.steps[0]?.id;
      if (!stepRunId) await sleep(200);
    }

    // Following, as the dashboard does.
    let end = 0;
    let followedPages = 0;
    let jumps = 0;
    let livePages = 0;
    let maxLagBytes = 0;
    for (;;) {
      const previous = await client.stepLog(stepRunId, { offset: end, limit: PAGE_BYTES });
      const behind = previous.totalBytes - previous.endOffset;
      let page = previous;
      if (behind > 4 * MiB) {
        page = await client.stepLog(stepRunId, { limit: 64 * 1024 });
        jumps += 1;
      }
      end = page.endOffset;
      followedPages += 1;
      if (page.stepStatus === 'RUNNING' && page.entries.length > 0) livePages += 1;
      maxLagBytes = Math.max(maxLagBytes, behind);
      if (page.stepStatus !== 'RUNNING' && end >= page.totalBytes) break;
      await sleep(1000);
    }
    const followSeconds = (performance.now() - started) / 1000;
    if ((await childExited) !== 0) throw new Error('the step process failed');

    // All of it forward, and the last 20 MiB back, checking every line is there once, in order.
    let offset = 0;
    let lines = 0;
    let forwardPages = 0;
    let total = 0;
    const forwardStarted = performance.now();
    do {
      const page = await client.stepLog(stepRunId, { offset, limit: PAGE_BYTES });
      for (const entry of page.entries) {
        if (!entry.message.startsWith(`line ${lines} `)) throw new Error(`line ${lines} is missing or out of order: ${entry.message.slice(0, 40)}`);
        lines += 1;
      }
      offset = page.endOffset;
      total = page.totalBytes;
      forwardPages += 1;
    } while (offset < total);
    const forwardSeconds = (performance.now() - forwardStarted) / 1000;
    let before = total;
    let backwardPages = 0;
    while (before > Math.max(0, total - 20 * MiB)) {
      before = (await client.stepLog(stepRunId, { before, limit: PAGE_BYTES })).startOffset;
      backwardPages += 1;
    }

    clearInterval(sampler);
    const rss = processUsage(server.pid!).rssMb;
    log(`${databaseName}`);
    log(`log: ${(total / MiB).toFixed(1)} MiB, ${lines} lines, written and followed in ${followSeconds.toFixed(1)} s`);
    log(`following: ${followedPages} polls, ${livePages} with new lines while the step ran, ${jumps} jumps to the tail, at most ${(maxLagBytes / MiB).toFixed(1)} MiB behind`);
    log(`paging: ${forwardPages} pages of 1 MiB forward in ${forwardSeconds.toFixed(1)} s (${(total / MiB / forwardSeconds).toFixed(1)} MiB/s), ${backwardPages} back`);
    log(`server RSS: baseline ${baseline.toFixed(0)} MB, peak while serving the log ${peak.toFixed(0)} MB (${(peak / baseline).toFixed(2)}x baseline, +${(peak - baseline).toFixed(0)} MB), after ${rss.toFixed(0)} MB; target < ${TARGET_MB} MB`);
    if (peak >= TARGET_MB) {
      log(`FAIL: the server's peak RSS passed ${TARGET_MB} MB`);
      failed = true;
    }
  } finally {
    server.kill('SIGTERM');
    await serverExited;
    rmSync(scratch, { recursive: true, force: true });
  }
}
