// The rules of stacks: which components they hold, the default stack, the active stack.
import type { Actor } from '../context';
import { and, eq, inArray, notExists, or, sql, type SQL } from 'drizzle-orm';
import type { Database, Queryable, Transaction } from '../db/database';
import { FOREIGN_KEY_VIOLATION, postgresErrorCode } from '../db/database';
import { stackComponents } from '../components/component-tables';
import { REQUIRED_COMPONENT_TYPES, type ComponentType } from '../components/component-types';
import { mergePatch, typeLabel, uniqueName, type ComponentRow } from '../components/component-service';
import { requireFlavor } from '../components/flavors';
import { pipelineRuns } from '../runs/run-tables';
import { IllegalOperationError, NotFoundError, ValidationError } from '../errors';
import { creatorIdSql } from '../users/user-service';
import { users } from '../users/user-tables';
import { normalizeName, validateLabels, validateName } from '../validation';
import { stackComponentAssignments, stacks } from './stack-tables';

export type StackRow = typeof stacks.$inferSelect;
/** Component names by type, as a caller names the members of a stack. */
export type ComponentNames = Partial<Record<ComponentType, string | null>>;


/** The id of a user's active stack: the one they chose, or the default stack. */
export function activeStackIdSql(userId: string): SQL {
  return sql`coalesce(
    (select ${users.activeStackId} from ${users} where ${users.id} = ${userId}),
    (select ${stacks.id} from ${stacks} where ${stacks.isDefault}))`;
}

/**
 * Locks the named stack for a change; the default stack, found by its flag, is refused. NO KEY
 * UPDATE for a delete: see deleteStack.
 */
async function requireStackForChange(tx: Queryable, name: string, action: string, lock: 'update' | 'no key update' = 'update'): Promise<StackRow> {
  const [row] = await tx.select().from(stacks).where(eq(stacks.name, normalizeName(name))).for(lock);
  if (!row) throw new NotFoundError(`No stack named "${name}"`, 'name');
  if (row.isDefault) throw new IllegalOperationError(`The default stack cannot be ${action}`, 'name');
  return row;
}

export async function findStack(db: Queryable, name: string): Promise<StackRow | undefined> {
  const [row] = await db.select().from(stacks).where(eq(stacks.name, normalizeName(name)));
  return row;
}

/** A stack's components, ordered by type. */
export async function stackMembers(db: Queryable, stackId: string): Promise<ComponentRow[]> {
  const rows = await db
    .select({ component: stackComponents })
    .from(stackComponentAssignments)
    .innerJoin(stackComponents, eq(stackComponents.id, stackComponentAssignments.componentId))
    .where(eq(stackComponentAssignments.stackId, stackId))
    .orderBy(stackComponents.type);
  return rows.map((row) => row.component);
}

const stackNameTaken = (name: string) => `A stack named "${name}" already exists`;

/**
 * Looks up and locks (FOR SHARE) each named component; a missing one is a NotFoundError naming its
 * input field. One statement locks them all, in id order: a recursive deleteStack locks the
 * components it may delete in that order, and taking them in the order of their types instead
 * deadlocked with it.
 */
async function resolveComponents(tx: Queryable, names: ComponentNames): Promise<Map<ComponentType, ComponentRow>> {
  const named = (Object.entries(names) as [ComponentType, string | null | undefined][]).filter((entry): entry is [ComponentType, string] => entry[1] != null);
  if (named.length === 0) return new Map();
  const rows = await tx
    .select()
    .from(stackComponents)
    .where(or(...named.map(([type, name]) => and(eq(stackComponents.type, type), eq(stackComponents.name, normalizeName(name))))))
    .orderBy(stackComponents.id)
    .for('share');
  const resolved = new Map<ComponentType, ComponentRow>();
  for (const [type, name] of named) {
    const row = rows.find((component) => component.type === type);
    if (!row) throw new NotFoundError(`No ${typeLabel(type)} named "${name}"`, `components.${camelCase(type)}`);
    resolved.set(type, row);
  }
  return resolved;
}

export function camelCase(type: ComponentType): string {
  return type.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase());
}

/**
 * The rule every stack's components keep, checked wherever a stack gets components: an
 * orchestrator that runs steps on other machines needs an artifact store those machines can
 * read. `changed` are the component types the caller named, to point the error at them.
 */
function checkStackComponents(components: ReadonlyMap<ComponentType, ComponentRow>, changed: ReadonlySet<ComponentType>): void {
  const orchestrator = components.get('orchestrator');
  const store = components.get('artifact_store');
  if (!orchestrator || !store) return;
  if (!requireFlavor('orchestrator', orchestrator.flavor).runsStepsOnOtherMachines) return;
  if (!requireFlavor('artifact_store', store.flavor).readableOnlyWhereWritten) return;
  const field = changed.has('artifact_store') || !changed.has('orchestrator') ? 'artifactStore' : 'orchestrator';
  throw new ValidationError(
    `The orchestrator "${orchestrator.name}" (${orchestrator.flavor}) runs steps on other machines, which cannot read the ` +
      `local directory of the artifact store "${store.name}" (${store.flavor}); use a remote artifact store the SDK runs, s3 or azure`,
    `components.${field}`,
  );
}

/** A stack's components by type, with `replacements` put in place of the current ones. */
async function componentsAfterChange(tx: Queryable, stackId: string, replacements: ReadonlyMap<ComponentType, ComponentRow>) {
  const members = new Map((await stackMembers(tx, stackId)).map((component) => [component.type, component] as const));
  for (const [type, component] of replacements) members.set(type, component);
  return members;
}

async function assignComponents(tx: Transaction, stackId: string, components: Map<ComponentType, ComponentRow>) {
  if (components.size === 0) return;
  try {
    await tx
      .insert(stackComponentAssignments)
      .values([...components].map(([componentType, component]) => ({ stackId, componentType, componentId: component.id })))
      .onConflictDoUpdate({
        target: [stackComponentAssignments.stackId, stackComponentAssignments.componentType],
        set: { componentId: sql`excluded.component_id` },
      });
  } catch (error) {
    // A component deleted between the lookup and this insert.
    if (postgresErrorCode(error) === FOREIGN_KEY_VIOLATION) {
      throw new NotFoundError('A component of the stack was deleted meanwhile', 'components');
    }
    throw error;
  }
}

export interface RegisterStackInput {
  name: string;
  description?: string | null;
  labels?: Record<string, unknown> | null;
  components: ComponentNames;
}

export async function registerStack(db: Database, input: RegisterStackInput, actor: Actor): Promise<StackRow> {
  const name = validateName(input.name);
  const labels = validateLabels(input.labels ?? {});
  for (const type of REQUIRED_COMPONENT_TYPES) {
    if (input.components[type] == null) {
      throw new ValidationError(`A stack needs an ${typeLabel(type)}`, `components.${camelCase(type)}`);
    }
  }
  return db.transaction(async (tx) => {
    const components = await resolveComponents(tx, input.components);
    checkStackComponents(components, new Set(components.keys()));
    const [stack] = await uniqueName(stackNameTaken(name), 'name', () =>
      tx.insert(stacks).values({ name, description: input.description ?? '', labels, createdBy: creatorIdSql(actor.userId) }).returning(),
    );
    await assignComponents(tx, stack.id, components);
    return stack;
  });
}

export interface UpdateStackInput {
  name: string;
  description?: string | null;
  /** Merged into the current labels; a key set to null is removed. */
  labels?: Record<string, unknown> | null;
  /** Replaces the component of each type given and adds the others. */
  components?: ComponentNames | null;
}

export async function updateStack(db: Database, input: UpdateStackInput): Promise<StackRow> {
  return db.transaction(async (tx) => {
    const current = await requireStackForChange(tx, input.name, 'updated');
    const components = await resolveComponents(tx, input.components ?? {});
    checkStackComponents(await componentsAfterChange(tx, current.id, components), new Set(components.keys()));
    await assignComponents(tx, current.id, components);
    const [stack] = await tx
      .update(stacks)
      .set({
        description: input.description ?? current.description,
        labels: validateLabels(mergePatch(current.labels, input.labels)),
        updatedAt: new Date(),
      })
      .where(eq(stacks.id, current.id))
      .returning();
    return stack;
  });
}

export async function removeStackComponents(db: Database, name: string, types: ComponentType[]): Promise<StackRow> {
  const required = types.find((type) => REQUIRED_COMPONENT_TYPES.includes(type));
  if (required) {
    throw new IllegalOperationError(
      `A stack's ${typeLabel(required)} can be replaced but not removed`,
      'types',
    );
  }
  return db.transaction(async (tx) => {
    const current = await requireStackForChange(tx, name, 'updated');
    if (types.length > 0) {
      await tx
        .delete(stackComponentAssignments)
        .where(and(eq(stackComponentAssignments.stackId, current.id), inArray(stackComponentAssignments.componentType, types)));
    }
    const [stack] = await tx.update(stacks).set({ updatedAt: new Date() }).where(eq(stacks.id, current.id)).returning();
    return stack;
  });
}

export async function renameStack(db: Database, name: string, newName: string): Promise<StackRow> {
  const validName = validateName(newName, 'newName');
  return db.transaction(async (tx) => {
    const current = await requireStackForChange(tx, name, 'renamed');
    const [stack] = await uniqueName(stackNameTaken(validName), 'newName', () =>
      tx.update(stacks).set({ name: validName, updatedAt: new Date() }).where(eq(stacks.id, current.id)).returning(),
    );
    return stack;
  });
}

/** A new stack with the same components, description and labels. */
export async function copyStack(db: Database, sourceName: string, newName: string, actor: Actor): Promise<StackRow> {
  const validName = validateName(newName, 'newName');
  return db.transaction(async (tx) => {
    const [source] = await tx.select().from(stacks).where(eq(stacks.name, normalizeName(sourceName))).for('share');
    if (!source) throw new NotFoundError(`No stack named "${sourceName}"`, 'name');
    // A stack registered before the rule existed may break it; its copy must not.
    checkStackComponents(await componentsAfterChange(tx, source.id, new Map()), new Set());
    const [stack] = await uniqueName(stackNameTaken(validName), 'newName', () =>
      tx.insert(stacks).values({ name: validName, description: source.description, labels: source.labels, createdBy: creatorIdSql(actor.userId) }).returning(),
    );
    await tx.insert(stackComponentAssignments).select(
      tx
        .select({
          stackId: sql`${stack.id}::uuid`.as('stack_id'),
          componentType: stackComponentAssignments.componentType,
          componentId: stackComponentAssignments.componentId,
        })
        .from(stackComponentAssignments)
        .where(eq(stackComponentAssignments.stackId, source.id)),
    );
    return stack;
  });
}

export interface DeletedStack {
  stack: StackRow;
  deletedComponents: ComponentRow[];
}

/**
 * Deletes a stack. With `recursive`, also deletes those of its components that no other stack
 * uses. The default stack and the caller's active stack cannot be deleted.
 */
export async function deleteStack(db: Database, userId: string, name: string, recursive: boolean): Promise<DeletedStack> {
  return db.transaction(async (tx) => {
    // The delete sets the stack of its runs to null, so it locks them; a run's writers lock the
    // run, then (the foreign key's check of a run they update twice) its stack, KEY SHARE. So
    // the stack is held NO KEY UPDATE till its runs are locked (in id order), which lets those
    // writers finish rather than deadlock with the delete, and still keeps runs from starting on
    // it (startRun locks it FOR SHARE).
    const current = await requireStackForChange(tx, name, 'deleted', 'no key update');
    const [caller] = await tx.select({ activeStackId: users.activeStackId }).from(users).where(eq(users.id, userId));
    if (caller?.activeStackId === current.id) {
      throw new IllegalOperationError(`"${current.name}" is your active stack; set another stack active first`, 'name');
    }
    await tx.select({ id: pipelineRuns.id }).from(pipelineRuns).where(eq(pipelineRuns.stackId, current.id)).orderBy(pipelineRuns.id).for('no key update');
    const members = await tx
      .select({ componentId: stackComponentAssignments.componentId })
      .from(stackComponentAssignments)
      .where(eq(stackComponentAssignments.stackId, current.id));
    if (recursive && members.length > 0) {
      // Whether a component is unshared is decided by the other stacks' assignments. Locking the
      // candidates (in id order, so two deletes never wait on each other crosswise) makes a
      // concurrent recursive delete of another stack that shares one wait for this one to
      // commit; its check below then runs afterwards and sees this stack gone, as if the two
      // deletes had run one after the other.
      await tx
        .select({ id: stackComponents.id })
        .from(stackComponents)
        .where(inArray(stackComponents.id, members.map((member) => member.componentId)))
        .orderBy(stackComponents.id)
        .for('update');
    }
    // Other users whose active stack this was fall back to the default stack (ON DELETE SET NULL).
    await tx.delete(stacks).where(eq(stacks.id, current.id));
    let deletedComponents: ComponentRow[] = [];
    if (recursive && members.length > 0) {
      deletedComponents = await tx
        .delete(stackComponents)
        .where(
          and(
            inArray(
              stackComponents.id,
              members.map((member) => member.componentId),
            ),
            notExists(
              tx
                .select({ one: sql`1` })
                .from(stackComponentAssignments)
                .where(eq(stackComponentAssignments.componentId, stackComponents.id)),
            ),
          ),
        )
        .returning();
    }
    return { stack: current, deletedComponents };
  });
}

export async function setActiveStack(db: Database, userId: string, name: string): Promise<StackRow> {
  return db.transaction(async (tx) => {
    const [stack] = await tx.select().from(stacks).where(eq(stacks.name, normalizeName(name))).for('share');
    if (!stack) throw new NotFoundError(`No stack named "${name}"`, 'name');
    await tx.update(users).set({ activeStackId: stack.id }).where(eq(users.id, userId));
    return stack;
  });
}
