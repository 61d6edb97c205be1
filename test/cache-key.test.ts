// The cache key covers the code a step can reach: a copy of test/fixtures/cache-key-pipeline in
// a temporary folder is run as a user would run it (node --import tsx), edited between runs, and
// each run's step status says whether the key changed.
import { cpSync, readFileSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { StackyardClient } from '../client';
import { root, runProcess, tempDir } from './cli-process';
import { databaseTargets, uniqueName, useTestServer } from './harness';

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

describe.each(databaseTargets)('cache key on $name', (target) => {
  const server = useTestServer(target);

  it('misses when an imported helper, a package version or cacheVersion changes, and only then', async () => {
    const project = tempDir('stackyard-cache-key-');
    const configDir = tempDir('stackyard-cache-key-config-');
    cpSync(join(root, 'test', 'fixtures', 'cache-key-pipeline'), project, { recursive: true });
    // An ES module project, as the pipeline's top-level await needs.
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'cache-key-fixture', private: true, type: 'module' }));
    mkdirSync(join(project, 'node_modules'));
    symlinkSync(root, join(project, 'node_modules', 'stackyard'), 'dir');
    cpSync(join(project, 'tiny-scale'), join(project, 'node_modules', 'tiny-scale'), { recursive: true });

    const client = new StackyardClient({ url: server().url, configDir });
    const store = await client.registerComponent({ type: 'ARTIFACT_STORE', name: uniqueName('cache-key-store'), flavor: 'local', configuration: { path: tempDir('stackyard-cache-key-store-') } });
    const stack = uniqueName('cache-key-stack');
    await client.registerStack({ name: stack, components: { orchestrator: 'default', artifactStore: store.name } });

    const run = async (env: Record<string, string> = {}) => {
      const result = await runProcess(process.execPath, ['--import', tsxLoader, 'pipeline.ts'], {
        cwd: project,
        url: server().url,
        configDir,
        env: { STACKYARD_STACK: stack, ...env },
      });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      return JSON.parse(result.stdout) as { statuses: Record<string, string>; output: number };
    };
    const edit = (file: string, from: string, to: string) => {
      const path = join(project, file);
      const text = readFileSync(path, 'utf8');
      expect(text).toContain(from);
      writeFileSync(path, text.replace(from, to));
    };

    expect(await run()).toEqual({ statuses: { compute: 'completed' }, output: 7 });
    expect(await run()).toEqual({ statuses: { compute: 'cached' }, output: 7 });

    // A file nothing imports is not code the step can reach.
    edit('lib/unused.ts', 'UNUSED = 1', 'UNUSED = 2');
    expect((await run()).statuses).toEqual({ compute: 'cached' });

    // A constant two imports away, through a folder's index.ts that imports its importer back.
    edit('lib/constants.ts', 'FACTOR = 2', 'FACTOR = 3');
    expect(await run()).toEqual({ statuses: { compute: 'completed' }, output: 10 });
    expect((await run()).statuses).toEqual({ compute: 'cached' });

    // The same package code at another installed version.
    edit('node_modules/tiny-scale/package.json', '"1.0.0"', '"1.0.1"');
    expect((await run()).statuses).toEqual({ compute: 'completed' });
    expect((await run()).statuses).toEqual({ compute: 'cached' });

    // cacheVersion forces a miss, and the same cacheVersion hits again.
    expect((await run({ CACHE_VERSION: '2' })).statuses).toEqual({ compute: 'completed' });
    expect((await run({ CACHE_VERSION: '2' })).statuses).toEqual({ compute: 'cached' });
  });
});
