// The local artifact store: each output is a file under the store's path, at
// {path}/{step}/{output}/{step run id}/{file}, written atomically and content-hashed.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export interface StoredArtifact {
  uri: string;
  sizeBytes: number;
  contentHash: string;
}

/** A path segment that cannot escape its directory, whatever the step or output is called. */
function safeSegment(name: string): string {
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

export class LocalArtifactStore {
  /** The store's directory, with `~` expanded for the process that runs the steps. */
  readonly root: string;

  constructor(
    readonly id: string,
    readonly configuredPath: string,
  ) {
    const expanded = configuredPath === '~' || configuredPath.startsWith('~/') ? join(homedir(), configuredPath.slice(1)) : configuredPath;
    this.root = isAbsolute(expanded) ? expanded : resolve(expanded);
  }

  outputUri(step: string, output: string, stepRunId: string, fileName: string): string {
    return join(this.root, safeSegment(step), safeSegment(output), stepRunDirectory(stepRunId), fileName);
  }

  /** Writes to a temporary file beside the target and renames it, so readers never see half a file. */
  async write(uri: string, data: Uint8Array): Promise<StoredArtifact> {
    this.assertInside(uri);
    await mkdir(dirname(uri), { recursive: true });
    const temporary = join(dirname(uri), `.${randomUUID()}.tmp`);
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temporary, uri);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    return { uri, sizeBytes: data.byteLength, contentHash: createHash('sha256').update(data).digest('hex') };
  }

  async read(uri: string): Promise<Uint8Array> {
    this.assertInside(uri);
    return readFile(uri);
  }

  /** Whether the file is still there with the size it was reported with. */
  async holds(uri: string, sizeBytes: number | null | undefined): Promise<boolean> {
    if (!this.contains(uri)) return false;
    try {
      const info = await stat(uri);
      return info.isFile() && (sizeBytes == null || info.size === sizeBytes);
    } catch {
      return false;
    }
  }

  private contains(uri: string): boolean {
    return resolve(uri).startsWith(this.root.endsWith('/') ? this.root : `${this.root}/`);
  }

  private assertInside(uri: string): void {
    if (!this.contains(uri)) throw new Error(`${uri} is not inside the artifact store at ${this.root}`);
  }
}
