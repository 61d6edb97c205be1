import { type AnyPgColumn, check, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { stacks } from '../stacks/stack-tables';

/** admin: everything; editor: the registry and runs; viewer: read; service_account: report runs. */
export const USER_ROLES = ['admin', 'editor', 'viewer', 'service_account'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull().unique('users_name_key'),
    role: text('role').$type<UserRole>().notNull().default('viewer'),
    /** Null means the default stack: deleting a user's active stack falls back to it. */
    activeStackId: uuid('active_stack_id').references((): AnyPgColumn => stacks.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [check('users_role_check', sql`${table.role} in ('admin', 'editor', 'viewer', 'service_account')`)],
);

/** API tokens, stored as SHA-256 hashes: the token itself is shown once, when it is created. */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull().unique('api_tokens_token_hash_key'),
    /** The token's first characters, so people can tell their tokens apart in a list. */
    prefix: text('prefix').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (table) => [index('api_tokens_user_id_idx').on(table.userId)],
);
