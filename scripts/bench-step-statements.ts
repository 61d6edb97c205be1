// `npm run bench:steps`: what the database work of one step costs the server, without HTTP,
// workers or an object store: each step of a run of BENCH_STEPS (default 200) is started, then
// ended with one output (finishStep with outputs, as a worker ends a step), through the server's
// own service functions, one step at a time. Three rounds on one database (the first pays for
// compiling and planning). Beside it, in the same run, the floor: two trivial statements
// (`select 1`) per step, the least two round trips to the database can cost; the ratio is what a
// step's statements cost over that floor. On the embedded database (PGlite) by default, or on a
// scratch database of the Postgres server at BENCH_DATABASE_URL (or STACKYARD_TEST_DATABASE_URL),
// dropped afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { openDatabase } from '../server/db/database';
import { finishStep, startRun, startStep } from '../server/runs/run-service';
import { ensureDefaultStack } from '../server/stacks/default-stack';
import { ensureLocalUser } from '../server/users/user-service';
import { createTestDatabase } from '../test/harness';

const STEPS = Number(process.env.BENCH_STEPS ?? 200);
const ROUNDS = 3;
const postgresUrl = process.env.BENCH_DATABASE_URL ?? process.env.STACKYARD_TEST_DATABASE_URL;
const scratch = mkdtempSync(join(tmpdir(), 'stackyard-bench-steps-'));
const database = postgresUrl ? await createTestDatabase(postgresUrl) : null;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const cpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

const handle = await openDatabase({ databaseUrl: database?.url, dataDir: join(scratch, 'db') });
try {
  await handle.migrate((db) => ensureDefaultStack(db));
  const { db } = handle;
  const user = await ensureLocalUser(db);
  console.log(`${STEPS} steps one at a time on ${database ? 'Postgres' : 'PGlite'}: start, then end with one output; ms per step`);
  console.log(['round', 'start p50', 'end p50', 'wall/step', 'CPU/step', 'floor wall/step', 'ratio'].join('  '));
  for (let round = 1; round <= ROUNDS; round += 1) {
    const run = await startRun(db, user.id, { pipeline: 'bench-steps', steps: Array.from({ length: STEPS }, (_unused, index) => ({ name: `step_${index}`, parents: [] })) });
    const starts: number[] = [];
    const ends: number[] = [];
    const began = performance.now();
    const cpuBefore = cpuMs();
    for (let index = 0; index < STEPS; index += 1) {
      let at = performance.now();
      const step = await startStep(db, { runId: run.id, name: `step_${index}`, worker: { host: 'bench', pid: process.pid, name: 'bench' }, queuedAt: new Date().toISOString() });
      starts.push(performance.now() - at);
      at = performance.now();
      const ended = await finishStep(db, {
        stepRunId: step.id,
        status: 'completed',
        outputs: [{ name: 'output', uri: `s3://bench/runs/${round}/${index}/output`, contentHash: 'e3b0c442', sizeBytes: 2 }],
      });
      ends.push(performance.now() - at);
      if (ended.status !== 'completed') throw new Error(`step_${index} did not complete: ${ended.status}`);
    }
    const wallPerStep = (performance.now() - began) / STEPS;
    const cpuPerStep = (cpuMs() - cpuBefore) / STEPS;
    const floorBegan = performance.now();
    for (let index = 0; index < STEPS * 2; index += 1) await db.execute(sql`select 1`);
    const floorPerStep = (performance.now() - floorBegan) / STEPS;
    console.log(
      [round, median(starts), median(ends), wallPerStep, cpuPerStep, floorPerStep, wallPerStep / floorPerStep]
        .map((value, column) => (column === 0 ? String(value) : column === 6 ? `${value.toFixed(1)}x` : value.toFixed(2)))
        .join('  '),
    );
  }
} finally {
  await handle.close();
  await database?.drop();
  rmSync(scratch, { recursive: true, force: true });
}
