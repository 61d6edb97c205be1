// Files and directories as step outputs, streamed so their size is not bounded by memory: a
// step returns a LocalPath, the store uploads the file (or the directory as one tar stream),
// and a consuming step gets a LocalPath to a local copy.
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { Materializer } from './materializers';

/** A file or directory on this machine, as a step's output or input. */
export class LocalPath {
  readonly path: string;
  constructor(path: string) {
    this.path = resolve(path);
  }
  toString(): string {
    return this.path;
  }
}

/** Where loaded files and directories go: STACKYARD_ARTIFACT_CACHE, or the system's temporary directory. */
async function loadDirectory(): Promise<string> {
  const parent = process.env.STACKYARD_ARTIFACT_CACHE || tmpdir();
  await mkdir(parent, { recursive: true });
  return mkdtemp(join(parent, 'stackyard-artifact-'));
}

function kind(value: unknown): 'file' | 'directory' | null {
  if (!(value instanceof LocalPath)) return null;
  try {
    const info = statSync(value.path);
    return info.isFile() ? 'file' : info.isDirectory() ? 'directory' : null;
  } catch {
    return null;
  }
}

export const fileMaterializer: Materializer<LocalPath> = {
  name: 'stackyard.file',
  fileName: 'data.bin',
  canHandle: (value): value is LocalPath => kind(value) === 'file',
  dataType: () => 'file',
  save: (value) => createReadStream(value.path),
  load: () => {
    throw new Error('stackyard.file loads from a stream');
  },
  async loadStream(stream) {
    const target = join(await loadDirectory(), 'data.bin');
    await pipeline(stream, createWriteStream(target));
    return new LocalPath(target);
  },
  metadata: (value) => ({ fileName: basename(value.path), sizeBytes: statSync(value.path).size }),
};

/** Every regular file under the directory, relative to it, depth first. */
async function* filesUnder(root: string, directory = root): AsyncGenerator<string> {
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const full = join(directory, entry.name);
    if (entry.isDirectory()) yield* filesUnder(root, full);
    else if (entry.isFile()) yield relative(root, full);
  }
}

function packDirectory(root: string): Readable {
  const pack = tar.pack();
  void (async () => {
    for await (const name of filesUnder(root)) {
      const full = join(root, name);
      const info = await stat(full);
      await new Promise<void>((done, fail) => {
        const entry = pack.entry({ name: name.split(sep).join('/'), size: info.size, mode: info.mode & 0o777, mtime: info.mtime }, (error) =>
          error ? fail(error) : done(),
        );
        pipeline(createReadStream(full), entry).catch(fail);
      });
    }
    pack.finalize();
  })().catch((error: Error) => pack.destroy(error));
  // tar-stream's streams are streamx streams; Node's Readable.from wraps one for the stores.
  return Readable.from(pack as AsyncIterable<Buffer>);
}

export const directoryMaterializer: Materializer<LocalPath> = {
  name: 'stackyard.directory',
  fileName: 'data.tar',
  canHandle: (value): value is LocalPath => kind(value) === 'directory',
  dataType: () => 'directory',
  save: (value) => packDirectory(value.path),
  load: () => {
    throw new Error('stackyard.directory loads from a stream');
  },
  async loadStream(stream) {
    const root = await loadDirectory();
    const extract = tar.extract();
    const unpacked = (async () => {
      for await (const entry of extract) {
        const target = resolve(root, entry.header.name);
        // An entry that would land outside the directory is refused, whatever wrote the archive.
        if (!target.startsWith(root + sep)) throw new Error(`The archive holds an entry outside its directory: ${entry.header.name}`);
        if (entry.header.type === 'file') {
          await mkdir(resolve(target, '..'), { recursive: true });
          await pipeline(entry, createWriteStream(target, { mode: entry.header.mode ?? 0o644 }));
        } else {
          entry.resume();
        }
      }
    })();
    await Promise.all([pipeline(stream, extract), unpacked]);
    return new LocalPath(root);
  },
  metadata: (value) => ({ directoryName: basename(value.path) }),
};
