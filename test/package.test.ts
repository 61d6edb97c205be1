// The package as another project gets it: `npm pack`, installed into a fresh folder outside the
// repository, then imported by plain Node and by tsx, type-checked by tsc, and its `stackyard`
// command run, server included. Needs no test database, so it runs on the PGlite pass only.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { closedPortUrl, parsedJson, root, runProcess, succeeded, type CliResult } from './cli-process';
import { databaseTargets, TEST_SECRET_KEY } from './harness';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const require = createRequire(import.meta.url);
const tsxCli = require.resolve('tsx/cli');
// TypeScript's package exports only package.json; its command sits beside it.
const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
const repoPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };

/** A pipeline script as a user writes it, in plain JavaScript. */
const scriptJs = `
import { pipeline, step, StackyardClient } from 'stackyard';

const double = step('double', ({ value }) => value * 2);
const doubling = pipeline('doubling', () => {
  double({ value: 1 });
});
const client = new StackyardClient({ url: 'http://127.0.0.1:9/graphql' });
console.log(JSON.stringify({ steps: doubling.compose().length, url: client.url }));
`;

/** The same in TypeScript, leaning on the package's types. */
const scriptTs = `
import { pipeline, step, StackyardClient, type StackyardClientOptions } from 'stackyard';

const double = step('double', ({ value }: { value: number }): number => value * 2);
const doubling = pipeline('doubling', () => {
  double({ value: 1 });
});
const options: StackyardClientOptions = { url: 'http://127.0.0.1:9', retries: 1 };
const client: StackyardClient = new StackyardClient(options);
console.log(JSON.stringify({ steps: doubling.compose().length, url: client.url }));
`;

/** Two misuses tsc must report, on lines 4 and 5: a step input and a client option of the wrong type. */
const misuseTs = `import { step, StackyardClient } from 'stackyard';

const double = step('double', ({ value }: { value: number }): number => value * 2);
double({ value: 'one' });
new StackyardClient({ retries: 'many' });
`;

const compilerModes = {
  node16: ['--module', 'node16', '--moduleResolution', 'node16'],
  bundler: ['--module', 'esnext', '--moduleResolution', 'bundler'],
};

describe.skipIf(!databaseTargets.some((target) => target.name === 'pglite'))('the packed package, installed in another project', () => {
  let workDir: string;
  let project: string;
  let configDir: string;
  const inProject = (command: string, args: string[]): Promise<CliResult> => runProcess(command, args, { configDir, cwd: project });

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'stackyard-package-'));
    project = join(workDir, 'project');
    configDir = join(workDir, 'config');
    mkdirSync(project);
    // dist/ is fresh from the global setup; --ignore-scripts skips prepare's second build.
    const packed = await runProcess(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', workDir], { configDir });
    expect(packed.code, packed.stderr).toBe(0);
    const [{ filename }] = JSON.parse(packed.stdout) as { filename: string }[];
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'pipelines', private: true, type: 'module' }));
    writeFileSync(join(project, 'script.mjs'), scriptJs);
    writeFileSync(join(project, 'script.ts'), scriptTs);
    writeFileSync(join(project, 'misuse.ts'), misuseTs);
    // From npm's cache where it can: `npm ci` in the repository has put every dependency there.
    const installed = await inProject(npm, [
      'install', '--no-audit', '--no-fund', '--prefer-offline',
      join(workDir, filename), `@types/node@${repoPackage.devDependencies['@types/node']}`,
    ]);
    expect(installed.code, installed.stderr).toBe(0);
  }, 600_000);

  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('holds the compiled code, the migrations, the dashboard and the bin, and no TypeScript sources', () => {
    const installedPackage = join(project, 'node_modules', 'stackyard');
    const manifest = JSON.parse(readFileSync(join(installedPackage, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
    expect(manifest.version).toBe(repoPackage.version);
    expect(Object.keys(manifest.dependencies), 'tsx is a development tool').not.toContain('tsx');
    for (const file of ['dist/index.js', 'dist/cli.js', 'dist/types/index.d.ts', 'drizzle', 'dashboard/dist/index.html', 'bin/stackyard.js']) {
      expect(existsSync(join(installedPackage, file)), `${file} (npm run build makes it)`).toBe(true);
    }
    expect(existsSync(join(installedPackage, 'client'))).toBe(false);
  });

  it('loads no server package for a client command: the server is reached by import() only', () => {
    const dist = join(project, 'node_modules', 'stackyard', 'dist');
    const { statically, lazily } = packagesImportedBy(dist, 'cli.js');
    for (const serverPackage of ['@electric-sql/pglite', 'drizzle-orm', 'pg', 'graphql-yoga', '@pothos/core', 'pino', 'sirv']) {
      expect(statically, serverPackage).not.toContain(serverPackage);
      expect(lazily, serverPackage).toContain(serverPackage);
    }
  });

  it('imports from plain node in a .mjs script', async () => {
    const result = await inProject(process.execPath, ['script.mjs']);
    expect(JSON.parse(succeeded(result))).toEqual({ steps: 1, url: 'http://127.0.0.1:9/graphql' });
  });

  it('imports from tsx in a .ts script', async () => {
    const result = await inProject(process.execPath, [tsxCli, 'script.ts']);
    expect(JSON.parse(succeeded(result))).toEqual({ steps: 1, url: 'http://127.0.0.1:9/graphql' });
  });

  it.each(Object.entries(compilerModes))('gives tsc its types with moduleResolution %s: right use passes, misuse fails', async (_mode, flags) => {
    const check = (file: string) => inProject(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--types', 'node', ...flags, file]);
    const right = await check('script.ts');
    expect(right.stdout + right.stderr).toBe('');
    expect(right.code).toBe(0);
    const misuse = await check('misuse.ts');
    expect(misuse.code).not.toBe(0);
    const errorLines = misuse.stdout.split('\n').filter((line) => line.startsWith('misuse.ts('));
    expect(errorLines.map((line) => line.match(/^misuse\.ts\((\d+),/)![1])).toEqual(['4', '5']);
  });

  it('runs its stackyard command: the server finds its migrations and dashboard, and the CLI talks to it', async () => {
    const bin = join(project, 'node_modules', '.bin', 'stackyard');
    expect(succeeded(await inProject(bin, ['--version'])).trim()).toBe(repoPackage.version);

    const url = await closedPortUrl();
    const server = spawn(bin, ['server', 'start', '--port', new URL(url).port, '--data-dir', join(workDir, 'data')], {
      cwd: project,
      env: { ...process.env, STACKYARD_SECRET_KEY: TEST_SECRET_KEY, STACKYARD_CONFIG_DIR: configDir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    server.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => server.once('close', resolve));
    onTestFinished(async () => {
      server.kill('SIGKILL');
      await exited;
    });
    await waitUntilReady(url, exited, () => stderr);

    const page = await fetch(url, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<meta name="application-name" content="Stackyard dashboard" />');
    const stacks = parsedJson(await runProcess(bin, ['stack', 'list', '--json'], { configDir, cwd: project, url }));
    expect(stacks.map((stack: { name: string }) => stack.name)).toContain('default');

    server.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
  });
});

/**
 * The packages a bundle in dist/ imports, following its relative imports: those loaded with the
 * file (`import ... from`) and those loaded only when code runs `import()`, with what they load.
 */
function packagesImportedBy(dist: string, entry: string): { statically: string[]; lazily: string[] } {
  const found = { statically: new Set<string>(), lazily: new Set<string>() };
  const seen = { statically: new Set<string>(), lazily: new Set<string>() };
  const visit = (file: string, how: keyof typeof found) => {
    if (seen[how].has(file)) return;
    seen[how].add(file);
    const code = readFileSync(join(dist, file), 'utf8');
    const imports = [
      ...[...code.matchAll(/^(?:import|export)\s+(?:[^'"]*?\sfrom\s+)?["']([^"']+)["']/gm)].map((match) => ({ specifier: match[1], how })),
      ...[...code.matchAll(/\bimport\(["']([^"']+)["']\)/g)].map((match) => ({ specifier: match[1], how: 'lazily' as const })),
    ];
    for (const { specifier, how: loaded } of imports) {
      if (specifier.startsWith('.')) visit(join(dirname(file), specifier), loaded);
      else if (!specifier.startsWith('node:')) found[loaded].add(specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'));
    }
  };
  visit(entry, 'statically');
  return { statically: [...found.statically].sort(), lazily: [...found.lazily].sort() };
}

/** Polls GET /ready until it answers 200; fails at once, with stderr, if the server exits. */
async function waitUntilReady(url: string, exited: Promise<number | null>, stderr: () => string): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`the server exited before it was ready:\n${stderr()}`);
    const status = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.arrayBuffer().then(() => response.status),
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the server did not answer ${url}/ready within 120 s:\n${stderr()}`);
}
