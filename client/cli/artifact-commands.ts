// `stackyard artifact ...`, as `zenml artifact ...`: artifacts, their versions, and downloading a
// version's bytes through the artifact store that wrote it (checked against its hash).
import type { Command } from 'commander';
import { basename, resolve } from 'node:path';
import { positiveInteger } from './arguments';
import { answer, clientFor, collectAll } from './command-context';
import { formatPairs, formatTime, printFields, printTable } from './output';


function formatSize(bytes: number | null | undefined): string {
  return bytes == null ? '' : `${bytes} B`;
}

export function addArtifactCommands(program: Command): void {
  const artifact = program.command('artifact').description('Look through artifacts and their versions, and download them');

  artifact
    .command('list')
    .description('List artifacts by name, with their latest version')
    .option('--name-contains <text>', 'only artifacts whose name contains this')
    .action(async (options: { nameContains?: string }, command: Command) => {
      const artifacts = await collectAll(clientFor(command).artifacts({ nameContains: options.nameContains }, { pageSize: 100 }));
      answer(command, artifacts, () =>
        printTable(['NAME', 'LATEST VERSION', 'CREATED'], artifacts.map((item) => [item.name, String(item.latestVersion), formatTime(item.createdAt)]), 'No artifacts.'),
      );
    });

  const version = artifact.command('version').description('Versions of one artifact');

  version
    .command('list')
    .description('List the versions of an artifact, newest first')
    .argument('<name>', 'the artifact name')
    .action(async (name: string, _options: object, command: Command) => {
      const versions = await collectAll(clientFor(command).artifactVersions({ name }, { pageSize: 100 }));
      answer(command, versions, () =>
        printTable(
          ['VERSION', 'TYPE', 'SIZE', 'STORE', 'URI', 'CREATED'],
          versions.map((item) => [String(item.version), item.type, formatSize(item.sizeBytes), item.artifactStore?.name ?? '(deleted)', item.uri, formatTime(item.createdAt)]),
          `No versions of an artifact named "${name}".`,
        ),
      );
    });

  version
    .command('describe')
    .description('Show one version: URI, store, size, SHA-256, materializer, metadata')
    .argument('<name>', 'the artifact name')
    .argument('<version>', 'the version number', positiveInteger)
    .action(async (name: string, number: number, _options: object, command: Command) => {
      const found = await clientFor(command).artifact(name).version(number).describe();
      answer(command, found, () =>
        printFields([
          ['Artifact', found.name],
          ['Version', String(found.version)],
          ['Type', found.type],
          ['Data type', found.dataType ?? ''],
          ['URI', found.uri],
          ['Store', found.artifactStore ? `${found.artifactStore.name} (${found.artifactStore.flavorName})` : '(deleted)'],
          ['Size', formatSize(found.sizeBytes)],
          ['SHA-256', found.contentHash ?? ''],
          ['Materializer', found.materializer ?? ''],
          ['Metadata', formatPairs(found.metadata as Record<string, unknown>)],
          ['Tags', found.tags.join(', ')],
          ['Created', formatTime(found.createdAt)],
        ]),
      );
    });

  version
    .command('download')
    .description('Copy a version\'s stored bytes to a local file, through the store that wrote it; the size and SHA-256 are checked')
    .argument('<name>', 'the artifact name')
    .argument('<version>', 'the version number', positiveInteger)
    .argument('[destination]', 'the file to write; default: the stored file\'s name in the current directory')
    .action(async (name: string, number: number, destination: string | undefined, _options: object, command: Command) => {
      const handle = clientFor(command).artifact(name).version(number);
      const target = resolve(destination ?? basename((await handle.describe()).uri));
      await handle.download(target);
      answer(command, { path: target }, () => console.log(`Downloaded version ${number} of ${name} to ${target}`));
    });
}
