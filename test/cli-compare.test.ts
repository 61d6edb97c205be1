// `stackyard run compare`: runs named by name or id, parameters and latest metrics side by side
// with differing rows marked, the same as JSON, and a typed refusal of a single run; and
// `run describe` showing one run's parameters and metrics.
import { describe, expect, it } from 'vitest';
import { StackyardClient } from '../client/stackyard-client';
import { expectFailure, parsedJson, runCli, succeeded, tempDir } from './cli-process';
import { databaseTargets, uniqueName, useTestServer } from './harness';

describe.each(databaseTargets)('stackyard run compare on $name', (target) => {
  const testServer = useTestServer(target);

  it('prints parameters and latest metrics side by side, marking rows that differ', async () => {
    const configDir = tempDir('stackyard-cli-compare-');
    const cli = (...args: string[]) => runCli(args, { url: testServer().url, configDir });
    const client = new StackyardClient({ url: testServer().url, configDir });
    const pipeline = uniqueName('compare');
    const runs = [];
    for (const [index, lr] of [0.1, 0.2, 0.1].entries()) {
      const run = await client.startRun({ pipeline, name: `${pipeline}-${index}`, config: { parameters: { lr, rows: 500 }, enableCache: null, ...(index === 1 ? { priority: 10 } : {}) } });
      await client.logMetrics(run.id, null, [
        { name: 'loss', value: 1 - lr, step: 0, timestamp: new Date(1_000).toISOString() },
        { name: 'loss', value: 0.5, step: 1, timestamp: new Date(2_000).toISOString() },
        ...(index === 1 ? [{ name: 'mse', value: 3, step: 0, timestamp: new Date(1_000).toISOString() }] : []),
      ]);
      runs.push(run);
    }

    const text = succeeded(await cli('run', 'compare', runs[0].name, runs[1].id, runs[2].name));
    const lines = text.split('\n');
    expect(lines.find((line) => line.includes('PARAMETER'))).toMatch(new RegExp(`PARAMETER +│ ${runs[0].name} +│ ${runs[1].name} +│ ${runs[2].name}`));
    expect(lines.find((line) => line.includes(' lr '))).toMatch(/│ \* lr +│ 0\.1 +│ 0\.2 +│ 0\.1 +│/);
    expect(lines.find((line) => line.includes(' rows '))).toMatch(/│   rows +│ 500 +│ 500 +│ 500 +│/);
    expect(lines.find((line) => line.includes(' loss '))).toMatch(/│   loss +│ 0\.5 \(step 1\) +│ 0\.5 \(step 1\) +│ 0\.5 \(step 1\) +│/);
    expect(lines.find((line) => line.includes(' mse '))).toMatch(/│ \* mse +│ - +│ 3 \(step 0\) +│ - +│/);
    expect(text).toContain('* marks a row whose values differ between the runs.');

    const json = parsedJson(await cli('run', 'compare', runs[0].name, runs[1].name, '--json'));
    expect(json.runs.map((run: { name: string }) => run.name)).toEqual([runs[0].name, runs[1].name]);
    expect(json.parameters.find((parameter: { name: string }) => parameter.name === 'lr')).toEqual({ name: 'lr', values: [0.1, 0.2], differs: true });

    // describe shows one run's parameters and metrics the same way.
    const described = succeeded(await cli('run', 'describe', runs[1].name));
    expect(described).toMatch(/\nParameters\nlr=0\.2\nrows=500\n\nSettings\npriority=10\n/);
    // A run asked for nothing more than its parameters shows no settings.
    expect(succeeded(await cli('run', 'describe', runs[0].name))).not.toContain('Settings');
    expect(described).toMatch(/│ loss +│ 0\.5 +│ 1 +│ 2 +│/);
    expect(described).toMatch(/│ mse +│ 3 +│ 0 +│ 1 +│/);

    expectFailure(await cli('run', 'compare', runs[0].name), 'Compare at least 2 runs');
    expectFailure(await cli('run', 'compare', runs[0].name, 'no-such-run'), 'No run has the name, id or id prefix "no-such-run"');
  });
});
