// Batches a step's context.logMetric calls into logMetrics reports: one request per batch, sent
// every few seconds and at the step's end, rather than one per point. A point leaves the queue
// only once the server has recorded it; a report that failed is sent again (the server keeps
// points idempotent), so a passing network failure loses nothing.
import type { StackyardClient } from '../stackyard-client';
import { StackyardError } from '../stackyard-error';
import type { MetricPointInput } from '../generated/graphql';
import { MetricValueError } from './errors';

export interface MetricReporterOptions {
  /** How often queued points are sent while the step runs; default 2000 ms. */
  flushIntervalMs?: number;
  /** Points per report, and the queue length that sends one at once; default 1000 (the server's limit). */
  maxPointsPerReport?: number;
  /** Settles once the step run exists on the server: no point is sent before; none if it rejects. */
  started?: Promise<unknown>;
}

export class MetricReporter {
  private readonly queue: MetricPointInput[] = [];
  /** The next step index of each name, for points logged without one. */
  private readonly nextStep = new Map<string, number>();
  private sending: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** Points the server refused (a bad name): the step fails with this at its end. */
  private refused: StackyardError | undefined;
  private readonly flushIntervalMs: number;
  private readonly maxPointsPerReport: number;
  private readonly started: Promise<unknown>;
  /** The step's start was refused: what it logs goes nowhere, and no timer sends it. */
  private discarded = false;

  constructor(
    private readonly client: StackyardClient,
    private readonly runId: string,
    private readonly stepRunId: string,
    options: MetricReporterOptions = {},
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? 2000;
    this.maxPointsPerReport = options.maxPointsPerReport ?? 1000;
    this.started = options.started ?? Promise.resolve();
    this.started.catch(() => undefined);
  }

  /** Queues one point. Without a step, it follows the last step logged for this name (0 first). */
  log(name: string, value: number, options: { step?: number } = {}): void {
    if (this.discarded) return;
    // JSON has no NaN or Infinity: such a value could not even reach the server to be refused.
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new MetricValueError(`Metric "${name}" got ${String(value)}; a metric value must be a finite number`);
    const step = options.step ?? this.nextStep.get(name) ?? 0;
    this.nextStep.set(name, Math.max(this.nextStep.get(name) ?? 0, step + 1));
    this.queue.push({ name, value, step, timestamp: new Date().toISOString() });
    if (this.queue.length >= this.maxPointsPerReport) void this.flush().catch(() => undefined);
    this.timer ??= setInterval(() => void this.flush().catch(() => undefined), this.flushIntervalMs).unref();
  }

  /** Sends every queued point; rejects if the server could not record them (they stay queued). */
  flush(): Promise<void> {
    // One report at a time, in order: a later flush waits for the one in flight.
    const next = this.sending.catch(() => undefined).then(() => this.sendQueued());
    this.sending = next;
    return next;
  }

  /** Sends what is left and stops the timer; rejects if any point could not be recorded. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
    if (this.refused) throw this.refused;
  }

  /** Stops the timer and drops the queue: the step's start was refused, so its points have nowhere to go. */
  discard(): void {
    this.discarded = true;
    clearInterval(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }

  private async sendQueued(): Promise<void> {
    await this.started;
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.maxPointsPerReport);
      try {
        await this.client.logMetrics(this.runId, this.stepRunId, batch);
        this.queue.splice(0, batch.length);
      } catch (error) {
        // The server refused one point (its name, say) and recorded none: drop that point, keep the rest.
        if (!(error instanceof StackyardError) || error.type !== 'ValidationError') throw error;
        const index = /^points\.(\d+)\./.exec(error.field ?? '')?.[1];
        if (index === undefined) throw error;
        this.refused ??= error;
        this.queue.splice(Number(index), 1);
      }
    }
  }
}
