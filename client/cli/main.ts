// The `stackyard` command line (bin/stackyard.js runs it): ZenML's commands for Stackyard's
// stacks, components and runs, one file per command group.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { addArtifactCommands } from './artifact-commands';
import { addComponentCommands } from './component-commands';
import { expandZenmlStackFlags } from './component-kinds';
import { addConnectCommands } from './connect-commands';
import { addDbCommands } from './db-commands';
import { packageFile } from '../package-files';
import { reportFailure } from './output';
import { addRunCommands } from './run-commands';
import { addServerCommands } from './server-commands';
import { addStackCommands } from './stack-commands';
import { addUserCommands } from './user-commands';
import { addWorkerCommands } from './worker-commands';
import { addWorkerListCommand } from './worker-list-command';

const { version } = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string };

function buildProgram(): Command {
  // Settings made here, before any subcommand exists, are inherited by every subcommand.
  const program = new Command('stackyard')
    .description('Stack registry and run tracker for ML pipelines')
    .version(version, '-v, --version')
    .option('--url <url>', 'server URL (else STACKYARD_URL, else the one `stackyard connect` saved, else http://127.0.0.1:8080)')
    .option('--token <token>', 'API token (else STACKYARD_TOKEN, else the saved one)')
    .option('--json', 'print machine-readable JSON')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    // Throw instead of exiting, so usage errors end like every other failure, below.
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'Error: ')) });
  program.addHelpText(
    'after',
    `
Each stack component type has register, list, describe, update, rename, delete and
flavor list, as in \`stackyard artifact-store register --help\`.

Examples:
  $ stackyard server start
  $ stackyard artifact-store register my_store -f local --path /tmp/artifacts
  $ stackyard stack register my_stack -o default -a my_store --set
  $ stackyard run list --status failed`,
  );
  program.commandsGroup('Server and connection:');
  addServerCommands(program);
  addConnectCommands(program);
  addDbCommands(program);
  program.commandsGroup('Users and tokens:');
  addUserCommands(program);
  program.commandsGroup('Stacks and runs:');
  addStackCommands(program);
  addRunCommands(program);
  addArtifactCommands(program);
  addWorkerCommands(program);
  addWorkerListCommand(program);
  program.commandsGroup('Stack components:');
  addComponentCommands(program);
  return program;
}

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
}
