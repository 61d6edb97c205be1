// Orchestrators that run steps on other machines: the bullmq flavor, whose Redis URL keeps its
// password secret, and the stack rule that such an orchestrator never pairs with a local artifact
// store, at every path that makes a stack.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, succeeded, tempDir } from './cli-process';
import { databaseTargets, uniqueName, useTestServer, type TestServer } from './harness';
import { expectType, expectUnchanged, registerComponent, registerStack, RESULT_FIELDS, type MutationResult } from './registry-operations';

describe.each(databaseTargets)('remote orchestrators on $name', (target) => {
  const testServer = useTestServer(target);
  let server: TestServer;
  let s3Store: string;
  let localStore: string;
  beforeAll(async () => {
    server = testServer();
    s3Store = uniqueName('lake');
    localStore = uniqueName('disk');
    expectType(await registerComponent(server, { type: 'ARTIFACT_STORE', name: s3Store, flavor: 's3', configuration: { path: 's3://bucket/x' } }), 'StackComponent');
    expectType(await registerComponent(server, { type: 'ARTIFACT_STORE', name: localStore, flavor: 'local', configuration: { path: '/tmp/x' } }), 'StackComponent');
  });

  const component = async (name: string) =>
    (await server.gql(`query($name: String!) { component(type: ORCHESTRATOR, name: $name) { id configuration secretsSet } }`, { name })).component;
  const secretsOf = async (id: string) => (await server.gql(`query($id: ID!) { componentSecrets(id: $id) }`, { id })).componentSecrets;
  const update = async (name: string, configuration: Record<string, unknown>) =>
    (
      await server.gql(
        `mutation($name: String!, $configuration: JSONObject) { updateComponent(type: ORCHESTRATOR, name: $name, configuration: $configuration) {
          ${RESULT_FIELDS} ... on StackComponent { configuration secretsSet } } }`,
        { name, configuration },
      )
    ).updateComponent;

  it('registers a bullmq orchestrator whose Redis password is shown masked, kept encrypted and given whole to the step process', async () => {
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const name = uniqueName('queue');
    const url = `redis://worker:${password}@redis.internal:6380/2`;
    const registered = expectType(
      await registerComponent(server, { type: 'ORCHESTRATOR', name, flavor: 'bullmq', configuration: { redisUrl: url, attempts: 5, backoffSeconds: 0.5, stepTimeoutSeconds: 30 } }),
      'StackComponent',
    );
    expect(registered).toMatchObject({
      flavorName: 'bullmq',
      configuration: { redisUrl: 'redis://worker:****@redis.internal:6380/2', attempts: 5, backoffSeconds: 0.5, stepTimeoutSeconds: 30 },
      secretsSet: ['redisUrl'],
    });
    expect(JSON.stringify(registered)).not.toContain(password);
    expect(await secretsOf(registered.id as string)).toEqual({ redisUrl: url });
    const stored = await server.server.database.db.execute(sql`select configuration::text || secrets::text as row from stack_components where name = ${name}`);
    const storedText = JSON.stringify(stored);
    expect(storedText).toContain('enc:v1:');
    expect(storedText).not.toContain(password);

    // Changing another setting keeps the password; a new URL replaces it, one without a password drops the secret.
    expect(await update(name, { queue: 'training' })).toMatchObject({ configuration: { queue: 'training', redisUrl: 'redis://worker:****@redis.internal:6380/2' }, secretsSet: ['redisUrl'] });
    expect(await secretsOf(registered.id as string)).toEqual({ redisUrl: url });
    expect(await update(name, { redisUrl: 'rediss://:other@redis.internal' })).toMatchObject({ configuration: { redisUrl: 'rediss://:****@redis.internal' }, secretsSet: ['redisUrl'] });
    expect(await secretsOf(registered.id as string)).toEqual({ redisUrl: 'rediss://:other@redis.internal' });
    expect(await update(name, { redisUrl: 'redis://127.0.0.1:6379' })).toMatchObject({ configuration: { redisUrl: 'redis://127.0.0.1:6379' }, secretsSet: [] });
    expect(await secretsOf(registered.id as string)).toEqual({});

    // People see the URL once, masked; its stack is exported and snapshotted so too.
    expect(await update(name, { redisUrl: url })).toMatchObject({ secretsSet: ['redisUrl'] });
    const describedMasked = succeeded(await runCli(['orchestrator', 'describe', name], { url: server.url, configDir: tempDir('stackyard-cli-bullmq-') }));
    expect(describedMasked).toMatch(/│ redisUrl +│ redis:\/\/worker:\*\*\*\*@redis\.internal:6380\/2 +│/);
    expect(describedMasked).not.toContain('(secret, set)');
    expect(describedMasked).not.toContain(password);
    const stack = uniqueName('distributed');
    expectType(await registerStack(server, { name: stack, components: { orchestrator: name, artifactStore: s3Store } }), 'Stack');
    const { exportStack } = await server.gql(`query($name: String!) { exportStack(name: $name) { ... on ExportStackPayload { yaml } } }`, { name: stack });
    expect(exportStack.yaml).toContain('redisUrl: redis://worker:****@redis.internal:6380/2');
    expect(exportStack.yaml).not.toContain(password);
    const { startRun } = await server.gql(
      `mutation($stack: String!) { startRun(pipeline: "p", stack: $stack) { ... on PipelineRun { stackSnapshot { components { flavor configuration } } } } }`,
      { stack },
    );
    expect(JSON.stringify(startRun)).toContain('redis://worker:****@redis.internal:6380/2');
    expect(JSON.stringify(startRun)).not.toContain(password);
  });

  it('refuses bad bullmq settings, and a masked password that would lose the real one, changing nothing', async () => {
    const name = uniqueName('bad-queue');
    await expectUnchanged(server, async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{}, 'configuration.redisUrl'],
        [{ redisUrl: 'http://redis:6379' }, 'configuration.redisUrl'],
        [{ redisUrl: 'redis://:****@redis:6379' }, 'configuration.redisUrl'],
        [{ redisUrl: 'redis://[::1' }, 'configuration.redisUrl'],
        [{ redisUrl: 'redis://redis', attempts: 0 }, 'configuration.attempts'],
        [{ redisUrl: 'redis://redis', attempts: 1.5 }, 'configuration.attempts'],
        [{ redisUrl: 'redis://redis', backoffSeconds: -1 }, 'configuration.backoffSeconds'],
        [{ redisUrl: 'redis://redis', stepTimeoutSeconds: 0 }, 'configuration.stepTimeoutSeconds'],
        [{ redisUrl: 'redis://redis', queue: '' }, 'configuration.queue'],
        // BullMQ refuses ':' in queue names only when it opens the queue, after the run exists.
        [{ redisUrl: 'redis://redis', queue: 'team:steps' }, 'configuration.queue'],
        [{ redisUrl: 'redis://redis', queue: '   ' }, 'configuration.queue'],
        [{ redisUrl: 'redis://redis', queue: 'q'.repeat(101) }, 'configuration.queue'],
        // Names that print as something other than what they are.
        [{ redisUrl: 'redis://redis', queue: 'a\nb' }, 'configuration.queue'],
        [{ redisUrl: 'redis://redis', queue: 'steps\u202e' }, 'configuration.queue'],
        // Past Node's longest timer a timeout fires at once; past a day a backoff is a typo.
        [{ redisUrl: 'redis://redis', stepTimeoutSeconds: 3_000_000 }, 'configuration.stepTimeoutSeconds'],
        [{ redisUrl: 'redis://redis', backoffSeconds: 1e308 }, 'configuration.backoffSeconds'],
        // No host would be each machine's own Redis; a database must be a number.
        [{ redisUrl: 'redis://' }, 'configuration.redisUrl'],
        [{ redisUrl: 'redis:///0' }, 'configuration.redisUrl'],
        [{ redisUrl: 'redis://:secret@/0' }, 'configuration.redisUrl'],
        [{ redisUrl: 'redis://redis:6379/abc' }, 'configuration.redisUrl'],
        // A password in the query would be shown; it belongs in the user part, kept secret.
        [{ redisUrl: 'redis://redis:6379?password=hunter2' }, 'configuration.redisUrl'],
      ];
      for (const [configuration, field] of cases) {
        expectType(await registerComponent(server, { type: 'ORCHESTRATOR', name, flavor: 'bullmq', configuration }), 'ValidationError', field);
      }
    });
    const masked = await registerComponent(server, { type: 'ORCHESTRATOR', name, flavor: 'bullmq', configuration: { redisUrl: 'redis://:****@redis:6379' } });
    expect(masked.message).toMatch(/masked password/);
    const inQuery = await registerComponent(server, { type: 'ORCHESTRATOR', name, flavor: 'bullmq', configuration: { redisUrl: 'redis://redis:6379?password=hunter2' } });
    expect(inQuery.message).not.toContain('hunter2');
    // The longest timeout Node keeps, and settings at their bounds, are taken.
    expectType(
      await registerComponent(server, { type: 'ORCHESTRATOR', name, flavor: 'bullmq', configuration: { redisUrl: 'rediss://redis:6380/15', queue: 'team-steps.v2', stepTimeoutSeconds: 2_147_483, backoffSeconds: 86_400 } }),
      'StackComponent',
    );
  });

  it('imports an exported stack whose orchestrator has a password: the same component is reused, another password makes another component', async () => {
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const orchestrator = uniqueName('fleet');
    const stack = uniqueName('fleet-stack');
    expectType(await registerComponent(server, { type: 'ORCHESTRATOR', name: orchestrator, flavor: 'bullmq', configuration: { redisUrl: `redis://:${password}@redis.internal:6379/1` } }), 'StackComponent');
    expectType(await registerStack(server, { name: stack, components: { orchestrator, artifactStore: s3Store } }), 'Stack');
    const exported = (await server.gql(`query($name: String!) { exportStack(name: $name) { ${RESULT_FIELDS} ... on ExportStackPayload { yaml } } }`, { name: stack })).exportStack;
    const yaml = expectType(exported, 'ExportStackPayload').yaml as string;
    expect(yaml).toContain('redis://:****@redis.internal:6379/1');
    expect(yaml).not.toContain(password);
    type Imported = { reusedComponents: { id: string; name: string }[]; createdComponents: { id: string; name: string }[] };
    const importStack = async (name: string, text: string) =>
      (
        await server.gql<{ importStack: MutationResult & Partial<Imported> }>(
          `mutation($name: String, $yaml: String!) { importStack(yaml: $yaml, name: $name) {
            ${RESULT_FIELDS} ... on ImportStackPayload { stack { name } reusedComponents { id name } createdComponents { id name } } } }`,
          { name, yaml: text },
        )
      ).importStack;

    // The export as it is: its masked password finds the component it came from.
    const copy = expectType(await importStack(uniqueName('copy'), yaml), 'ImportStackPayload') as unknown as Imported;
    expect(copy.reusedComponents.map((reused: { name: string }) => reused.name)).toContain(orchestrator);
    expect(copy.createdComponents).toEqual([]);

    // Another password is another Redis: a new component holds it, the old one keeps its own.
    const otherPassword = `pw-${randomBytes(8).toString('hex')}`;
    const moved = expectType(await importStack(uniqueName('moved'), yaml.replace('****', otherPassword)), 'ImportStackPayload') as unknown as Imported;
    expect(moved.reusedComponents.map((reused: { name: string }) => reused.name)).not.toContain(orchestrator);
    const [created] = moved.createdComponents;
    expect(created.name).toMatch(new RegExp(`^${orchestrator}-\\d+$`));
    expect(await secretsOf(created.id)).toEqual({ redisUrl: `redis://:${otherPassword}@redis.internal:6379/1` });
    expect(await secretsOf((await component(orchestrator)).id)).toEqual({ redisUrl: `redis://:${password}@redis.internal:6379/1` });

    // The same password as the existing one reuses it.
    const same = expectType(await importStack(uniqueName('same'), yaml.replace('****', password)), 'ImportStackPayload') as unknown as Imported;
    expect(same.reusedComponents.map((reused: { name: string }) => reused.name)).toContain(orchestrator);

    // A masked password no component here matches cannot be imported: the password is unknown.
    await expectUnchanged(server, async () => {
      const elsewhere = await importStack(uniqueName('elsewhere'), yaml.replace('redis.internal', 'redis.elsewhere'));
      expectType(elsewhere, 'ValidationError', 'yaml.components.orchestrator.configuration.redisUrl');
      expect(elsewhere.message).toMatch(/masked password \*\*\*\*.*give the real password/);
    });
  });

  it('refuses a remote orchestrator with a local artifact store wherever a stack is made, naming both', async () => {
    const orchestrators = { bullmq: uniqueName('bull'), kubernetes: uniqueName('k8s'), airflow: uniqueName('air') };
    const configurations = { bullmq: { redisUrl: 'redis://redis:6379' }, kubernetes: { namespace: 'ml' }, airflow: {} };
    for (const [flavor, name] of Object.entries(orchestrators)) {
      expectType(
        await registerComponent(server, { type: 'ORCHESTRATOR', name, flavor, configuration: configurations[flavor as keyof typeof configurations] }),
        'StackComponent',
      );
    }
    await expectUnchanged(server, async () => {
      for (const [flavor, name] of Object.entries(orchestrators)) {
        for (const store of [localStore, 'default']) {
          const refused = expectType(
            await registerStack(server, { name: uniqueName('refused'), components: { orchestrator: name, artifactStore: store } }),
            'ValidationError',
            'components.artifactStore',
          );
          expect(refused.message).toContain(`"${name}" (${flavor})`);
          expect(refused.message).toContain(`"${store}" (local)`);
          expect(refused.message).toMatch(/runs steps on other machines, which cannot read the local directory/);
          // The advice names only stores the SDK can run (gcs registers, but cannot run yet).
          expect(refused.message).toMatch(/use a remote artifact store the SDK runs, s3 or azure$/);
        }
      }
    });

    // Replacing either half of a valid stack.
    const local = uniqueName('local-stack');
    const remote = uniqueName('remote-stack');
    expectType(await registerStack(server, { name: local, components: { orchestrator: 'default', artifactStore: localStore } }), 'Stack');
    expectType(await registerStack(server, { name: remote, components: { orchestrator: orchestrators.bullmq, artifactStore: s3Store } }), 'Stack');
    const updateStack = async (name: string, components: Record<string, string>) =>
      (
        await server.gql(
          `mutation($name: String!, $components: StackComponentsInput) { updateStack(name: $name, components: $components) { ${RESULT_FIELDS} ... on Stack { components { type name } } } }`,
          { name, components },
        )
      ).updateStack;
    await expectUnchanged(server, async () => {
      const toRemote = expectType(await updateStack(local, { orchestrator: orchestrators.airflow }), 'ValidationError', 'components.orchestrator');
      expect(toRemote.message).toContain(`"${orchestrators.airflow}" (airflow)`);
      expect(toRemote.message).toContain(`"${localStore}" (local)`);
      expectType(await updateStack(remote, { artifactStore: localStore }), 'ValidationError', 'components.artifactStore');
      expectType(await updateStack(remote, { orchestrator: orchestrators.kubernetes, artifactStore: 'default' }), 'ValidationError', 'components.artifactStore');
    });
    // Both halves replaced together, into a valid pair, is fine.
    expect(await updateStack(remote, { orchestrator: 'default', artifactStore: localStore })).toMatchObject({
      __typename: 'Stack',
      components: [{ type: 'ORCHESTRATOR', name: 'default' }, { type: 'ARTIFACT_STORE', name: localStore }],
    });
    expect(await updateStack(remote, { orchestrator: orchestrators.kubernetes, artifactStore: s3Store })).toMatchObject({ __typename: 'Stack' });

    // A stack registered before the rule existed may break it; copying it is refused.
    const legacy = uniqueName('legacy');
    expectType(await registerStack(server, { name: legacy, components: { orchestrator: 'default', artifactStore: localStore } }), 'Stack');
    await server.server.database.db.execute(sql`update stack_component_assignments set component_id =
      (select id from stack_components where type = 'orchestrator' and name = ${orchestrators.kubernetes})
      where component_type = 'orchestrator' and stack_id = (select id from stacks where name = ${legacy})`);
    await expectUnchanged(server, async () => {
      const { copyStack } = await server.gql(`mutation($name: String!, $newName: String!) { copyStack(name: $name, newName: $newName) { ${RESULT_FIELDS} } }`, {
        name: legacy,
        newName: uniqueName('copy'),
      });
      expectType(copyStack, 'ValidationError', 'components.artifactStore');
    });

    // An import that would make such a stack creates nothing, not even its components.
    const yaml = [
      'format_version: 1',
      `stack_name: ${uniqueName('imported')}`,
      'components:',
      '  orchestrator:',
      `    name: ${uniqueName('new-k8s')}`,
      '    flavor: kubernetes',
      '    configuration: { namespace: imported }',
      '  artifact_store:',
      `    name: ${uniqueName('new-disk')}`,
      '    flavor: local',
      '    configuration: { path: /tmp/imported }',
    ].join('\n');
    await expectUnchanged(server, async () => {
      const { importStack } = await server.gql(`mutation($yaml: String!) { importStack(yaml: $yaml) { ${RESULT_FIELDS} } }`, { yaml });
      expectType(importStack, 'ValidationError', 'components.artifactStore');
      expect(importStack.message).toMatch(/\(kubernetes\) runs steps on other machines/);
    });
  });
});
