// The command line as a ZenML user expects it: pipelines with their success rate, run history
// filtered and paged, runs named by a UUID prefix, colour and tables that fit a terminal,
// suggestions for typos, shell completion, help that states each default once, and a quick,
// helpful failure when the server cannot be reached. Real `stackyard` processes throughout.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { decodeGlobalID } from '@pothos/plugin-relay';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { buildProgram } from '../client/cli/program';
import { closedPortUrl, expectFailure, parsedJson, runCli, runProcess, succeeded, type CliResult } from './cli-process';
import { databaseTargets, uniqueName, useTestServer } from './harness';
import { completeRun, finishStep, startRun, startStep } from './run-operations';

const uuidOf = (globalId: string) => decodeGlobalID(globalId).id;

// ---------------------------------------------------------------------------------------------
// Without a server: the command tree itself

describe('the command tree', () => {
  let configDir: string;
  beforeAll(() => {
    configDir = mkdtempSync(join(tmpdir(), 'stackyard-cli-polish-'));
  });
  afterAll(() => rmSync(configDir, { recursive: true, force: true }));
  const cli = (...args: string[]) => runCli(args, { configDir });

  /** Every command by its path (`run list`; the program is ''), as --help would show it. */
  function helpTree(): Map<string, string> {
    const tree = new Map<string, string>();
    const visit = (command: Command, path: string[]) => {
      tree.set(path.join(' '), command.helpInformation());
      for (const sub of command.commands) visit(sub, [...path, sub.name()]);
    };
    visit(buildProgram(), []);
    return tree;
  }

  /** Each option's and argument's whole description (wrapped lines joined), from a help text. */
  function helpEntries(help: string): string[] {
    const entries: string[] = [];
    let inEntries = false;
    for (const line of help.split('\n')) {
      if (/^\S/.test(line)) inEntries = /^(Global Options|Options|Arguments):$/.test(line);
      else if (inEntries && /^ {2}\S/.test(line)) entries.push(line.trim());
      else if (inEntries && /^ {3,}\S/.test(line) && entries.length > 0) entries[entries.length - 1] += ` ${line.trim()}`;
    }
    return entries;
  }

  it('states each default once in every command\'s help, and completes every command', async () => {
    const tree = helpTree();
    expect(tree.size).toBeGreaterThan(100);
    expect([...tree.keys()]).toEqual(expect.arrayContaining(['pipeline list', 'pipeline describe', 'run list', 'completion']));
    const repeated = [...tree].flatMap(([path, help]) =>
      helpEntries(help)
        .filter((entry) => /\(default: [^)]*\)/.test(entry) && (entry.match(/default/gi) ?? []).length > 1)
        .map((entry) => `stackyard ${path}: ${entry}`),
    );
    expect(repeated).toEqual([]);

    // The completion script is made from the same tree: it knows every command.
    const script = succeeded(await cli('completion', 'bash'));
    const missing = [...tree.keys()].filter((path) => path && !script.includes(`'/${path.replaceAll(' ', '/')}'`));
    expect(missing).toEqual([]);
  });

  it('completes commands and options in bash, from `stackyard completion bash`', async () => {
    const script = succeeded(await cli('completion', 'bash'));
    const complete = (...words: string[]) => {
      const shell = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _stackyard_completions; printf '%s\\n' "\${COMPREPLY[@]}"`, 'bash', 'stackyard', ...words], { encoding: 'utf8' });
      expect(shell.stderr).toBe('');
      return shell.stdout.trim().split('\n').sort();
    };
    expect(complete('pip')).toEqual(['pipeline']);
    expect(complete('run', 'l')).toEqual(['list', 'logs']);
    expect(complete('run', 'list', '--st')).toEqual(['--stack', '--status']);
    expect(complete('run', 'list', '--stack', 'mine', '--t')).toEqual(['--tag', '--token']);
    expect(complete('artifact-store', 'flavor', '')).toEqual(['--help', '--json', '--token', '--url', 'list']);

    const zsh = succeeded(await cli('completion', 'zsh'));
    expect(zsh).toMatch(/^#compdef stackyard\n/);
    expect(zsh).toContain('bashcompinit');
    expectUsageError(await cli('completion', 'fish'), "error: command-argument value 'fish' is invalid for argument 'shell'. Expected bash or zsh.");
  });

  it('suggests the command or option a typo meant', async () => {
    const [command, subcommand, option] = await Promise.all([cli('stak', 'list'), cli('run', 'lsit'), cli('run', 'list', '--stauts', 'failed')]);
    expectUsageError(command, "error: unknown command 'stak'\n(Did you mean stack?)");
    expectUsageError(subcommand, "error: unknown command 'lsit'\n(Did you mean list?)");
    expectUsageError(option, "error: unknown option '--stauts'\n(Did you mean --status?)");
  });

  it('refuses a --since that is neither a time ago nor a date', async () => {
    expectUsageError(await cli('run', 'list', '--since', 'yesterday'), 'Expected a time ago such as 30m, 3h, 2d or 1w, or a date such as 2026-11-01');
  });
});

/** Commander's usage errors: exit code 1, `Error: ...` (capitalised by the CLI) on stderr. */
function expectUsageError(result: CliResult, message: string): void {
  expect(result.stdout).toBe('');
  expect(result.stderr).toContain(message.replace(/^error: /, 'Error: '));
  expect(result.code).toBe(1);
}

// ---------------------------------------------------------------------------------------------
// An unreachable server

describe('an unreachable server', () => {
  let configDir: string;
  beforeAll(() => {
    configDir = mkdtempSync(join(tmpdir(), 'stackyard-cli-polish-'));
  });
  afterAll(() => rmSync(configDir, { recursive: true, force: true }));

  /**
   * An address that swallows connection attempts, as a dropped VPN or a firewall does: a
   * listening socket in a process whose event loop is blocked, so it never accepts, with its
   * backlog filled. The kernel then drops further SYNs and a client waits for its own timeout.
   */
  async function blackholeUrl(): Promise<string> {
    const child = spawn(
      process.execPath,
      ['-e', `const s = require('net').createServer(); s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => { process.stdout.write(String(s.address().port) + '\\n'); setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0), 50); });`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    onTestFinished(() => void child.kill('SIGKILL'));
    const port = await new Promise<number>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
    await new Promise((resolve) => setTimeout(resolve, 300)); // until its event loop blocks
    // Fill the accept queue; these connections stay pending until the process is killed.
    for (let filler = 0; filler < 4; filler += 1) {
      const socket = connect({ host: '127.0.0.1', port });
      socket.on('error', () => {});
      onTestFinished(() => void socket.destroy());
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    return `http://127.0.0.1:${port}`;
  }

  it('fails fast with how to start one, on a closed port and on an address that drops connections', async () => {
    const closed = await closedPortUrl();
    let started = performance.now();
    const refused = await runCli(['stack', 'list'], { url: closed, configDir });
    const refusedMs = performance.now() - started;
    expectFailure(refused, `Cannot reach the Stackyard server at ${closed}/graphql`);
    expect(refused.stderr).toContain('start one with `npm start` or set STACKYARD_URL');

    const blackhole = await blackholeUrl();
    started = performance.now();
    const dropped = await runCli(['run', 'list'], { url: blackhole, configDir });
    const droppedMs = performance.now() - started;
    expectFailure(dropped, `Cannot reach the Stackyard server at ${blackhole}/graphql: no connection within 1.5 s; start one with \`npm start\` or set STACKYARD_URL`);
    // The operating system alone would wait for minutes; the figures go in the report, not a tight bound.
    console.log(`unreachable server: connection refused after ${Math.round(refusedMs)} ms, dropped after ${Math.round(droppedMs)} ms (process start included)`);
    expect(droppedMs).toBeLessThan(20_000);
  });
});

// ---------------------------------------------------------------------------------------------
// Against a server

describe.each(databaseTargets)('stackyard CLI for ZenML users on $name', (target) => {
  const testServer = useTestServer(target);
  let configDir: string;
  beforeAll(() => {
    configDir = mkdtempSync(join(tmpdir(), 'stackyard-cli-polish-'));
  });
  afterAll(() => rmSync(configDir, { recursive: true, force: true }));
  const cli = (...args: string[]) => runCli(args, { url: testServer().url, configDir });
  const cliWith = (env: Record<string, string>, ...args: string[]) => runCli(args, { url: testServer().url, configDir, env });

  /** Two completed runs (tagged `nightly`) and one failed at its first step, of a fresh pipeline. */
  async function pipelineWithRuns() {
    const server = testServer();
    const pipeline = uniqueName('polish-pipeline');
    const first = await completeRun(server, { pipeline, tags: ['nightly'], name: `${pipeline}-first` });
    const second = await completeRun(server, { pipeline, tags: ['nightly', 'gpu'], name: `${pipeline}-second` });
    const failed = await startRun(server, { pipeline, name: `${pipeline}-failed`, steps: [{ name: 'load', parents: [] }, { name: 'train', parents: ['load'] }] });
    const load = await startStep(server, { runId: failed.id, name: 'load' });
    await finishStep(server, { stepRunId: load.id, status: 'FAILED', errorMessage: 'no data' });
    return { pipeline, first, second, failed: failed.id as string, names: [`${pipeline}-failed`, `${pipeline}-second`, `${pipeline}-first`] };
  }

  it('lists pipelines and describes one with its runs per status, success rate and newest runs', async () => {
    const { pipeline, names } = await pipelineWithRuns();
    const [listed, listedText, described, missing] = await Promise.all([
      cli('pipeline', 'list', '--json'),
      cli('pipeline', 'list'),
      cli('pipeline', 'describe', pipeline, '--runs', '2'),
      cli('pipeline', 'describe', 'no-such-pipeline'),
    ]);
    const mine = parsedJson(listed).find((item: { name: string }) => item.name === pipeline);
    expect(mine.runStats).toMatchObject({ total: 3 });
    expect(succeeded(listedText)).toMatch(new RegExp(`│ ${pipeline} +│ 3 +│ 67% \\(2 of 3\\) +│ \\d{4}-`));
    const text = succeeded(described);
    expect(text).toContain(`Pipeline "${pipeline}"`);
    expect(text).toMatch(/^Runs: +3 \(2 completed, 1 failed\), last /m);
    expect(text).toMatch(/^Success rate: +67% \(2 of 3\)$/m);
    expect(text).toContain(`Newest 2 runs (\`stackyard run list --pipeline ${pipeline}\` lists all)`);
    expect(text).toContain(names[0]);
    expect(text).toContain(names[1]);
    expect(text).not.toContain(names[2]);
    expectFailure(missing, 'No pipeline named "no-such-pipeline"');
  });

  it('filters runs by tag, start time and name, and pages on with the cursor it prints', async () => {
    const { pipeline, names } = await pipelineWithRuns();
    const list = async (...args: string[]) => parsedJson(await cli('run', 'list', '--pipeline', pipeline, '--json', ...args)).map((run: { name: string }) => run.name);
    expect(await list('--tag', 'nightly')).toEqual([names[1], names[2]]);
    expect(await list('--tag', 'nightly', '--tag', 'gpu')).toEqual([names[1]]);
    expect(await list('--name', '-seco')).toEqual([names[1]]);
    expect(await list('--since', '1h')).toEqual(names);
    expect(await list('--since', '2000-01-01')).toEqual(names);
    expect(await list('--since', new Date(Date.now() + 3_600_000).toISOString())).toEqual([]);

    const firstPage = succeeded(await cli('run', 'list', '--pipeline', pipeline, '--limit', '2'));
    const next = /^Showing 2 of 3 runs; the next 2: the same command with --after (\S+)$/m.exec(firstPage);
    expect(next, firstPage).not.toBeNull();
    expect(firstPage).toContain(names[0]);
    expect(firstPage).not.toContain(names[2]);
    const secondPage = succeeded(await cli('run', 'list', '--pipeline', pipeline, '--limit', '2', '--after', next![1]));
    expect(secondPage).toContain(names[2]);
    expect(secondPage).not.toContain(names[0]);
    expect(secondPage).not.toContain('--after');
  });

  it('takes a run by name, global id, UUID or unique UUID prefix, and lists the candidates of an ambiguous prefix', async () => {
    const { failed, names } = await pipelineWithRuns();
    const uuid = uuidOf(failed);
    const describedId = async (...args: string[]) => parsedJson(await cli('run', 'describe', ...args, '--json')).id;
    expect(await describedId(names[0])).toBe(failed);
    expect(await describedId(failed)).toBe(failed);
    expect(await describedId(uuid)).toBe(failed);
    expect(await describedId(uuid.toUpperCase())).toBe(failed);
    expect(await describedId(uuid.slice(0, 13))).toBe(failed);

    // Runs until two share a first character of their UUID (at most 17 are needed).
    const byFirst = new Map<string, string[]>();
    for (const run of parsedJson(await cli('run', 'list', '--json', '--limit', '1000'))) {
      byFirst.set(uuidOf(run.id)[0], [...(byFirst.get(uuidOf(run.id)[0]) ?? []), run.name]);
    }
    while (![...byFirst.values()].some((runs) => runs.length > 1)) {
      const run = await startRun(testServer(), { pipeline: uniqueName('polish-prefix') });
      byFirst.set(uuidOf(run.id)[0], [...(byFirst.get(uuidOf(run.id)[0]) ?? []), run.name]);
    }
    const [prefix, sharing] = [...byFirst].find(([, runs]) => runs.length > 1)!;
    const ambiguous = await cli('run', 'describe', prefix);
    expectFailure(ambiguous, `"${prefix}" is the start of the ids of several runs: `);
    for (const name of sharing.slice(0, 10)) expect(ambiguous.stderr).toContain(name);
    expectFailure(await cli('run', 'describe', 'no-such-run'), 'No run has the name, id or id prefix "no-such-run"');

    // A step the failed run never started is `skipped`; in a run still going it is `pending`.
    expect(succeeded(await cli('run', 'describe', uuid.slice(0, 13)))).toMatch(/│ train +│ skipped +│ - +│ - +│/);
    const live = await startRun(testServer(), { pipeline: uniqueName('polish-live'), steps: [{ name: 'wait', parents: [] }] });
    expect(succeeded(await cli('run', 'describe', live.name))).toMatch(/│ wait +│ pending +│ - +│ - +│/);
    // A failed run goes on with what does not depend on the failure: that is still `pending`, the
    // steps after the failed one (directly or not) are `skipped`.
    const going = await startRun(testServer(), {
      pipeline: uniqueName('polish-going'),
      steps: [{ name: 'broken' }, { name: 'after', parents: ['broken'] }, { name: 'later', parents: ['after'] }, { name: 'apart' }],
    });
    const broken = await startStep(testServer(), { runId: going.id, name: 'broken' });
    await finishStep(testServer(), { stepRunId: broken.id, status: 'FAILED', errorMessage: 'boom' });
    const goingOn = succeeded(await cli('run', 'describe', going.name));
    expect(goingOn).toMatch(/│ after +│ skipped +│/);
    expect(goingOn).toMatch(/│ later +│ skipped +│/);
    expect(goingOn).toMatch(/│ apart +│ pending +│/);

    expect(succeeded(await cli('run', 'delete', uuid.slice(0, 13), '-y'))).toBe(`Deleted run "${names[0]}".\n`);
  });

  it('looks a run up by reference and lists pipelines with run counts, each in one SQL statement, with typed errors', async () => {
    const server = testServer();
    const { pipeline, failed, names } = await pipelineWithRuns();
    const lookUp = (reference: string) =>
      server.request(
        `query($reference: String!) { runByReference(reference: $reference) {
          __typename
          ... on PipelineRun { id name status pipeline { name } expectedSteps { name } steps { name status outputs { name artifactVersion { uri } } } }
          ... on Error { message field }
          ... on AmbiguousReferenceError { candidates }
        } }`,
        { reference },
      );
    const found = await lookUp(uuidOf(failed).slice(0, 8));
    expect(found.errors).toBeUndefined();
    expect(found.data.runByReference).toMatchObject({ __typename: 'PipelineRun', id: failed, name: names[0], steps: [{ name: 'load', status: 'FAILED' }] });
    expect(found.headers.get('x-sql-statements')).toBe('1');
    expect((await lookUp(names[1])).data.runByReference).toMatchObject({ __typename: 'PipelineRun', name: names[1] });
    expect((await lookUp('not-a-run')).data.runByReference).toEqual({ __typename: 'NotFoundError', message: 'No run has the name, id or id prefix "not-a-run"', field: 'reference' });
    expect((await lookUp('  ')).data.runByReference).toMatchObject({ __typename: 'ValidationError', field: 'reference' });
    // Sixteen first characters at most: among seventeen runs, two share one.
    for (let run = 0; run < 17; run += 1) await startRun(server, { pipeline: uniqueName('polish-prefix') });
    const ambiguous = await Promise.all('0123456789abcdef'.split('').map(lookUp));
    const shared = ambiguous.map((response) => response.data.runByReference).find((result) => result.__typename === 'AmbiguousReferenceError');
    expect(shared.field).toBe('reference');
    expect(shared.candidates.length).toBeGreaterThan(1);
    expect(shared.candidates.every((candidate: string) => /^\S+ \([0-9a-f-]{36}\)$/.test(candidate))).toBe(true);

    const pipelines = await server.request(`{ pipelines(first: 100) { ... on QueryPipelinesConnection { edges { node { name runStats { total lastRunAt byStatus { status count } } } } } } }`);
    expect(pipelines.errors).toBeUndefined();
    const mine = pipelines.data.pipelines.edges.find((edge: { node: { name: string } }) => edge.node.name === pipeline).node;
    expect(mine.runStats.total).toBe(3);
    expect(pipelines.headers.get('x-sql-statements')).toBe('1');
  });

  it('colours statuses only on a terminal or when forced, never under NO_COLOR, and fits tables to the width', async () => {
    const { pipeline } = await pipelineWithRuns();
    // script(1) gives the command a terminal, as a person's shell does. Without CI in the
    // environment: Node gives a terminal under CI two colours, so CI runs would see none.
    const onTerminal = (env: Record<string, string>) =>
      runProcess('script', ['-qec', `env -u CI ${process.execPath} bin/stackyard.js run list --pipeline ${pipeline}`, '/dev/null'], { url: testServer().url, configDir, env: { TERM: 'xterm-256color', ...env } });
    const [piped, forced, terminal, noColor] = await Promise.all([
      cli('run', 'list', '--pipeline', pipeline),
      cliWith({ FORCE_COLOR: '1' }, 'run', 'list', '--pipeline', pipeline),
      onTerminal({}),
      onTerminal({ NO_COLOR: '1' }),
    ]);
    expect(succeeded(piped)).not.toContain('\u001b[');
    expect(succeeded(forced)).toContain('\u001b[31mfailed\u001b[39m');
    expect(succeeded(forced)).toContain('\u001b[32mcompleted\u001b[39m');
    expect(terminal.code).toBe(0);
    expect(terminal.stdout).toContain('\u001b[31mfailed\u001b[39m');
    expect(noColor.code).toBe(0);
    expect(noColor.stdout).toContain('failed');
    expect(noColor.stdout).not.toContain('\u001b[');

    const widest = (text: string) => Math.max(...text.split('\n').map((line) => line.length));
    expect(widest(succeeded(piped))).toBeGreaterThan(80);
    const [narrow, narrowColoured] = await Promise.all([
      cliWith({ COLUMNS: '80' }, 'run', 'list', '--pipeline', pipeline),
      cliWith({ COLUMNS: '80', FORCE_COLOR: '1' }, 'run', 'list', '--pipeline', pipeline),
    ]);
    expect(widest(succeeded(narrow))).toBeLessThanOrEqual(80);
    // Every run name is still there, wrapped within its column rather than cut off.
    const nameColumn = succeeded(narrow).split('\n').filter((line) => line.startsWith('│')).map((line) => line.split('│')[1].trim()).join('');
    expect(nameColumn).toContain(`${pipeline}-second`);
    // The status column keeps its width, so its colour codes stay whole.
    expect(succeeded(narrowColoured)).toContain('\u001b[31mfailed\u001b[39m');
  });
});
