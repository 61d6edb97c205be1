// runUpdated over SSE: a subscriber hears each change of a matching run as it commits, from
// this server and (on Postgres) from another server on the same database.
import { describe, expect, it } from 'vitest';
import { StackyardClient } from '../client';
import { databaseTargets, startTestServer, uniqueName, useTestServer, type TestServer } from './harness';

const SUBSCRIPTION = `subscription($filter: RunFilter) {
  runUpdated(filter: $filter) { id name status pipeline { name } steps { name status } }
}`;

interface RunEvent {
  id: string;
  name: string;
  status: string;
  pipeline: { name: string };
  steps: { name: string; status: string }[];
}

/** Opens a subscription over SSE and collects what it emits until closed. */
async function subscribe(server: TestServer, filter: Record<string, unknown>) {
  const controller = new AbortController();
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query: SUBSCRIPTION, variables: { filter } }),
    signal: controller.signal,
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const events: RunEvent[] = [];
  const errors: unknown[] = [];
  const waiters: (() => void)[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = message.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trim()).join('');
          if (!data) continue;
          const payload = JSON.parse(data) as { data?: { runUpdated: RunEvent }; errors?: unknown[] };
          if (payload.errors) errors.push(...payload.errors);
          if (payload.data) events.push(payload.data.runUpdated);
          waiters.splice(0).forEach((wake) => wake());
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    events,
    errors,
    /** Waits until an event satisfies the check, or fails after a minute (a busy machine is slow, not broken). */
    async until(check: (events: RunEvent[]) => boolean): Promise<void> {
      const deadline = Date.now() + 60_000;
      while (!check(events)) {
        if (Date.now() > deadline) throw new Error(`no such event; got ${JSON.stringify(events)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
    close: () => controller.abort(),
  };
}

/** A run with one step, reported step by step. */
async function reportRun(client: StackyardClient, pipeline: string) {
  const run = await client.startRun({ pipeline, steps: [{ name: 'train' }] });
  const step = await client.startStep({ runId: run.id, name: 'train' });
  return { run, finish: () => client.finishStep({ stepRunId: step.id, status: 'COMPLETED' }) };
}

describe.each(databaseTargets)('live run updates on $name', (target) => {
  const server = useTestServer(target);

  it('emits each change of the runs that match, and nothing for the others', async () => {
    const client = new StackyardClient({ url: server().url, env: {}, configDir: '/nonexistent' });
    const pipeline = uniqueName('live');
    const subscription = await subscribe(server(), { pipeline });
    try {
      await reportRun(client, uniqueName('other'));
      const { run, finish } = await reportRun(client, pipeline);
      await subscription.until((events) => events.some((event) => event.steps.some((step) => step.status === 'RUNNING')));
      await finish();
      await subscription.until((events) => events.some((event) => event.status === 'COMPLETED'));
      expect(new Set(subscription.events.map((event) => event.id))).toEqual(new Set([run.id]));
      expect(subscription.events.at(-1)).toMatchObject({ status: 'COMPLETED', steps: [{ name: 'train', status: 'COMPLETED' }] });
      expect(subscription.errors).toEqual([]);
    } finally {
      subscription.close();
    }
  });

  it('follows one run by id', async () => {
    const client = new StackyardClient({ url: server().url, env: {}, configDir: '/nonexistent' });
    const { run, finish } = await reportRun(client, uniqueName('one'));
    const subscription = await subscribe(server(), { runId: run.id });
    try {
      await reportRun(client, uniqueName('another'));
      await finish();
      await subscription.until((events) => events.some((event) => event.status === 'COMPLETED'));
      expect(subscription.events.every((event) => event.id === run.id)).toBe(true);
    } finally {
      subscription.close();
    }
  });
});

describe.runIf(databaseTargets.some((target) => target.name === 'postgres'))('live run updates across servers', () => {
  it('reach a subscriber on one server from a run reported to another', async () => {
    const target = databaseTargets.find((candidate) => candidate.name === 'postgres')!;
    // The second server shares the first's database; closing the first drops it.
    const first = await startTestServer(target);
    const second = await startTestServer(target, { databaseLocation: first.databaseLocation, keepDatabase: true });
    const pipeline = uniqueName('fan-out');
    const subscription = await subscribe(first, { pipeline });
    try {
      const { finish } = await reportRun(new StackyardClient({ url: second.url, env: {}, configDir: '/nonexistent' }), pipeline);
      await finish();
      await subscription.until((events) => events.some((event) => event.status === 'COMPLETED'));
    } finally {
      subscription.close();
      await second.close();
      await first.close();
    }
  });
});
