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

/**
 * Runs a command, in the repository root unless settings.cwd says otherwise, with exactly the
 * given Stackyard settings: none leak in from the environment running the tests, and the config
 * directory is never ~/.stackyard.
 * Standard input is an empty pipe, so the process knows nobody can answer a question.
 */
export function runProcess(command: string, args: string[], settings: ProcessSettings): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('STACKYARD_')) delete env[name];
  Object.assign(env, { STACKYARD_CONFIG_DIR: settings.configDir, ...(settings.url ? { STACKYARD_URL: settings.url } : {}), ...settings.env });
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

