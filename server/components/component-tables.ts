import { sql } from 'drizzle-orm';
import { type AnyPgColumn, boolean, jsonb, pgTable, text, timestamp, unique, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../users/user-tables';
import { componentTypeEnum } from './component-types';

export { componentTypeEnum };

export const stackComponents = pgTable(
  'stack_components',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    type: componentTypeEnum('type').notNull(),
    name: text('name').notNull(),
    /** The default orchestrator or artifact store, which back the default stack. Found by this, never by name. */
    isDefault: boolean('is_default').notNull().default(false),
    flavor: text('flavor').notNull(),
    /** Settings the flavor does not mark secret. */
    configuration: jsonb('configuration').$type<Record<string, unknown>>().notNull().default({}),
    /**
     * Settings the flavor marks write-only, each value encrypted with the server key; kept apart
     * so no read path can return them by accident. The keys stay readable for `secretsSet`.
     */
    secrets: jsonb('secrets').$type<Record<string, unknown>>().notNull().default({}),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
    // Typed by hand: users and this table refer to each other, which TypeScript cannot infer.
    createdBy: uuid('created_by').references((): AnyPgColumn => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    unique('stack_components_type_name_key').on(table.type, table.name),
    // Target of the stack assignment foreign key, which pins the assignment's type to the component's.
    unique('stack_components_id_type_key').on(table.id, table.type),
    uniqueIndex('stack_components_default_type_key').on(table.type).where(sql`${table.isDefault}`),
  ],
);
