// Running the `stackyard` command and other user-facing processes from tests: real child
// processes with exactly the Stackyard settings a test gives, never ~/.stackyard.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, onTestFinished } from 'vitest';

export const root = fileURLToPath(new URL('..', import.meta.url));
const stackyardBin = join(root, 'bin', 'stackyard.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface ProcessSettings {
  url?: string;
  configDir: string;
  env?: Record<string, string>;
  /** Working directory; the repository root unless given. */
  cwd?: string;
}

/** This process's environment without any Stackyard setting, then exactly the given ones. */
export function processEnv(settings: ProcessSettings): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('STACKYARD_')) delete env[name];
  return Object.assign(env, { STACKYARD_CONFIG_DIR: settings.configDir, ...(settings.url ? { STACKYARD_URL: settings.url } : {}), ...settings.env });
}

/**
 * Runs a command, in the repository root unless settings.cwd says otherwise, with exactly the
 * given Stackyard settings: none leak in from the environment running the tests, and the config
 * directory is never ~/.stackyard.
 * Standard input is an empty pipe, so the process knows nobody can answer a question.
 */
export function runProcess(command: string, args: string[], settings: ProcessSettings): Promise<CliResult> {
  const env = processEnv(settings);
  const child = spawn(command, args, { cwd: settings.cwd ?? root, env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `stackyard ARGS`, as `npx stackyard` would. */
export function runCli(args: string[], settings: ProcessSettings): Promise<CliResult> {
  return runProcess(process.execPath, [stackyardBin, ...args], settings);
}

/** Asserts success and answers the parsed --json output. */
export function parsedJson(result: CliResult): any {
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

/** Asserts success and answers stdout. */
export function succeeded(result: CliResult): string {
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
}

/** Asserts exit code 1, nothing on stdout and exactly one `Error: ...` line on stderr matching `message`. */
export function expectFailure(result: CliResult, message: RegExp | string): void {
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^Error: [^\n]+\n$/);
  if (typeof message === 'string') expect(result.stderr).toContain(message);
  else expect(result.stderr).toMatch(message);
  expect(result.code).toBe(1);
}

/** A URL where nothing listens. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}


export interface ServerProcess {
  pid: number;
  /** The server's base URL, once its ready log line said where it listens. */
  url: string;
  output(): string;
  /** Settles when the process has exited (and been reaped). */
  exited: Promise<number | null>;
}

/**
 * Spawns `stackyard server start ARGS --port 0` with exactly the given settings, and answers once
 * its "Stackyard is ready" log line arrives; fails with the output if it exits first. Killed
 * (SIGKILL) after the test unless it has exited.
 */
export async function startServerProcess(args: string[], settings: ProcessSettings): Promise<ServerProcess> {
  const started = spawnServerProcess(args, settings);
  const url = await new Promise<string>((resolve, reject) => {
    const look = () => {
      // Complete lines only: the last may still be arriving.
      for (const line of started.stdout().split('\n').slice(0, -1)) {
        if (!line.startsWith('{"level"')) continue;
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'Stackyard is ready') resolve(entry.url!.replace(/\/graphql$/, ''));
      }
    };
    started.child.stdout!.on('data', look);
    started.exited.then((code) => reject(new Error(`the server exited (${code}) before it was ready:\n${started.output()}`)));
  });
  return { pid: started.child.pid!, url, output: started.output, exited: started.exited };
}

/** Spawns `stackyard server start ARGS --port 0` and answers at once; see startServerProcess. */
export function spawnServerProcess(args: string[], settings: ProcessSettings) {
  const env = processEnv({ configDir: settings.configDir, env: settings.env });
  for (const name of ['PORT', 'HOST', 'DATABASE_URL', 'LOG_LEVEL']) if (!settings.env?.[name]) delete env[name];
  const child = spawn(process.execPath, [stackyardBin, 'server', 'start', '--port', '0', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { child, stdout: () => stdout, output: () => `${stdout}${stderr}`, exited };
}
