// The code a step can reach: the module that defines it and every local module that module
// imports, transitively, with the packages they import at their installed versions. esbuild
// resolves the imports (relative paths, .ts/.js/index files, tsconfig paths, import() of a
// literal path, cycles) exactly as a bundler would, so the SDK never re-implements resolution.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

/** Local files (path relative to the defining module's folder → SHA-256) and packages (name → version). */
export interface ReachableCode {
  modules: Record<string, string>;
  packages: Record<string, string>;
}

const thisFile = fileURLToPath(import.meta.url);

/**
 * The file of the module that called into the SDK: the first stack frame outside this file and
 * `sdkFile` (the SDK module asking). `step()` asks at definition time, when its caller is on the stack.
 */
export function callerModuleFile(sdkFile: string): string | undefined {
  const original = Error.prepareStackTrace;
  let frames: NodeJS.CallSite[] = [];
  try {
    Error.prepareStackTrace = (_error, callSites) => callSites;
    frames = (new Error().stack as unknown as NodeJS.CallSite[]) ?? [];
  } finally {
    Error.prepareStackTrace = original;
  }
  for (const frame of frames) {
    const name = frame.getFileName();
    if (!name || name.startsWith('node:')) continue;
    const file = name.startsWith('file:') ? fileURLToPath(name) : name;
    if (file !== thisFile && file !== sdkFile && existsSync(file)) return file;
  }
  return undefined;
}

/** The package a bare import names: `@scope/pkg/sub` → `@scope/pkg`, `pkg/sub` → `pkg`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The version in the package.json Node would find for `name` from `fromDir`, walking up node_modules. */
function installedVersion(name: string, fromDir: string): string {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const manifest = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(manifest)) return String((JSON.parse(readFileSync(manifest, 'utf8')) as { version?: unknown }).version ?? 'unversioned');
    if (dirname(dir) === dir) return 'not installed';
  }
}

const reachable = new Map<string, ReachableCode>();

/**
 * What `file` can reach. Paths are relative to its folder so that two checkouts of one project
 * in different places agree (the worker of a remote orchestrator compares code hashes).
 * Memoized per process: a module, once loaded, is the code that runs until the process ends.
 */
export function reachableCode(file: string): ReachableCode {
  const known = reachable.get(file);
  if (known) return known;
  const root = dirname(file);
  const { metafile } = buildSync({
    entryPoints: [file],
    absWorkingDir: root,
    bundle: true,
    write: false,
    metafile: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    outdir: 'unused',
    logLevel: 'silent',
  });
  const modules: Record<string, string> = {};
  const packages: Record<string, string> = {};
  for (const [path, input] of Object.entries(metafile.inputs)) {
    const absolute = resolve(root, path);
    modules[path] = createHash('sha256').update(readFileSync(absolute)).digest('hex');
    for (const imported of input.imports) {
      if (!imported.external || isBuiltin(imported.path) || /^[./]/.test(imported.path)) continue;
      const name = packageName(imported.path);
      packages[name] ??= installedVersion(name, dirname(absolute));
    }
  }
  const code = { modules, packages };
  reachable.set(file, code);
  return code;
}
