// Stopping a run as a user does, with `stackyard run stop`, while the SDK runs it in its own
// process (the local orchestrator): the running step sees its signal abort, reports nothing, and
// run() rejects with PipelineRunStoppedError. The bullmq side is in bullmq-orchestrator.test.ts.
import { describe, expect, it } from 'vitest';
import { PipelineRunStoppedError, StackyardClient, pipeline, step } from '../client';
import { expectFailure, parsedJson, runCli, succeeded, tempDir } from './cli-process';
import { databaseTargets, uniqueName, until, useTestServer } from './harness';
import { RESULT_FIELDS } from './registry-operations';

describe.each(databaseTargets)('stopping a run on $name', (target) => {
  const server = useTestServer(target);
  const cli = (...args: string[]) => runCli(args, { url: server().url, configDir: tempDir('stackyard-cli-stop-') });

  async function localStack(client: StackyardClient) {
    const stack = uniqueName('stop-stack');
    const store = await client.registerComponent({ type: 'ARTIFACT_STORE', name: uniqueName('stop-store'), flavor: 'local', configuration: { path: tempDir('stackyard-stop-store-') } });
    await client.registerStack({ name: stack, components: { orchestrator: 'default', artifactStore: store.name } });
    return stack;
  }

  it('stops a run that pipeline.run() drives in its process: the step\'s signal aborts, nothing it returns is recorded, and run() rejects', async () => {
    const client = new StackyardClient({ url: server().url, configDir: tempDir('stackyard-stop-sdk-') });
    const stack = await localStack(client);
    let signalled = false;
    // Waits five minutes unless its signal aborts; then returns a value that must not be recorded.
    const waitForStop = step('wait_for_stop', async (_inputs: Record<string, never>, context) => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 300_000);
        context.signal.addEventListener('abort', () => {
          signalled = true;
          clearTimeout(timer);
          resolve();
        });
      });
      return 'returned after the stop';
    });
    const afterStop = step('after_stop', ({ value }: { value: string }) => value);
    const name = uniqueName('stoppable');
    const running = pipeline(name, () => {
      afterStop({ value: waitForStop() });
    })
      .run({ client, stack, progress: false })
      .then(
        () => null,
        (error: unknown) => error,
      );

    const run = await until('the step to run', async () => {
      const [found] = (await client.runsPage({ filter: { pipeline: name } })).edges.map((edge) => edge.node);
      return found && (await client.getRun(found.id))?.steps.some((candidate) => candidate.status === 'RUNNING') ? found : null;
    });
    expect(succeeded(await cli('run', 'stop', run.name))).toBe(`Stopped run "${run.name}" (Stopped by local).\n`);

    // The driver hears of it at its next heartbeat, within seconds.
    const error = await running;
    expect(error).toBeInstanceOf(PipelineRunStoppedError);
    expect((error as PipelineRunStoppedError).message).toBe(`Pipeline run ${run.name} was stopped: Stopped by local`);
    expect((error as PipelineRunStoppedError).run.status).toBe('STOPPED');
    expect(signalled).toBe(true);
    const recorded = (await client.getRun(run.id))!;
    expect(recorded).toMatchObject({ status: 'STOPPED', statusReason: 'Stopped by local' });
    expect(recorded.steps.map((candidate) => [candidate.name, candidate.status, candidate.outputs.length])).toEqual([['wait_for_stop', 'STOPPED', 0]]);

    // A run that has ended is not stopped again: the answer says how it ended.
    expectFailure(await cli('run', 'stop', run.id), `Error: The run "${run.name}" has already ended (stopped); only a run that has not ended can be stopped`);
  });

  it('answers the stopped run as JSON with --json, and refuses a run that does not exist', async () => {
    const client = new StackyardClient({ url: server().url, configDir: tempDir('stackyard-stop-sdk-') });
    const started = await client.startRun({ pipeline: uniqueName('stop-json'), stack: await localStack(client) });
    const stopped = parsedJson(await cli('run', 'stop', started.name, '--reason', '  wrong data  ', '--json'));
    expect(stopped).toMatchObject({ id: started.id, name: started.name, status: 'STOPPED', statusReason: 'Stopped by local: wrong data' });
    expect(stopped.endedAt).toBeTruthy();

    const missing = uniqueName('no-such-run');
    expectFailure(await cli('run', 'stop', missing), `Error: No run has the name, id or id prefix "${missing}"`);
  });

  it('answers stopRun of an unknown run id with a NotFoundError', async () => {
    const unknown = Buffer.from('PipelineRun:00000000-0000-0000-0000-000000000000').toString('base64');
    const data = await server().gql(`mutation($id: ID!) { stopRun(runId: $id) { ${RESULT_FIELDS} } }`, { id: unknown });
    expect(data.stopRun).toEqual({ __typename: 'NotFoundError', message: 'No such run', field: 'runId' });
  });
});
