// The `stackyard` command line as people use it: real `node bin/stackyard.js` processes against a
// test server, checked on exit code, stdout and stderr, and on what the server holds afterwards.
// Spawns cost about half a second each, so independent ones run together.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { flavorConfiguration, splitSettingArgs } from '../client/cli/arguments';
import { expandZenmlStackFlags } from '../client/cli/component-kinds';
import { StackyardClient } from '../client/stackyard-client';
import { closedPortUrl, expectFailure, parsedJson, runCli, succeeded, tempDir } from './cli-process';
import { databaseTargets, uniqueName, useTestServer } from './harness';

// ---------------------------------------------------------------------------------------------
// Argument parsing, in process

describe('flavor settings on the command line', () => {
  const schema = {
    type: 'object',
    properties: { endpointUrl: { type: 'string' }, namespace: { type: 'string' }, replicas: { type: 'integer' }, options: { type: 'object' } },
  };

  it('reads --KEY=VALUE and --KEY VALUE, keeps operands apart, and takes a bare flag as true', () => {
    expect(splitSettingArgs(['store', '--path=/a=b', '--region', 'eu', '--offset', '-5', '--dry-run', '--', '--literal'])).toEqual({
      operands: ['store', '--literal'],
      settings: [
        { flag: 'path', text: '/a=b' },
        { flag: 'region', text: 'eu' },
        { flag: 'offset', text: '-5' },
        { flag: 'dry-run', text: true },
      ],
    });
    expect(() => splitSettingArgs(['store', '-x'])).toThrow('Unknown option -x; flavor settings are given as --KEY=VALUE');
  });

  it("matches kebab- and snake_case keys to the flavor's camelCase, and parses values as JSON unless the setting is text", () => {
    const settings = splitSettingArgs([
      '--endpoint-url=http://minio:9000',
      '--namespace', '2024',
      '--replicas', '3',
      '--options', '{"retries":2,"verbose":true}',
      '--unknown_key', 'false',
      '--plain', 'not json',
    ]).settings;
    expect(flavorConfiguration(settings, schema)).toEqual({
      endpointUrl: 'http://minio:9000',
      namespace: '2024',
      replicas: 3,
      options: { retries: 2, verbose: true },
      unknown_key: false,
      plain: 'not json',
    });
  });

  it("rewrites ZenML's two-letter stack flags, and only in the stack commands that take them", () => {
    expect(expandZenmlStackFlags(['stack', 'register', 's', '-o', 'o', '-al', 'slack', '-an', 'ls', '-dv', 'ge'])).toEqual([
      'stack', 'register', 's', '-o', 'o', '--alerter', 'slack', '--annotator', 'ls', '--data-validator', 'ge',
    ]);
    expect(expandZenmlStackFlags(['orchestrator', 'register', 'x', '-f', 'local', '-al'])).toContain('-al');
  });
});

// ---------------------------------------------------------------------------------------------
// The CLI against a server, on every database target

describe.each(databaseTargets)('stackyard CLI on $name', (target) => {
  const testServer = useTestServer(target);
  let configDir: string;
  let client: StackyardClient;
  beforeAll(() => {
    configDir = mkdtempSync(join(tmpdir(), 'stackyard-cli-config-'));
    client = new StackyardClient({ url: testServer().url, configDir, env: {} });
  });
  afterAll(() => rmSync(configDir, { recursive: true, force: true }));

  /** `stackyard ARGS` against the test server. */
  const cli = (...args: string[]) => runCli(args, { url: testServer().url, configDir });

  it('connect checks the server and saves it for later commands; disconnect forgets it', async () => {
    const ownConfigDir = tempDir('stackyard-cli-connect-');
    const configFile = join(ownConfigDir, 'config.json');
    const withSavedConnection = (...args: string[]) => runCli(args, { configDir: ownConfigDir });
    const endpoint = `${testServer().url}/graphql`;

    const unreachable = await closedPortUrl();
    expectFailure(await withSavedConnection('connect', '--url', unreachable), `Cannot reach the Stackyard server at ${unreachable}/graphql`);
    expect(existsSync(configFile)).toBe(false);
    expectFailure(await withSavedConnection('connect'), 'Name the server with --url');

    // Tokens are checked even in local mode, so a made-up one is refused and nothing is saved.
    expectFailure(await withSavedConnection('connect', '--url', testServer().url, '--token', 'made-up-token'), 'The token is not valid');
    expect(existsSync(configFile)).toBe(false);
    const { token } = await new StackyardClient({ url: testServer().url, configDir: ownConfigDir }).createApiToken({ name: 'cli test' });
    const connected = await withSavedConnection('connect', '--url', testServer().url, '--token', token, '--json');
    expect(parsedJson(connected)).toEqual({ url: endpoint, configFile, tokenSaved: true });
    expect(connected.stdout).not.toContain(token);
    expect(JSON.parse(readFileSync(configFile, 'utf8'))).toEqual({ url: endpoint, token });
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    // Connecting again without --token saves no token: not the old one from the file.
    expect(succeeded(await withSavedConnection('connect', '--url', testServer().url))).toBe(`Connected to ${endpoint}; saved to ${configFile}.\n`);
    expect(JSON.parse(readFileSync(configFile, 'utf8'))).toEqual({ url: endpoint });

    // No STACKYARD_URL: these find the server through the saved file alone.
    const [status, statusText, stackName] = await Promise.all([
      withSavedConnection('status', '--json'),
      withSavedConnection('status'),
      withSavedConnection('stack', 'get'),
    ]);
    expect(parsedJson(status)).toMatchObject({ url: endpoint, configFile, reachable: true });
    expect(succeeded(statusText)).toMatch(new RegExp(`^Server: +${endpoint}$`, 'm'));
    expect(succeeded(statusText)).toMatch(/^Reachable: +yes$/m);
    expect(succeeded(stackName).trim()).toBe(parsedJson(status).activeStack);

    expect(succeeded(await withSavedConnection('disconnect'))).toBe(`Removed the saved connection (${configFile}).\n`);
    expect(existsSync(configFile)).toBe(false);
    expect(parsedJson(await withSavedConnection('disconnect', '--json'))).toEqual({ configFile, removed: false });
  });

  it('fails with exit code 1 and names the URL when the server cannot be reached', async () => {
    const url = await closedPortUrl();
    const [list, status] = await Promise.all([
      runCli(['stack', 'list'], { url, configDir }),
      runCli(['status', '--json'], { url, configDir }),
    ]);
    expectFailure(list, `Cannot reach the Stackyard server at ${url}/graphql`);
    // status still says what it tried, on stdout, before the error.
    expect(JSON.parse(status.stdout)).toMatchObject({ url: `${url}/graphql`, reachable: false });
    expect(status.stderr).toMatch(new RegExp(`^Error: Cannot reach the Stackyard server at ${url}/graphql[^\\n]*\\n$`));
    expect(status.code).toBe(1);
  });

  it('registers, lists, describes, updates, renames and deletes a component with --KEY=VALUE settings', async () => {
    const name = uniqueName('store');
    const registered = await cli(
      'artifact-store', 'register', name, '-f', 's3',
      '--path=s3://bucket/prefix', '--region', 'eu-west-1', '--endpoint-url', 'http://minio:9000',
      '--aws-secret-access-key=hunter2', '--label', 'team=ml', '--label', 'tier=gold',
    );
    expect(succeeded(registered)).toBe(`Registered artifact store "${name}" (flavor s3).\n`);
    expect(await client.getComponent('ARTIFACT_STORE', name)).toMatchObject({
      flavorName: 's3',
      configuration: { path: 's3://bucket/prefix', region: 'eu-west-1', endpointUrl: 'http://minio:9000' },
      secretsSet: ['awsSecretAccessKey'],
      labels: { team: 'ml', tier: 'gold' },
    });

    const [listJson, listText, describeText, describeJson] = await Promise.all([
      cli('artifact-store', 'list', '--json'),
      cli('artifact-store', 'list', '--flavor', 's3'),
      cli('artifact-store', 'describe', name),
      cli('artifact-store', 'describe', name, '--json'),
    ]);
    expect(parsedJson(listJson).map((component: { name: string }) => component.name)).toEqual(expect.arrayContaining(['default', name]));
    expect(succeeded(listText)).toContain(name);
    expect(succeeded(listText)).toContain('endpointUrl=http://minio:9000');
    expect(succeeded(listText)).not.toMatch(/│ default /);
    const description = succeeded(describeText);
    expect(description).toMatch(new RegExp(`^Artifact store "${name}"\\nID: `));
    expect(description).toMatch(/^Flavor: +s3$/m);
    expect(description).toMatch(/^Labels: +team=ml, tier=gold$/m);
    expect(description).toMatch(/│ awsSecretAccessKey +│ \(secret, set\) +│/);
    expect(description).toMatch(/│ endpointUrl +│ http:\/\/minio:9000 +│/);
    expect(parsedJson(describeJson)).toMatchObject({ name, stacks: [], runStats: { total: 0 } });
    for (const output of [listJson, listText, describeText, describeJson]) expect(output.stdout).not.toContain('hunter2');

    const updated = await cli(
      'artifact-store', 'update', name, '--region=us-east-1', '--remove-attr', 'endpoint-url', '--label', 'tier=silver', '--remove-label', 'team',
    );
    expect(succeeded(updated)).toBe(`Updated artifact store "${name}".\n`);
    expect(await client.getComponent('ARTIFACT_STORE', name)).toMatchObject({
      configuration: { path: 's3://bucket/prefix', region: 'us-east-1' },
      secretsSet: ['awsSecretAccessKey'],
      labels: { tier: 'silver' },
    });
    expect((await client.getComponent('ARTIFACT_STORE', name))!.configuration).not.toHaveProperty('endpointUrl');
    expectFailure(await cli('artifact-store', 'update', name), 'Nothing to update');

    const newName = uniqueName('renamed');
    expect(succeeded(await cli('artifact-store', 'rename', name, newName))).toBe(`Renamed artifact store "${name}" to "${newName}".\n`);
    expect(await client.getComponent('ARTIFACT_STORE', name)).toBeNull();
    expect(succeeded(await cli('artifact-store', 'delete', newName))).toBe(`Deleted artifact store "${newName}".\n`);
    expect(await client.getComponent('ARTIFACT_STORE', newName)).toBeNull();
  });

  it('reports invalid settings, taken names and unknown names in one line with exit code 1, changing nothing', async () => {
    const store = uniqueName('store');
    succeeded(await cli('artifact-store', 'register', store, '-f', 'local', '--path', '/tmp/stackyard-cli-store'));
    const missing = uniqueName('missing');
    const [remotePath, unknownSetting, unknownFlavor, taken, badUpdate, unknownComponent, unknownStack, unknownRun, unknownDelete] = await Promise.all([
      cli('artifact-store', 'register', missing, '-f', 'local', '--path=s3://bucket/prefix'),
      cli('orchestrator', 'register', missing, '-f', 'kubernetes', '--namespace', 'ml', '--no-such-setting', '3'),
      cli('orchestrator', 'register', missing, '--flavor', 'nomad'),
      cli('artifact-store', 'register', store, '-f', 'local', '--path', '/elsewhere'),
      cli('artifact-store', 'update', store, '--path=s3://bucket/prefix'),
      cli('orchestrator', 'describe', missing),
      cli('stack', 'describe', missing),
      cli('run', 'describe', missing),
      cli('orchestrator', 'delete', missing),
    ]);
    expectFailure(remotePath, /^Error: configuration\.path /);
    expectFailure(unknownSetting, 'Error: configuration.no-such-setting is not a known setting');
    expectFailure(unknownFlavor, 'flavor "nomad" is not a flavor of orchestrator');
    expectFailure(taken, `named "${store}" already exists`);
    expectFailure(badUpdate, /^Error: configuration\.path /);
    expectFailure(unknownComponent, `Error: No orchestrator named "${missing}"`);
    expectFailure(unknownStack, `Error: No stack named "${missing}"`);
    expectFailure(unknownRun, `Error: No run has the name, id or id prefix "${missing}"`);
    expectFailure(unknownDelete, `Error: No orchestrator named "${missing}"`);

    expect(await client.getComponent('ARTIFACT_STORE', missing)).toBeNull();
    expect(await client.getComponent('ORCHESTRATOR', missing)).toBeNull();
    expect((await client.getComponent('ARTIFACT_STORE', store))!.configuration).toEqual({ path: '/tmp/stackyard-cli-store' });
  });

  it('registers a stack with -o/-a and --set, and lists, describes, updates, renames, copies and deletes it', async () => {
    const [orchestrator, store, registry, alerter, stack] = ['orch', 'store', 'registry', 'alerter', 'stack'].map(uniqueName);
    await Promise.all([
      cli('orchestrator', 'register', orchestrator, '-f', 'kubernetes', '--namespace', 'ml'),
      // Steps on a cluster read their inputs from a bucket: a local store is refused (below).
      cli('artifact-store', 'register', store, '-f', 's3', '--path', 's3://bucket/stackyard-cli'),
      cli('container-registry', 'register', registry, '-f', 'default', '--uri', 'localhost:5000'),
      cli('alerter', 'register', alerter, '-f', 'slack', '--default-channel-id', 'C123'),
    ]).then((results) => results.forEach(succeeded));

    const registered = await cli('stack', 'register', stack, '-o', orchestrator, '-a', store, '--description', 'CLI test', '--label', 'env=test', '--set');
    expect(succeeded(registered)).toBe(`Registered stack "${stack}".\nActive stack set to "${stack}".\n`);
    onTestFinished(() => client.setActiveStack('default').then(() => undefined));

    const [listJson, listText, getText, describeText] = await Promise.all([
      cli('stack', 'list', '--json'),
      cli('stack', 'list'),
      cli('stack', 'get'),
      cli('stack', 'describe'),
    ]);
    const listed = parsedJson(listJson).find((item: { name: string }) => item.name === stack);
    expect(listed).toMatchObject({ isActive: true, description: 'CLI test', labels: { env: 'test' } });
    expect(succeeded(listText)).toMatch(new RegExp(`│ \\* +│ ${stack} +│ ${orchestrator} +│ ${store} +│`));
    expect(succeeded(listText)).toMatch(/│ +│ default +│ default +│ default +│/);
    expect(succeeded(getText)).toBe(`${stack}\n`);
    const description = succeeded(describeText);
    expect(description).toMatch(new RegExp(`^Stack "${stack}" \\(active\\)\\n`));
    expect(description).toMatch(/^Description: +CLI test$/m);
    expect(description).toMatch(new RegExp(`│ Orchestrator +│ ${orchestrator} +│ kubernetes +│`));
    expect(description).toMatch(new RegExp(`│ Artifact store +│ ${store} +│ s3 +│`));
    expectFailure(
      await cli('stack', 'update', stack, '-a', 'default'),
      `Error: The orchestrator "${orchestrator}" (kubernetes) runs steps on other machines, which cannot read the local directory of the artifact store "default" (local)`,
    );

    // ZenML's -al reaches the alerter, not the artifact store.
    succeeded(await cli('stack', 'update', stack, '-c', registry, '-al', alerter));
    const componentsOf = async (name: string) =>
      Object.fromEntries((await client.getStack(name))!.components.map((component) => [component.type, component.name]));
    expect(await componentsOf(stack)).toEqual({ ORCHESTRATOR: orchestrator, ARTIFACT_STORE: store, CONTAINER_REGISTRY: registry, ALERTER: alerter });

    expect(succeeded(await cli('stack', 'remove-component', stack, '-c', '--alerter'))).toBe(
      `Removed the container registry, alerter from stack "${stack}".\n`,
    );
    expect(await componentsOf(stack)).toEqual({ ORCHESTRATOR: orchestrator, ARTIFACT_STORE: store });
    const [removeOrchestrator, taken, nothing] = await Promise.all([
      cli('stack', 'remove-component', stack, '-o'),
      cli('stack', 'register', stack, '-o', orchestrator, '-a', store),
      cli('stack', 'remove-component', stack),
    ]);
    expectFailure(removeOrchestrator, 'orchestrator can be replaced but not removed');
    expectFailure(taken, `Error: A stack named "${stack}" already exists`);
    expectFailure(nothing, 'Name the components to remove');

    const [copy, renamed] = [uniqueName('copy'), uniqueName('renamed')];
    expect(succeeded(await cli('stack', 'copy', stack, copy))).toBe(`Copied stack "${stack}" to "${copy}".\n`);
    expect(succeeded(await cli('stack', 'rename', copy, renamed))).toBe(`Renamed stack "${copy}" to "${renamed}".\n`);
    expect(await client.getStack(copy)).toBeNull();
    expect(await componentsOf(renamed)).toEqual({ ORCHESTRATOR: orchestrator, ARTIFACT_STORE: store });

    // Deleting asks first; without a terminal to ask on, it refuses.
    expectFailure(await cli('stack', 'delete', renamed), `Refusing to delete stack "${renamed}" without confirmation`);
    expect(await client.getStack(renamed)).not.toBeNull();
    expect(succeeded(await cli('stack', 'delete', renamed, '-y'))).toBe(`Deleted stack "${renamed}".\n`);
    expect(await client.getStack(renamed)).toBeNull();

    // The active stack cannot go; once another is active, -r takes the components no other stack uses.
    expectFailure(await cli('stack', 'delete', stack, '-y'), 'is your active stack');
    succeeded(await cli('stack', 'set', 'default'));
    const deleted = parsedJson(await cli('stack', 'delete', stack, '-y', '-r', '--json'));
    expect(deleted.deletedComponents).toEqual(
      expect.arrayContaining([
        { type: 'ORCHESTRATOR', name: orchestrator },
        { type: 'ARTIFACT_STORE', name: store },
      ]),
    );
    expect(await client.getComponent('ORCHESTRATOR', orchestrator)).toBeNull();
    expect(await client.getComponent('CONTAINER_REGISTRY', registry)).not.toBeNull();
  });

  it('exports a stack to a file or stdout and imports it, reusing identical components', async () => {
    const [orchestrator, store, stack, imported] = ['orch', 'store', 'stack', 'imported'].map(uniqueName);
    succeeded(await cli('orchestrator', 'register', orchestrator, '-f', 'kubernetes', '--namespace', 'ml'));
    succeeded(await cli('artifact-store', 'register', store, '-f', 's3', '--path', 's3://bucket/x', '--aws-access-key-id', 'AKIA-SECRET'));
    succeeded(await cli('stack', 'register', stack, '-o', orchestrator, '-a', store));

    const file = join(tempDir('stackyard-cli-export-'), 'stack.yaml');
    const [toFile, toStdout] = await Promise.all([cli('stack', 'export', stack, file), cli('stack', 'export', stack)]);
    expect(succeeded(toFile)).toBe(`Exported stack "${stack}" to ${file}.\n`);
    const yaml = readFileSync(file, 'utf8');
    expect(succeeded(toStdout)).toBe(yaml);
    expect(yaml).toContain(`stack_name: ${stack}`);
    expect(yaml).toContain('path: s3://bucket/x');
    expect(yaml).not.toContain('AKIA-SECRET');

    const importedText = succeeded(await cli('stack', 'import', imported, '-f', file));
    expect(importedText).toMatch(new RegExp(`^Imported stack "${imported}".\\n`));
    expect(importedText).toMatch(new RegExp(`│ orchestrator +│ ${orchestrator} +│ reused +│`));
    expect(importedText).toMatch(new RegExp(`│ artifact store +│ ${store} +│ reused +│`));
    expect(await client.getStack(imported)).toMatchObject({
      components: [{ name: orchestrator }, { name: store }],
    });

    // A component whose settings differ from every existing one is created, under a free name.
    const changed = join(dirname(file), 'changed.yaml');
    writeFileSync(changed, yaml.replace('namespace: ml', 'namespace: other'));
    const again = parsedJson(await cli('stack', 'import', uniqueName('again'), '-f', changed, '--json'));
    expect(again.createdComponents).toEqual([{ type: 'ORCHESTRATOR', name: `${orchestrator}-2` }]);
    expect(again.reusedComponents).toEqual([{ type: 'ARTIFACT_STORE', name: store }]);
    expectFailure(await cli('stack', 'import', '-f', file), `A stack named "${stack}" already exists`);
  });

  it('lists runs newest first with filters, and describes one by id or name with steps and outputs', async () => {
    const pipeline = uniqueName('pipeline');
    const steps = [{ name: 'load' }, { name: 'train', parents: ['load'] }];
    const first = await client.startRun({ pipeline, steps });
    const load = await client.startStep({ runId: first.id, name: 'load' });
    await client.reportStepOutputs(load.id, [{ name: 'data', uri: `/tmp/${pipeline}/load/data` }]);
    await client.finishStep({ stepRunId: load.id, status: 'COMPLETED' });
    const train = await client.startStep({ runId: first.id, name: 'train' });
    await client.reportStepOutputs(train.id, [{ name: 'model', uri: `/tmp/${pipeline}/train/model` }]);
    await client.finishStep({ stepRunId: train.id, status: 'COMPLETED' });
    await client.finishRun({ runId: first.id });

    const second = await client.startRun({ pipeline, steps, tags: ['nightly'] });
    const cachedLoad = await client.startStep({ runId: second.id, name: 'load' });
    await client.finishStep({ stepRunId: cachedLoad.id, status: 'CACHED', originalStepRunId: load.id });
    const failedTrain = await client.startStep({ runId: second.id, name: 'train' });
    await client.finishStep({ stepRunId: failedTrain.id, status: 'FAILED', errorMessage: 'loss went to NaN' });

    const [all, failed, limited, badStatus, byId, byName, byNameJson] = await Promise.all([
      cli('run', 'list', '--pipeline', pipeline, '--json'),
      cli('run', 'list', '--pipeline', pipeline, '--status', 'Failed', '--json'),
      cli('run', 'list', '--pipeline', pipeline, '--limit', '1'),
      cli('run', 'list', '--status', 'exploded'),
      cli('run', 'describe', second.id),
      cli('run', 'describe', first.name),
      cli('run', 'describe', first.name, '--json'),
    ]);
    expect(parsedJson(all).map((run: { name: string }) => run.name)).toEqual([second.name, first.name]);
    expect(parsedJson(failed)).toMatchObject([{ name: second.name, status: 'FAILED', pipeline: { name: pipeline }, stack: { name: 'default' } }]);
    const limitedText = succeeded(limited);
    expect(limitedText).toMatch(new RegExp(`│ ${second.name} +│ ${pipeline} +│ default +│ failed +│ \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +│`));
    expect(limitedText).not.toContain(first.name);
    expect(limitedText).toContain('Showing 1 of 2 runs');
    expectFailure(badStatus, /--status .*Expected one of initializing, running, completed, failed, cached, stopped/);

    const secondText = succeeded(byId);
    expect(secondText).toMatch(new RegExp(`^Run "${second.name}"\\n`));
    expect(secondText).toMatch(/^Status: +failed/m);
    expect(secondText).toMatch(new RegExp(`│ load +│ cached +│ [^│]+│ run "${first.name}" +│`));
    expect(secondText).toMatch(/│ train +│ failed +│/);
    expect(secondText).toContain('Step "train" failed: loss went to NaN');
    // The cached step shows the outputs it reused.
    expect(secondText).toMatch(new RegExp(`│ load +│ data +│ ${pipeline}::load::data v1 +│ /tmp/${pipeline}/load/data +│`));

    const firstText = succeeded(byName);
    expect(firstText).toMatch(/^Status: +completed$/m);
    expect(firstText).toContain(`/tmp/${pipeline}/train/model`);
    expect(parsedJson(byNameJson)).toMatchObject({ id: first.id, steps: [{ name: 'load' }, { name: 'train' }] });

    expectFailure(await cli('run', 'delete', first.name), 'Refusing to delete run');
    expect(succeeded(await cli('run', 'delete', first.name, '-y'))).toBe(`Deleted run "${first.name}".\n`);
    expect(await client.getRun(first.id)).toBeNull();
  });

  it('explains itself with --help and rejects unknown commands and options', async () => {
    const [stackHelp, registerHelp, unknownCommand, unknownOption, orchestratorHelp, alerterHelp] = await Promise.all([
      cli('stack', 'register', '--help'),
      cli('artifact-store', 'register', '--help'),
      cli('stak', 'list'),
      cli('stack', 'list', '--bogus'),
      cli('orchestrator', '--help'),
      cli('alerter', '--help'),
    ]);
    expect(succeeded(orchestratorHelp)).toMatch(/register .*Register an orchestrator of a flavor/);
    expect(succeeded(alerterHelp)).toMatch(/describe .*Show an alerter:/);
    expect(succeeded(registerHelp)).toMatch(/^Register an artifact store of a flavor/m);
    const stackHelpText = succeeded(stackHelp);
    expect(stackHelpText).toMatch(/^Usage: stackyard stack register \[options\] <name>/);
    expect(stackHelpText).toMatch(/-o, --orchestrator <name> +the orchestrator to use/);
    expect(stackHelpText).toMatch(/--alerter <name> +the alerter to use \(also -al\)/);
    expect(stackHelpText).toContain('--json');
    expect(succeeded(registerHelp)).toContain('--KEY=VALUE');
    expect(unknownCommand.code).toBe(1);
    expect(unknownCommand.stderr).toMatch(/^Error: unknown command 'stak'/);
    expectFailure(unknownOption, "Error: unknown option '--bogus'");
  });
});
