// The `stackyard` command tree, built without running it: main.ts parses the command line with
// it, and tests and `stackyard completion` read it.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { addArtifactCommands } from './artifact-commands';
import { addComponentCommands } from './component-commands';
import { addCompletionCommands } from './completion-commands';
import { addConnectCommands } from './connect-commands';
import { addDbCommands } from './db-commands';
import { addPipelineCommands } from './pipeline-commands';
import { packageFile } from '../package-files';
import { addRunCommands } from './run-commands';
import { addServerCommands } from './server-commands';
import { addStackCommands } from './stack-commands';
import { addUserCommands } from './user-commands';
import { addWorkerListCommand } from './worker-list-command';

const { version } = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string };

export function buildProgram(): Command {
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
  addPipelineCommands(program);
  addRunCommands(program);
  addArtifactCommands(program);
  addWorkerListCommand(program);
  program.commandsGroup('Stack components:');
  addComponentCommands(program);
  program.commandsGroup('Shell:');
  addCompletionCommands(program);
  return program;
}
