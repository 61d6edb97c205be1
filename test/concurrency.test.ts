// Concurrent writers of one name: exactly one wins, the rest get the typed error. Concurrent
// reports on the steps of one run: the run's status counts every one of them, and a run ended
// while its steps end neither deadlocks nor leaves a step running.
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { databaseId, databaseTargets, uniqueName, until, useTestServer, type TestServer } from './harness';
import { RESULT_FIELDS, registerComponent, registerStack } from './registry-operations';
import { StackyardClient, StackyardError } from '../client';

const WRITERS = 10;

/** A run of a new pipeline expecting WRITERS steps, all started at once. */
async function startedRun(client: StackyardClient, pipeline: string) {
  const names = Array.from({ length: WRITERS }, (_, index) => `step_${index}`);
  const run = await client.startRun({ pipeline: uniqueName(pipeline), stack: 'default', steps: names.map((name) => ({ name })) });
  const steps = await Promise.all(names.map((name) => client.startStep({ runId: run.id, name })));
  return { run, steps };
}

/** The database id a global ID names. */

/** Waits till a session of the database waits for a lock: the server's, for one the test's own session holds. */
function untilLockWait(session: pg.Client, what: string) {
  return until(what, async () => {
    const { rows } = await session.query(`SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
    return rows[0].waiting > 0;
  });
}

type Statement = [text: string, values: unknown[]];

/**
 * Sends a request while a session of the test's own plays a writer that holds some rows: once
 * the request waits for them, the writer locks what it would lock next, without waiting (a wait
 * there would be a deadlock), and commits. Answers the request's answer.
 */
async function besideWriter<T>(server: TestServer, writer: { holds: Statement[]; request: () => Promise<T>; waitingFor: string; next: Statement }): Promise<T> {
  const session = new pg.Client({ connectionString: server.databaseLocation });
  await session.connect();
  try {
    await session.query('BEGIN');
    for (const [text, values] of writer.holds) await session.query(text, values);
    const answer = writer.request();
    answer.catch(() => {}); // awaited below, once the writer is done
    await untilLockWait(session, writer.waitingFor);
    await session.query(...writer.next);
    await session.query('COMMIT');
    return await answer;
  } finally {
    await session.end();
  }
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

  it('imports one stack YAML several times at once: each import registers its stack, and its new component once', async () => {
    const client = new StackyardClient({ url: server.url, env: {} });
    for (let round = 0; round < 5; round += 1) {
      const store = uniqueName('imported-store');
      await client.registerComponent({ type: 'ARTIFACT_STORE', name: store, flavor: 'local', configuration: { path: `/${store}` } });
      const exported = uniqueName('exported');
      await client.registerStack({ name: exported, components: { orchestrator: 'default', artifactStore: store } });
      // Another path: no store here has these settings, so each import registers one, under a
      // free name, and the imports all choose the same one.
      const yaml = (await client.exportStack(exported)).replace(`/${store}`, `/${store}-elsewhere`);
      const imports = await Promise.allSettled(Array.from({ length: 3 }, () => client.importStack(yaml, uniqueName('imported'))));
      // As if they had run one after the other: the first registers the store, the others reuse it.
      const stores = imports.map((imported) => {
        expect(imported.status, `round ${round}: ${imported.status === 'rejected' ? String(imported.reason) : ''}`).toBe('fulfilled');
        const { stack } = (imported as PromiseFulfilledResult<Awaited<ReturnType<StackyardClient['importStack']>>>).value;
        return stack.components.find((component) => component.type === 'ARTIFACT_STORE')!.name;
      });
      expect(new Set(stores), `round ${round}`).toEqual(new Set([`${store}-2`]));
    }
  });

  it('imports a stack whose component is deleted meanwhile: registered anew, or refused naming the YAML, never the wrong field', async () => {
    const client = new StackyardClient({ url: server.url, env: {} });
    for (let round = 0; round < 8; round += 1) {
      const store = uniqueName('vanishing-store');
      await client.registerComponent({ type: 'ARTIFACT_STORE', name: store, flavor: 'local', configuration: { path: `/${store}` } });
      const exported = uniqueName('exported');
      await client.registerStack({ name: exported, components: { orchestrator: 'default', artifactStore: store } });
      const yaml = await client.exportStack(exported);
      await client.deleteStack(exported);
      // The import reuses the store unless the delete comes first; the two race.
      const [imported, deleted] = await Promise.allSettled([client.importStack(yaml, uniqueName('imported')), client.deleteComponent({ type: 'ARTIFACT_STORE', name: store })]);
      if (imported.status === 'rejected') {
        expect(imported.reason, `round ${round}`).toMatchObject({ field: expect.stringMatching(/^yaml\.components\./) });
        continue;
      }
      const importedStore = imported.value.stack.components.find((component) => component.type === 'ARTIFACT_STORE')!.name;
      // A store the stack took cannot be deleted; one deleted first is registered anew (its name is free).
      if (deleted.status === 'rejected') expect(deleted.reason, `round ${round}`).toMatchObject({ type: 'IllegalOperationError' });
      expect(await client.getComponent('ARTIFACT_STORE', importedStore), `round ${round}`).not.toBeNull();
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

  it('deletes a run while its steps end, report and log, and workers name them: every call answers, and nothing of the run stays', async () => {
    const client = new StackyardClient({ url: server.url, env: {} });
    for (let round = 0; round < 3; round += 1) {
      const { run, steps } = await startedRun(client, 'delete-race');
      const stepIds = steps.map((step) => step.id);
      const worker = (index: number) => ({ name: uniqueName(`delete-race-${index}`), host: 'h', pid: index, queue: 'q', concurrency: WRITERS, currentStepRunIds: stepIds });
      // Deleting the run locks it, then its steps, then what refers to them. Every writer of those
      // rows must take them in that order, or Postgres breaks the deadlock by failing one of them.
      const calls = await Promise.allSettled([
        ...steps.slice(0, 3).map((step) => client.finishStep({ stepRunId: step.id, status: 'COMPLETED', outputs: [{ name: 'model', uri: `s3://bucket/delete-race/${step.id}`, sizeBytes: 1 }] })),
        client.reportStepOutputs(steps[3].id, [{ name: 'model', uri: `s3://bucket/delete-race/${steps[3].id}`, sizeBytes: 1 }]),
        ...[0, 1, 2].map((index) => client.workerHeartbeat(worker(index))),
        client.heartbeat(run.id),
        client.logMetadata(steps[4].id, { note: round }),
        client.logMetrics(run.id, steps[5].id, [{ name: 'loss', value: 0.5, step: 1, timestamp: new Date().toISOString() }]),
        client.deleteRun(run.id),
        ...[3, 4].map((index) => client.workerHeartbeat(worker(index))),
        client.finishStep({ stepRunId: steps[6].id, status: 'FAILED', errorMessage: 'failed in the race' }),
        client.finishRun({ runId: run.id, status: 'STOPPED', reason: 'stopped by the test' }),
      ]);
      const deleted = calls.find((call) => call.status === 'fulfilled' && (call.value as { deletedId?: string }).deletedId === run.id);
      expect(deleted, `round ${round}: ${calls.map((call) => (call.status === 'rejected' ? String(call.reason) : 'ok')).join('; ')}`).toBeDefined();
      // Each other call answers, or is refused with a typed error: what it names is gone, or ended.
      for (const call of calls) {
        if (call.status === 'rejected') {
          expect(call.reason, `round ${round}`).toBeInstanceOf(StackyardError);
          expect(['NotFoundError', 'IllegalOperationError'], `round ${round}: ${String(call.reason)}`).toContain((call.reason as StackyardError).type);
        }
      }
      expect(await client.getRun(run.id), `round ${round}`).toBeNull();
      const listed = await client.workers();
      expect(listed.filter((listedWorker) => listedWorker.currentSteps.length > 0 && listedWorker.name.includes('delete-race')), `round ${round}`).toEqual([]);
    }
  });

  it('deletes an artifact store while steps report outputs into it: each report stores them, or is told the store is gone', async () => {
    const client = new StackyardClient({ url: server.url, env: {} });
    for (let round = 0; round < 8; round += 1) {
      const store = await client.registerComponent({ type: 'ARTIFACT_STORE', name: uniqueName('doomed-store'), flavor: 'local', configuration: { path: '/doomed' } });
      const { steps } = await startedRun(client, 'store-delete-race');
      const output = (index: number) => ({ name: 'model', uri: `file:///doomed/${round}/${index}`, artifactStoreId: store.id });
      // A report reads the store, then inserts versions naming it: the delete in between must
      // leave the report a typed answer, not a foreign key violation.
      const calls = await Promise.allSettled([
        ...steps.slice(0, 4).map((step, index) => client.reportStepOutputs(step.id, [output(index)])),
        client.deleteComponent({ type: 'ARTIFACT_STORE', name: store.name }),
        ...steps.slice(4, 8).map((step, index) => client.finishStep({ stepRunId: step.id, status: 'COMPLETED', outputs: [output(4 + index)] })),
      ]);
      expect(calls[4], `round ${round}`).toMatchObject({ status: 'fulfilled' });
      for (const call of calls) {
        if (call.status === 'rejected') {
          expect(call.reason, `round ${round}`).toBeInstanceOf(StackyardError);
          expect({ type: (call.reason as StackyardError).type, field: (call.reason as StackyardError).field }, `round ${round}: ${String(call.reason)}`).toEqual({
            type: 'NotFoundError',
            field: 'outputs.0.artifactStoreId',
          });
        }
      }
    }
  });

  it.runIf(target.name === 'postgres')('deletes a stack while a writer holds one of its runs, leaving the writer free to end the run', async () => {
    const client = new StackyardClient({ url: server.url, env: {} });
    const stackName = uniqueName('doomed-stack');
    const stack = await client.registerStack({ name: stackName, components: { orchestrator: 'default', artifactStore: 'default' } });
    const run = await client.startRun({ pipeline: uniqueName('doomed-stack'), stack: stackName });
    // Another session plays a writer of the run (stopRun, say): it holds the run, and its next
    // update of the run has the foreign key check lock the run's stack, KEY SHARE. The delete
    // sets the run's stack to null, so it waits for the run; holding the stack FOR UPDATE
    // meanwhile, it would make the writer wait for it in turn: a deadlock.
    const deleted = await besideWriter(server, {
      holds: [['SELECT 1 FROM pipeline_runs WHERE id = $1 FOR NO KEY UPDATE', [databaseId(run.id)]]],
      request: () => client.deleteStack(stackName),
      waitingFor: 'the delete to wait for the run',
      next: ['SELECT 1 FROM stacks WHERE id = $1 FOR KEY SHARE NOWAIT', [databaseId(stack.id)]],
    });
    expect(deleted).toMatchObject({ deletedId: stack.id });
    expect((await client.getRun(run.id))!.stackSnapshot.name).toBe(stackName);
  });

  it.runIf(target.name === 'postgres')('registers a stack while a recursive delete holds one of its components, taking them in the order the delete does', async () => {
    const client = new StackyardClient({ url: server.url, env: {} });
    // A recursive deleteStack locks the components it may delete in id order. An orchestrator
    // that sorts after the store: a registration that took it first (its type comes first) would
    // hold it while it waits for the store the delete holds, and the delete would wait for it.
    const store = await client.registerComponent({ type: 'ARTIFACT_STORE', name: uniqueName('ordered-store'), flavor: 'local', configuration: { path: '/ordered' } });
    let orchestrator;
    do {
      orchestrator = await client.registerComponent({ type: 'ORCHESTRATOR', name: uniqueName('ordered-orchestrator'), flavor: 'local' });
    } while (databaseId(orchestrator.id) < databaseId(store.id));
    const stackName = uniqueName('ordered');
    const registered = await besideWriter(server, {
      holds: [['SELECT 1 FROM stack_components WHERE id = $1 FOR UPDATE', [databaseId(store.id)]]],
      request: () => client.registerStack({ name: stackName, components: { orchestrator: orchestrator.name, artifactStore: store.name } }),
      waitingFor: 'the registration to wait for the store',
      next: ['SELECT 1 FROM stack_components WHERE id = $1 FOR UPDATE NOWAIT', [databaseId(orchestrator.id)]],
    });
    expect(registered.components.map((component) => component.name).sort()).toEqual([orchestrator.name, store.name].sort());
  });

  it.runIf(target.name === 'postgres')('ends a step as cached only with the outputs of its original: a delete of the original in progress is waited for', async () => {
    const client = new StackyardClient({ url: server.url, env: {} });
    const pipeline = uniqueName('cached-race');
    const originalRun = await client.startRun({ pipeline, stack: 'default' });
    const original = await client.startStep({ runId: originalRun.id, name: 'train' });
    await client.finishStep({ stepRunId: original.id, status: 'COMPLETED', outputs: [{ name: 'model', uri: 's3://bucket/cached-race/model' }] });
    const run = await client.startRun({ pipeline, stack: 'default' });
    const step = await client.startStep({ runId: run.id, name: 'train' });
    // Another session deletes the original's run, and has not committed yet. The cached step
    // copies the original's outputs: copied from a look taken before the delete commits, and
    // after the original was found, they were none, and the step was cached without outputs.
    const deleter = new pg.Client({ connectionString: server.databaseLocation });
    await deleter.connect();
    try {
      await deleter.query('BEGIN');
      await deleter.query('DELETE FROM pipeline_runs WHERE id = $1', [databaseId(originalRun.id)]);
      const finishing = client.finishStep({ stepRunId: step.id, status: 'CACHED', originalStepRunId: original.id });
      const waiting = untilLockWait(deleter, 'the cached step to wait for the delete of its original').then(() => 'waited');
      waiting.catch(() => {}); // its session ends early when the step answers first
      const answered = finishing.then(
        () => 'answered',
        () => 'answered',
      );
      expect(await Promise.race([answered, waiting])).toBe('waited');
      await deleter.query('COMMIT');
      await expect(finishing).rejects.toMatchObject({ type: 'NotFoundError', field: 'originalStepRunId' });
    } finally {
      await deleter.end();
    }
    expect((await client.getRun(run.id))!.steps[0]).toMatchObject({ status: 'RUNNING' });
  });

  it.runIf(target.name === 'postgres')('answers a report that Postgres aborted to break a deadlock, by running it again', async () => {
    const client = new StackyardClient({ url: server.url, env: {} });
    const { run, steps } = await startedRun(client, 'deadlock');
    // Another program's session takes the step, then the run: the opposite of the order a report
    // takes them in, so the two deadlock. It looks for deadlocks only after a minute, so the
    // server's session finds this one first, and Postgres aborts the report.
    const other = new pg.Client({ connectionString: server.databaseLocation });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(`SET LOCAL deadlock_timeout = '60s'`);
      await other.query('SELECT 1 FROM step_runs WHERE id = $1 FOR UPDATE', [databaseId(steps[0].id)]);
      const finishing = client.finishStep({ stepRunId: steps[0].id, status: 'COMPLETED' });
      finishing.catch(() => {}); // awaited below, once the deadlock is made
      await untilLockWait(other, 'the report to hold the run and wait for the step');
      await other.query('SELECT 1 FROM pipeline_runs WHERE id = $1 FOR UPDATE', [databaseId(run.id)]);
      await other.query('ROLLBACK');
      expect(await finishing).toMatchObject({ id: steps[0].id, status: 'COMPLETED' });
    } finally {
      await other.end();
    }
    expect((await client.getRun(run.id))!.steps.find((step) => step.id === steps[0].id)).toMatchObject({ status: 'COMPLETED' });
  });
});

describe.each(databaseTargets)("an admin's deletes while another user works, on $name", (target) => {
  const adminToken = `sy_test_${randomBytes(16).toString('hex')}`;
  const testServer = useTestServer(target, { adminToken });

  it("answers each of the user's writes, and an admin's token for it, without an internal error", async () => {
    const server = testServer();
    const admin = new StackyardClient({ url: server.url, token: adminToken, env: {} });
    for (let round = 0; round < 6; round += 1) {
      const name = uniqueName('doomed-user');
      await admin.createUser(name, 'EDITOR');
      const { token } = await admin.createApiToken({ name: 'work', userName: name });
      const asUser = (query: string, variables: Record<string, unknown>) => server.request(query, variables, token);
      const asAdmin = (query: string, variables: Record<string, unknown>) => server.request(query, variables, adminToken);
      // Each write records the user who made it; the delete lands between the request's
      // authentication and that write.
      const responses = await Promise.all([
        asUser(`mutation($p: String!) { startRun(pipeline: $p, stack: "default") { ${RESULT_FIELDS} } }`, { p: uniqueName('p') }),
        asUser(`mutation($n: String!) { registerComponent(type: ARTIFACT_STORE, name: $n, flavor: "local", configuration: { path: "/u" }) { ${RESULT_FIELDS} } }`, { n: uniqueName('c') }),
        asUser(`mutation($n: String!) { registerStack(name: $n, components: { orchestrator: "default", artifactStore: "default" }) { ${RESULT_FIELDS} } }`, { n: uniqueName('s') }),
        asAdmin(`mutation($u: String!) { createApiToken(name: "more", userName: $u) { ${RESULT_FIELDS} } }`, { u: name }),
        asAdmin(`mutation($u: String!) { deleteUser(name: $u) { ${RESULT_FIELDS} } }`, { u: name }),
        asUser(`mutation($n: String!) { copyStack(name: "default", newName: $n) { ${RESULT_FIELDS} } }`, { n: uniqueName('s') }),
        asAdmin(`mutation($u: String!) { createApiToken(name: "late", userName: $u) { ${RESULT_FIELDS} } }`, { u: name }),
        asUser(`mutation($p: String!) { startRun(pipeline: $p) { ${RESULT_FIELDS} } }`, { p: uniqueName('p') }),
      ]);
      // A write answers, or is refused: the user is gone (NotFoundError), or so is its token (401).
      for (const response of responses) {
        const errors = response.errors ?? [];
        expect(errors.filter((error) => error.extensions?.code !== 'UNAUTHENTICATED'), `round ${round}`).toEqual([]);
        const result = Object.values(response.data ?? {})[0] as { __typename: string; message?: string } | undefined;
        if (result?.message !== undefined) expect(result.__typename, `round ${round}: ${result.message}`).toBe('NotFoundError');
      }
      expect(responses[4].data!.deleteUser.__typename, `round ${round}`).toBe('DeleteUserPayload');
      expect((await admin.users()).map((user) => user.name), `round ${round}`).not.toContain(name);
    }
  });

  it.runIf(target.name === 'postgres')('deletes a user while writers hold its run and its stack, leaving them free to finish', async () => {
    const server = testServer();
    const admin = new StackyardClient({ url: server.url, token: adminToken, env: {} });
    const name = uniqueName('doomed-user');
    const user = await admin.createUser(name, 'EDITOR');
    const { token } = await admin.createApiToken({ name: 'work', userName: name });
    const asUser = new StackyardClient({ url: server.url, token, env: {} });
    const stackName = uniqueName('doomed-user-stack');
    const stack = await asUser.registerStack({ name: stackName, components: { orchestrator: 'default', artifactStore: 'default' } });
    const run = await asUser.startRun({ pipeline: uniqueName('doomed-user'), stack: stackName });
    // Another session plays the user's writers: one holds the run (stopRun, say), one the stack
    // (startRun, which locks it FOR SHARE); next, each locks the user KEY SHARE (the run's foreign
    // key check, the creator startRun records). The delete sets the creator of both to null, so
    // it waits for them; holding the user FOR UPDATE meanwhile, it would deadlock with them.
    await besideWriter(server, {
      holds: [
        ['SELECT 1 FROM pipeline_runs WHERE id = $1 FOR NO KEY UPDATE', [databaseId(run.id)]],
        ['SELECT 1 FROM stacks WHERE id = $1 FOR SHARE', [databaseId(stack.id)]],
      ],
      request: () => admin.deleteUser(name),
      waitingFor: 'the delete to wait for the run or the stack',
      next: ['SELECT 1 FROM users WHERE id = $1 FOR KEY SHARE NOWAIT', [databaseId(user.id)]],
    });
    expect((await admin.users()).map((listed) => listed.name)).not.toContain(name);
  });

  it("starts a user's runs on the default stack once an admin deletes their active stack, also while it is deleted", async () => {
    const server = testServer();
    const admin = new StackyardClient({ url: server.url, token: adminToken, env: {} });
    const userName = uniqueName('active-stack-user');
    await admin.createUser(userName, 'EDITOR');
    const { token } = await admin.createApiToken({ name: 'work', userName });
    const user = new StackyardClient({ url: server.url, token, env: {} });
    for (let round = 0; round < 6; round += 1) {
      const stack = uniqueName('active');
      await admin.registerStack({ name: stack, components: { orchestrator: 'default', artifactStore: 'default' } });
      await user.setActiveStack(stack);
      // A start that waited for the stack while it was deleted finds the active stack it looked
      // up gone; the user's active stack is the default one by then.
      const [deleted, ...runs] = await Promise.allSettled([
        admin.deleteStack(stack),
        ...Array.from({ length: 4 }, () => user.startRun({ pipeline: uniqueName('active-stack') })),
      ]);
      expect(deleted, `round ${round}`).toMatchObject({ status: 'fulfilled' });
      for (const run of runs) {
        expect(run.status, `round ${round}: ${run.status === 'rejected' ? String(run.reason) : ''}`).toBe('fulfilled');
        expect([stack, 'default'], `round ${round}`).toContain((run as PromiseFulfilledResult<{ stackSnapshot: { name: string } }>).value.stackSnapshot.name);
      }
    }
  });
});

// Sessions of the test's own play the other writers: Postgres only.
describe.each(databaseTargets.filter((target) => target.name === 'postgres'))('the heartbeat expiry beside other writers, on $name', (target) => {
  const testServer = useTestServer(target, { heartbeatTimeoutMs: 2000 });

  it('fails silent runs while a delete of their stack holds some of them, taking them in the order the delete does', async () => {
    const server = testServer();
    const client = new StackyardClient({ url: server.url, env: {} });
    const stackName = uniqueName('silent-stack');
    await client.registerStack({ name: stackName, components: { orchestrator: 'default', artifactStore: 'default' } });
    const runs = await Promise.all([0, 1].map(() => client.startRun({ pipeline: uniqueName('silent'), stack: stackName })));
    const [low, high] = [...runs].sort((a, b) => (databaseId(a.id) < databaseId(b.id) ? -1 : 1));
    // The run that sorts last falls silent first, so the sweep finds it first; another session
    // plays a delete of their stack, which locks the stack's runs in id order: it holds the
    // first, and takes the other next. A sweep that held that one while it waited would deadlock.
    await client.heartbeat(high.id);
    await client.heartbeat(low.id);
    const failed = await besideWriter(server, {
      holds: [['SELECT 1 FROM pipeline_runs WHERE id = $1 FOR NO KEY UPDATE', [databaseId(low.id)]]],
      request: () => until('the sweep to fail both runs', async () => {
        const statuses = await Promise.all(runs.map(async (run) => (await client.getRun(run.id))!.status));
        return statuses.every((status) => status === 'FAILED') && statuses;
      }),
      waitingFor: 'the sweep to wait for the run the delete holds',
      next: ['SELECT 1 FROM pipeline_runs WHERE id = $1 FOR NO KEY UPDATE NOWAIT', [databaseId(high.id)]],
    });
    expect(failed).toEqual(['FAILED', 'FAILED']);
  });
});
