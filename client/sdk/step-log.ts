// A step's log: what it prints (console.* and writes to process.stdout/stderr) while it runs,
// as JSON lines with a time and a level, kept in the artifact store as numbered chunk objects
// that a reader (the server, for the dashboard and `stackyard run logs`) can follow as they come.
//
// Steps run concurrently in one process, so output is attributed through AsyncLocalStorage: a
// step's function runs inside its log's context, and so does every callback it schedules.
// Output still reaches the terminal as before.
import { AsyncLocalStorage } from 'node:async_hooks';
import { debuglog, format } from 'node:util';
import type { ArtifactStore } from './artifact-store';

export type StepLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One line of a log chunk. */
export interface StepLogRecord {
  time: string;
  level: StepLogLevel;
  message: string;
}

export interface StepLogOptions {
  /** How often buffered lines are written as a new chunk; default 1 s. */
  flushIntervalMs?: number;
}

/**
 * A longer message is split into records of this many characters, so one line of the log is at
 * most 6 × this in bytes (JSON escapes), below the smallest page a reader may ask for.
 */
export const MAX_RECORD_CHARACTERS = 16 * 1024;
/** The longest line a log can hold: a record of MAX_RECORD_CHARACTERS, all escaped, and its fields. */
export const MAX_LINE_BYTES = 6 * MAX_RECORD_CHARACTERS + 1024;
/** A chunk object holds at most this many bytes: a step that prints fast still gets readable pieces. */
const MAX_CHUNK_BYTES = 4 * 1024 * 1024;
/** Chunk names are their first byte's offset in the whole log, padded so names sort as offsets. */
const OFFSET_DIGITS = 16;

export function chunkName(offset: number): string {
  return `${String(offset).padStart(OFFSET_DIGITS, '0')}.jsonl`;
}

/** The offset a chunk's name holds, or null for an object that is not a chunk. */
export function chunkOffset(uri: string): number | null {
  const match = /(\d{16})\.jsonl$/.exec(uri);
  return match ? Number(match[1]) : null;
}

const debug = debuglog('stackyard');

export interface LogChunk {
  uri: string;
  offset: number;
  sizeBytes: number;
}

/** The log's chunks in order, up to the first gap (a chunk name that is not the next offset). */
export async function listLogChunks(store: ArtifactStore, folder: string): Promise<LogChunk[]> {
  const chunks: LogChunk[] = [];
  let next = 0;
  for (const object of await store.list(folder)) {
    if (chunkOffset(object.uri) !== next) break;
    chunks.push({ uri: object.uri, offset: next, sizeBytes: object.sizeBytes });
    next += object.sizeBytes;
  }
  return chunks;
}

/** Buffers a step run's records and writes them to its log folder as chunks, one write at a time. */
export class StepLogWriter {
  private pending: string[] = [];
  /** Bytes already in the store: the next chunk's offset. */
  private written = 0;
  private flushing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  private readonly uri: Promise<string>;

  constructor(
    private readonly store: ArtifactStore,
    /**
     * The log folder, StepRun.logUri; or the server's answer that brings it, for a step that
     * begins while its start is recorded: what it logs meanwhile waits, and is lost if the start
     * is refused.
     */
    uri: string | Promise<string>,
    options: StepLogOptions = {},
  ) {
    this.uri = Promise.resolve(uri);
    this.uri.catch(() => undefined);
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  /**
   * A writer that goes on after what the log already holds: a later attempt of a step run adds
   * to the log of the attempts before it, which a worker that died may have left.
   */
  static async resume(store: ArtifactStore, uri: string, options: StepLogOptions = {}): Promise<StepLogWriter> {
    const writer = new StepLogWriter(store, uri, options);
    const last = (await listLogChunks(store, uri)).at(-1);
    writer.written = last ? last.offset + last.sizeBytes : 0;
    return writer;
  }

  append(level: StepLogLevel, message: string): void {
    if (this.closed) return;
    const time = new Date().toISOString();
    const text = message.replaceAll('\u0000', '');
    for (let start = 0; start === 0 || start < text.length; start += MAX_RECORD_CHARACTERS) {
      const line = JSON.stringify({ time, level, message: text.slice(start, start + MAX_RECORD_CHARACTERS) } satisfies StepLogRecord) + '\n';
      this.pending.push(line);
    }
  }

  /** Writes what is buffered; a chunk the store refuses stays buffered for the next try. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      while (this.pending.length > 0) {
        let bytes = 0;
        let count = 0;
        while (count < this.pending.length && (count === 0 || bytes + Buffer.byteLength(this.pending[count]) <= MAX_CHUNK_BYTES)) {
          bytes += Buffer.byteLength(this.pending[count]);
          count += 1;
        }
        const chunk = Buffer.from(this.pending.slice(0, count).join(''));
        let uri: string | undefined;
        try {
          uri = await this.uri;
          await this.store.write(`${uri}${chunkName(this.written)}`, chunk);
        } catch (error) {
          debug('could not write a log chunk to %s: %s', uri ?? 'a step whose start was refused', error instanceof Error ? error.message : String(error));
          return;
        }
        this.pending.splice(0, count);
        this.written += chunk.length;
      }
    });
    return this.flushing;
  }

  /** Stops the timer and drops what is buffered: the step's start was refused, so it has no log. */
  discard(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.pending = [];
  }

  /** Stops the timer and writes the rest; what a store still refuses then is lost, and said so at debug. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.flush();
    if (this.pending.length > 0) debug('%d log lines of %s were not stored', this.pending.length, await this.uri.catch(() => 'a step whose start was refused'));
  }
}

const currentLog = new AsyncLocalStorage<StepLogWriter>();
/** Set while a console method runs, so the stream write it makes is not recorded a second time. */
let insideConsole = 0;
let installed = false;

const CONSOLE_LEVELS: [keyof Console & ('log' | 'info' | 'warn' | 'error' | 'debug' | 'trace'), StepLogLevel][] = [
  ['log', 'info'],
  ['info', 'info'],
  ['warn', 'warn'],
  ['error', 'error'],
  ['debug', 'debug'],
  ['trace', 'debug'],
];

function withoutFinalNewline(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

/**
 * Wraps console's methods and the two standard streams once per process. Outside a step's
 * context the wrappers only call through, so nothing changes for other code.
 */
function installCapture(): void {
  if (installed) return;
  installed = true;
  for (const [method, level] of CONSOLE_LEVELS) {
    const original = console[method].bind(console) as (...args: unknown[]) => void;
    console[method] = (...args: unknown[]) => {
      const log = currentLog.getStore();
      if (log && insideConsole === 0) {
        const text = format(...args);
        log.append(level, method === 'trace' ? `Trace: ${text}\n${new Error().stack?.split('\n').slice(2).join('\n') ?? ''}` : text);
      }
      insideConsole += 1;
      try {
        original(...args);
      } finally {
        insideConsole -= 1;
      }
    };
  }
  for (const [stream, level] of [
    [process.stdout, 'info'],
    [process.stderr, 'error'],
  ] as const) {
    const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const log = currentLog.getStore();
      if (log && insideConsole === 0 && chunk != null) {
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : 'utf8');
        if (text.length > 0) log.append(level, withoutFinalNewline(text));
      }
      return original(chunk, ...rest);
    }) as typeof stream.write;
  }
}

/** Runs the step's function with its output recorded in the log; it still reaches the terminal. */
export function captureStepOutput<T>(log: StepLogWriter, run: () => T): T {
  installCapture();
  return currentLog.run(log, run);
}

/** The failure as the log keeps it: the stack trace when the error has one. */
export function failureText(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return `Step failed: ${String(error)}`;
}
