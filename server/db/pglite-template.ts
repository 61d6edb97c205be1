// How the embedded database starts fast and small. A first start on a fresh PGlite directory
// copies in a database made at build time (`npm run build:db-template`) with the migrations
// applied, instead of running initdb and every migration, which takes half a minute on a busy
// machine. The image records the PGlite version and a hash of the migrations it holds; when
// either differs from this installation, or there is no image, the start creates the database
// the slow way and says so. A plain directory copied with the file system's own calls is
// several times faster than PGlite's loadDataDir, which unpacks a tar through its emulated one.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { packageFile } from '../../client/package-files';

/** Where the built image lives, a PGlite data directory; `dist/` is not in git. */
export const TEMPLATE_DIR = packageFile('dist', 'pglite-template');

/**
 * Postgres settings for a small resident set: PGlite is one in-process connection, so the
 * server's defaults (128 MB of shared buffers for 100 connections) only cost memory; the
 * operating system's page cache still holds the files. Measured with `npm run bench:start`.
 */
const MEMORY_SETTINGS = ['shared_buffers=8MB', 'max_connections=5', 'temp_buffers=2MB'];

interface TemplateManifest {
  pgliteVersion: string;
  migrationsHash: string;
  /**
   * Every folder of the image, relative to it. Postgres needs its empty ones (pg_tblspc,
   * pg_wal/archive_status, ...), and `npm pack` leaves empty folders out of the package.
   */
  directories: string[];
}

/** How a start opens its embedded database: resuming one, or creating it from the image or from scratch. */
export type PgliteStart = 'resume' | 'from-template' | 'initdb';

/** Where a first start copies the image before moving it into place; a leftover one is cleared. */
const STAGING_DIR_NAME = '.stackyard-creating';

/**
 * Options for `new PGlite(dataDir, ...)`, and whether that creates the database. A fresh
 * directory gets a copy of the built image when it matches, so PGlite then only resumes it.
 * `onCreate` hears first that a start creates the database. The copy yields to the event loop,
 * so the server answers /health meanwhile.
 */
export async function preparePgliteStart(
  dataDir: string,
  migrationsFolder: string,
  onCreate?: (start: Exclude<PgliteStart, 'resume'>) => void,
): Promise<{ options: PGliteOptions; start: PgliteStart }> {
  const options: PGliteOptions = { startParams: [...PGlite.defaultStartParams, ...MEMORY_SETTINGS.flatMap((setting) => ['-c', setting])] };
  const fromScratch = () => {
    onCreate?.('initdb');
    return { options, start: 'initdb' as const };
  };
  if (dataDir.startsWith('memory://')) return fromScratch();
  if (existsSync(join(dataDir, 'PG_VERSION'))) return { options, start: 'resume' };
  if (!templateMatches(migrationsFolder)) return fromScratch();
  onCreate?.('from-template');
  const staging = join(dataDir, STAGING_DIR_NAME);
  try {
    await rm(staging, { recursive: true, force: true });
    await copyYielding(TEMPLATE_DIR, staging);
    for (const directory of readManifest(TEMPLATE_DIR)!.directories) await mkdir(join(staging, directory), { recursive: true });
    // Moved in with PG_VERSION last: the directory holds a database once it has one, so a start
    // cut short during the copy leaves a new directory rather than half a database.
    const entries = (await readdir(staging)).sort((a, b) => Number(a === 'PG_VERSION') - Number(b === 'PG_VERSION'));
    for (const entry of entries) await rename(join(staging, entry), join(dataDir, entry));
  } catch {
    // A half-moved directory would look like a database; clear it and create one from scratch.
    rmSync(join(dataDir, 'PG_VERSION'), { force: true });
    return { options, start: 'initdb' };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { options, start: 'from-template' };
}

/**
 * Copies a folder file by file with synchronous calls, yielding to the event loop every few
 * milliseconds: a thousand files, for which fs.promises.cp took half as much CPU again as cpSync,
 * and cpSync held the event loop for a second on a busy machine.
 */
async function copyYielding(from: string, to: string): Promise<void> {
  mkdirSync(to, { recursive: true });
  let slice = performance.now();
  for (const entry of readdirSync(from, { withFileTypes: true, recursive: true })) {
    const source = join(entry.parentPath, entry.name);
    const target = join(to, relative(from, source));
    if (entry.isDirectory()) mkdirSync(target, { recursive: true });
    else copyFileSync(source, target);
    if (performance.now() - slice > 10) {
      await new Promise((resolve) => setImmediate(resolve));
      slice = performance.now();
    }
  }
}

/** Whether the built image was made by this PGlite for these migrations. */
export function templateMatches(migrationsFolder: string, dir = TEMPLATE_DIR): boolean {
  const manifest = readManifest(dir);
  if (!manifest || !Array.isArray(manifest.directories)) return false;
  const current = currentManifest(migrationsFolder);
  return manifest.pgliteVersion === current.pgliteVersion && manifest.migrationsHash === current.migrationsHash && existsSync(join(dir, 'PG_VERSION'));
}

function readManifest(dir: string): TemplateManifest | undefined {
  try {
    return JSON.parse(readFileSync(manifestFile(dir), 'utf8')) as TemplateManifest;
  } catch {
    return undefined;
  }
}

/**
 * Makes the image: a database in a new directory, migrated by `prepare` (the same code a
 * start runs) and closed cleanly, with a manifest beside it. Built under a temporary name and
 * renamed, so a start never copies half an image.
 */
export async function writeTemplate(migrationsFolder: string, prepare: (client: PGlite) => Promise<void>, dir = TEMPLATE_DIR): Promise<void> {
  const building = `${dir}.${process.pid}.tmp`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building, { recursive: true });
  const client = new PGlite(building);
  try {
    await prepare(client);
  } finally {
    await client.close();
  }
  rmSync(manifestFile(dir), { force: true });
  rmSync(dir, { recursive: true, force: true });
  renameSync(building, dir);
  const manifest: TemplateManifest = { ...currentManifest(migrationsFolder), directories: directoriesBelow(dir) };
  writeFileSync(manifestFile(dir), `${JSON.stringify(manifest, null, 2)}\n`);
}

function manifestFile(dir: string): string {
  return `${dir}.json`;
}

function directoriesBelow(root: string, prefix = ''): string[] {
  return readdirSync(join(root, prefix), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => [`${prefix}${entry.name}`, ...directoriesBelow(root, `${prefix}${entry.name}/`)]);
}

function currentManifest(migrationsFolder: string): Omit<TemplateManifest, 'directories'> {
  return { pgliteVersion: pgliteVersion(), migrationsHash: migrationsHash(migrationsFolder) };
}

function pgliteVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  let dir = dirname(entry);
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** A hash of every file in the migrations folder, names and contents. */
function migrationsHash(migrationsFolder: string): string {
  const hash = createHash('sha256');
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const relative = `${prefix}${entry.name}`;
      if (entry.isDirectory()) walk(join(dir, entry.name), `${relative}/`);
      else hash.update(relative).update('\0').update(readFileSync(join(dir, entry.name))).update('\0');
    }
  };
  walk(migrationsFolder, '');
  return hash.digest('hex');
}
