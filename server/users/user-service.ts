// Users and their API tokens: the rules for creating, listing, revoking and checking them.
// A token is random, shown once, and stored only as its SHA-256 hash.
import { createHash, randomBytes } from 'node:crypto';
import { and, asc, count, eq, isNull, ne, sql, type SQL } from 'drizzle-orm';
import type { AuthUser } from '../context';
import type { Database, Queryable } from '../db/database';
import { FOREIGN_KEY_VIOLATION, postgresErrorCode, UNIQUE_VIOLATION } from '../db/database';
import type { Logger } from '../logger';
import { IllegalOperationError, NameTakenError, NotFoundError, ValidationError } from '../errors';
import { validateName } from '../validation';
import { stackComponents } from '../components/component-tables';
import { pipelineRuns } from '../runs/run-tables';
import { stacks } from '../stacks/stack-tables';
import { apiTokens, USER_ROLES, users, type UserRole } from './user-tables';

export const LOCAL_USER_NAME = 'local';
export const ADMIN_USER_NAME = 'admin';
const TOKEN_PREFIX = 'sy_';
/** The name of the admin token that STACKYARD_ADMIN_TOKEN configures. */
const CONFIGURED_TOKEN_NAME = 'configured';

export type UserRow = typeof users.$inferSelect;
export type ApiTokenRow = typeof apiTokens.$inferSelect;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Creates the implicit local admin of local mode where missing and answers it. Idempotent. */
export async function ensureLocalUser(db: Queryable): Promise<AuthUser> {
  await db.insert(users).values({ name: LOCAL_USER_NAME, role: 'admin' }).onConflictDoUpdate({ target: users.name, set: { role: 'admin' } });
  const [user] = await db.select({ id: users.id, name: users.name, role: users.role }).from(users).where(eq(users.name, LOCAL_USER_NAME));
  return user;
}

/**
 * Makes sure an admin can sign in on a server with auth. With a configured token, that token
 * belongs to the admin user, and the configured token it replaced is revoked; without one, a
 * first start creates the admin and answers a new token to print once. Later starts answer nothing.
 */
export async function bootstrapAdmin(db: Database, configuredToken: string | undefined, logger: Logger): Promise<string | null> {
  return db.transaction(async (tx) => {
    await tx.insert(users).values({ name: ADMIN_USER_NAME, role: 'admin' }).onConflictDoNothing();
    const [admin] = await tx.select().from(users).where(eq(users.name, ADMIN_USER_NAME));
    if (configuredToken) {
      if (configuredToken.length < 16) throw new Error('STACKYARD_ADMIN_TOKEN must be at least 16 characters');
      const tokenHash = hashToken(configuredToken);
      await tx
        .insert(apiTokens)
        .values({ userId: admin.id, name: CONFIGURED_TOKEN_NAME, tokenHash, prefix: configuredToken.slice(0, 8) })
        .onConflictDoNothing();
      // Rotating the environment's token must retire the old one: whoever still has it (it was
      // rotated because it leaked, or someone left) would otherwise stay admin.
      const replaced = await tx
        .update(apiTokens)
        .set({ revokedAt: sql`now()` })
        .where(and(eq(apiTokens.userId, admin.id), eq(apiTokens.name, CONFIGURED_TOKEN_NAME), isNull(apiTokens.revokedAt), ne(apiTokens.tokenHash, tokenHash)))
        .returning({ id: apiTokens.id });
      if (replaced.length > 0) {
        logger.warn({ revokedTokenIds: replaced.map((row) => row.id) }, 'STACKYARD_ADMIN_TOKEN changed; revoked the admin token it replaced');
      }
      const [current] = await tx.select({ revokedAt: apiTokens.revokedAt }).from(apiTokens).where(eq(apiTokens.tokenHash, tokenHash));
      if (current?.revokedAt) logger.warn('STACKYARD_ADMIN_TOKEN is a token that was revoked earlier, so it signs nobody in; configure a new one');
      return null;
    }
    const [{ value: existing }] = await tx.select({ value: count() }).from(apiTokens);
    if (existing > 0) return null;
    const token = newToken();
    await tx.insert(apiTokens).values({ userId: admin.id, name: 'first start', tokenHash: hashToken(token), prefix: token.slice(0, 8) });
    return token;
  });
}

export type TokenCheck = { user: AuthUser } | { failure: 'unknown' | 'expired' | 'revoked' };

export async function authenticateToken(db: Queryable, token: string): Promise<TokenCheck> {
  const [row] = await db
    .select({
      id: users.id,
      name: users.name,
      role: users.role,
      revoked: sql<boolean>`${apiTokens.revokedAt} is not null`,
      expired: sql<boolean>`coalesce(${apiTokens.expiresAt} <= now(), false)`,
    })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(eq(apiTokens.tokenHash, hashToken(token)));
  if (!row) return { failure: 'unknown' };
  if (row.revoked) return { failure: 'revoked' };
  if (row.expired) return { failure: 'expired' };
  return { user: { id: row.id, name: row.name, role: row.role } };
}

/**
 * The id a new row records as its creator (created_by, a run's user_id), as a value for the
 * INSERT that writes it. The caller was authenticated by an earlier statement, and an admin may
 * delete it in between: the foreign key would then fail the insert. The user is locked as the
 * foreign key would lock it (KEY SHARE), so a delete in progress is waited for, and a user it
 * deleted is recorded as null, as deleting a user leaves what it created (ON DELETE SET NULL).
 */
export function creatorIdSql(userId: string | null): SQL {
  return sql`(select ${users.id} from ${users} where ${users.id} = ${userId} for key share)`;
}

export function validateRole(role: string): UserRole {
  if (!(USER_ROLES as readonly string[]).includes(role)) {
    throw new ValidationError(`role must be one of ${USER_ROLES.join(', ')}`, 'role');
  }
  return role as UserRole;
}

export async function createUser(db: Queryable, input: { name: string; role: UserRole }): Promise<UserRow> {
  const name = validateName(input.name);
  try {
    const [row] = await db.insert(users).values({ name, role: validateRole(input.role) }).returning();
    return row;
  } catch (error) {
    if (postgresErrorCode(error) === UNIQUE_VIOLATION) throw new NameTakenError(`A user named "${name}" already exists`, 'name');
    throw error;
  }
}

export async function requireUser(db: Queryable, name: string, field = 'name', lock?: 'no key update'): Promise<UserRow> {
  const query = db.select().from(users).where(eq(users.name, name.trim()));
  const [row] = lock ? await query.for(lock) : await query;
  if (!row) throw new NotFoundError(`No user named "${name.trim()}"`, field);
  return row;
}

/** Deletes a user and its tokens. The caller cannot delete itself, so an admin always remains. */
export async function deleteUser(db: Database, callerId: string, name: string): Promise<UserRow> {
  return db.transaction(async (tx) => {
    // The delete sets the creator of what the user created to null, so it locks those rows; their
    // writers lock them first, then the user, KEY SHARE (a run's writers for the foreign key's
    // check of a run they update twice, startRun and registerStack for the creator they record).
    // So the user is held NO KEY UPDATE till those rows are locked, which lets their writers
    // finish rather than deadlock with the delete: the stacks and components first, in the order
    // deleteStack takes a stack before its runs and components, then the runs; each in id order.
    const user = await requireUser(tx, name, 'name', 'no key update');
    if (user.id === callerId) throw new IllegalOperationError('You cannot delete yourself', 'name');
    if (user.name === LOCAL_USER_NAME) throw new IllegalOperationError('The local user of local mode cannot be deleted', 'name');
    for (const table of [stacks, stackComponents]) {
      await tx.select({ id: table.id }).from(table).where(eq(table.createdBy, user.id)).orderBy(table.id).for('no key update');
    }
    await tx.select({ id: pipelineRuns.id }).from(pipelineRuns).where(eq(pipelineRuns.userId, user.id)).orderBy(pipelineRuns.id).for('no key update');
    await tx.delete(users).where(eq(users.id, user.id));
    return user;
  });
}

export async function listUsers(db: Queryable): Promise<UserRow[]> {
  return db.select().from(users).orderBy(asc(users.name));
}

/** Longest lifetime a token can be given: a year. Longer-lived credentials should be rotated. */
export const MAX_TOKEN_DAYS = 366;

export async function createApiToken(
  db: Queryable,
  /** userName: the user named by the caller, if not the caller itself. */
  input: { userId: string; userName?: string | null; name: string; expiresInDays?: number | null },
): Promise<{ token: string; row: ApiTokenRow }> {
  const name = validateName(input.name);
  let expiresAt: Date | null = null;
  if (input.expiresInDays != null) {
    if (!Number.isFinite(input.expiresInDays) || input.expiresInDays <= 0 || input.expiresInDays > MAX_TOKEN_DAYS) {
      throw new ValidationError(`expiresInDays must be more than 0 and at most ${MAX_TOKEN_DAYS}`, 'expiresInDays');
    }
    expiresAt = new Date(Date.now() + input.expiresInDays * 86_400_000);
  }
  const token = newToken();
  try {
    const [row] = await db
      .insert(apiTokens)
      .values({ userId: input.userId, name, tokenHash: hashToken(token), prefix: token.slice(0, 8), expiresAt })
      .returning();
    return { token, row };
  } catch (error) {
    // The user was deleted after the request looked it up (or authenticated it).
    if (postgresErrorCode(error) === FOREIGN_KEY_VIOLATION) {
      throw input.userName ? new NotFoundError(`No user named "${input.userName}"`, 'userName') : new NotFoundError('Your user has been deleted');
    }
    throw error;
  }
}

export async function listApiTokens(db: Queryable, userId: string): Promise<ApiTokenRow[]> {
  return db.select().from(apiTokens).where(eq(apiTokens.userId, userId)).orderBy(asc(apiTokens.createdAt), asc(apiTokens.id));
}

/** Revokes a token of `ownerId` (any owner when null, for admins). Revoking twice is a no-op. */
export async function revokeApiToken(db: Queryable, tokenId: string, ownerId: string | null): Promise<ApiTokenRow> {
  const [row] = await db
    .update(apiTokens)
    .set({ revokedAt: sql`coalesce(${apiTokens.revokedAt}, now())` })
    .where(and(eq(apiTokens.id, tokenId), ownerId ? eq(apiTokens.userId, ownerId) : undefined))
    .returning();
  if (!row) throw new NotFoundError('No such token', 'id');
  return row;
}

