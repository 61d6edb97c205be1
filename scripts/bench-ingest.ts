// `npm run bench:ingest`: artifact versions stored per second through Stackyard's
// reportStepOutputs (batches of 100, each client reporting for its own steps) against a raw
// multi-row INSERT of the same rows (claiming the numbers, versions and links in one statement),
// at 4 and 8 concurrent clients, then checks that every artifact's versions are 1..n without gaps.
// Stackyard runs as a child process on a fresh Postgres database, dropped afterwards.
//
// BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/test); BENCH_BATCHES (40) per client;
// BENCH_CLIENTS (4,8).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { freePort } from './free-port';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const BATCHES = Number(process.env.BENCH_BATCHES ?? 40);
const CLIENTS = (process.env.BENCH_CLIENTS ?? '4,8').split(',').map(Number);
const BATCH_SIZE = 100;
/** Outputs of a batch spread over this many artifact names, which every client shares. */
const ARTIFACT_NAMES = 10;
const root = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string) => process.stdout.write(`${line}\n`);

async function graphql(url: string, query: string, variables: Record<string, unknown>) {
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return { data: body.data, statements: Number(response.headers.get('x-sql-statements')) };
}

const outputsOf = (prefix: string, batch: number) =>
  Array.from({ length: BATCH_SIZE }, (_, index) => ({
    name: `out${index}`,
    artifactName: `${prefix}-${index % ARTIFACT_NAMES}`,
    uri: `/bench/${prefix}/${batch}/${index}`,
    sizeBytes: 1024,
    contentHash: `sha256:${batch}-${index}`,
  }));

const REPORT = `mutation($step: ID!, $outputs: [StepOutputInput!]!) {
  reportStepOutputs(stepRunId: $step, outputs: $outputs) {
    __typename ... on ReportStepOutputsPayload { outputs { name artifactVersion { id version uri sizeBytes materializer } } }
  }
}`;

/** Each client starts its steps first (not timed), then reports one batch a step. */
async function stackyardIngest(url: string, clients: number, prefix: string) {
  const run = await graphql(url, `mutation($p: String!) { startRun(pipeline: $p) { ... on PipelineRun { id } } }`, { p: prefix });
  const runId = run.data.startRun.id;
  const steps: string[][] = [];
  for (let client = 0; client < clients; client += 1) {
    steps.push([]);
    for (let batch = 0; batch < BATCHES; batch += 1) {
      const step = await graphql(url, `mutation($r: ID!, $n: String!) { startStep(runId: $r, name: $n) { ... on StepRun { id } } }`, { r: runId, n: `s${client}-${batch}` });
      steps[client].push(step.data.startStep.id);
    }
  }
  const statements = new Set<number>();
  const started = performance.now();
  await Promise.all(
    steps.map(async (clientSteps) => {
      for (const [batch, step] of clientSteps.entries()) {
        const result = await graphql(url, REPORT, { step, outputs: outputsOf(prefix, batch) });
        if (result.data.reportStepOutputs.__typename !== 'ReportStepOutputsPayload') throw new Error(JSON.stringify(result.data));
        statements.add(result.statements);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, versions: clients * BATCHES * BATCH_SIZE, statements: [...statements] };
}

/** The same rows by hand: one statement claims numbers, inserts versions and links. */
async function rawIngest(databaseUrl: string, clients: number, prefix: string) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: clients });
  const setup = await pool.query(
    `WITH p AS (INSERT INTO pipelines (name) VALUES ($1) RETURNING id),
          r AS (INSERT INTO pipeline_runs (pipeline_id, name, status, stack_snapshot)
                SELECT p.id, $1, 'running', '{"components":[]}'::jsonb FROM p RETURNING id)
     INSERT INTO step_runs (run_id, name, status)
     SELECT r.id, 's' || g, 'running' FROM r, generate_series(0, $2 - 1) g RETURNING id`,
    [prefix, clients * BATCHES],
  );
  const stepIds = setup.rows.map((row) => row.id as string);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let batch = 0; batch < BATCHES; batch += 1) {
        const step = stepIds[client * BATCHES + batch];
        const outputs = outputsOf(prefix, batch);
        const values: unknown[] = [step];
        const rows = outputs.map((output, index) => {
          values.push(output.artifactName, output.uri, output.contentHash, output.name);
          const at = 2 + index * 4;
          return `($${at}, $${at + 1}, $${at + 2}, $${at + 3}, ${index})`;
        });
        await pool.query(
          `WITH input (artifact_name, uri, content_hash, name, ord) AS (VALUES ${rows.join(', ')}),
           claimed AS (
             INSERT INTO artifacts (name, latest_version)
             SELECT artifact_name, count(*) FROM input GROUP BY artifact_name ORDER BY artifact_name
             ON CONFLICT (name) DO UPDATE SET latest_version = artifacts.latest_version + excluded.latest_version
             RETURNING id, name, latest_version),
           versions AS (
             INSERT INTO artifact_versions (artifact_id, version, uri, content_hash, size_bytes, producer_step_run_id, producer_output_name)
             SELECT c.id, c.latest_version - count(*) OVER w + row_number() OVER (w ORDER BY i.ord), i.uri, i.content_hash, 1024, $1::uuid, i.name
             FROM input i JOIN claimed c ON c.name = i.artifact_name
             WINDOW w AS (PARTITION BY i.artifact_name)
             RETURNING id, producer_output_name)
           INSERT INTO step_run_outputs (step_run_id, name, artifact_version_id)
           SELECT $1::uuid, producer_output_name, id FROM versions`,
          values,
        );
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.end();
  return { seconds, versions: clients * BATCHES * BATCH_SIZE };
}

/** Names under the prefix whose versions are not exactly 1..latest_version. */
async function gaps(databaseUrl: string, prefix: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const { rows } = await client.query(
    `SELECT count(*)::int AS bad FROM (
       SELECT a.name FROM artifacts a JOIN artifact_versions v ON v.artifact_id = a.id
       WHERE a.name LIKE $1 || '-%'
       GROUP BY a.name, a.latest_version
       HAVING count(*) <> a.latest_version OR count(DISTINCT v.version) <> a.latest_version
           OR min(v.version) <> 1 OR max(v.version) <> a.latest_version) bad`,
    [prefix],
  );
  await client.end();
  return rows[0].bad;
}

async function main() {
  const name = `stackyard_bench_ingest_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const port = await freePort();
  const server = spawn(process.execPath, ['bin/stackyard.js', 'server', 'start', '--port', String(port), '--database-url', databaseUrl], {
    cwd: root,
    env: { ...process.env, STACKYARD_SECRET_KEY: randomBytes(32).toString('hex') },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const serverUrl = `http://127.0.0.1:${port}`;
  try {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await graphql(serverUrl, '{ __typename }', {});
        break;
      } catch (error) {
        if (attempt > 600 || server.exitCode !== null) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    log(`${BATCHES} batches of ${BATCH_SIZE} outputs per client, over ${ARTIFACT_NAMES} artifact names shared by all clients`);
    log('clients  stackyard versions/s  raw INSERT versions/s  ratio  statements/report  gap-free');
    for (const clients of CLIENTS) {
      const stackyard = await stackyardIngest(serverUrl, clients, `sy${clients}`);
      const raw = await rawIngest(databaseUrl, clients, `raw${clients}`);
      const bad = (await gaps(databaseUrl, `sy${clients}`)) + (await gaps(databaseUrl, `raw${clients}`));
      const ours = stackyard.versions / stackyard.seconds;
      const theirs = raw.versions / raw.seconds;
      log(
        `${String(clients).padStart(7)}  ${ours.toFixed(0).padStart(20)}  ${theirs.toFixed(0).padStart(21)}  ${(ours / theirs).toFixed(2).padStart(5)}  ${stackyard.statements.join(',').padStart(17)}  ${bad === 0 ? 'yes' : `NO (${bad} names)`}`,
      );
    }
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
