// The run history the benchmarks measure, written straight into a migrated Stackyard database:
// runs of one pipeline on `stacks` stacks (a share of them on the busy stack bench-00, the rest
// spread over the others), `steps` completed steps a run and `outputs` artifact versions a step.
import pg from 'pg';

export interface HistoryShape {
  runs: number;
  stacks: number;
  steps: number;
  outputs: number;
  /** Share of the runs on bench-00, so that its history is deep. */
  busyStackShare: number;
}

export interface SeededHistory {
  runs: number;
  steps: number;
  versions: number;
  /** Runs on bench-00. */
  busy: number;
  seconds: number;
}

export async function seedHistory(url: string, shape: HistoryShape): Promise<SeededHistory> {
  const { runs: RUNS, stacks: STACKS, steps: STEPS, outputs: OUTPUTS, busyStackShare: BUSY_STACK_SHARE } = shape;
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
    `INSERT INTO pipeline_runs (pipeline_id, stack_id, name, status, expected_steps, expected_step_count, stack_snapshot,
                                created_at, started_at, updated_at, last_heartbeat_at, ended_at, duration_ms, tags)
     SELECT p.id, s.id, 'bench-run-' || g, 'completed',
            (SELECT jsonb_agg(jsonb_build_object('name', 'step' || k, 'parents', '[]'::jsonb)) FROM generate_series(1, $2) k), $2,
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
  return {
    runs: Number(row.runs),
    steps: Number(row.steps),
    versions: Number(row.versions),
    busy: Number(row.busy),
    seconds: (performance.now() - started) / 1000,
  };
}
