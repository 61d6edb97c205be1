// One heartbeat of a run, as its driver and the workers running its steps send them: it keeps the
// run alive on the server, and its answer tells them when the run has ended elsewhere.
import type { StackyardClient } from '../stackyard-client';
import { StackyardError } from '../stackyard-error';
import { RunEndedError } from './errors';

/**
 * Sends one heartbeat of the run; answers a RunEndedError once the run has ended (a user stopped
 * it, it failed, it was deleted), else null. A beat without an answer is null too: the next tick
 * sends another.
 */
export async function sendRunHeartbeat(client: StackyardClient, runId: string): Promise<RunEndedError | null> {
  try {
    const run = await client.heartbeat(runId);
    if (!run.endedAt) return null;
    return new RunEndedError(`The run ended as ${run.status.toLowerCase()}${run.statusReason ? ` (${run.statusReason})` : ''}`);
  } catch (error) {
    if (error instanceof StackyardError && error.type === 'NotFoundError') return new RunEndedError('The run was deleted');
    return null;
  }
}
