// The README's "Your first pipeline", step by step, as a user types it: `stackyard` commands
// and `npm run example` as separate processes against a running server.
import { existsSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsedJson, runCli, runProcess, succeeded, tempDir, type ProcessSettings } from './cli-process';
import { databaseTargets, useTestServer } from './harness';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe.each(databaseTargets)('the README walk-through on $name', (target) => {
  const server = useTestServer(target);

  it('registers a store and a stack, sets it active, runs the example twice and sees it cached', async () => {
    const settings: ProcessSettings = { url: server().url, configDir: tempDir('stackyard-walkthrough-config-') };
    const storePath = tempDir('stackyard-walkthrough-artifacts-');
    const cli = (...args: string[]) => runCli(args, settings);

    // 1-3: the store, the stack, the active stack.
    expect(succeeded(await cli('artifact-store', 'register', 'my_store', '--flavor', 'local', '--path', storePath))).toContain('my_store');
    expect(succeeded(await cli('stack', 'register', 'my_stack', '-o', 'default', '-a', 'my_store'))).toContain('my_stack');
    succeeded(await cli('stack', 'set', 'my_stack'));
    expect(succeeded(await cli('stack', 'get')).trim()).toContain('my_stack');

    // 4: the example runs on the active stack and prints a line per step as it starts and ends.
    const first = await runProcess(npm, ['run', '--silent', 'example'], settings);
    expect(first.code, first.stderr).toBe(0);
    for (const step of ['load_data', 'train', 'evaluate']) {
      expect(first.stdout).toMatch(new RegExp(`step ${step} started\\n[\\s\\S]*step ${step} completed in \\d`));
    }
    expect(first.stdout).toMatch(/Running pipeline quickstart on stack my_stack/);
    expect(first.stdout).toMatch(/accuracy: \d\.\d{3}/);

    // 5: the run is listed under the stack.
    const listed = parsedJson(await cli('run', 'list', '--stack', 'my_stack', '--json'));
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ pipeline: { name: 'quickstart' }, stack: { name: 'my_stack' }, status: 'COMPLETED' });
    const table = succeeded(await cli('run', 'list', '--stack', 'my_stack'));
    expect(table).toContain(listed[0].name);
    expect(table).toContain('completed');

    // Its outputs are files in my_store, laid out {path}/{step}/{output}/{step run id}/.
    const described = parsedJson(await cli('run', 'describe', listed[0].id, '--json'));
    expect(described.steps.map((step: { name: string; status: string }) => [step.name, step.status])).toEqual([
      ['load_data', 'COMPLETED'],
      ['train', 'COMPLETED'],
      ['evaluate', 'COMPLETED'],
    ]);
    for (const step of described.steps) {
      const uri: string = step.outputs[0].artifactVersion.uri;
      const stepRunUuid = Buffer.from(step.id, 'base64').toString().replace(/^StepRun:/, '');
      expect(uri.startsWith(join(storePath, step.name, 'output', stepRunUuid) + sep)).toBe(true);
      expect(existsSync(uri)).toBe(true);
    }
    const model = described.steps[1].outputs[0].artifactVersion;
    expect(model).toMatchObject({ name: 'quickstart_model', type: 'model' });
    expect(JSON.parse(readFileSync(model.uri, 'utf8'))).toMatchObject({ kind: 'nearest-centroid' });
    const describedText = succeeded(await cli('run', 'describe', listed[0].name));
    expect(describedText).toContain(model.uri);

    // 6: the second run reuses every step.
    const second = await runProcess(npm, ['run', '--silent', 'example'], settings);
    expect(second.code, second.stderr).toBe(0);
    for (const step of ['load_data', 'train', 'evaluate']) {
      expect(second.stdout).toContain(`step ${step} cached`);
      expect(second.stdout).not.toContain(`step ${step} started`);
    }
    expect(second.stdout).toContain(`(outputs of run ${listed[0].name})`);
    const runs = parsedJson(await cli('run', 'list', '--stack', 'my_stack', '--json'));
    expect(runs.map((run: { status: string }) => run.status)).toEqual(['CACHED', 'COMPLETED']);
    const cached = parsedJson(await cli('run', 'describe', runs[0].id, '--json'));
    expect(cached.steps.map((step: { status: string; originalStepRun: { run: { name: string } } }) => [step.status, step.originalStepRun.run.name])).toEqual([
      ['CACHED', listed[0].name],
      ['CACHED', listed[0].name],
      ['CACHED', listed[0].name],
    ]);
    expect(succeeded(await cli('run', 'describe', runs[0].name))).toContain(`run "${listed[0].name}"`);
  });
});
