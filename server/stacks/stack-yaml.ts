// Stack export and import as YAML: a stack and its components' settings, without secrets,
// so it can be checked in, shared, and registered on another server.
import { isDeepStrictEqual } from 'node:util';
import { and, eq, like, sql } from 'drizzle-orm';
import { parse, stringify } from 'yaml';
import { stackComponents } from '../components/component-tables';
import { COMPONENT_TYPES, type ComponentType } from '../components/component-types';
import { registerComponent, typeLabel, type ComponentRow } from '../components/component-service';
import { requireFlavor, validateConfiguration } from '../components/flavors';
import { decryptSecrets } from '../components/secret-encryption';
import { MASKED_PASSWORD } from '../components/url-passwords';
import type { Actor } from '../context';
import type { Database, Queryable } from '../db/database';
import { NameTakenError, NotFoundError, ValidationError } from '../errors';
import { assertValid, compileOnFirstUse, escapeLike, normalizeName, validateName } from '../validation';
import { camelCase, registerStack, stackMembers, type StackRow } from './stack-service';
import { stacks } from './stack-tables';

export const EXPORT_FORMAT_VERSION = 1;

interface ExportedComponent {
  name: string;
  flavor: string;
  configuration: Record<string, unknown>;
}

interface ExportedStack {
  format_version: number;
  stack_name: string;
  description?: string;
  labels?: Record<string, string>;
  components: Partial<Record<ComponentType, ExportedComponent>>;
}

const validateExport = compileOnFirstUse({
  type: 'object',
  required: ['format_version', 'stack_name', 'components'],
  additionalProperties: false,
  properties: {
    format_version: { const: EXPORT_FORMAT_VERSION },
    stack_name: { type: 'string' },
    description: { type: 'string' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    components: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(
        COMPONENT_TYPES.map((type) => [
          type,
          {
            type: 'object',
            required: ['name', 'flavor'],
            additionalProperties: false,
            properties: {
              name: { type: 'string' },
              flavor: { type: 'string' },
              configuration: { type: 'object' },
            },
          },
        ]),
      ),
    },
  },
});

export async function exportStack(db: Queryable, name: string): Promise<string> {
  const [stack] = await db.select().from(stacks).where(eq(stacks.name, normalizeName(name)));
  if (!stack) throw new NotFoundError(`No stack named "${name}"`, 'name');
  const members = await stackMembers(db, stack.id);
  const exported: ExportedStack = {
    format_version: EXPORT_FORMAT_VERSION,
    stack_name: stack.name,
    description: stack.description,
    labels: stack.labels,
    // Secrets live in their own column and are never part of an export.
    components: Object.fromEntries(
      members.map((component) => [
        component.type,
        { name: component.name, flavor: component.flavor, configuration: component.configuration },
      ]),
    ),
  };
  return stringify(exported, { sortMapEntries: false });
}

export interface ImportedStack {
  stack: StackRow;
  reusedComponents: ComponentRow[];
  createdComponents: ComponentRow[];
}

/**
 * Registers the stack a YAML export describes. A component whose type, flavor and settings match
 * an existing one is reused; any other is registered, under a free name if its own is taken.
 */
export async function importStack(db: Database, yamlText: string, name: string | null | undefined, actor: Actor): Promise<ImportedStack> {
  let document: unknown;
  try {
    document = parse(yamlText);
  } catch (error) {
    throw new ValidationError(`yaml is not valid YAML: ${(error as Error).message.split('\n')[0]}`, 'yaml');
  }
  assertValid(validateExport, document, 'yaml');
  const exported = document as ExportedStack;
  const stackName = validateName(name ?? exported.stack_name, name == null ? 'yaml.stack_name' : 'name');

  // Check every component before writing anything. An export masks passwords (****): such a
  // component can only be one this server has, found by its other settings.
  const entries = Object.entries(exported.components) as [ComponentType, ExportedComponent][];
  for (const [type, component] of entries) {
    const field = `yaml.components.${type}`;
    validateName(component.name, `${field}.name`);
    validateConfiguration(requireFlavor(type, component.flavor, `${field}.flavor`), component.configuration ?? {}, `${field}.configuration`, { keepMaskedPasswords: true });
  }

  // Two imports of one YAML at once both find no component to reuse and register it under the
  // same free name: the second one's insert waits for the first and fails once that commits. Its
  // import runs again, and then reuses what the first registered, as if it had come after it.
  // Likewise a component found to reuse and deleted before the stack could take it: the import
  // runs again, and registers it anew.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await importInTransaction(db, entries, stackName, exported, actor);
    } catch (error) {
      if (!(error instanceof ComponentsChangedMeanwhile)) throw error;
      if (attempt >= IMPORT_ATTEMPTS) throw error.refusal;
    }
  }
}

/** Runs of an import at most, the first included, when others take its components' names meanwhile. */
const IMPORT_ATTEMPTS = 3;

/**
 * Another request changed the components an import chose before it committed: it took a free name
 * the import chose, or deleted a component the import reused. `refusal` is what the import answers
 * if that keeps happening, naming the import's own field.
 */
class ComponentsChangedMeanwhile extends Error {
  constructor(readonly refusal: NameTakenError | NotFoundError) {
    super(refusal.message);
  }
}

async function importInTransaction(
  db: Database,
  entries: [ComponentType, ExportedComponent][],
  stackName: string,
  exported: ExportedStack,
  actor: Actor,
): Promise<ImportedStack> {
  return db.transaction(async (tx) => {
    const reusedComponents: ComponentRow[] = [];
    const createdComponents: ComponentRow[] = [];
    const names: Partial<Record<ComponentType, string>> = {};
    for (const [type, component] of entries) {
      const flavor = requireFlavor(type, component.flavor);
      const field = `yaml.components.${type}.configuration`;
      const { configuration, secrets, maskedPasswords } = validateConfiguration(flavor, component.configuration ?? {}, field, { keepMaskedPasswords: true });
      const existing = await findIdentical(tx, type, flavor.name, configuration, secrets, component.name, actor.secretKey);
      if (existing) {
        reusedComponents.push(existing);
        names[type] = existing.name;
        continue;
      }
      if (maskedPasswords.length > 0) {
        throw new ValidationError(
          `${field}.${maskedPasswords[0]} holds the masked password ${MASKED_PASSWORD}, and no ${typeLabel(type)} here has the other settings of "${component.name}"; give the real password`,
          `${field}.${maskedPasswords[0]}`,
        );
      }
      const created = await registerComponent(tx, {
        type,
        name: await freeName(tx, type, normalizeName(component.name)),
        flavor: flavor.name,
        configuration: component.configuration ?? {},
      }, actor).catch((error: unknown) => {
        throw error instanceof NameTakenError ? new ComponentsChangedMeanwhile(error) : error;
      });
      createdComponents.push(created);
      names[type] = created.name;
    }
    const stack = await registerStack(tx as unknown as Database, {
      name: stackName,
      description: exported.description,
      labels: exported.labels,
      components: names,
    }, actor).catch((error: unknown) => {
      if (!(error instanceof NotFoundError)) throw error;
      // registerStack names its own argument (components.orchestrator); the import's is the YAML's.
      const type = entries.map(([candidate]) => candidate).find((candidate) => error.field === `components.${camelCase(candidate)}`);
      if (!type) throw error;
      throw new ComponentsChangedMeanwhile(new NotFoundError(`${error.message}: it was deleted while the stack was imported`, `yaml.components.${type}`));
    });
    return { stack, reusedComponents, createdComponents };
  });
}

/**
 * An existing component with the same type, flavor and visible settings, and the same value of
 * each secret the YAML gives (one it leaves out or masks is the existing one's), preferring the
 * same name.
 */
async function findIdentical(
  db: Queryable,
  type: ComponentType,
  flavor: string,
  configuration: Record<string, unknown>,
  secrets: Record<string, unknown>,
  preferredName: string,
  secretKey: Buffer,
): Promise<ComponentRow | undefined> {
  const candidates = await db
    .select()
    .from(stackComponents)
    .where(
      and(
        eq(stackComponents.type, type),
        eq(stackComponents.flavor, flavor),
        sql`${stackComponents.configuration} = ${JSON.stringify(configuration)}::jsonb`,
      ),
    )
    .orderBy(sql`${stackComponents.name} = ${normalizeName(preferredName)} desc`, stackComponents.createdAt);
  const given = Object.entries(secrets);
  return candidates.find((candidate) => {
    if (given.length === 0) return true;
    const stored = decryptSecrets(secretKey, candidate.secrets);
    return given.every(([key, value]) => isDeepStrictEqual(stored[key], value));
  });
}

/** The name itself when free, else the first free `name-2`, `name-3`, ... */
async function freeName(db: Queryable, type: ComponentType, name: string): Promise<string> {
  const taken = new Set(
    (
      await db
        .select({ name: stackComponents.name })
        .from(stackComponents)
        .where(and(eq(stackComponents.type, type), like(stackComponents.name, `${escapeLike(name)}%`)))
    ).map((row) => row.name),
  );
  if (!taken.has(name)) return name;
  for (let suffix = 2; ; suffix += 1) {
    const candidate = `${name}-${suffix}`;
    if (!taken.has(candidate)) return candidate;
  }
}

