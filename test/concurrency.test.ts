// Concurrent writers of one name: exactly one wins, the rest get the typed error. Concurrent
// reports on the steps of one run: the run's status counts every one of them, and a run ended
// while its steps end neither deadlocks nor leaves a step running.
import { beforeAll, describe, expect, it } from 'vitest';
import { databaseTargets, uniqueName, useTestServer, type TestServer } from './harness';
import { registerComponent, registerStack } from './registry-operations';
import { StackyardClient, StackyardError } from '../client';

const WRITERS = 10;

/** A run of a new pipeline expecting WRITERS steps, all started at once. */
async function startedRun(client: StackyardClient, pipeline: string) {
  const names = Array.from({ length: WRITERS }, (_, index) => `step_${index}`);
  const run = await client.startRun({ pipeline: uniqueName(pipeline), stack: 'default', steps: names.map((name) => ({ name })) });
  const steps = await Promise.all(names.map((name) => client.startStep({ runId: run.id, name })));
  return { run, steps };
}

describe.each(databaseTargets)('concurrent registrations on $name', (target) => {
  const testServer = useTestServer(target);
  let server: TestServer;
  beforeAll(() => {
    server = testServer();
  });

  it('registers a component name exactly once', async () => {
    const name = uniqueName('race');
    const results = await Promise.all(
      Array.from({ length: WRITERS }, (_, index) =>
        registerComponent(server, { type: 'ARTIFACT_STORE', name, flavor: 'local', configuration: { path: `/race/${index}` } }),
      ),
    );
    const typenames = results.map((result) => result.__typename).sort();
    expect(typenames.filter((t) => t === 'StackComponent')).toHaveLength(1);
    expect(typenames.filter((t) => t === 'NameTakenError')).toHaveLength(WRITERS - 1);
    const count = await server.gql(`query($n: String!) { components(nameContains: $n) { ... on QueryComponentsConnection { totalCount } } }`, { n: name });
    expect(count.components.totalCount).toBe(1);
  });

  it('registers a stack name exactly once', async () => {
    const name = uniqueName('race-stack');
    const results = await Promise.all(
      Array.from({ length: WRITERS }, () => registerStack(server, { name, components: { orchestrator: 'default', artifactStore: 'default' } })),
    );
    const typenames = results.map((result) => result.__typename);
    expect(typenames.filter((t) => t === 'Stack')).toHaveLength(1);
    expect(typenames.filter((t) => t === 'NameTakenError')).toHaveLength(WRITERS - 1);
  });

  it('never leaves a stack pointing at a component deleted while the stack was registered', async () => {
    for (let round = 0; round < 5; round += 1) {
      const store = uniqueName('contested');
      await registerComponent(server, { type: 'ARTIFACT_STORE', name: store, flavor: 'local', configuration: { path: '/c' } });
      const [registered, deleted] = await Promise.all([
        registerStack(server, { name: uniqueName('contender'), components: { orchestrator: 'default', artifactStore: store } }),
        server.gql(`mutation($n: String!) { deleteComponent(type: ARTIFACT_STORE, name: $n) { __typename } }`, { n: store }),
      ]);
      // Either order is fine; both winning is not.
      const stackWon = registered.__typename === 'Stack';
      const deleteWon = deleted.deleteComponent.__typename === 'DeleteComponentPayload';
      expect(stackWon && deleteWon, JSON.stringify({ registered, deleted })).toBe(false);
      expect(stackWon || deleteWon).toBe(true);
    }
  });

  it('deletes a shared component when both stacks that share it are deleted recursively at once', async () => {
    // As if the two deletes ran one after the other: the second sees the first's stack gone.
    for (let round = 0; round < 10; round += 1) {
      const shared = uniqueName('shared');
      await registerComponent(server, { type: 'ARTIFACT_STORE', name: shared, flavor: 'local', configuration: { path: '/shared' } });
      const stackNames = [uniqueName('sharer-a'), uniqueName('sharer-b')];
      for (const name of stackNames) {
        await registerStack(server, { name, components: { orchestrator: 'default', artifactStore: shared } });
      }
      const results = await Promise.all(
        stackNames.map((name) =>
          server.gql(
            `mutation($n: String!) { deleteStack(name: $n, recursive: true) { __typename ... on DeleteStackPayload { deletedComponents { name } } } }`,
            { n: name },
          ),
        ),
      );
      const deleted = results.flatMap((result) => result.deleteStack.deletedComponents.map((component: { name: string }) => component.name));
      expect(deleted, `round ${round}`).toEqual([shared]);
      const left = await server.gql(`query($n: String!) { component(type: ARTIFACT_STORE, name: $n) { id } }`, { n: shared });
      expect(left.component).toBeNull();
    }
  });

  it('ends a run whose steps start and finish all at once, counting every step', async () => {
    const client = new StackyardClient({ url: server.url, env: {} });
    for (let round = 0; round < 3; round += 1) {
      const { run, steps } = await startedRun(client, 'race-run');
      expect((await client.getRun(run.id))!.status, `round ${round}`).toBe('RUNNING');
      await Promise.all(steps.map((step) => client.finishStep({ stepRunId: step.id, status: 'COMPLETED' })));
      const finished = (await client.getRun(run.id))!;
      expect(finished.status, `round ${round}`).toBe('COMPLETED');
      expect(finished.endedAt, `round ${round}`).not.toBeNull();
    }
  });

  it('stops a run while its steps end: every call answers, and no step is left running', async () => {
    const client = new StackyardClient({ url: server.url, env: {} });
    for (let round = 0; round < 3; round += 1) {
      const { run, steps } = await startedRun(client, 'stop-race');
      // finishRun locks the run, then its steps; finishStep must take them in the same order, or
      // Postgres breaks the deadlock by failing one of them with an internal error.
      const finishes = steps.map((step) => () => client.finishStep({ stepRunId: step.id, status: 'COMPLETED' }));
      const half = WRITERS / 2;
      const calls = await Promise.allSettled([
        ...finishes.slice(0, half).map((finish) => finish()),
        client.finishRun({ runId: run.id, status: 'STOPPED', reason: 'stopped by the test' }),
        ...finishes.slice(half).map((finish) => finish()),
      ]);
      const stop = calls.splice(half, 1)[0];
      // Each call answers, or is refused with the typed error: a step the run stopped first can no
      // longer complete, and a run whose steps all completed first can no longer be stopped.
      for (const call of [...calls, stop]) {
        if (call.status === 'rejected') {
          expect(call.reason, `round ${round}`).toBeInstanceOf(StackyardError);
          expect((call.reason as StackyardError).type, `round ${round}: ${String(call.reason)}`).toBe('IllegalOperationError');
        }
      }
      const finished = (await client.getRun(run.id))!;
      expect(finished.status, `round ${round}`).toBe(stop.status === 'fulfilled' ? 'STOPPED' : 'COMPLETED');
      expect(finished.endedAt, `round ${round}`).not.toBeNull();
      expect(finished.steps, `round ${round}`).toHaveLength(WRITERS);
      // Completed before the run stopped, or stopped with it; none left running.
      expect(finished.steps.filter((step) => step.status !== 'COMPLETED' && step.status !== 'STOPPED'), `round ${round}`).toEqual([]);
    }
  });

  it('stops a run while its steps report outputs and end with them: every call answers, and what was stored stays', async () => {
    const client = new StackyardClient({ url: server.url, env: {} });
    for (let round = 0; round < 3; round += 1) {
      const { run, steps } = await startedRun(client, 'stop-report-race');
      const output = (index: number) => ({ name: 'model', uri: `s3://bucket/race/${round}/${index}`, sizeBytes: 1 });
      // Half the steps report their outputs, half end with them: both store versions and touch the
      // run, so both must lock the run before the step, as finishRun does.
      const calls = await Promise.allSettled([
        ...steps.slice(0, WRITERS / 2).map((step, index) => client.reportStepOutputs(step.id, [output(index)])),
        client.finishRun({ runId: run.id, status: 'STOPPED', reason: 'stopped by the test' }),
        ...steps.slice(WRITERS / 2).map((step, index) => client.finishStep({ stepRunId: step.id, status: 'COMPLETED', outputs: [output(WRITERS / 2 + index)] })),
      ]);
      for (const call of calls) {
        if (call.status === 'rejected') {
          expect(call.reason, `round ${round}`).toBeInstanceOf(StackyardError);
          expect((call.reason as StackyardError).type, `round ${round}: ${String(call.reason)}`).toBe('IllegalOperationError');
        }
      }
      const finished = (await client.getRun(run.id))!;
      expect(finished.endedAt, `round ${round}`).not.toBeNull();
      expect(finished.steps.filter((step) => step.status !== 'COMPLETED' && step.status !== 'STOPPED'), `round ${round}`).toEqual([]);
      // Every report that answered kept its output; a step that completed has its output.
      const byId = new Map(finished.steps.map((step) => [step.id, step]));
      calls.forEach((call, index) => {
        if (call.status !== 'fulfilled' || index === WRITERS / 2) return;
        const step = byId.get(steps[index < WRITERS / 2 ? index : index - 1].id)!;
        expect(step.outputs.map((stored) => stored.name), `round ${round}, ${step.name}`).toEqual(['model']);
      });
    }
  });
});
