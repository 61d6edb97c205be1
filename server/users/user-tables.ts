import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { stacks } from '../stacks/stack-tables';

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull().unique('users_name_key'),
  /** Null means the default stack: deleting a user's active stack falls back to it. */
  activeStackId: uuid('active_stack_id').references(() => stacks.id, { onDelete: 'set null' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
