import { jsonb, pgEnum, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { COMPONENT_TYPES } from './component-types';

export const componentTypeEnum = pgEnum('component_type', COMPONENT_TYPES);

export const stackComponents = pgTable(
  'stack_components',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    type: componentTypeEnum('type').notNull(),
    name: text('name').notNull(),
    flavor: text('flavor').notNull(),
    /** Settings the flavor does not mark secret. */
    configuration: jsonb('configuration').$type<Record<string, unknown>>().notNull().default({}),
    /** Settings the flavor marks write-only; kept apart so no read path can return them by accident. */
    secrets: jsonb('secrets').$type<Record<string, unknown>>().notNull().default({}),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    unique('stack_components_type_name_key').on(table.type, table.name),
    // Target of the stack assignment foreign key, which pins the assignment's type to the component's.
    unique('stack_components_id_type_key').on(table.id, table.type),
  ],
);
