// The rules of stack components: registering, changing and deleting them.
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Actor } from '../context';
import type { Database, Queryable } from '../db/database';
import { IllegalOperationError, NameTakenError, NotFoundError } from '../errors';
import { stackComponentAssignments, stacks } from '../stacks/stack-tables';
import { normalizeName, validateLabels, validateName } from '../validation';
import { stackComponents } from './component-tables';
import type { ComponentType } from './component-types';
import { requireFlavor, validateConfiguration } from './flavors';
import { decryptSecrets, encryptSecrets } from './secret-encryption';
import { creatorIdSql } from '../users/user-service';
import { FOREIGN_KEY_VIOLATION, UNIQUE_VIOLATION, postgresErrorCode } from '../db/database';

export type ComponentRow = typeof stackComponents.$inferSelect;

export function typeLabel(type: ComponentType): string {
  return type.replace(/_/g, ' ');
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "an artifact store", "a stack": the label with the article English wants. */
function aTypeLabel(type: ComponentType): string {
  const label = typeLabel(type);
  return `${/^[aeiou]/.test(label) ? 'an' : 'a'} ${label}`;
}

export async function findComponent(db: Queryable, type: ComponentType, name: string): Promise<ComponentRow | undefined> {
  const [row] = await db
    .select()
    .from(stackComponents)
    .where(and(eq(stackComponents.type, type), eq(stackComponents.name, normalizeName(name))));
  return row;
}

/**
 * Locks the named component for a change. The default orchestrator and artifact store back the
 * default stack and never change; they are found by their flag.
 */
async function requireComponentForChange(db: Queryable, type: ComponentType, name: string, action: string): Promise<ComponentRow> {
  const [row] = await db
    .select()
    .from(stackComponents)
    .where(and(eq(stackComponents.type, type), eq(stackComponents.name, normalizeName(name))))
    .for('update');
  if (!row) throw new NotFoundError(`No ${typeLabel(type)} named "${name}"`, 'name');
  if (row.isDefault) throw new IllegalOperationError(`The default ${typeLabel(type)} cannot be ${action}`, 'name');
  return row;
}

/** Turns the unique-constraint race between two writers of one name into the typed error. */
export async function uniqueName<T>(message: string, field: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (postgresErrorCode(error) === UNIQUE_VIOLATION) throw new NameTakenError(message, field);
    throw error;
  }
}

export interface RegisterComponentInput {
  type: ComponentType;
  name: string;
  flavor: string;
  configuration?: Record<string, unknown> | null;
  labels?: Record<string, string> | null;
}

export async function registerComponent(db: Queryable, input: RegisterComponentInput, actor: Actor): Promise<ComponentRow> {
  const name = validateName(input.name);
  const flavor = requireFlavor(input.type, input.flavor);
  const { configuration, secrets } = validateConfiguration(flavor, input.configuration ?? {});
  const labels = validateLabels(input.labels ?? {});
  const [row] = await uniqueName(`${capitalize(aTypeLabel(input.type))} named "${name}" already exists`, 'name', () =>
    db
      .insert(stackComponents)
      .values({ type: input.type, name, flavor: flavor.name, configuration, secrets: encryptSecrets(actor.secretKey, secrets), labels, createdBy: creatorIdSql(actor.userId) })
      .returning(),
  );
  return row;
}

export interface UpdateComponentInput {
  type: ComponentType;
  name: string;
  /** Merged into the current configuration; a key set to null is removed. */
  configuration?: Record<string, unknown> | null;
  /** Merged into the current labels; a key set to null is removed. */
  labels?: Record<string, unknown> | null;
}

export async function updateComponent(db: Database, input: UpdateComponentInput, actor: Actor): Promise<ComponentRow> {
  return db.transaction(async (tx) => {
    const current = await requireComponentForChange(tx, input.type, input.name, 'updated');
    const flavor = requireFlavor(current.type, current.flavor);
    const { configuration, secrets } = validateConfiguration(
      flavor,
      mergePatch({ ...current.configuration, ...decryptSecrets(actor.secretKey, current.secrets) }, input.configuration),
    );
    const labels = validateLabels(mergePatch(current.labels, input.labels));
    const [row] = await tx
      .update(stackComponents)
      .set({ configuration, secrets: encryptSecrets(actor.secretKey, secrets), labels, updatedAt: new Date() })
      .where(eq(stackComponents.id, current.id))
      .returning();
    return row;
  });
}

/** JSON merge patch, one level deep: keys set to null are removed, others replaced. */
export function mergePatch<T>(current: Record<string, T>, patch?: Record<string, unknown> | null): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(patch ?? {})) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

export async function renameComponent(db: Database, type: ComponentType, name: string, newName: string): Promise<ComponentRow> {
  const validName = validateName(newName, 'newName');
  return db.transaction(async (tx) => {
    const current = await requireComponentForChange(tx, type, name, 'renamed');
    const [row] = await uniqueName(`${capitalize(aTypeLabel(type))} named "${validName}" already exists`, 'newName', () =>
      tx
        .update(stackComponents)
        .set({ name: validName, updatedAt: new Date() })
        .where(eq(stackComponents.id, current.id))
        .returning(),
    );
    return row;
  });
}

export async function deleteComponent(db: Database, type: ComponentType, name: string): Promise<ComponentRow> {
  return db.transaction(async (tx) => {
    const current = await requireComponentForChange(tx, type, name, 'deleted');
    const users = await stacksUsing(tx, [current.id]);
    if (users.length > 0) {
      throw new IllegalOperationError(
        `The ${typeLabel(type)} "${current.name}" is used by stack${users.length > 1 ? 's' : ''} ${users.map((s) => `"${s}"`).join(', ')}`,
        'name',
      );
    }
    try {
      await tx.delete(stackComponents).where(eq(stackComponents.id, current.id));
    } catch (error) {
      // A stack registered after the check above took the component first.
      if (postgresErrorCode(error) === FOREIGN_KEY_VIOLATION) {
        throw new IllegalOperationError(`The ${typeLabel(type)} "${current.name}" is used by a stack`, 'name');
      }
      throw error;
    }
    return current;
  });
}

/** Names of the stacks that use any of these components. */
export async function stacksUsing(db: Queryable, componentIds: string[]): Promise<string[]> {
  if (componentIds.length === 0) return [];
  const rows = await db
    .selectDistinct({ name: stacks.name })
    .from(stackComponentAssignments)
    .innerJoin(stacks, eq(stacks.id, stackComponentAssignments.stackId))
    .where(inArray(stackComponentAssignments.componentId, componentIds))
    .orderBy(stacks.name);
  return rows.map((row) => row.name);
}

/**
 * Run at start: encrypts secrets stored in plain text by an older version, and refuses to go on
 * with a key that cannot decrypt the secrets already stored (a wrong STACKYARD_SECRET_KEY).
 */
export async function encryptStoredSecrets(db: Database, secretKey: Buffer): Promise<void> {
  const rows = await db
    .select({ id: stackComponents.id, type: stackComponents.type, name: stackComponents.name, secrets: stackComponents.secrets })
    .from(stackComponents)
    .where(sql`${stackComponents.secrets} <> '{}'::jsonb`);
  for (const row of rows) {
    try {
      decryptSecrets(secretKey, row.secrets);
    } catch {
      throw new Error(
        `The secret key cannot decrypt the secrets of the ${typeLabel(row.type)} "${row.name}"; start with the key they were encrypted with`,
      );
    }
    const encrypted = encryptSecrets(secretKey, row.secrets);
    if (JSON.stringify(encrypted) !== JSON.stringify(row.secrets)) {
      await db.update(stackComponents).set({ secrets: encrypted }).where(eq(stackComponents.id, row.id));
    }
  }
}
