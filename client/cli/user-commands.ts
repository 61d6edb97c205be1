// `stackyard login`, `user ...` and `token ...`: signing in, and managing users and API tokens
// on a server with auth. Tokens are printed once, when created; the server keeps only hashes.
import { text } from 'node:stream/consumers';
import { createInterface } from 'node:readline/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { configFilePath, writeConfigFile } from '../connection-settings';
import type { ApiTokenFieldsFragment, UserRole } from '../generated/graphql';
import { StackyardError } from '../stackyard-error';
import { answer, clientFor, confirmOrRefuse, globalOptions } from './command-context';
import { formatTime, printTable } from './output';

// A Record, so the compiler insists on every role the schema has.
const ROLES: Record<UserRole, string> = {
  ADMIN: 'users, tokens and everything else',
  EDITOR: 'register and change stacks and components, report runs',
  VIEWER: 'read',
  SERVICE_ACCOUNT: 'report runs from pipeline scripts, nothing else',
};

function parseRole(textValue: string): UserRole {
  const role = textValue.trim().toUpperCase().replace(/-/g, '_');
  if (!Object.hasOwn(ROLES, role)) throw new InvalidArgumentError(`Expected one of ${Object.keys(ROLES).map(roleName).join(', ')}.`);
  return role as UserRole;
}

function roleName(role: string): string {
  return role.toLowerCase().replace(/_/g, '-');
}

function positiveDays(textValue: string): number {
  const days = Number(textValue);
  if (!Number.isFinite(days) || days <= 0) throw new InvalidArgumentError('Expected a number of days above 0.');
  return days;
}

/** The token from --token, else typed at the terminal, else read from standard input. */
async function tokenFromUser(given: string | undefined): Promise<string> {
  if (given) return given;
  if (!process.stdin.isTTY) return (await text(process.stdin)).trim();
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await prompt.question('API token: ')).trim();
  } finally {
    prompt.close();
  }
}

function tokenStatus(token: ApiTokenFieldsFragment): string {
  if (token.revokedAt) return 'revoked';
  return token.isActive ? 'active' : 'expired';
}

export function addUserCommands(program: Command): void {
  program
    .command('login')
    .description('Sign in to a server with an API token, and save the server and token for later commands')
    .addHelpText(
      'after',
      `
Takes the global --url and --token. Without --token it asks for the token, or reads it from
standard input (\`stackyard login --url URL < token.txt\`), which keeps it out of shell history.`,
    )
    .action(async (_options: object, command: Command) => {
      const { token: given } = globalOptions(command);
      const token = await tokenFromUser(given);
      if (!token) throw new Error('No token given; pass --token or type it when asked');
      const client = clientFor(command, { token });
      const me = await client.me();
      const configFile = configFilePath();
      writeConfigFile(configFile, { url: client.url, token });
      answer(command, { url: client.url, configFile, user: me }, () =>
        console.log(`Logged in to ${client.url} as "${me.name}" (${roleName(me.role)}); saved to ${configFile}.`),
      );
    });

  const user = program.command('user').description('Manage users (admins only)');
  user
    .command('create')
    .description('Create a user with a role')
    .argument('<name>', 'the user name')
    .requiredOption('--role <role>', `one of: ${Object.entries(ROLES).map(([role, what]) => `${roleName(role)} (${what})`).join('; ')}`, parseRole)
    .addHelpText('after', '\nGive the user a token with `stackyard token create --user NAME`.')
    .action(async (name: string, options: { role: UserRole }, command: Command) => {
      const created = await clientFor(command).createUser(name, options.role);
      answer(command, created, () => console.log(`Created user "${created.name}" (${roleName(created.role)}).`));
    });
  user
    .command('list')
    .description('List users')
    .action(async (_options: object, command: Command) => {
      const users = await clientFor(command).users();
      answer(command, users, () =>
        printTable(['NAME', 'ROLE', 'CREATED'], users.map((item) => [item.name, roleName(item.role), formatTime(item.createdAt)]), 'No users.'),
      );
    });
  user
    .command('delete')
    .description('Delete a user and its tokens; what it created stays')
    .argument('<name>', 'the user name')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (name: string, options: { yes?: boolean }, command: Command) => {
      if (!options.yes) await confirmOrRefuse(`delete user "${name}"`);
      const deleted = await clientFor(command).deleteUser(name);
      answer(command, deleted, () => console.log(`Deleted user "${name}".`));
    });

  const token = program.command('token').description('Manage API tokens');
  token
    .command('create')
    .description('Create an API token; it is printed once and cannot be shown again')
    .option('--name <name>', 'what the token is for', 'cli')
    .option('--expires-in <days>', 'days until it expires (default: never)', positiveDays)
    .option('--user <name>', "another user's token, such as a service account's (admins only)")
    .action(async (options: { name: string; expiresIn?: number; user?: string }, command: Command) => {
      const created = await clientFor(command).createApiToken({ name: options.name, expiresInDays: options.expiresIn, userName: options.user });
      answer(command, created, () => {
        console.log(`Created token "${created.apiToken.name}" for "${created.apiToken.user.name}"${created.apiToken.expiresAt ? `, expiring ${formatTime(created.apiToken.expiresAt)}` : ''}.`);
        console.log('Store it now; it cannot be shown again:');
        console.log(created.token);
      });
    });
  token
    .command('list')
    .description('List your tokens, or with --user another user\'s (admins only)')
    .option('--user <name>', 'whose tokens')
    .action(async (options: { user?: string }, command: Command) => {
      const tokens = await clientFor(command).apiTokens(options.user);
      answer(command, tokens, () =>
        printTable(
          ['ID', 'NAME', 'PREFIX', 'USER', 'STATUS', 'CREATED', 'EXPIRES'],
          tokens.map((item) => [item.id, item.name, `${item.prefix}…`, item.user.name, tokenStatus(item), formatTime(item.createdAt), formatTime(item.expiresAt)]),
          'No tokens.',
        ),
      );
    });
  token
    .command('revoke')
    .description('Revoke a token by its id, or by its name when only one of your tokens has it')
    .argument('<token>', 'the token id (from `token list`) or name')
    .action(async (idOrName: string, _options: object, command: Command) => {
      const client = clientFor(command);
      const named = (await client.apiTokens()).filter((item) => item.name === idOrName && !item.revokedAt);
      if (named.length > 1) throw new StackyardError('ValidationError', `${named.length} of your tokens are named "${idOrName}"; revoke one by its id`);
      const revoked = await client.revokeApiToken(named[0]?.id ?? idOrName);
      answer(command, revoked, () => console.log(`Revoked token "${revoked.name}" of "${revoked.user.name}".`));
    });
}
