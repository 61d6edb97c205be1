import { sql } from 'drizzle-orm';
import { type AnyPgColumn, boolean, foreignKey, index, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { stackComponents } from '../components/component-tables';
import { componentTypeEnum } from '../components/component-types';
import { users } from '../users/user-tables';

export const stacks = pgTable(
  'stacks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull().unique('stacks_name_key'),
    /** The default stack, which everyone's active stack falls back to. Rules find it by this, never by name. */
    isDefault: boolean('is_default').notNull().default(false),
    description: text('description').notNull().default(''),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
    // Typed by hand: users and this table refer to each other, which TypeScript cannot infer.
    createdBy: uuid('created_by').references((): AnyPgColumn => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex('stacks_is_default_key').on(table.isDefault).where(sql`${table.isDefault}`)],
);

/**
 * Which component fills which slot of a stack. The primary key allows one component per type;
 * the composite foreign key makes the slot's type match the component's, and RESTRICT keeps a
 * component that a stack uses from being deleted even by a racing request.
 */
export const stackComponentAssignments = pgTable(
  'stack_component_assignments',
  {
    stackId: uuid('stack_id')
      .notNull()
      .references(() => stacks.id, { onDelete: 'cascade' }),
    componentType: componentTypeEnum('component_type').notNull(),
    componentId: uuid('component_id').notNull(),
  },
  (table) => [
    primaryKey({ name: 'stack_component_assignments_pkey', columns: [table.stackId, table.componentType] }),
    foreignKey({
      name: 'stack_component_assignments_component_fkey',
      columns: [table.componentId, table.componentType],
      foreignColumns: [stackComponents.id, stackComponents.type],
    }).onDelete('restrict'),
    index('stack_component_assignments_component_idx').on(table.componentId),
  ],
);
