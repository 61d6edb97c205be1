// The `stackyard` command line (bin/stackyard.js runs it): ZenML's commands for Stackyard's
// stacks, components and runs, one file per command group.
import { CommanderError } from 'commander';
import { expandZenmlStackFlags } from './component-kinds';
import { StackyardError } from '../stackyard-error';
import { reportFailure } from './output';
import { buildProgram } from './program';

// `stackyard stack list | head` closes the pipe early; that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

try {
  await buildProgram().parseAsync(expandZenmlStackFlags(process.argv.slice(2)), { from: 'user' });
} catch (error) {
  // Commander has printed its own errors (and help, which "fails" with exit code 0).
  process.exitCode = error instanceof CommanderError ? error.exitCode : reportFailure(error);
  // fetch cannot cancel a connection attempt to an address that drops packets: it would keep
  // the process alive for its own 10 s connect timeout after the error was already reported.
  if (error instanceof StackyardError && error.type === 'ConnectionError') process.exit();
}
