// Following one run as it changes, over the server's runUpdated subscription (graphql-sse's
// distinct connections mode, as the dashboard does): the server pushes each change, nothing
// polls. After each (re)connection the run is read once, for what changed before it.
import { print } from 'graphql';
import { createClient } from 'graphql-sse';
import { RunProgressDocument, type RunProgressSubscription } from './generated/graphql';
import { persistedId, persistedQueryExtensions, serverWantsText } from './persisted-operations';
import type { StackyardClient } from './stackyard-client';
import { StackyardError } from './stackyard-error';

export type RunProgress = RunProgressSubscription['runUpdated'];

const MAX_RETRY_DELAY_MS = 5_000;

/**
 * Calls `onState` with the run as it is now, then at each change, one call at a time, until it
 * answers true; answers that last state. Its steps come with it unless `withSteps` is false.
 * Fails when the server refuses the subscription.
 */
export function followRun(
  client: StackyardClient,
  runId: string,
  onState: (run: RunProgress) => Promise<boolean>,
  { withSteps = true, signal }: { withSteps?: boolean; /** Once it aborts, the run is read at once: the run has ended, or is gone. */ signal?: AbortSignal } = {},
): Promise<RunProgress> {
  const document = RunProgressDocument;
  // Without its steps, each event's read of the run is one row, whatever the run's size.
  const variables = { filter: { runId }, withSteps };
  const id = persistedId(document);
  const asText = { query: print(document), variables };
  return new Promise<RunProgress>((resolve, reject) => {
    let settled = false;
    // States are handled in order: a slow onState never sees an older state after a newer one.
    let handling: Promise<void> = Promise.resolve();
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      sse.dispose();
      outcome();
    };
    /** Reads the run once, through the client, and handles it as an event. */
    const readNow = () => {
      handling = handling.then(async () => {
        if (settled) return;
        try {
          handle(await client.getRun(runId));
        } catch (error) {
          finish(() => reject(error));
        }
      });
    };
    const handle = (state: RunProgress | null | undefined) => {
      handling = handling.then(async () => {
        if (settled) return;
        // The run is gone (deleted while followed): no later state will end the wait.
        if (!state) return finish(() => reject(new StackyardError('NotFoundError', `The run ${runId} was deleted`)));
        try {
          if (await onState(state)) finish(() => resolve(state));
        } catch (error) {
          finish(() => reject(error));
        }
      });
    };
    const sse = createClient({
      url: client.url,
      headers: () => client.headers,
      retryAttempts: 20,
      retry: (retries) => new Promise((wake) => setTimeout(wake, Math.min(MAX_RETRY_DELAY_MS, 250 * 2 ** retries))),
      // A server without the persisted id gets the text, as the client's requests do.
      fetchFn: async (input: string, init: RequestInit) => {
        const response = await fetch(input, init);
        if (response.ok || !id) return response;
        const text = await response.clone().text().catch(() => '');
        const data = /^data: (\{.*\})$/m.exec(text)?.[1];
        let errors: { message: string; extensions?: Record<string, unknown> }[] = [];
        try {
          errors = data ? ((JSON.parse(data) as { errors?: typeof errors }).errors ?? []) : [];
        } catch {
          errors = [];
        }
        return serverWantsText(errors) ? fetch(input, { ...init, body: JSON.stringify(asText) }) : response;
      },
      on: {
        // Whatever changed before the server listened is read once, through the client.
        connected: () => readNow(),
      },
    });
    // Told from elsewhere that the run has ended (its heartbeat said so), the run is read at
    // once: a deleted run sends no event at all.
    if (signal) {
      if (signal.aborted) readNow();
      else signal.addEventListener('abort', readNow, { once: true });
    }
    const request = id ? { query: '', variables, extensions: persistedQueryExtensions(id) } : asText;
    sse.subscribe<RunProgressSubscription>(request, {
      next: (result) => {
        if (result.errors?.length) finish(() => reject(new Error(`The server refused to follow the run: ${result.errors!.map((error) => error.message).join('; ')}`)));
        else handle(result.data?.runUpdated);
      },
      error: (error) => finish(() => reject(error instanceof Error ? error : new Error(`Following the run failed: ${JSON.stringify(error)}`))),
      complete: () => finish(() => reject(new Error('The server ended the run updates before the run finished'))),
    });
  });
}
