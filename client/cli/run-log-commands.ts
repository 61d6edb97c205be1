// `stackyard run logs RUN [--step S] [--follow]`: a run's step logs, read from the server page by
// page (never whole), and with --follow, followed until the step or the run ends.
import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StepLogQuery } from '../generated/graphql';
import type { StackyardClient } from '../stackyard-client';
import { StackyardError } from '../stackyard-error';
import { clientFor, globalOptions } from './command-context';

type LogEntry = Extract<NonNullable<StepLogQuery['stepLog']>, { __typename: 'StepLogPage' }>['entries'][number];

/** The largest page the server serves (stepLog's limit). */
const PAGE_BYTES = 1024 * 1024;
/** How often a followed log is asked for what is new; the SDK writes a chunk about every second. */
const FOLLOW_INTERVAL_MS = 1000;

export interface RunLogOptions {
  step?: string;
  follow?: boolean;
  json?: boolean;
  /** Where lines go; stdout by default. */
  write?: (text: string) => void;
}

function formatEntry(entry: LogEntry, prefix: string): string {
  const head = `${prefix}${entry.time ?? '-'} ${entry.level.padEnd(5)} `;
  // A stack trace's later lines stay under the message, each still marked with its step.
  return head + entry.message.split('\n').join(`\n${prefix}${' '.repeat(head.length - prefix.length)}`) + '\n';
}

/** Prints each step's log from where it was left, until the run (or the one step) has ended when following. */
export async function printRunLogs(client: StackyardClient, runId: string, options: RunLogOptions): Promise<void> {
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  const printedUpTo = new Map<string, number>();
  for (;;) {
    const run = await client.getRun(runId);
    if (!run) throw new StackyardError('NotFoundError', 'The run was deleted');
    if (options.step && !run.steps.some((s) => s.name === options.step) && !run.expectedSteps.some((s) => s.name === options.step)) {
      throw new StackyardError('NotFoundError', `The run "${run.name}" has no step "${options.step}"`, 'step');
    }
    const steps = run.steps.filter((s) => !options.step || s.name === options.step);
    // The step ends on its own; a step that never started ends with its run. A failed run may
    // still run steps that do not depend on the failure: the run has ended once endedAt says so.
    const ended = run.endedAt != null || (options.step !== undefined && steps.length > 0 && steps[0].status !== 'RUNNING');
    for (const stepRun of steps) {
      if (!stepRun.logUri) continue;
      let offset = printedUpTo.get(stepRun.id) ?? 0;
      const prefix = options.step ? '' : `[${stepRun.name}] `;
      for (;;) {
        const page = await client.stepLog(stepRun.id, { offset, limit: PAGE_BYTES });
        for (const entry of page.entries) {
          write(options.json ? JSON.stringify({ step: stepRun.name, time: entry.time, level: entry.level, message: entry.message }) + '\n' : formatEntry(entry, prefix));
        }
        offset = page.endOffset;
        if (offset >= page.totalBytes) break;
      }
      printedUpTo.set(stepRun.id, offset);
    }
    // A step's log is complete before the step is recorded as finished, so this pass read all of it.
    if (!options.follow || ended) return;
    await sleep(FOLLOW_INTERVAL_MS);
  }
}

export function addRunLogCommand(run: Command, requireRun: (client: StackyardClient, idOrName: string) => Promise<{ id: string }>): void {
  run
    .command('logs')
    .description("Print a run's step logs (console output, levels, a failure's stack trace), each line marked with its step")
    .argument('<run>', 'the run id or name')
    .option('--step <name>', 'only this step')
    .option('-f, --follow', 'keep printing new lines until the step or the run ends')
    .action(async (idOrName: string, options: { step?: string; follow?: boolean }, command: Command) => {
      const client = clientFor(command);
      const found = await requireRun(client, idOrName);
      await printRunLogs(client, found.id, { ...options, json: globalOptions(command).json });
    });
}
