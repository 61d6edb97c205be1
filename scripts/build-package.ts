// `npm run build:package`: the compiled package in dist/ that the `stackyard` command, `npm start`
// and other projects' `import 'stackyard'` run: ESM bundles for Node 20 and the SDK's types.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { packageFile } from '../client/package-files';

const dist = packageFile('dist');
rmSync(dist, { recursive: true, force: true });

await build({
  absWorkingDir: packageFile(),
  entryPoints: { index: 'client/index.ts', cli: 'client/cli/main.ts' },
  outdir: dist,
  bundle: true,
  // Code reached only through import() gets its own chunks, so a client command never loads the
  // server, its database drivers or the dashboard's static files.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Dependencies stay imports, resolved from node_modules where the package is installed.
  packages: 'external',
  logLevel: 'warning',
});

// The package exports only package.json; its bin script sits beside it.
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
execFileSync(process.execPath, [tsc, '-p', packageFile('tsconfig.build.json')], { stdio: 'inherit' });
addJsExtensions(join(dist, 'types'));

/**
 * The sources import each other without extensions (moduleResolution bundler), and tsc keeps the
 * specifiers as written; projects resolving with node16/nodenext need `./x.js`, else every type
 * from a relative import silently becomes `any`. Each declaration's relative imports get the
 * extension of the file they name.
 */
function addJsExtensions(folder: string): void {
  for (const entry of readdirSync(folder, { recursive: true, encoding: 'utf8' })) {
    if (!entry.endsWith('.d.ts')) continue;
    const file = join(folder, entry);
    const text = readFileSync(file, 'utf8').replace(/(from\s+|import\()(['"])(\.\.?\/[^'"]+)\2/g, (_match, before: string, quote: string, specifier: string) => {
      const base = join(dirname(file), specifier);
      if (existsSync(`${base}.d.ts`)) return `${before}${quote}${specifier}.js${quote}`;
      if (existsSync(join(base, 'index.d.ts'))) return `${before}${quote}${specifier}/index.js${quote}`;
      throw new Error(`${file}: no declaration for ${specifier}`);
    });
    writeFileSync(file, text);
  }
}
