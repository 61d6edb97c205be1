// `stackyard server start`, which `npm start` runs. The server module is imported only here, so
// the client commands never load it (nor its database drivers).
import type { Command } from 'commander';

export function addServerCommands(program: Command): void {
  const server = program.command('server').description('Run the Stackyard server');

  server
    .command('start')
    .description('Start the server in the foreground until SIGINT or SIGTERM (`stackyard server start --help` for its flags)')
    // The server parses and documents its own flags (server/config.ts), --help included.
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_options: object, command: Command) => {
      // Read by graphql as the server's modules load: outside production it checks every failed
      // instanceof against a second copy of graphql, a twentieth of a history page's CPU. Yoga
      // and the other libraries change only for 'development' and 'test'.
      process.env.NODE_ENV ??= 'production';
      const { runServer } = await import('../../server/main');
      await runServer(command.args);
    });
}
