// One terminal line per step as it starts and as it ends, with its duration and any cache hit.
import { formatDuration } from '../format-duration';

export type ProgressEvent =
  | { kind: 'run-started'; pipeline: string; runName: string; stack: string }
  | { kind: 'step-started'; step: string }
  | { kind: 'step-completed'; step: string; durationMs: number }
  | { kind: 'step-cached'; step: string; durationMs: number; originalRunName: string }
  | { kind: 'step-failed'; step: string; durationMs: number; message: string }
  | { kind: 'step-skipped'; step: string; reason: string }
  | { kind: 'run-finished'; runName: string; status: string; durationMs: number }
  /** A remote orchestrator's queue that no worker has served lately: the run's steps wait in it. */
  | { kind: 'no-worker'; queue: string; stack: string; seenWithinSeconds: number };

export type ProgressListener = (event: ProgressEvent) => void;

export function formatProgress(event: ProgressEvent): string {
  switch (event.kind) {
    case 'run-started':
      return `Running pipeline ${event.pipeline} on stack ${event.stack} as run ${event.runName}`;
    case 'step-started':
      return `  step ${event.step} started`;
    case 'step-completed':
      return `  step ${event.step} completed in ${formatDuration(event.durationMs)}`;
    case 'step-cached':
      return `  step ${event.step} cached in ${formatDuration(event.durationMs)} (outputs of run ${event.originalRunName})`;
    case 'step-failed':
      return `  step ${event.step} failed in ${formatDuration(event.durationMs)}: ${event.message}`;
    case 'step-skipped':
      return `  step ${event.step} skipped: ${event.reason}`;
    case 'run-finished':
      return `Run ${event.runName} ${event.status} in ${formatDuration(event.durationMs)}`;
    case 'no-worker':
      return `  no worker serving the queue "${event.queue}" was seen in the last ${event.seenWithinSeconds} s: the steps wait until one starts (stackyard worker start --stack ${event.stack} --pipelines <module>)`;
  }
}

/** Writes each event as a line to the stream (stdout by default). */
export function terminalProgress(stream: NodeJS.WritableStream = process.stdout): ProgressListener {
  return (event) => {
    stream.write(formatProgress(event) + '\n');
  };
}
