// What every command action takes from the command line: the global options, a client for the
// server they choose, and whether to answer in JSON.
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { fetchWithConnectDeadline } from '../connect-deadline';
import { StackyardClient } from '../stackyard-client';
import { printJson } from './output';

export interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/** How long a command waits for a connection to the server before saying it cannot reach it. */
const CONNECT_TIMEOUT_MS = 1500;

/**
 * A client for the server named by --url/--token, else STACKYARD_URL/STACKYARD_TOKEN, else the
 * saved connection. Two retries rather than the client's four, and a connect timeout: a person
 * at a terminal should hear within two seconds that the server is down or unreachable.
 */
export function clientFor(command: Command, overrides: Pick<GlobalOptions, 'token'> & { reportRetries?: number } = {}): StackyardClient {
  const { url, token } = { ...globalOptions(command), ...overrides };
  return new StackyardClient({ url, token, retries: 2, reportRetries: overrides.reportRetries, fetch: fetchWithConnectDeadline(CONNECT_TIMEOUT_MS) });
}

/** Reads a paged listing of the client to the end. */
export async function collectAll<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** Prints `data` as JSON under --json, else calls `render` to print it for people. */
export function answer(command: Command, data: unknown, render: () => void): void {
  if (globalOptions(command).json) printJson(data);
  else render();
}

/**
 * Asks on the terminal before something that cannot be undone, such as `delete stack "x"`.
 * Without a terminal there is nobody to answer, so it refuses instead of waiting forever.
 */
export async function confirmOrRefuse(what: string): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new Error(`Refusing to ${what} without confirmation: stdin is not a terminal; pass -y to confirm`);
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const reply = await prompt.question(`${what[0].toUpperCase()}${what.slice(1)}? [y/N] `);
    if (!/^y(es)?$/i.test(reply.trim())) throw new Error('Aborted; nothing was changed');
  } finally {
    prompt.close();
  }
}
