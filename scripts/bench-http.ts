// `npm run bench:http`: Stackyard's read throughput against a hand-written baseline (node:http +
// pg, one json_agg statement a request: scripts/bench-baseline-server.ts) and against PostGraphile
// 4, a popular GraphQL server over Postgres, on the same data. PostGraphile needs graphql 15 beside
// our 16, so it never enters our dependencies: the bench installs it with npm into a folder of its
// own (once; BENCH_POSTGRAPHILE_DIR) and runs it from there. Each server runs as a child process;
// autocannon drives the history page (page 1 and page 1,000 of a stack's runs with steps and
// outputs) and `stacks(first: 20)` with components, at 8 and 32 connections, the contestants
// interleaved, for several rounds. Prints req/s, p50, p99, server CPU-ms per request
// (/proc/<pid>/stat), server RSS, and ratios to the baseline and of Stackyard to PostGraphile.
// The machine may be shared: compare ratios within one run, not figures across runs.
//
// BENCH_DATABASE_URL   Postgres server (default postgres://postgres@127.0.0.1:5432/test); the data
//                      goes into its database BENCH_DATABASE (stackyard_bench_http), which is kept.
// --reuse / BENCH_REUSE=1   use that database as seeded last time instead of seeding it afresh.
// BENCH_RUNS (100000)  runs to seed; BENCH_SECONDS (5) per measurement; BENCH_ROUNDS (3);
// BENCH_CONNECTIONS (8,32); BENCH_NODE_OPTIONS: node flags for Stackyard's process.
// BENCH_POSTGRAPHILE=0 leaves PostGraphile out; BENCH_POSTGRAPHILE_DIR (a folder under the OS temp
// directory) is where it is installed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { freePort } from './free-port';
import { processUsage } from './process-usage';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { seedHistory } from './bench-seed';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// Named apart when several people share one Postgres, so one's fresh seed never drops another's.
const DATABASE = process.env.BENCH_DATABASE ?? 'stackyard_bench_http';
const REUSE = process.argv.includes('--reuse') || process.env.BENCH_REUSE === '1';
const RUNS = Number(process.env.BENCH_RUNS ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '8,32').split(',').map(Number);
const PAGE_SIZE = 50;
const POSTGRAPHILE = 'postgraphile@4.14.1';
const POSTGRAPHILE_DIR = process.env.BENCH_POSTGRAPHILE_DIR ?? join(tmpdir(), 'stackyard-bench-postgraphile-4.14.1');
/** Page 1,000 of the busy stack's runs, or its last page on a smaller data set. */
const DEEP_PAGE = Math.max(1, Math.min(1000, Math.floor((RUNS * 0.5) / PAGE_SIZE)));
const root = fileURLToPath(new URL('..', import.meta.url));

const log = (line: string) => process.stdout.write(`${line}\n`);

interface Contestant {
  name: string;
  process: ChildProcess;
  url: string;
  /** The operation's query text by scenario, and how to find the next page's cursor. */
  queries: Record<'History' | 'Stacks', string>;
  /** A query of the same connection that selects only its end cursor, to walk to a deep page. */
  cursorQuery: string;
  endCursor(data: any): string | null;
  runsOf(data: any): { name: string }[];
}

const STACKYARD_HISTORY = `query History($stack: String!, $after: String) {
  stack(name: $stack) { runs(first: ${PAGE_SIZE}, after: $after) { ... on PipelineRunConnection {
    pageInfo { hasNextPage endCursor }
    edges { node { id name status createdAt durationMs steps { name status outputs { name artifactVersion { uri version type } } } } }
  } } }
}`;
const STACKYARD_CURSOR = `query History($stack: String!, $after: String) {
  stack(name: $stack) { runs(first: ${PAGE_SIZE}, after: $after) { ... on PipelineRunConnection { pageInfo { hasNextPage endCursor } } } }
}`;
const STACKYARD_STACKS = `query Stacks($first: Int!) { stacks(first: $first) { edges { node { id name components { id type name flavorName } } } } }`;

// The same pages in PostGraphile's schema: its names for our tables and foreign keys, the same orders.
const POSTGRAPHILE_HISTORY = `query History($stack: String!, $after: Cursor) {
  stackByName(name: $stack) { pipelineRunsByStackId(first: ${PAGE_SIZE}, after: $after, orderBy: [CREATED_AT_DESC, ID_DESC]) {
    pageInfo { hasNextPage endCursor }
    edges { node { nodeId name status createdAt durationMs stepRunsByRunId(orderBy: [STARTED_AT_ASC, ID_ASC]) { nodes { name status
      stepRunOutputsByStepRunId(orderBy: NAME_ASC) { nodes { name artifactVersionByArtifactVersionId { uri version type } } } } } } }
  } }
}`;
const POSTGRAPHILE_CURSOR = `query History($stack: String!, $after: Cursor) {
  stackByName(name: $stack) { pipelineRunsByStackId(first: ${PAGE_SIZE}, after: $after, orderBy: [CREATED_AT_DESC, ID_DESC]) { pageInfo { hasNextPage endCursor } } }
}`;
const POSTGRAPHILE_STACKS = `query Stacks($first: Int!) { allStacks(first: $first, orderBy: NAME_ASC) { edges { node { nodeId name
  stackComponentAssignmentsByStackId(orderBy: COMPONENT_TYPE_ASC) { nodes { stackComponentByComponentIdAndComponentType { nodeId type name flavor } } } } } } }`;

/** PostGraphile's command, installed into a folder of its own the first time. */
function postGraphileCli(): string {
  const cli = join(POSTGRAPHILE_DIR, 'node_modules', 'postgraphile', 'cli.js');
  if (!existsSync(cli)) {
    log(`installing ${POSTGRAPHILE} into ${POSTGRAPHILE_DIR}`);
    execFileSync('npm', ['install', '--prefix', POSTGRAPHILE_DIR, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', POSTGRAPHILE], { stdio: 'inherit' });
  }
  return cli;
}

async function post(url: string, query: string, variables: Record<string, unknown>, operationName: string) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables, operationName }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  if (body.errors || !body.data) throw new Error(`${url}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function waitUntilUp(url: string, child: ChildProcess, name: string) {
  for (let attempt = 0; attempt < 600; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }', operationName: 'Stacks', variables: { first: 1 } }),
      });
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${name} did not start`);
}

function start(command: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  return child;
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  cpuMsPerRequest: number;
  rssMb: number;
  errors: number;
}

async function measure(contestant: Contestant, scenario: 'History' | 'Stacks', variables: Record<string, unknown>, connections: number): Promise<Figures> {
  const body = JSON.stringify({ query: contestant.queries[scenario], variables, operationName: scenario });
  const before = processUsage(contestant.process.pid!);
  const result = await autocannon({
    url: `${contestant.url}/graphql`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration: SECONDS,
  });
  const after = processUsage(contestant.process.pid!);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMsPerRequest: (after.cpuMs - before.cpuMs) / Math.max(1, result.requests.total),
    rssMb: after.rssMb,
    errors: result.errors + result.non2xx,
  };
}

async function prepareDatabase(): Promise<string> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE])).rowCount === 1;
  if (!REUSE || !exists) {
    await admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DATABASE}`);
  }
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${DATABASE}`;
  return url.toString();
}

async function isSeeded(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM pipeline_runs WHERE name LIKE 'bench-run-%'`);
    return rows[0].n > 0;
  } catch {
    return false;
  } finally {
    await client.end();
  }
}

/** The cursor after page DEEP_PAGE - 1, walked to through each contestant's own cursors. */
async function deepCursor(contestant: Contestant): Promise<string | null> {
  let cursor: string | null = null;
  for (let page = 1; page < DEEP_PAGE; page += 1) {
    cursor = contestant.endCursor(await post(contestant.url, contestant.cursorQuery, { stack: 'bench-00', after: cursor }, 'History'));
  }
  return cursor;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const url = await prepareDatabase();
  const children: ChildProcess[] = [];
  const stopAll = () => children.forEach((child) => child.exitCode === null && child.kill('SIGTERM'));
  process.on('exit', stopAll);
  try {
    const stackyardPort = await freePort();
    // The bin as a user starts it; no tsx process in between, so the pid is the server's.
    // BENCH_NODE_OPTIONS tries V8 settings on Stackyard alone, e.g. --max-semi-space-size=32.
    const stackyard = start(process.execPath, [...(process.env.BENCH_NODE_OPTIONS ?? '').split(' ').filter(Boolean), 'bin/stackyard.js', 'server', 'start', '--port', String(stackyardPort), '--database-url', url], {
      STACKYARD_SECRET_KEY: randomBytes(32).toString('hex'),
    });
    children.push(stackyard);
    const stackyardUrl = `http://127.0.0.1:${stackyardPort}`;
    await waitUntilUp(stackyardUrl, stackyard, 'Stackyard');

    if (REUSE && (await isSeeded(url))) {
      log(`reusing the seeded database ${DATABASE}`);
    } else {
      const seeded = await seedHistory(url, { runs: RUNS, stacks: 20, steps: 5, outputs: 2, busyStackShare: 0.5 });
      log(`seeded ${seeded.runs} runs, ${seeded.steps} step runs, ${seeded.versions} artifact versions in ${seeded.seconds.toFixed(1)} s into ${DATABASE}`);
    }

    const baselinePort = await freePort();
    const baseline = start(process.execPath, ['--import', 'tsx', 'scripts/bench-baseline-server.ts', url, String(baselinePort)]);
    children.push(baseline);
    const baselineUrl = `http://127.0.0.1:${baselinePort}`;
    await waitUntilUp(baselineUrl, baseline, 'baseline');

    const contestants: Contestant[] = [];
    if (process.env.BENCH_POSTGRAPHILE !== '0') {
      const port = await freePort();
      const postgraphile = start(process.execPath, [postGraphileCli(), '-c', url, '--host', '127.0.0.1', '--port', String(port), '--schema', 'public', '--disable-query-log']);
      children.push(postgraphile);
      const postgraphileUrl = `http://127.0.0.1:${port}`;
      await waitUntilUp(postgraphileUrl, postgraphile, 'postgraphile');
      contestants.push({
        name: 'postgraphile',
        process: postgraphile,
        url: postgraphileUrl,
        queries: { History: POSTGRAPHILE_HISTORY, Stacks: POSTGRAPHILE_STACKS },
        cursorQuery: POSTGRAPHILE_CURSOR,
        endCursor: (data) => data.stackByName.pipelineRunsByStackId.pageInfo.endCursor,
        runsOf: (data) => data.stackByName.pipelineRunsByStackId.edges.map((edge: any) => edge.node),
      });
    }
    contestants.unshift(
      {
        name: 'stackyard',
        process: stackyard,
        url: stackyardUrl,
        queries: { History: STACKYARD_HISTORY, Stacks: STACKYARD_STACKS },
        cursorQuery: STACKYARD_CURSOR,
        endCursor: (data) => data.stack.runs.pageInfo.endCursor,
        runsOf: (data) => data.stack.runs.edges.map((edge: any) => edge.node),
      },
      {
        name: 'baseline',
        process: baseline,
        url: baselineUrl,
        queries: { History: 'History', Stacks: 'Stacks' },
        cursorQuery: 'History',
        endCursor: (data) => data.stack.runs.pageInfo.endCursor,
        runsOf: (data) => data.stack.runs.edges.map((edge: any) => edge.node),
      },
    );
    // Every contestant must answer the same runs, on page 1 and on page 1,000.
    const cursors = new Map<string, string | null>();
    for (const contestant of contestants) {
      const started = performance.now();
      cursors.set(contestant.name, await deepCursor(contestant));
      log(`${contestant.name}: walked to page ${DEEP_PAGE} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    for (const page of ['first', 'deep'] as const) {
      const names = await Promise.all(
        contestants.map(async (c) =>
          JSON.stringify(c.runsOf(await post(c.url, c.queries.History, { stack: 'bench-00', after: page === 'first' ? null : cursors.get(c.name) }, 'History')).map((run) => run.name)),
        ),
      );
      if (new Set(names).size !== 1) throw new Error(`contestants disagree on the runs of the ${page} page`);
    }
    const baselinePage = await post(baselineUrl, 'History', { stack: 'bench-00', after: null }, 'History');
    const stackyardPage = await post(stackyardUrl, STACKYARD_HISTORY, { stack: 'bench-00', after: null }, 'History');
    log(`history page JSON: stackyard ${JSON.stringify(stackyardPage).length} bytes, baseline ${JSON.stringify(baselinePage).length} bytes`);

    const scenarios = [
      { label: 'history page 1', scenario: 'History' as const, variables: (c: Contestant) => ({ stack: 'bench-00', after: null as string | null }) },
      { label: `history page ${DEEP_PAGE}`, scenario: 'History' as const, variables: (c: Contestant) => ({ stack: 'bench-00', after: cursors.get(c.name) }) },
      { label: 'stacks(first: 20) { components }', scenario: 'Stacks' as const, variables: () => ({ first: 20 }) },
    ];
    const results = new Map<string, Figures[]>();
    for (let round = 1; round <= ROUNDS; round += 1) {
      for (const { label, scenario, variables } of scenarios) {
        for (const connections of CONNECTIONS) {
          // Interleaved: each round measures every contestant on each scenario back to back.
          for (const contestant of contestants) {
            const figures = await measure(contestant, scenario, variables(contestant), connections);
            const key = `${label}|${connections}|${contestant.name}`;
            results.set(key, [...(results.get(key) ?? []), figures]);
          }
        }
      }
      log(`round ${round} of ${ROUNDS} done`);
    }

    log('');
    log(`medians of ${ROUNDS} rounds of ${SECONDS} s; ratios are to the baseline (req/s) and to p50 (p99)`);
    log('scenario                            conns  server        req/s   ×base   p50 ms  p99 ms  p99/p50  cpu-ms/req  rss MB  errors');
    const rpsOf = (label: string, connections: number, name: string) => median((results.get(`${label}|${connections}|${name}`) ?? []).map((f) => f.rps));
    for (const { label } of scenarios) {
      for (const connections of CONNECTIONS) {
        const base = rpsOf(label, connections, 'baseline');
        for (const contestant of contestants) {
          const runs = results.get(`${label}|${connections}|${contestant.name}`)!;
          const rps = median(runs.map((f) => f.rps));
          const p50 = median(runs.map((f) => f.p50));
          const p99 = median(runs.map((f) => f.p99));
          log(
            [
              label.padEnd(35),
              String(connections).padStart(5),
              contestant.name.padEnd(12),
              rps.toFixed(1).padStart(8),
              (rps / base).toFixed(2).padStart(7),
              p50.toFixed(0).padStart(8),
              p99.toFixed(0).padStart(7),
              (p99 / Math.max(1, p50)).toFixed(1).padStart(8),
              median(runs.map((f) => f.cpuMsPerRequest)).toFixed(1).padStart(11),
              Math.max(...runs.map((f) => f.rssMb)).toFixed(0).padStart(7),
              String(runs.reduce((sum, f) => sum + f.errors, 0)).padStart(7),
            ].join(' '),
          );
        }
      }
    }
    if (contestants.some((c) => c.name === 'postgraphile')) {
      log('');
      log('stackyard req/s ÷ postgraphile req/s');
      for (const { label } of scenarios) {
        for (const connections of CONNECTIONS) {
          const ratio = rpsOf(label, connections, 'stackyard') / rpsOf(label, connections, 'postgraphile');
          log(`${label.padEnd(35)} ${String(connections).padStart(5)}  ${ratio.toFixed(2)}`);
        }
      }
    }
  } finally {
    stopAll();
  }
}

await main();
