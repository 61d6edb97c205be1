// `npm run bench:history`: how run history holds up deep into a long history, on Postgres.
// Seeds 100,000 runs (20 stacks, 5 steps a run, 2 outputs a step) straight into a fresh
// database, then measures through GraphQL over HTTP: latency of page 1 and page 1,000 of one
// stack's runs, SQL statements per request, and outputs reported per second. Then, with two
// metrics of 10 points on each run of the busy stack: the all-runs page with a metric column
// against the same page without it, and compareRuns of 10 runs against reading them one by one.
//
// BENCH_DATABASE_URL names a Postgres server (default postgres://postgres@127.0.0.1:5432/test);
// the benchmark creates its own database there and drops it afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startServer } from '../server/http-server';
import { createLogger } from '../server/logger';
import { seedHistory } from './bench-seed';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUNS = 100_000;
const STACKS = 20;
const STEPS = 5;
const OUTPUTS = 2;
/** Half the runs go to one busy stack, so that its history is 1,000 pages of 50 deep. */
const BUSY_STACK_SHARE = 0.5;
const PAGE_SIZE = 50;
const DEEP_PAGE = 1000;
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 100);
const REPORT_BATCHES = Number(process.env.BENCH_REPORT_BATCHES ?? 50);
const REPORT_BATCH_SIZE = 100;

const HISTORY_QUERY = `query History($stack: String!, $after: String) {
  stack(name: $stack) {
    runs(first: ${PAGE_SIZE}, after: $after) {
      ... on PipelineRunConnection {
        pageInfo { hasNextPage endCursor }
        edges { node { id name status createdAt durationMs
          steps { name status outputs { name artifactVersion { uri version type } } } } }
      }
    }
  }
}`;
const CURSOR_QUERY = `query Cursor($stack: String!, $after: String) {
  stack(name: $stack) { runs(first: ${PAGE_SIZE}, after: $after) { ... on PipelineRunConnection { pageInfo { endCursor } } } }
}`;

const METRIC_STEPS = 10;
const ALL_RUNS_QUERY = (metricColumn: string) => `query AllRuns {
  runs(first: ${PAGE_SIZE}) { ... on PipelineRunConnection { edges { node { id name status createdAt durationMs tags pipeline { name } ${metricColumn} } } } }
}`;
const COMPARE_QUERY = `query Compare($ids: [ID!]!) { compareRuns(ids: $ids) { ... on RunComparison {
  runs { id name } parameters { name values differs } metrics { name differs runs { latest { step value } points { step value } } } } } }`;
/** What a client without compareRuns asks: each run with its config and metric series. */
const ONE_BY_ONE_QUERY = (count: number) =>
  `query OneByOne(${Array.from({ length: count }, (_, index) => `$id${index}: ID!`).join(', ')}) {
  ${Array.from({ length: count }, (_, index) => `r${index}: run(id: $id${index}) { id name config metrics { name latest { step value } points { step value } } }`).join('\n  ')} }`;

/** Two metrics, `accuracy` and `loss`, of METRIC_STEPS points on each run of the stack. */
async function seedMetrics(client: pg.Client, stack: string): Promise<number> {
  const result = await client.query(
    `insert into metric_points (run_id, name, step, logged_at, value)
     select r.id, m.name, s.step, r.created_at + s.step * interval '1 second', random()
     from pipeline_runs r join stacks st on st.id = r.stack_id, (values ('accuracy'), ('loss')) m(name), generate_series(0, $1 - 1) s(step)
     where st.name = $2`,
    [METRIC_STEPS, stack],
  );
  return result.rowCount ?? 0;
}

async function measureQuery(url: string, query: string, variables: Record<string, unknown>) {
  const latencies: number[] = [];
  const statements = new Set<number>();
  for (let sample = 0; sample < SAMPLES + 5; sample += 1) {
    const { ms, statements: count } = await graphql(url, query, variables);
    if (sample >= 5) latencies.push(ms);
    statements.add(count);
  }
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), statements: [...statements] };
}

function log(message: string) {
  process.stdout.write(`${message}\n`);
}

async function graphql(url: string, query: string, variables: Record<string, unknown>) {
  const started = performance.now();
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  const ms = performance.now() - started;
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return { body, ms, statements: Number(response.headers.get('x-sql-statements')) };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function measurePage(url: string, after: string | null) {
  const latencies: number[] = [];
  const statements = new Set<number>();
  let runsOnPage = 0;
  for (let sample = 0; sample < SAMPLES + 5; sample += 1) {
    const { body, ms, statements: count } = await graphql(url, HISTORY_QUERY, { stack: 'bench-00', after });
    if (sample >= 5) latencies.push(ms); // the first few warm caches and plans
    statements.add(count);
    runsOnPage = body.data.stack.runs.edges.length;
  }
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), statements: [...statements], runsOnPage };
}

async function measureReporting(url: string) {
  const run = await graphql(url, `mutation { startRun(pipeline: "bench-report", stack: "bench-01") { ... on PipelineRun { id } } }`, {});
  const runId = run.body.data.startRun.id;
  const started = performance.now();
  let reported = 0;
  for (let batch = 0; batch < REPORT_BATCHES; batch += 1) {
    const step = await graphql(url, `mutation($run: ID!, $name: String!) { startStep(runId: $run, name: $name) { ... on StepRun { id } } }`, {
      run: runId,
      name: `step-${batch}`,
    });
    const outputs = Array.from({ length: REPORT_BATCH_SIZE }, (_, index) => ({
      name: `out${index % 10}-${index}`,
      artifactName: `bench-report-${index % 10}`,
      uri: `/bench/report/${batch}/${index}`,
      sizeBytes: 1024,
      contentHash: `sha256:${batch}-${index}`,
    }));
    const result = await graphql(
      url,
      `mutation($step: ID!, $outputs: [StepOutputInput!]!) { reportStepOutputs(stepRunId: $step, outputs: $outputs) { __typename ... on ReportStepOutputsPayload { outputs { name } } } }`,
      { step: step.body.data.startStep.id, outputs },
    );
    reported += result.body.data.reportStepOutputs.outputs.length;
  }
  const seconds = (performance.now() - started) / 1000;
  return { reported, perSecond: reported / seconds };
}

async function main() {
  const name = `stackyard_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const server = await startServer({ host: '127.0.0.1', port: 0, dataDir: '', databaseUrl: url.toString(), logger: createLogger('warn') });
  try {
    await server.ready;
    const seeded = await seedHistory(url.toString(), { runs: RUNS, stacks: STACKS, steps: STEPS, outputs: OUTPUTS, busyStackShare: BUSY_STACK_SHARE });
    log(`seeded ${seeded.runs} runs, ${seeded.steps} step runs, ${seeded.versions} artifact versions in ${seeded.seconds.toFixed(1)} s`);
    log(`measured stack bench-00 holds ${seeded.busy} runs: ${Math.ceil(seeded.busy / PAGE_SIZE)} pages of ${PAGE_SIZE}`);

    const walkStarted = performance.now();
    let cursor: string | null = null;
    for (let page = 1; page < DEEP_PAGE; page += 1) {
      const { body } = await graphql(server.url, CURSOR_QUERY, { stack: 'bench-00', after: cursor });
      cursor = body.data.stack.runs.pageInfo.endCursor;
    }
    log(`walked to page ${DEEP_PAGE} through ${DEEP_PAGE - 1} cursors in ${((performance.now() - walkStarted) / 1000).toFixed(1)} s`);

    const first = await measurePage(server.url, null);
    const deep = await measurePage(server.url, cursor);
    log('');
    log(`history page: stack(name) { runs(first: ${PAGE_SIZE}) { steps { outputs { artifactVersion } } } }, ${SAMPLES} samples each`);
    log(`page 1:     p50 ${first.p50.toFixed(1)} ms   p99 ${first.p99.toFixed(1)} ms   (${first.runsOnPage} runs, ${first.runsOnPage * STEPS} steps, ${first.runsOnPage * STEPS * OUTPUTS} outputs)`);
    log(`page ${DEEP_PAGE}:  p50 ${deep.p50.toFixed(1)} ms   p99 ${deep.p99.toFixed(1)} ms   (${deep.runsOnPage} runs)`);
    log(`ratio page ${DEEP_PAGE} / page 1:  p50 ${(deep.p50 / first.p50).toFixed(2)}   p99 ${(deep.p99 / first.p99).toFixed(2)}`);
    log(`SQL statements per request: page 1 ${first.statements.join(',')}, page ${DEEP_PAGE} ${deep.statements.join(',')}`);

    const reporting = await measureReporting(server.url);
    log(`reportStepOutputs: ${reporting.reported} outputs in batches of ${REPORT_BATCH_SIZE}: ${reporting.perSecond.toFixed(0)} outputs/s`);

    const metricsClient = new pg.Client({ connectionString: url.toString() });
    await metricsClient.connect();
    const points = await seedMetrics(metricsClient, 'bench-00').finally(() => metricsClient.end());
    log('');
    log(`seeded ${points} metric points (accuracy and loss, ${METRIC_STEPS} steps, on every run of bench-00)`);
    const plain = await measureQuery(server.url, ALL_RUNS_QUERY(''), {});
    const withMetric = await measureQuery(server.url, ALL_RUNS_QUERY('latestMetrics { name value }'), {});
    log(`all runs, first ${PAGE_SIZE}, newest first, ${SAMPLES} samples each`);
    log(`without a metric column:  p50 ${plain.p50.toFixed(1)} ms   p99 ${plain.p99.toFixed(1)} ms   statements ${plain.statements.join(',')}`);
    log(`with latestMetrics:       p50 ${withMetric.p50.toFixed(1)} ms   p99 ${withMetric.p99.toFixed(1)} ms   statements ${withMetric.statements.join(',')}`);
    log(`ratio with / without:  p50 ${(withMetric.p50 / plain.p50).toFixed(2)}   p99 ${(withMetric.p99 / plain.p99).toFixed(2)}`);

    const newest = await graphql(server.url, `query { stack(name: "bench-00") { runs(first: 10) { ... on PipelineRunConnection { edges { node { id } } } } } }`, {});
    const ids: string[] = newest.body.data.stack.runs.edges.map((edge: { node: { id: string } }) => edge.node.id);
    const compared = await measureQuery(server.url, COMPARE_QUERY, { ids });
    const oneByOne = await measureQuery(server.url, ONE_BY_ONE_QUERY(ids.length), Object.fromEntries(ids.map((id, index) => [`id${index}`, id])));
    log(`compareRuns of ${ids.length} runs, ${SAMPLES} samples each`);
    log(`compareRuns:               p50 ${compared.p50.toFixed(1)} ms   p99 ${compared.p99.toFixed(1)} ms   statements ${compared.statements.join(',')}`);
    log(`${ids.length} run(id) fields (baseline): p50 ${oneByOne.p50.toFixed(1)} ms   p99 ${oneByOne.p99.toFixed(1)} ms   statements ${oneByOne.statements.join(',')}`);
    log(`ratio compareRuns / baseline:  p50 ${(compared.p50 / oneByOne.p50).toFixed(2)}   p99 ${(compared.p99 / oneByOne.p99).toFixed(2)}`);
  } finally {
    await server.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
