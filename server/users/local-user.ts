// Until auth exists, every request acts as one local user, stored server-side so that every
// client sees the same active stack.
import { eq } from 'drizzle-orm';
import type { Queryable } from '../db/database';
import { users } from './user-tables';

export const LOCAL_USER_NAME = 'local';

/** Creates the local user where missing and answers its id. Idempotent. */
export async function ensureLocalUser(db: Queryable): Promise<string> {
  await db.insert(users).values({ name: LOCAL_USER_NAME }).onConflictDoNothing();
  const [user] = await db.select({ id: users.id }).from(users).where(eq(users.name, LOCAL_USER_NAME));
  return user.id;
}
