// `npm run bench:history`: how run history holds up deep into a long history, on Postgres.
// Seeds 100,000 runs (20 stacks, 5 steps a run, 2 outputs a step) straight into a fresh
// database, then measures through GraphQL over HTTP: latency of page 1 and page 1,000 of one
// stack's runs, SQL statements per request, and outputs reported per second.
//
// BENCH_DATABASE_URL names a Postgres server (default postgres://postgres@127.0.0.1:5432/test);
// the benchmark creates its own database there and drops it afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startServer } from '../server/http-server';
import { createLogger } from '../server/logger';

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

function log(message: string) {
  process.stdout.write(`${message}\n`);
}

async function seed(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const started = performance.now();
  const busy = Math.round(RUNS * BUSY_STACK_SHARE);
  await client.query('BEGIN');
  await client.query(`INSERT INTO pipelines (name) VALUES ('bench')`);
  await client.query(
    `INSERT INTO stacks (name) SELECT 'bench-' || lpad(g::text, 2, '0') FROM generate_series(0, $1 - 1) g`,
    [STACKS],
  );
  await client.query(`
    INSERT INTO stack_component_assignments (stack_id, component_type, component_id)
    SELECT s.id, c.type, c.id FROM stacks s CROSS JOIN stack_components c
    WHERE s.name LIKE 'bench-%' AND c.name = 'default'`);
  // Run g: the busy stack takes the first half, the others share the rest; one run a second.
  await client.query(
    `INSERT INTO pipeline_runs (pipeline_id, stack_id, name, status, expected_steps, stack_snapshot,
                                created_at, started_at, updated_at, last_heartbeat_at, ended_at, duration_ms, tags)
     SELECT p.id, s.id, 'bench-run-' || g, 'completed',
            (SELECT jsonb_agg(jsonb_build_object('name', 'step' || k, 'parents', '[]'::jsonb)) FROM generate_series(1, $2) k),
            jsonb_build_object('stackId', s.id, 'name', s.name, 'components', '[]'::jsonb),
            t, t, t + interval '40 seconds', t + interval '40 seconds', t + interval '40 seconds', 40000,
            CASE WHEN g % 3 = 0 THEN ARRAY['nightly'] ELSE '{}'::text[] END
     FROM generate_series(1, $1) g
     CROSS JOIN LATERAL (SELECT timestamptz '2026-01-01' + g * interval '1 second' + (g % 997) * interval '1 microsecond' AS t) times
     JOIN pipelines p ON p.name = 'bench'
     JOIN stacks s ON s.name = 'bench-' || lpad((CASE WHEN g <= $3 THEN 0 ELSE 1 + g % ($4 - 1) END)::text, 2, '0')`,
    [RUNS, STEPS, busy, STACKS],
  );
  await client.query(
    `INSERT INTO step_runs (run_id, name, status, started_at, ended_at)
     SELECT r.id, 'step' || k, 'completed', r.started_at + (k - 1) * interval '8 seconds', r.started_at + k * interval '8 seconds'
     FROM pipeline_runs r CROSS JOIN generate_series(1, $1) k WHERE r.name LIKE 'bench-run-%'`,
    [STEPS],
  );
  await client.query(
    `INSERT INTO artifacts (name, latest_version)
     SELECT 'bench::step' || k || '::out' || o, $1 FROM generate_series(1, $2) k CROSS JOIN generate_series(1, $3) o`,
    [RUNS, STEPS, OUTPUTS],
  );
  await client.query(
    `WITH produced AS (
       SELECT s.id AS step_id, s.name AS step_name, o, a.id AS artifact_id,
              substring(r.name from 11)::int AS version, r.name AS run_name
       FROM step_runs s
       JOIN pipeline_runs r ON r.id = s.run_id AND r.name LIKE 'bench-run-%'
       CROSS JOIN generate_series(1, $1) o
       JOIN artifacts a ON a.name = 'bench::' || s.name || '::out' || o),
     versions AS (
       INSERT INTO artifact_versions (artifact_id, version, uri, type, size_bytes, producer_step_run_id, producer_output_name)
       SELECT artifact_id, version, '/bench/' || run_name || '/' || step_name || '/out' || o, 'data', 1024, step_id, 'out' || o
       FROM produced
       RETURNING id, producer_step_run_id, producer_output_name)
     INSERT INTO step_run_outputs (step_run_id, name, artifact_version_id)
     SELECT producer_step_run_id, producer_output_name, id FROM versions`,
    [OUTPUTS],
  );
  await client.query('COMMIT');
  await client.query('ANALYZE');
  const counts = await client.query(`SELECT
    (SELECT count(*) FROM pipeline_runs) AS runs, (SELECT count(*) FROM step_runs) AS steps,
    (SELECT count(*) FROM artifact_versions) AS versions,
    (SELECT count(*) FROM pipeline_runs r JOIN stacks s ON s.id = r.stack_id WHERE s.name = 'bench-00') AS busy`);
  await client.end();
  const row = counts.rows[0];
  log(`seeded ${row.runs} runs, ${row.steps} step runs, ${row.versions} artifact versions in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  log(`measured stack bench-00 holds ${row.busy} runs: ${Math.ceil(row.busy / PAGE_SIZE)} pages of ${PAGE_SIZE}`);
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
    await seed(url.toString());

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
  } finally {
    await server.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
