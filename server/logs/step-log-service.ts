// The rules of step logs. The SDK writes a step's log to the run's artifact store as numbered
// chunk objects in one folder per step run, whose place startStep records (logsFolder). The
// server reads pages of it through the same store, with the component's secrets: it lists the
// chunks (their names are their offsets) and fetches only the byte ranges a page covers, so a log
// of any size is never loaded whole, and a log still being written is followed as chunks arrive.
import { LRUCache } from 'lru-cache';
import { eq } from 'drizzle-orm';
import { readAll, type ArtifactStore } from '../../client/sdk/artifact-store';
import { openArtifactStore } from '../../client/sdk/artifact-stores';
import { listLogChunks as listChunks, MAX_LINE_BYTES, type LogChunk as Chunk, type StepLogLevel } from '../../client/sdk/step-log';
import { stackComponents } from '../components/component-tables';
import { decryptSecrets } from '../components/secret-encryption';
import type { Queryable } from '../db/database';
import { UserError, ValidationError } from '../errors';
import { requireRun, requireStepRun } from '../runs/run-service';
import type { StepStatus } from '../runs/run-tables';

/** The log cannot be read now: its artifact store was deleted, refuses the server, or cannot be reached. */
export class StepLogUnavailableError extends UserError {}

/** A page is at most this many bytes of the log (1 MiB); 256 KiB by default. */
export const MAX_LOG_PAGE_BYTES = 1024 * 1024;
export const DEFAULT_LOG_PAGE_BYTES = 256 * 1024;
const MAX_LOG_URI_LENGTH = 2048;

/** The logs folder of an artifact store, as startStep takes it: where each step run's log folder goes. */
export function checkLogsFolder(logsFolder: string): string {
  const folder = logsFolder.trim();
  if (folder.length > MAX_LOG_URI_LENGTH || !folder.endsWith('/logs/')) {
    throw new ValidationError("logsFolder must be the logs folder of the run's artifact store, ending in /logs/", 'logsFolder');
  }
  return folder;
}

/** A step run's log folder: its own, named by its id, so no two step runs share one. */
export function stepLogUri(logsFolder: string, stepRunId: string): string {
  return `${logsFolder}${stepRunId}/`;
}

export interface StepLogEntry {
  time: string | null;
  level: StepLogLevel;
  message: string;
}

export interface StepLogPage {
  stepRunId: string;
  stepStatus: StepStatus;
  /** Byte offset of the page's first line: page back from here. */
  startOffset: number;
  /** Byte offset after the page's last line: follow on from here. */
  endOffset: number;
  /** The log's size now; it grows while the step runs. */
  totalBytes: number;
  entries: StepLogEntry[];
}

export interface StepLogPageRequest {
  /** Where the page starts, reading forward. */
  offset?: number | null;
  /** Where the page ends, reading back (a previous startOffset). Without either, the tail. */
  before?: number | null;
  limit?: number | null;
}

const LEVELS = new Set<StepLogLevel>(['debug', 'info', 'warn', 'error']);

function parseEntry(line: string): StepLogEntry {
  try {
    const record = JSON.parse(line) as { time?: unknown; level?: unknown; message?: unknown };
    if (typeof record.message === 'string') {
      return {
        time: typeof record.time === 'string' ? record.time : null,
        level: LEVELS.has(record.level as StepLogLevel) ? (record.level as StepLogLevel) : 'info',
        message: record.message,
      };
    }
  } catch {
    // Not a record of the SDK: shown as the text it is.
  }
  return { time: null, level: 'info', message: line };
}

/** Opened stores, by component and its last update, so a log followed every second reuses its client. */
const MAX_OPEN_STORES = 32;
const openStores = new LRUCache<string, Promise<ArtifactStore>>({ max: MAX_OPEN_STORES });

async function storeOfRun(db: Queryable, secretKey: Buffer, runId: string): Promise<ArtifactStore> {
  const run = await requireRun(db, runId);
  const snapshot = run.stackSnapshot.components.find((component) => component.type === 'artifact_store');
  const [component] = snapshot ? await db.select().from(stackComponents).where(eq(stackComponents.id, snapshot.id)) : [];
  if (!component) throw new StepLogUnavailableError('The artifact store that holds this log was deleted');
  const key = `${component.id}:${new Date(component.updatedAt).getTime()}`;
  let store = openStores.get(key);
  if (!store) {
    store = openArtifactStore(
      { id: component.id, name: component.name, flavorName: component.flavor, configuration: component.configuration },
      decryptSecrets(secretKey, component.secrets),
    );
    openStores.set(key, store);
    store.catch(() => openStores.delete(key));
  }
  return store;
}

/** Bytes [start, end) of the log, fetched as ranges of the chunks they cover. */
async function readSpan(store: ArtifactStore, chunks: Chunk[], start: number, end: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const chunk of chunks) {
    const from = Math.max(start, chunk.offset);
    const to = Math.min(end, chunk.offset + chunk.sizeBytes);
    if (from >= to) continue;
    parts.push(await readAll(await store.read(chunk.uri, { start: from - chunk.offset, end: to - chunk.offset })));
  }
  return Buffer.concat(parts);
}

function checkedOffset(value: number | null | undefined, field: string, max: number, min = 0): number | null {
  if (value == null) return null;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new ValidationError(`${field} must be a whole number from ${min} to ${max}`, field);
  return value;
}

function storeFailure(error: unknown): never {
  // The stores' errors name the store and the setting at fault, never a secret (client/sdk/errors.ts).
  if (error instanceof Error && error.name === 'ArtifactStoreError') throw new StepLogUnavailableError(error.message);
  throw error;
}

/**
 * A page of whole lines: from `offset` forward, back from `before`, or the tail. A page never cuts a line: it starts
 * after a newline and ends with one, widened by at most one line when a line is longer than it.
 */
export async function readStepLog(db: Queryable, secretKey: Buffer, stepRunId: string, request: StepLogPageRequest): Promise<StepLogPage> {
  const limit = checkedOffset(request.limit, 'limit', MAX_LOG_PAGE_BYTES, 1) ?? DEFAULT_LOG_PAGE_BYTES;
  const step = await requireStepRun(db, stepRunId);
  const empty = (at: number, total: number): StepLogPage => ({ stepRunId, stepStatus: step.status, startOffset: at, endOffset: at, totalBytes: total, entries: [] });
  if (!step.logUri) {
    checkedOffset(request.offset, 'offset', 0);
    checkedOffset(request.before, 'before', 0);
    return empty(0, 0);
  }
  let store: ArtifactStore;
  let chunks: Chunk[];
  try {
    store = await storeOfRun(db, secretKey, step.runId);
    if (!store.contains(step.logUri)) throw new StepLogUnavailableError(`The log ${step.logUri} is not in the run's artifact store "${store.name}"`);
    chunks = await listChunks(store, step.logUri);
  } catch (error) {
    storeFailure(error);
  }
  const total = chunks.length > 0 ? chunks[chunks.length - 1].offset + chunks[chunks.length - 1].sizeBytes : 0;
  if (request.offset != null && request.before != null) throw new ValidationError('Give offset or before, not both', 'before');
  const offset = checkedOffset(request.offset, 'offset', total);
  const before = checkedOffset(request.before, 'before', total) ?? total;
  const tail = offset === null;
  let start = tail ? Math.max(0, before - limit) : offset;
  let end = tail ? before : Math.min(total, offset + limit);
  if (start === end) return empty(start, total);

  for (let widened = false; ; widened = true) {
    // One byte before the start tells whether the start is a line's start.
    const lead = start > 0 ? start - 1 : 0;
    let bytes: Buffer;
    try {
      bytes = await readSpan(store, chunks, lead, end);
    } catch (error) {
      storeFailure(error);
    }
    const first = start > 0 ? bytes.indexOf(10) + 1 : 0;
    const last = bytes.lastIndexOf(10) + 1;
    if (first > 0 || start === 0) {
      if (last > first) {
        const text = bytes.subarray(first, last).toString('utf8');
        const entries = text.slice(0, -1).split('\n').map(parseEntry);
        return { stepRunId, stepStatus: step.status, startOffset: lead + first, endOffset: lead + last, totalBytes: total, entries };
      }
    }
    if (widened) {
      // No whole line even so: not a log the SDK wrote. Its bytes are shown as they are.
      return { stepRunId, stepStatus: step.status, startOffset: start, endOffset: end, totalBytes: total, entries: [parseEntry(bytes.subarray(start - lead).toString('utf8'))] };
    }
    if (tail) start = Math.max(0, start - MAX_LINE_BYTES);
    else end = Math.min(total, end + MAX_LINE_BYTES);
  }
}
