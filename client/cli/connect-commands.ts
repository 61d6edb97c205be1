// `stackyard connect`, `disconnect` and `status`: which server the other commands talk to.
import { existsSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import { configFilePath, writeConfigFile } from '../connection-settings';
import { answer, clientFor, globalOptions } from './command-context';
import { printFields } from './output';

export function addConnectCommands(program: Command): void {
  program
    .command('connect')
    .description('Check that a Stackyard server answers, then save its URL (and token) for later commands')
    .addHelpText(
      'after',
      `
Takes the global --url (required) and --token. The settings are saved in
$STACKYARD_CONFIG_DIR/config.json (default ~/.stackyard/config.json), readable only by you.
STACKYARD_URL and STACKYARD_TOKEN, when set, win over the saved settings.

Example:
  $ stackyard connect --url http://127.0.0.1:8080`,
    )
    .action(async (_options: object, command: Command) => {
      const { url, token } = globalOptions(command);
      if (!url) throw new Error('Name the server with --url, as in `stackyard connect --url http://127.0.0.1:8080`');
      // An empty token rather than none: the check must use exactly what is saved, not a token
      // from the environment or the file being replaced.
      const client = clientFor(command, { token: token ?? '' });
      await client.serverLimits();
      const configFile = configFilePath();
      writeConfigFile(configFile, { url: client.url, ...(token ? { token } : {}) });
      answer(command, { url: client.url, configFile, tokenSaved: Boolean(token) }, () => {
        console.log(`Connected to ${client.url}; saved to ${configFile}.`);
        if (process.env.STACKYARD_URL) console.log(`Note: STACKYARD_URL (${process.env.STACKYARD_URL}) is set and wins over the saved URL.`);
      });
    });

  program
    .command('disconnect')
    .description('Forget the saved server settings; commands then use STACKYARD_URL or the local default')
    .action((_options: object, command: Command) => {
      const configFile = configFilePath();
      const removed = existsSync(configFile);
      rmSync(configFile, { force: true });
      answer(command, { configFile, removed }, () =>
        console.log(removed ? `Removed the saved connection (${configFile}).` : `No saved connection (${configFile}).`),
      );
    });

  program
    .command('status')
    .description('Show the server in use, whether it answers, and the active stack')
    .action(async (_options: object, command: Command) => {
      const client = clientFor(command);
      const configFile = configFilePath();
      const stackOverride = process.env.STACKYARD_STACK || undefined;
      const where: [string, string][] = [
        ['Server', client.url],
        ['Config file', configFile],
      ];
      let activeStack: string;
      try {
        activeStack = (await client.getActiveStack()).name;
      } catch (error) {
        answer(command, { url: client.url, configFile, reachable: false }, () => printFields([...where, ['Reachable', 'no']]));
        throw error;
      }
      answer(command, { url: client.url, configFile, reachable: true, activeStack, stackOverride: stackOverride ?? null }, () =>
        printFields([
          ...where,
          ['Reachable', 'yes'],
          ['Active stack', stackOverride ? `${stackOverride} (from STACKYARD_STACK; the server's is "${activeStack}")` : activeStack],
        ]),
      );
    });
}
