// The one artifact store interface the orchestrator uses, whatever the flavor, and the helpers
// every store shares: content hashing while streaming, and checked reads.
import { createHash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { ArtifactStoreError } from './errors';

export interface StoredArtifact {
  uri: string;
  sizeBytes: number;
  contentHash: string;
}

/** Bytes `start` (inclusive) to `end` (exclusive) of an object. */
export interface ByteRange {
  start: number;
  end: number;
}

/** An object found under a prefix, with its size. */
export interface ListedObject {
  uri: string;
  sizeBytes: number;
}

/** What a store writes: bytes in memory, or a stream for values too big for memory. */
export type ArtifactSource = Uint8Array | Readable;

export interface ArtifactStore {
  /** The store component's id: the cache key and every version it writes name it. */
  readonly id: string;
  readonly name: string;
  readonly flavor: string;
  /** The configured path, as registered (`~/x`, `s3://bucket/prefix`, ...). */
  readonly path: string;
  /** Where an output goes: {path}/{step}/{output}/{step run id}/{file}. */
  outputUri(step: string, output: string, stepRunId: string, fileName: string): string;
  /**
   * The folder of step logs, {path}/logs/: startStep records each step run's log folder,
   * {path}/logs/{step run id}/, of numbered chunk objects (see step-log.ts), so a log can grow
   * while it is read in every flavor.
   */
  logsUri(): string;
  /** Whether the URI lies under this store's path. */
  contains(uri: string): boolean;
  /**
   * Checks the settings before a run starts (the bucket or container exists, the credentials
   * work), so bad settings fail with an error naming the setting and no run is recorded.
   */
  verify(): Promise<void>;
  /**
   * Writes the whole object or nothing: readers never see half of it, and a failed write leaves
   * no partial object behind. The hash and size are computed while the data streams through.
   */
  write(uri: string, source: ArtifactSource): Promise<StoredArtifact>;
  /** Streams the object's bytes, or only those of the range (a ranged GET, not a download). */
  read(uri: string, range?: ByteRange): Promise<Readable>;
  /** The objects whose URIs start with the folder URI (ending in `/`), in name order; none when it is absent. */
  list(folderUri: string): Promise<ListedObject[]>;
  /** The object's size without reading it (a HEAD), or null when it is not there. */
  sizeOf(uri: string): Promise<number | null>;
  /**
   * Removes what writes of processes that died (`kill -9`, a lost machine) left half written,
   * when nothing was added to it since `olderThan`: a write still streaming elsewhere is kept.
   * One listing, cheap enough for the start of every run. Answers how many it removed.
   */
  sweepIncompleteWrites(olderThan: Date): Promise<number>;
}

/** Half-written objects idle this long are swept at a run's start: 1 hour, or the environment's. */
export function incompleteWriteTtlMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env.STACKYARD_INCOMPLETE_WRITE_TTL_SECONDS);
  return (env.STACKYARD_INCOMPLETE_WRITE_TTL_SECONDS && Number.isFinite(seconds) && seconds >= 0 ? seconds : 3600) * 1000;
}

/** A path segment that cannot escape its directory, whatever the step or output is called. */
export function safeSegment(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return cleaned.length > 0 ? cleaned : '_';
}

/**
 * The step run's own id (a uuid) for its directory: the API's global id is that uuid wrapped in
 * base64 with its type name, which would make paths unreadable.
 */
export function stepRunDirectory(stepRunId: string): string {
  const decoded = /^StepRun:([0-9a-f-]{36})$/i.exec(Buffer.from(stepRunId, 'base64').toString('utf8'));
  return decoded ? decoded[1].toLowerCase() : safeSegment(stepRunId);
}

/** The output's key below a store's root, the same for every flavor. */
export function outputKey(step: string, output: string, stepRunId: string, fileName: string): string {
  return [safeSegment(step), safeSegment(output), stepRunDirectory(stepRunId), fileName].join('/');
}

/** The folder of step logs below a store's root, the same for every flavor; each step run's log is in its subfolder named by its id. */
export const LOGS_KEY = 'logs/';

/** Passes bytes through unchanged, counting them and hashing them with SHA-256. */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  sizeBytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.sizeBytes += chunk.length;
    callback(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/** The source as a stream that hashes what passes; errors of the source end it too. */
export function hashedStream(source: ArtifactSource): HashingStream {
  const hashing = new HashingStream();
  const readable = source instanceof Readable ? source : Readable.from([Buffer.from(source.buffer, source.byteOffset, source.byteLength)]);
  readable.on('error', (error) => hashing.destroy(error));
  readable.pipe(hashing);
  return hashing;
}

/**
 * Uploads the source (a stream through a hashing stream) with a remote store's own uploader, and answers
 * what was stored. When the upload fails, a failed source (a materializer's stream) is the cause
 * and is thrown as it is; any other failure is the store's, described by `storeError`.
 */
export async function uploadHashed(
  uri: string,
  source: ArtifactSource,
  upload: (body: Readable | Buffer) => Promise<unknown>,
  storeError: (error: unknown) => Error,
): Promise<StoredArtifact> {
  // Bytes already in memory (most outputs) go as they are: the uploaders send a buffer of one
  // part in one request, without the stream machinery that costs a short step more than its PUT.
  if (!(source instanceof Readable)) {
    const body = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    const contentHash = createHash('sha256').update(body).digest('hex');
    try {
      await upload(body);
    } catch (error) {
      throw storeError(error);
    }
    return { uri, sizeBytes: body.byteLength, contentHash };
  }
  const hashing = hashedStream(source);
  try {
    await upload(hashing);
  } catch (error) {
    if (hashing.errored) throw hashing.errored;
    hashing.destroy();
    throw storeError(error);
  }
  return { uri, sizeBytes: hashing.sizeBytes, contentHash: hashing.digest() };
}

export interface ExpectedContent {
  uri: string;
  sizeBytes: number | null | undefined;
  contentHash: string | null | undefined;
}

/**
 * The object's bytes, checked as they stream: the stream fails at its end when the size or
 * SHA-256 differs from what was recorded, naming the URI.
 */
export async function readChecked(store: ArtifactStore, expected: ExpectedContent): Promise<Readable> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  const source = await store.read(expected.uri);
  const checking = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      callback(null, chunk);
    },
    flush(callback) {
      if (expected.sizeBytes != null && sizeBytes !== expected.sizeBytes) {
        callback(new ArtifactStoreError(`${expected.uri} holds ${sizeBytes} bytes, but ${expected.sizeBytes} were recorded: the object was changed or truncated`));
        return;
      }
      const digest = hash.digest('hex');
      if (expected.contentHash && digest !== expected.contentHash) {
        callback(new ArtifactStoreError(`${expected.uri} does not match its recorded SHA-256 (${expected.contentHash}): the object was changed`));
        return;
      }
      callback();
    },
  });
  source.on('error', (error) => checking.destroy(error));
  return source.pipe(checking);
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Whether the object is still there with the size it was recorded with: a HEAD, not a download. */
export async function storeHolds(store: ArtifactStore, uri: string, sizeBytes: number | null | undefined): Promise<boolean> {
  if (!store.contains(uri)) return false;
  const size = await store.sizeOf(uri);
  return size !== null && (sizeBytes == null || size === sizeBytes);
}
