// Once before the suite: builds dist/, so spawned `stackyard` commands and pipeline scripts run
// the compiled package, as users do, and never pass or fail on a build older than the sources;
// and makes sure the prebuilt database image matches the migrations, so every PGlite test server
// starts from it (a second or so) rather than from initdb and every migration.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { migrationsFolder } from '../server/db/database';
import { templateMatches } from '../server/db/pglite-template';

export default function setup(): void {
  const cwd = fileURLToPath(new URL('..', import.meta.url));
  execFileSync('npm', ['run', '--silent', 'build:package'], { cwd, stdio: 'inherit' });
  if (!templateMatches(migrationsFolder)) execFileSync('npm', ['run', '--silent', 'build:db-template'], { cwd, stdio: 'inherit' });
}
