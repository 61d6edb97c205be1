// `npm run build:db-template` (run by `prepare`): the database image a first start on a fresh
// PGlite directory loads instead of running initdb and every migration (server/db/pglite-template.ts).
// It holds the migrations only: rows such as the default stack get their ids on each
// installation's first start, so no two installations share them.
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { migrationsFolder } from '../server/db/database';
import { TEMPLATE_DIR, writeTemplate } from '../server/db/pglite-template';

const started = performance.now();
await writeTemplate(migrationsFolder, async (client) => {
  await migrate(drizzle({ client }), { migrationsFolder });
});
process.stdout.write(`Wrote ${TEMPLATE_DIR} in ${Math.round(performance.now() - started)} ms\n`);
