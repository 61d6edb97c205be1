// `npm run build:package`: the compiled package in dist/ that the `stackyard` command, `npm start`
// and other projects' `import 'stackyard'` run: ESM bundles for Node 20 and the SDK's types.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { packageFile } from '../client/package-files';

/**
 * Dependencies stay imports, resolved from node_modules where the package is installed, except
 * graphql-request with the part of graphql it uses (parser and printer). Importing 'graphql'
 * loads all of its CommonJS build, a third of a CLI command's start-up; bundled from graphql's
 * ESM build, the client carries only what it calls. The server keeps importing the installed
 * graphql, which its libraries share: they refuse objects made by a second copy.
 */
const externalDependencies: Plugin = {
  name: 'external-dependencies',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, ({ path, importer, kind }) => {
      if (kind === 'entry-point' || path === 'graphql-request') return undefined;
      if (path === 'graphql' && /[\\/]node_modules[\\/]graphql-request[\\/]/.test(importer)) return undefined;
      return { external: true };
    });
  },
};

const dist = packageFile('dist');
// Everything this script wrote before goes; the database image (npm run build:db-template)
// beside it stays, since it depends only on the migrations and takes far longer to make.
const keptInDist = new Set(['pglite-template', 'pglite-template.json']);
for (const entry of existsSync(dist) ? readdirSync(dist) : []) {
  if (!keptInDist.has(entry)) rmSync(join(dist, entry), { recursive: true, force: true });
}

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
  plugins: [externalDependencies],
  // graphql's ESM build (its `module`), for the copy bundled with graphql-request.
  mainFields: ['module', 'main'],
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
