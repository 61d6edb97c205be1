// `npm run bench:start`: how long `stackyard server start` takes to answer /ready, and how much
// memory it holds then, measured on real processes as a user starts them. Also the wall time of
// a client command (`stackyard stack list`) beside `node -e 0`, Node's own floor.
//
// Cases, BENCH_RUNS each (default 5), with min, median and max:
//   - fresh PGlite: a new, empty data directory every run (the first start a user sees)
//   - existing PGlite: the same data directory every run
//   - Postgres: an existing database, when BENCH_DATABASE_URL or STACKYARD_TEST_DATABASE_URL
//     names a Postgres server (the benchmark creates its own database there and drops it)
// BENCH_BIN runs another build of the command (such as a compiled one) instead of bin/stackyard.js.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { freePort } from './free-port';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { createTestDatabase } from '../test/harness';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? process.env.STACKYARD_TEST_DATABASE_URL;
const stackyardBin = process.env.BENCH_BIN ?? fileURLToPath(new URL('../bin/stackyard.js', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'stackyard-bench-start-'));
const env: NodeJS.ProcessEnv = { ...process.env, STACKYARD_SECRET_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'warn' };
for (const name of ['DATABASE_URL', 'STACKYARD_DATA_DIR', 'STACKYARD_AUTH', 'STACKYARD_ADMIN_TOKEN', 'STACKYARD_URL']) delete env[name];

function log(message: string) {
  process.stdout.write(`${message}\n`);
}

/**
 * CPU time a process has used, user plus system, in ms, from /proc (Linux). Unlike wall time it
 * hardly depends on what else the machine is doing, so it compares runs on a busy machine.
 */
function cpuMs(pid: number): number {
  // The fields after the command name, which is in parentheses and may contain spaces.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticksPerSecond = 100;
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

/** Resident memory of a process in MB, from /proc (Linux). */
function residentMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

interface Start {
  /** Spawn to the first answer on /ready, 503 or 200: from then on /health answers too. */
  answersMs: number;
  ms: number;
  cpuMs: number;
  rssMb: number;
}

/** Starts a server, times spawn to the first 200 from /ready, reads its RSS, and stops it. */
async function timeStart(args: string[], keepRunning?: (url: string) => Promise<void>): Promise<Start> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = spawn(process.execPath, [stackyardBin, 'server', 'start', '--port', String(port), ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  let answersMs: number | undefined;
  for (;;) {
    if (exitedEarly) throw new Error(`the server exited before it was ready:\n${stderr}`);
    const status = await fetch(`${url}/ready`).then((response) => response.status, () => 0);
    if (status !== 0) answersMs ??= performance.now() - started;
    if (status === 200) break;
    // Not faster: each poll is a request the starting server must answer, which slows its start.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const ms = performance.now() - started;
  const rssMb = residentMb(child.pid!);
  const cpu = cpuMs(child.pid!);
  await keepRunning?.(url);
  child.kill('SIGTERM');
  await exited;
  return { answersMs: answersMs!, ms, cpuMs: cpu, rssMb };
}

function summary(values: number[], unit: string, digits = 0): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  const format = (value: number) => `${value.toFixed(digits)} ${unit}`;
  return `min ${format(sorted[0])}, median ${format(median)}, max ${format(sorted[sorted.length - 1])}`;
}

async function benchStarts(name: string, argsForRun: (run: number) => string[]): Promise<void> {
  const starts: Start[] = [];
  for (let run = 0; run < RUNS; run++) starts.push(await timeStart(argsForRun(run)));
  log(`${name.padEnd(22)} first answer:     ${summary(starts.map((s) => s.answersMs), 'ms')}`);
  log(`${''.padEnd(22)} start to /ready:  ${summary(starts.map((s) => s.ms), 'ms')}`);
  log(`${''.padEnd(22)} CPU to /ready:     ${summary(starts.map((s) => s.cpuMs), 'ms')}`);
  log(`${''.padEnd(22)} RSS at /ready:     ${summary(starts.map((s) => s.rssMb), 'MB')}`);
}

function timeCommand(command: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): number {
  const started = performance.now();
  const result = spawnSync(command, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr}`);
  return performance.now() - started;
}

async function main() {
  log(`bench:start — ${stackyardBin}, ${RUNS} runs each, Node ${process.version}, load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const secretKeyArgs = ['--secret-key-file', join(scratch, 'secret.key')];

  await benchStarts('fresh PGlite', (run) => ['--data-dir', join(scratch, `fresh-${run}`), ...secretKeyArgs]);

  const existing = join(scratch, 'existing');
  await timeStart(['--data-dir', existing, ...secretKeyArgs]);
  await benchStarts('existing PGlite', () => ['--data-dir', existing, ...secretKeyArgs]);

  if (ADMIN_URL) {
    const database = await createTestDatabase(ADMIN_URL);
    try {
      await timeStart(['--database-url', database.url, ...secretKeyArgs]);
      await benchStarts('existing Postgres', () => ['--database-url', database.url, ...secretKeyArgs]);
    } finally {
      await database.drop();
    }
  } else {
    log('existing Postgres      skipped: set BENCH_DATABASE_URL (or STACKYARD_TEST_DATABASE_URL)');
  }

  await timeStart(['--data-dir', existing, ...secretKeyArgs], async (url) => {
    const configDir = join(scratch, 'config');
    const list: number[] = [];
    const floor: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      list.push(timeCommand(process.execPath, [stackyardBin, 'stack', 'list'], { STACKYARD_URL: url, STACKYARD_CONFIG_DIR: configDir }));
      floor.push(timeCommand(process.execPath, ['-e', '0']));
    }
    log(`${'stackyard stack list'.padEnd(22)} wall time:         ${summary(list, 'ms')}`);
    log(`${'node -e 0'.padEnd(22)} wall time:         ${summary(floor, 'ms')}`);
  });
}

try {
  await main();
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
