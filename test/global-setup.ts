// Once before the suite: makes sure the prebuilt database image matches the migrations, so every
// PGlite test server starts from it (a second or so) rather than from initdb and every migration.
import { execFileSync } from 'node:child_process';
import { migrationsFolder } from '../server/db/database';
import { templateMatches } from '../server/db/pglite-template';

export default function setup(): void {
  if (templateMatches(migrationsFolder)) return;
  execFileSync('npm', ['run', '-s', 'build:db-template'], { stdio: 'inherit' });
}
