// The default stack: a local orchestrator and a local artifact store, there from the first start.
import { eq } from 'drizzle-orm';
import { stackComponents } from '../components/component-tables';
import { DEFAULT_NAME } from '../components/component-types';
import type { Queryable } from '../db/database';
import { stackComponentAssignments, stacks } from './stack-tables';

/** Where the default artifact store keeps outputs; `~` is the home of the process running the steps. */
export const DEFAULT_ARTIFACT_PATH = '~/.stackyard/artifacts';

/**
 * Creates the default components and stack where they are missing. Idempotent. They are marked
 * with `is_default`, which is how every rule finds them: a name can be taken or look alike.
 */
export async function ensureDefaultStack(db: Queryable): Promise<void> {
  await db
    .insert(stackComponents)
    .values([
      { type: 'orchestrator', name: DEFAULT_NAME, isDefault: true, flavor: 'local', configuration: {} },
      { type: 'artifact_store', name: DEFAULT_NAME, isDefault: true, flavor: 'local', configuration: { path: DEFAULT_ARTIFACT_PATH } },
    ])
    .onConflictDoNothing();
  await db
    .insert(stacks)
    .values({ name: DEFAULT_NAME, isDefault: true, description: 'Runs pipelines in the calling process and keeps artifacts on local disk.' })
    .onConflictDoNothing();
  const [stack] = await db.select({ id: stacks.id }).from(stacks).where(eq(stacks.isDefault, true));
  const components = await db
    .select({ id: stackComponents.id, type: stackComponents.type })
    .from(stackComponents)
    .where(eq(stackComponents.isDefault, true));
  await db
    .insert(stackComponentAssignments)
    .values(components.map((component) => ({ stackId: stack.id, componentType: component.type, componentId: component.id })))
    .onConflictDoNothing();
}
