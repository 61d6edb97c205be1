// `stackyard worker list`: the worker processes of remote orchestrators seen recently. The
// `worker` group is shared with `worker start`, so this gets the group or creates it.
import type { Command } from 'commander';
import { formatDuration } from '../format-duration';
import { answer, clientFor } from './command-context';
import { printTable } from './output';
import { positiveInteger } from './arguments';

const DEFAULT_SEEN_WITHIN_SECONDS = 300;

/** The `worker` command group, made by whichever of its commands is added first. */
export function workerGroup(program: Command): Command {
  return (
    program.commands.find((command) => command.name() === 'worker') ??
    program.command('worker').description('Worker processes that run the steps of a bullmq stack')
  );
}

/** "4s ago" from a server timestamp; clocks a little apart read as "just now". */
function ago(iso: string, now = Date.now()): string {
  const elapsed = now - Date.parse(iso);
  return elapsed < 1000 ? 'just now' : `${formatDuration(elapsed)} ago`;
}

export function addWorkerListCommand(program: Command): void {
  workerGroup(program)
    .command('list')
    .description('List the workers seen recently, with their current steps')
    .option(
      '--seen-within <seconds>',
      'only workers whose last heartbeat is at most this old',
      positiveInteger,
      DEFAULT_SEEN_WITHIN_SECONDS,
    )
    .option('--include-stopped', 'also the workers that stopped (their LAST SEEN says when)')
    .action(async (options: { seenWithin: number; includeStopped?: boolean }, command: Command) => {
      const workers = await clientFor(command).workers(options.seenWithin, { includeStopped: options.includeStopped });
      answer(command, workers, () =>
        printTable(
          ['NAME', 'STATUS', 'HOST', 'PID', 'QUEUE', 'CONCURRENCY', 'CURRENT STEPS', 'LAST SEEN'],
          workers.map((worker) => [
            worker.name,
            // A silent worker was killed or lost its machine: its steps go to other workers.
            worker.status.toLowerCase(),
            worker.host,
            String(worker.pid),
            worker.queue,
            String(worker.concurrency),
            worker.currentSteps.length === 0
              ? '-'
              : worker.currentSteps.map((step) => `${step.run.name} / ${step.name}${step.attempt > 1 ? ` (attempt ${step.attempt})` : ''}`).join('\n'),
            worker.stoppedAt ? `stopped ${ago(worker.stoppedAt)}` : ago(worker.lastSeenAt),
          ]),
          `No workers seen in the last ${formatDuration(options.seenWithin * 1000)}.`,
        ),
      );
    });
}
