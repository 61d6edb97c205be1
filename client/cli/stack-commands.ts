// `stackyard stack ...`: register, list, describe, set, get, update, remove-component, rename,
// copy, delete, export and import, with ZenML's component flags (-o orchestrator, -a artifact
// store, -c container registry, ...).
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { StackComponentsInput, StackQuery } from '../generated/graphql';
import type { StackyardClient } from '../stackyard-client';
import { StackyardError } from '../stackyard-error';
import { collectLabel, collectValues } from './arguments';
import { answer, clientFor, collectAll, confirmOrRefuse } from './command-context';
import { COMPONENT_KINDS, capitalized, componentKind, type ComponentKind } from './component-kinds';
import { formatPairs, formatRunStats, formatTime, printFields, printHeading, printTable } from './output';

type DescribedStack = NonNullable<StackQuery['stack']>;
/** Commander's values for the component flags: a name each, or `true` in remove-component. */
type ComponentFlagValues = Partial<Record<keyof StackComponentsInput, string | boolean>>;

interface StackEditOptions extends ComponentFlagValues {
  description?: string;
  label: Record<string, string>;
}

/** Adds one flag per component type: ZenML's short flag where commander can take it, and `--artifact-store` style long ones. */
function withComponentFlags(command: Command, valueName: string | null, describe: (kind: ComponentKind) => string): Command {
  for (const kind of COMPONENT_KINDS) {
    const short = kind.zenmlFlag.length === 2 ? `${kind.zenmlFlag}, ` : '';
    const alias = kind.zenmlFlag.length > 2 ? ` (also ${kind.zenmlFlag})` : '';
    command.option(`${short}--${kind.command}${valueName ? ` <${valueName}>` : ''}`, `${describe(kind)}${alias}`);
  }
  return command;
}

function componentsInput(options: ComponentFlagValues): StackComponentsInput {
  return Object.fromEntries(
    COMPONENT_KINDS.filter((kind) => typeof options[kind.inputKey] === 'string').map((kind) => [kind.inputKey, options[kind.inputKey]]),
  );
}

export function addStackCommands(program: Command): void {
  const stack = program.command('stack').description('Register and manage stacks, and choose the active one');

  withComponentFlags(
    stack.command('register').description('Register a stack of existing components').argument('<name>', 'name of the new stack'),
    'name',
    (kind) => `the ${kind.label} to use`,
  )
    .option('--description <text>', 'what the stack is for')
    .option('--label <key=value>', 'a label (repeatable)', collectLabel, {})
    .option('--set', 'make it the active stack')
    .addHelpText('after', '\nExample:\n  $ stackyard stack register my_stack -o default -a my_store -e mlflow --set')
    .action(async (name: string, options: StackEditOptions & { set?: boolean }, command: Command) => {
      const client = clientFor(command);
      let registered = await client.registerStack({
        name,
        components: componentsInput(options),
        description: options.description,
        labels: options.label,
      });
      if (options.set) registered = await client.setActiveStack(registered.name);
      answer(command, registered, () => {
        console.log(`Registered stack "${registered.name}".`);
        if (options.set) console.log(`Active stack set to "${registered.name}".`);
      });
    });

  stack
    .command('list')
    .description('List stacks and their components; ACTIVE marks the active stack')
    .action(async (_options: object, command: Command) => {
      const stacks = await collectAll(clientFor(command).stacks());
      // A column for each component type that some stack uses.
      const kinds = COMPONENT_KINDS.filter((kind) => stacks.some((item) => item.components.some((component) => component.type === kind.type)));
      answer(command, stacks, () =>
        printTable(
          ['ACTIVE', 'NAME', ...kinds.map((kind) => kind.label.toUpperCase()), 'DESCRIPTION'],
          stacks.map((item) => [
            item.isActive ? '*' : '',
            item.name,
            ...kinds.map((kind) => item.components.find((component) => component.type === kind.type)?.name ?? '-'),
            item.description || '-',
          ]),
          'No stacks.',
        ),
      );
    });

  stack
    .command('describe')
    .description('Show a stack: its components with their flavors, labels and runs')
    .argument('[name]', 'the stack; the active one when left out')
    .action(async (name: string | undefined, _options: object, command: Command) => {
      const client = clientFor(command);
      const described = await requireStack(client, name ?? (await client.getActiveStack()).name);
      answer(command, described, () => printStack(described));
    });

  stack
    .command('set')
    .description('Make a stack the active one, which runs use unless told otherwise')
    .argument('<name>', 'the stack')
    .action(async (name: string, _options: object, command: Command) => {
      const active = await clientFor(command).setActiveStack(name);
      answer(command, active, () => console.log(`Active stack set to "${active.name}".`));
    });

  stack
    .command('get')
    .description('Print the name of the active stack')
    .action(async (_options: object, command: Command) => {
      const active = await clientFor(command).getActiveStack();
      answer(command, active, () => console.log(active.name));
    });

  withComponentFlags(
    stack.command('update').description('Replace or add components, change the description or labels').argument('<name>', 'the stack'),
    'name',
    (kind) => `the ${kind.label} to use`,
  )
    .option('--description <text>', 'what the stack is for')
    .option('--label <key=value>', 'add or change a label (repeatable)', collectLabel, {})
    .option('--remove-label <key>', 'remove a label (repeatable)', collectValues, [])
    .action(async (name: string, options: StackEditOptions & { removeLabel: string[] }, command: Command) => {
      const components = componentsInput(options);
      // The server merges labels into the current ones; null removes a key.
      const labels = { ...options.label, ...Object.fromEntries(options.removeLabel.map((key) => [key, null])) };
      const changesComponents = Object.keys(components).length > 0;
      const changesLabels = Object.keys(labels).length > 0;
      if (!changesComponents && !changesLabels && options.description === undefined) {
        throw new Error('Nothing to update: give component flags (such as -a STORE), --description, --label or --remove-label');
      }
      const updated = await clientFor(command).updateStack({
        name,
        components: changesComponents ? components : undefined,
        description: options.description,
        labels: changesLabels ? labels : undefined,
      });
      answer(command, updated, () => console.log(`Updated stack "${updated.name}".`));
    });

  withComponentFlags(
    stack
      .command('remove-component')
      .description('Remove optional components from a stack; the flags choose which')
      .argument('<name>', 'the stack')
      .addHelpText('after', '\nExample:\n  $ stackyard stack remove-component my_stack -c -e'),
    null,
    (kind) => `remove the ${kind.label}`,
  ).action(async (name: string, options: ComponentFlagValues, command: Command) => {
    const kinds = COMPONENT_KINDS.filter((kind) => options[kind.inputKey] === true);
    if (kinds.length === 0) throw new Error('Name the components to remove with their flags, such as -c for the container registry');
    const updated = await clientFor(command).removeStackComponents(
      name,
      kinds.map((kind) => kind.type),
    );
    answer(command, updated, () => console.log(`Removed the ${kinds.map((kind) => kind.label).join(', ')} from stack "${updated.name}".`));
  });

  stack
    .command('rename')
    .description('Rename a stack')
    .argument('<name>', 'current name')
    .argument('<new-name>', 'new name')
    .action(async (name: string, newName: string, _options: object, command: Command) => {
      const renamed = await clientFor(command).renameStack(name, newName);
      answer(command, renamed, () => console.log(`Renamed stack "${name}" to "${renamed.name}".`));
    });

  stack
    .command('copy')
    .description('Make a new stack that uses the same components')
    .argument('<source>', 'the stack to copy')
    .argument('<target>', 'name of the new stack')
    .action(async (source: string, target: string, _options: object, command: Command) => {
      const copy = await clientFor(command).copyStack(source, target);
      answer(command, copy, () => console.log(`Copied stack "${source}" to "${copy.name}".`));
    });

  stack
    .command('delete')
    .description('Delete a stack; with -r also its components that no other stack uses')
    .argument('<name>', 'the stack')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('-r, --recursive', 'also delete the components no other stack uses')
    .action(async (name: string, options: { yes?: boolean; recursive?: boolean }, command: Command) => {
      if (!options.yes) await confirmOrRefuse(`delete stack "${name}"${options.recursive ? ' and the components no other stack uses' : ''}`);
      const deleted = await clientFor(command).deleteStack(name, { recursive: options.recursive });
      answer(command, deleted, () => {
        console.log(`Deleted stack "${name}".`);
        for (const component of deleted.deletedComponents) console.log(`Deleted ${componentKind(component.type).label} "${component.name}".`);
      });
    });

  stack
    .command('export')
    .description('Write a stack and its components (without secrets) as YAML, for `stack import`')
    .argument('<name>', 'the stack')
    .argument('[file]', 'file to write; standard output when left out')
    .action(async (name: string, file: string | undefined, _options: object, command: Command) => {
      const yaml = await clientFor(command).exportStack(name);
      if (file === undefined) {
        answer(command, { stack: name, yaml }, () => process.stdout.write(yaml));
        return;
      }
      writeFileSync(file, yaml);
      answer(command, { stack: name, file }, () => console.log(`Exported stack "${name}" to ${file}.`));
    });

  stack
    .command('import')
    .description('Register a stack from `stack export` YAML, reusing identical components')
    .argument('[name]', 'name of the new stack; the one in the file when left out')
    .requiredOption('-f, --file <file>', 'the YAML file, or - for standard input')
    .action(async (name: string | undefined, options: { file: string }, command: Command) => {
      const yaml = readFileSync(options.file === '-' ? 0 : options.file, 'utf8');
      const imported = await clientFor(command).importStack(yaml, name);
      answer(command, imported, () => {
        console.log(`Imported stack "${imported.stack.name}".`);
        printTable(
          ['COMPONENT', 'NAME', 'SOURCE'],
          [
            ...imported.createdComponents.map((component) => [componentKind(component.type).label, component.name, 'created']),
            ...imported.reusedComponents.map((component) => [componentKind(component.type).label, component.name, 'reused']),
          ],
          'No components.',
        );
      });
    });
}

async function requireStack(client: StackyardClient, name: string): Promise<DescribedStack> {
  const found = await client.getStack(name);
  if (!found) throw new StackyardError('NotFoundError', `No stack named "${name}"`, 'name');
  return found;
}

function printStack(described: DescribedStack): void {
  const notes = [described.isActive ? 'active' : '', described.isDefault ? 'default' : ''].filter(Boolean);
  console.log(`Stack "${described.name}"${notes.length ? ` (${notes.join(', ')})` : ''}`);
  printFields([
    ['ID', described.id],
    ['Description', described.description || '-'],
    ['Labels', formatPairs(described.labels).replace(/\n/g, ', ')],
    ['Runs', formatRunStats(described.runStats)],
    ['Created', formatTime(described.createdAt)],
    ['Updated', formatTime(described.updatedAt)],
  ]);
  printHeading('Components');
  printTable(
    ['TYPE', 'NAME', 'FLAVOR'],
    described.components.map((component) => [capitalized(componentKind(component.type).label), component.name, component.flavorName]),
    'No components.',
  );
}
