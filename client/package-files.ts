// The package's own files on disk (package.json, drizzle/, dashboard/dist): found from its root,
// the nearest folder above this module with a package.json, so a path is the same whether this
// code runs from the TypeScript sources or from a bundle in dist/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`No package.json above ${start}`);
  }
}

const packageRoot = findPackageRoot();

/** The absolute path of a file or folder of the package, given relative to its root. */
export function packageFile(...segments: string[]): string {
  return join(packageRoot, ...segments);
}
