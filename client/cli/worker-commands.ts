// `stackyard worker start`: a process that runs the steps of runs on a bullmq stack, on this
// machine, until it is stopped (SIGINT/SIGTERM let running steps finish first).
import type { Command } from 'commander';
import { positiveIntegerUpTo } from './arguments';
import { clientFor } from './command-context';

/** As the server takes it in a worker's heartbeat (server/workers/worker-service.ts MAX_CONCURRENCY). */
const MAX_WORKER_CONCURRENCY = 10_000;

/** Retries of a step report, at most 2 s apart: about five minutes. */
const WORKER_REPORT_RETRIES = 150;

export function addWorkerCommands(program: Command): void {
  // `worker` may already exist (another file adds `worker list`): add to it rather than replace it.
  const worker = program.commands.find((command) => command.name() === 'worker') ?? program.command('worker').description('Processes that run the steps of bullmq stacks');

  worker
    .command('start')
    .description("Take step jobs from the stack's bullmq queue and run them, until stopped")
    .requiredOption('--pipelines <module>', 'the module (.ts or .js) that exports the pipelines to run')
    .option('--concurrency <count>', `steps run at once by this process, 1 to ${MAX_WORKER_CONCURRENCY}`, positiveIntegerUpTo(MAX_WORKER_CONCURRENCY), 1)
    .option('--stack <name>', 'the bullmq stack to serve (else STACKYARD_STACK, else the active stack)')
    .option('--name <name>', 'this worker\'s name, unique among running workers (default host:pid)')
    .addHelpText(
      'after',
      `
The token (--token or STACKYARD_TOKEN) reports the steps: a service account's, or an editor's.
STACKYARD_WORKER_LOCK_MS and STACKYARD_WORKER_STALLED_INTERVAL_MS (default 30000 each) set how
soon the job of a worker that died is given to another: within about their sum, at most one
more stalled interval.

Example:
  $ stackyard worker start --pipelines ./pipelines.ts --concurrency 4`,
    )
    .action(async (options: { pipelines: string; concurrency: number; stack?: string; name?: string }, command: Command) => {
      const { startStepWorker } = await import('../sdk/bullmq-worker');
      // A step's reports are retried for about five minutes (2 s apart): what a step did outlives
      // a server restart, and the step's attempt is not used up meanwhile (the worker holds its
      // job). Other requests retry as the CLI's do, so a worker with no server fails at once.
      const client = clientFor(command, { reportRetries: WORKER_REPORT_RETRIES });
      const running = await startStepWorker({ client, pipelinesModule: options.pipelines, concurrency: options.concurrency, stack: options.stack, name: options.name });
      await new Promise<void>((resolve) => {
        // A second signal stops it at once: its running steps' jobs go to other workers as their
        // next attempt once their locks expire, as when a worker dies.
        const stopNow = (signal: NodeJS.Signals) => {
          process.stdout.write(`Worker ${running.name} stopping at once (${signal} again): its running steps go to other workers once their locks expire\n`);
          process.exit(signal === 'SIGINT' ? 130 : 143);
        };
        const stop = (signal: NodeJS.Signals) => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          process.once('SIGINT', stopNow);
          process.once('SIGTERM', stopNow);
          process.stdout.write(`Worker ${running.name} stopping (${signal}): running steps finish first; ${signal} again stops at once\n`);
          running.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
