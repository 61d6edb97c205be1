// `stackyard <component-type> ...`: a command group per component type (`orchestrator`,
// `artifact-store`, ...), each with register, list, describe, update, rename, delete and
// `flavor list`, as in ZenML.
import type { Command } from 'commander';
import type { ComponentQuery } from '../generated/graphql';
import type { StackyardClient } from '../stackyard-client';
import { StackyardError } from '../stackyard-error';
import { collectLabel, collectValues, flavorConfiguration, settingKey, splitSettingArgs, type SettingArg } from './arguments';
import { answer, clientFor, collectAll } from './command-context';
import { COMPONENT_KINDS, capitalized, type ComponentKind } from './component-kinds';
import { formatPairs, formatRunStats, formatTime, printFields, printHeading, printTable } from './output';

type DescribedComponent = NonNullable<ComponentQuery['component']>;

export function addComponentCommands(program: Command): void {
  for (const kind of COMPONENT_KINDS) addComponentGroup(program, kind);
}

function settingsHelp(kind: ComponentKind): string {
  return `
Flavor settings:
  Give the flavor's settings as --KEY=VALUE or --KEY VALUE. Keys in kebab-case or
  snake_case are matched to the flavor's camelCase ones (--endpoint-url sets endpointUrl).
  Values are read as JSON where they parse (numbers, booleans, objects), else as text;
  settings the flavor declares as text stay text. \`stackyard ${kind.command} flavor list\`
  shows each flavor's settings.

Example:
  $ stackyard artifact-store register my_store -f s3 --path=s3://bucket/prefix --endpoint-url http://minio:9000`;
}

function addComponentGroup(program: Command, kind: ComponentKind): void {
  const group = program.command(kind.command).description(`Register and manage ${kind.plural}`);

  group
    .command('register')
    .description(`Register ${kind.one} of a flavor, with its settings`)
    .argument('<name>', `name of the new ${kind.label}`)
    .requiredOption('-f, --flavor <flavor>', `flavor, see \`stackyard ${kind.command} flavor list\``)
    .option('--label <key=value>', 'a label (repeatable)', collectLabel, {})
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText('after', settingsHelp(kind))
    .action(async (_name: string, options: { flavor: string; label: Record<string, string> }, command: Command) => {
      const client = clientFor(command);
      const { name, settings } = nameAndSettings(command, kind);
      const flavor = (await client.flavors(kind.type)).find((candidate) => candidate.name === options.flavor);
      const component = await client.registerComponent({
        type: kind.type,
        name,
        flavor: options.flavor,
        configuration: flavorConfiguration(settings, flavor?.configSchema),
        labels: options.label,
      });
      answer(command, component, () => console.log(`Registered ${kind.label} "${component.name}" (flavor ${component.flavorName}).`));
    });

  group
    .command('list')
    .description(`List ${kind.plural}; ACTIVE marks the one in the active stack`)
    .option('--flavor <flavor>', 'only those of this flavor')
    .action(async (options: { flavor?: string }, command: Command) => {
      const client = clientFor(command);
      const [components, activeStack] = await Promise.all([
        collectAll(client.components({ type: kind.type, flavor: options.flavor })),
        client.getActiveStack(),
      ]);
      const activeIds = new Set(activeStack.components.map((component) => component.id));
      answer(command, components, () =>
        printTable(
          ['ACTIVE', 'NAME', 'FLAVOR', 'CONFIGURATION', 'LABELS'],
          components.map((component) => [
            activeIds.has(component.id) ? '*' : '',
            component.name,
            component.flavorName,
            formatPairs(component.configuration),
            formatPairs(component.labels),
          ]),
          `No ${kind.plural}.`,
        ),
      );
    });

  group
    .command('describe')
    .description(`Show ${kind.one}: flavor, settings, which secrets are set, labels, stacks and runs`)
    .argument('[name]', `the ${kind.label}; the active stack's when left out`)
    .action(async (name: string | undefined, _options: object, command: Command) => {
      const client = clientFor(command);
      const component = await requireComponent(client, kind, name ?? (await activeComponentName(client, kind)));
      answer(command, component, () => printComponent(kind, component));
    });

  group
    .command('update')
    .description(`Change settings and labels of ${kind.one}; those not named keep their values`)
    .argument('<name>', `the ${kind.label}`)
    .option('--label <key=value>', 'add or change a label (repeatable)', collectLabel, {})
    .option('--remove-attr <key>', 'remove a setting (repeatable)', collectValues, [])
    .option('--remove-label <key>', 'remove a label (repeatable)', collectValues, [])
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText('after', settingsHelp(kind))
    .action(async (_name: string, options: { label: Record<string, string>; removeAttr: string[]; removeLabel: string[] }, command: Command) => {
      const client = clientFor(command);
      const { name, settings } = nameAndSettings(command, kind);
      const current = await requireComponent(client, kind, name);
      const flavor = (await client.flavors(kind.type)).find((candidate) => candidate.name === current.flavorName);
      // The server merges both maps into the current ones; null removes a key.
      const configuration = {
        ...flavorConfiguration(settings, flavor?.configSchema),
        ...removals(options.removeAttr.map((key) => settingKey(key, flavor?.configSchema))),
      };
      const labels = { ...options.label, ...removals(options.removeLabel) };
      if (Object.keys(configuration).length === 0 && Object.keys(labels).length === 0) {
        throw new Error('Nothing to update: give settings as --KEY=VALUE, or --label, --remove-attr, --remove-label');
      }
      const component = await client.updateComponent({ type: kind.type, name, configuration, labels });
      answer(command, component, () => console.log(`Updated ${kind.label} "${component.name}".`));
    });

  group
    .command('rename')
    .description(`Rename ${kind.one}; stacks that use it keep using it`)
    .argument('<name>', `current name`)
    .argument('<new-name>', 'new name')
    .action(async (name: string, newName: string, _options: object, command: Command) => {
      const component = await clientFor(command).renameComponent({ type: kind.type, name, newName });
      answer(command, component, () => console.log(`Renamed ${kind.label} "${name}" to "${component.name}".`));
    });

  group
    .command('delete')
    .description(`Delete ${kind.one} that no stack uses`)
    .argument('<name>', `the ${kind.label}`)
    .action(async (name: string, _options: object, command: Command) => {
      const deleted = await clientFor(command).deleteComponent({ type: kind.type, name });
      answer(command, deleted, () => console.log(`Deleted ${kind.label} "${name}".`));
    });

  group
    .command('flavor')
    .description(`Flavors of ${kind.label}`)
    .command('list')
    .description(`List the flavors of ${kind.label} and their settings`)
    .action(async (_options: object, command: Command) => {
      const flavors = await clientFor(command).flavors(kind.type);
      answer(command, flavors, () => {
        printTable(
          ['FLAVOR', 'SETTINGS', 'DESCRIPTION'],
          flavors.map((flavor) => [flavor.name, describeSettings(flavor.configSchema, flavor.secretFields), flavor.description]),
          `No flavors of ${kind.label}.`,
        );
        console.log('* required');
      });
    });
}

/** The name operand and the settings among what commander left over. */
function nameAndSettings(command: Command, kind: ComponentKind): { name: string; settings: SettingArg[] } {
  const { operands, settings } = splitSettingArgs(command.args);
  if (operands.length === 0) throw new Error(`Missing the name of the ${kind.label}`);
  if (operands.length > 1) throw new Error(`Unexpected argument "${operands[1]}"; flavor settings are given as --KEY=VALUE`);
  return { name: operands[0], settings };
}

function removals(keys: string[]): Record<string, null> {
  return Object.fromEntries(keys.map((key) => [key, null]));
}

async function requireComponent(client: StackyardClient, kind: ComponentKind, name: string): Promise<DescribedComponent> {
  const component = await client.getComponent(kind.type, name);
  if (!component) throw new StackyardError('NotFoundError', `No ${kind.label} named "${name}"`, 'name');
  return component;
}

async function activeComponentName(client: StackyardClient, kind: ComponentKind): Promise<string> {
  const stack = await client.getActiveStack();
  const component = stack.components.find((candidate) => candidate.type === kind.type);
  if (!component) throw new StackyardError('NotFoundError', `The active stack "${stack.name}" has no ${kind.label}; name one`);
  return component.name;
}

function printComponent(kind: ComponentKind, component: DescribedComponent): void {
  console.log(`${capitalized(kind.label)} "${component.name}"${component.isDefault ? ' (default)' : ''}`);
  printFields([
    ['ID', component.id],
    ['Flavor', component.flavorName],
    ['Labels', formatPairs(component.labels).replace(/\n/g, ', ')],
    ['Stacks', component.stacks.map((stack) => stack.name).join(', ') || '-'],
    ['Runs', formatRunStats(component.runStats)],
    ['Created', formatTime(component.createdAt)],
    ['Updated', formatTime(component.updatedAt)],
  ]);
  printHeading('Configuration');
  printTable(
    ['SETTING', 'VALUE'],
    [
      ...Object.entries(component.configuration).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]),
      // Secrets are write-only: the server says which are set, never what they hold. A URL whose
      // password is secret is listed above, masked.
      ...component.secretsSet.filter((key) => !(key in component.configuration)).map((key) => [key, '(secret, set)']),
    ],
    'No settings.',
  );
}

/** A flavor's settings, one a line: `*` marks required ones, secrets say so. */
function describeSettings(configSchema: Record<string, unknown>, secretFields: string[]): string {
  const properties = Object.keys((configSchema.properties ?? {}) as Record<string, unknown>);
  const required = new Set((configSchema.required ?? []) as string[]);
  if (properties.length === 0) return '-';
  return properties
    .map((key) => `${key}${required.has(key) ? '*' : ''}${secretFields.includes(key) ? ' (secret)' : ''}`)
    .join('\n');
}
