// `stackyard db backup` and `db restore`: copies of the embedded database. A backup comes from
// the running server (which holds the data directory's lock), or straight from the directory of
// a stopped one; restoring writes into a directory no server is using. The server's database
// module is imported only where a directory is opened here, so the other paths stay light.
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { resolveConnectionSettings } from '../connection-settings';
import { answer, globalOptions } from './command-context';

/** The header of server/plugins/use-csrf-prevention.ts that marks a request as a program's. */
const CSRF_HEADER = 'x-stackyard-csrf';

export function addDbCommands(program: Command): void {
  const db = program.command('db').description('Back up and restore the embedded database');

  db.command('backup')
    .description("Write a backup of the server's embedded database to FILE (a .tar.gz)")
    .argument('<file>', 'where to write the backup')
    .option('--data-dir <dir>', "back up this stopped server's data directory directly instead of asking the running server")
    .addHelpText(
      'after',
      `
Without --data-dir, asks the server at --url (an admin token is needed where the server has
auth); it keeps serving meanwhile. A server on Postgres is backed up with pg_dump instead.

Examples:
  $ stackyard db backup stackyard-$(date +%F).tar.gz
  $ stackyard db backup old.tar.gz --data-dir ~/.stackyard/db`,
    )
    .action(async (file: string, options: { dataDir?: string }, command: Command) => {
      let bytes: number;
      if (options.dataDir) {
        const { backupDataDir } = await import('../../server/db/backup');
        bytes = await writeBackup(await backupDataDir(options.dataDir), file);
      } else {
        bytes = await writeBackup(await backupFromServer(command), file);
      }
      answer(command, { file, bytes }, () => console.log(`Backed up to ${file} (${bytes} bytes).`));
    });

  db.command('restore')
    .description('Restore a backup made by `stackyard db backup` into a data directory')
    .argument('<file>', 'the backup to restore')
    .option('--data-dir <dir>', 'the data directory to restore into (env STACKYARD_DATA_DIR, default ~/.stackyard/db)')
    .option('-f, --force', 'replace the database the directory holds')
    .addHelpText(
      'after',
      `
Stop the server using the directory first; a directory in use is refused. Then start the
server on it with \`stackyard server start --data-dir DIR\`.

Example:
  $ stackyard db restore stackyard-2026-01-31.tar.gz --data-dir ~/.stackyard/db --force`,
    )
    .action(async (file: string, options: { dataDir?: string; force?: boolean }, command: Command) => {
      const [{ restoreDataDir }, { defaultDataDir }] = await Promise.all([import('../../server/db/backup'), import('../../server/config')]);
      const dataDir = options.dataDir ?? (process.env.STACKYARD_DATA_DIR || defaultDataDir());
      await restoreDataDir(file, dataDir, { force: options.force });
      answer(command, { file, dataDir }, () => console.log(`Restored ${file} into ${dataDir}.`));
    });
}

/** Asks the running server for a backup: `POST /backup` beside its GraphQL endpoint. */
async function backupFromServer(command: Command): Promise<ReadableStream<Uint8Array>> {
  const { url, token } = globalOptions(command);
  const settings = resolveConnectionSettings({ url, token });
  const endpoint = new URL('/backup', settings.url);
  let response: Response;
  try {
    response = await fetch(endpoint, {
      method: 'POST',
      headers: { [CSRF_HEADER]: '1', ...(settings.token ? { authorization: `Bearer ${settings.token}` } : {}) },
    });
  } catch (error) {
    const reason = (error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message;
    throw new Error(`Cannot reach the Stackyard server at ${endpoint.origin}: ${reason}. To back up a stopped server, pass its --data-dir`);
  }
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => ({}))) as { error?: string };
    throw new Error(body.error ?? `The server answered ${response.status} to the backup request`);
  }
  return response.body;
}

/** Writes through a temporary file, so an interrupted backup never looks like a finished one. */
async function writeBackup(dump: ReadableStream<Uint8Array>, file: string): Promise<number> {
  const partial = join(dirname(file), `.${basename(file)}.partial`);
  try {
    const out = createWriteStream(partial);
    await pipeline(Readable.fromWeb(dump as never), out);
    renameSync(partial, file);
    return out.bytesWritten;
  } finally {
    rmSync(partial, { force: true });
  }
}
