// `stackyard run logs`: a running pipeline script's step logs followed live from another process
// until the run ends, then printed whole, for one step, and as JSON lines.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StackyardClient } from '../client';
import { expectFailure, root, runCli, succeeded, tempDir } from './cli-process';
import { databaseTargets, uniqueName, useTestServer } from './harness';

/** Waits for a condition, asking every 100 ms, for up to a minute: a busy machine is slow. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (let waited = 0; waited < 60_000; waited += 100) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

function spawnWithSettings(args: string[], env: Record<string, string>) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(childEnv)) if (name.startsWith('STACKYARD_')) delete childEnv[name];
  const child = spawn(process.execPath, args, { cwd: root, env: { ...childEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  const exited = once(child, 'close').then(([code]) => code as number | null);
  return { child, output, exited };
}

describe.each(databaseTargets)('stackyard run logs on $name', (target) => {
  const server = useTestServer(target);

  it('follows a running pipeline live until it ends, then prints one step, all steps, and JSON lines', async () => {
    const configDir = tempDir('stackyard-run-logs-');
    const settings = { url: server().url, configDir };
    const sdk = new StackyardClient({ url: server().url, configDir });
    const store = await sdk.registerComponent({ type: 'ARTIFACT_STORE', name: uniqueName('logs-store'), flavor: 'local', configuration: { path: tempDir('stackyard-run-logs-store-') } });
    const stack = uniqueName('logs-stack');
    await sdk.registerStack({ name: stack, components: { orchestrator: 'default', artifactStore: store.name } });
    const pipelineName = uniqueName('logging');
    const release = join(configDir, 'release');
    const script = spawnWithSettings(['--import', 'tsx', 'test/fixtures/logging-pipeline.ts'], {
      STACKYARD_URL: server().url,
      STACKYARD_STACK: stack,
      STACKYARD_CONFIG_DIR: configDir,
      LOG_RELEASE_FILE: release,
      LOG_PIPELINE_NAME: pipelineName,
    });
    try {
      const runName = await waitFor('the run to start', async () => {
        // A script that died before starting its run says why, rather than leaving a minute's wait.
        if (script.child.exitCode !== null) throw new Error(`the pipeline script exited ${script.child.exitCode}: ${script.output.stderr}`);
        return (await sdk.runsPage({ filter: { pipeline: pipelineName } })).edges[0]?.node.name;
      });

      const follower = spawnWithSettings([join(root, 'bin', 'stackyard.js'), 'run', 'logs', runName, '--follow'], { STACKYARD_URL: server().url, STACKYARD_CONFIG_DIR: configDir });
      // Lines arrive while the step still runs: the release file does not exist yet.
      await waitFor('live lines', () => (/\[count\] \S+ INFO  tick 3\n/.test(follower.output.stdout) ? true : undefined));
      expect((await sdk.getRun((await sdk.runsPage({ filter: { pipeline: pipelineName } })).edges[0].node.id))!.status).toBe('RUNNING');
      writeFileSync(release, '');
      const [followCode, scriptCode] = await Promise.all([follower.exited, script.exited]);
      expect(scriptCode, script.output.stderr).toBe(1);
      expect(followCode, follower.output.stderr).toBe(0);
      const followed = follower.output.stdout;
      expect(followed).toMatch(/^\[count\] \d{4}-\d\d-\d\dT[\d:.]+Z INFO  tick 0\n/);
      expect(followed).toMatch(/\[count\] \S+ WARN  released\n/);
      expect(followed).toMatch(/\[after\] \S+ INFO  after got 1\n/);
      expect(followed).toMatch(/\[after\] \S+ ERROR Error: boom\n\[after\] +at /);
      const ticks = [...followed.matchAll(/tick (\d+)\n/g)].map((match) => Number(match[1]));
      expect(ticks).toEqual(ticks.map((_, i) => i));

      // Printed again after the run, the log is the same.
      expect(succeeded(await runCli(['run', 'logs', runName], settings))).toBe(followed);
      const oneStep = succeeded(await runCli(['run', 'logs', runName, '--step', 'after'], settings));
      expect(oneStep).toMatch(/^\S+ INFO  after got 1\n\S+ ERROR Error: boom\n +at /);
      const json = succeeded(await runCli(['--json', 'run', 'logs', runName, '--step', 'count'], settings)).trim().split('\n').map((line) => JSON.parse(line));
      expect(json.at(-1)).toMatchObject({ step: 'count', level: 'WARN', message: 'released' });
      expect(json).toHaveLength(ticks.length + 1);
      expectFailure(await runCli(['run', 'logs', runName, '--step', 'nope'], settings), `has no step "nope"`);
    } finally {
      writeFileSync(release, '');
      if (script.child.exitCode === null) script.child.kill('SIGKILL');
    }
  }, 180_000);
});
