// The local artifact store: each output is a file under the store's directory, written to a
// temporary file in {path}/.incomplete/ and renamed into place (the same filesystem), so
// readers never see half a file and what a killed process left is in that one folder.
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { hashedStream, LOGS_KEY, outputKey, type ArtifactSource, type ArtifactStore, type ByteRange, type ListedObject, type StoredArtifact } from './artifact-store';
import { ArtifactStoreError } from './errors';

/** Where writes stream before their rename; no output's path starts with a dot (safeSegment). */
const INCOMPLETE_DIRECTORY = '.incomplete';

export class LocalArtifactStore implements ArtifactStore {
  readonly flavor = 'local';
  /** The store's directory, with `~` expanded for the process that runs the steps. */
  readonly root: string;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly path: string,
  ) {
    const expanded = path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
    this.root = isAbsolute(expanded) ? expanded : resolve(expanded);
  }

  outputUri(step: string, output: string, stepRunId: string, fileName: string): string {
    return join(this.root, outputKey(step, output, stepRunId, fileName));
  }

  logsUri(): string {
    return join(this.root, LOGS_KEY);
  }

  contains(uri: string): boolean {
    return resolve(uri).startsWith(this.root.endsWith('/') ? this.root : `${this.root}/`);
  }

  async verify(): Promise<void> {
    // The directory is made on the first write; nothing can be wrong before then.
  }

  async write(uri: string, source: ArtifactSource): Promise<StoredArtifact> {
    this.assertInside(uri);
    const incomplete = join(this.root, INCOMPLETE_DIRECTORY);
    await mkdir(dirname(uri), { recursive: true });
    await mkdir(incomplete, { recursive: true });
    const temporary = join(incomplete, `${randomUUID()}.tmp`);
    const hashing = hashedStream(source);
    try {
      await pipeline(hashing, createWriteStream(temporary, { flags: 'wx' }));
      const handle = await open(temporary, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, uri);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    return { uri, sizeBytes: hashing.sizeBytes, contentHash: hashing.digest() };
  }

  async read(uri: string, range?: ByteRange): Promise<Readable> {
    this.assertInside(uri);
    if (range && range.end <= range.start) return Readable.from([]);
    const stream = createReadStream(uri, range ? { start: range.start, end: range.end - 1 } : {});
    await new Promise<void>((done, fail) => {
      stream.once('open', () => done());
      stream.once('error', (error) => fail(new ArtifactStoreError(`${uri} cannot be read from the artifact store "${this.name}": ${(error as NodeJS.ErrnoException).code ?? error.message}`)));
    });
    return stream;
  }

  async list(folderUri: string): Promise<ListedObject[]> {
    this.assertInside(folderUri);
    let names: string[];
    try {
      names = await readdir(folderUri);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const listed: ListedObject[] = [];
    for (const name of names.sort()) {
      const info = await stat(join(folderUri, name)).catch(() => null);
      if (info?.isFile()) listed.push({ uri: join(folderUri, name), sizeBytes: info.size });
    }
    return listed;
  }

  async sizeOf(uri: string): Promise<number | null> {
    if (!this.contains(uri)) return null;
    try {
      const info = await stat(uri);
      return info.isFile() ? info.size : null;
    } catch {
      return null;
    }
  }

  async sweepIncompleteWrites(olderThan: Date): Promise<number> {
    const incomplete = join(this.root, INCOMPLETE_DIRECTORY);
    let names: string[];
    try {
      names = await readdir(incomplete);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    let removed = 0;
    for (const name of names) {
      const file = join(incomplete, name);
      // A write in progress touches its file with every chunk: only idle ones are left over.
      const info = await stat(file).catch(() => null);
      if (!info || info.mtimeMs >= olderThan.getTime()) continue;
      await rm(file, { force: true, recursive: true });
      removed += 1;
    }
    return removed;
  }

  private assertInside(uri: string): void {
    if (!this.contains(uri)) throw new ArtifactStoreError(`${uri} is not inside the artifact store at ${this.root}`);
  }
}
