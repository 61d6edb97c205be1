// Builds dist/ once before the tests: spawned `stackyard` commands and pipeline scripts run the
// compiled package, as users do, and must never pass or fail on a build older than the sources.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function buildPackage(): void {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['run', '--silent', 'build:package'], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: 'inherit' });
}
