// The cache key domain.md defines: a hash of the code a step can reach, its parameters, input
// artifact versions, output names, the user's cacheVersion and the artifact store (id and
// path). Same key, same outputs.
import { createHash } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';
import { reachableCode, type ReachableCode } from './code-reach';
import type { StepDefinition } from './step';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const warned = new Set<string>();

/** What the step's module reaches, or nothing when it cannot be read (a warning says so once). */
function moduleCode(file: string | undefined): ReachableCode | null {
  if (!file) return null;
  try {
    return reachableCode(file);
  } catch (error) {
    if (!warned.has(file)) {
      warned.add(file);
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      process.emitWarning(`Stackyard could not read the imports of ${file} (${reason}); its steps' cache keys cover only their own source`);
    }
    return null;
  }
}

/**
 * Reads now what these modules reach, for the code hashes taken later. A worker does so as it
 * loads its pipelines: hashed at its first step instead, files edited meanwhile (a deploy under a
 * running worker) were hashed as the new code while the old one ran, and the old code's outputs
 * were cached under the new code's key.
 */
export function snapshotStepCode(files: Iterable<string>): void {
  for (const file of files) moduleCode(file);
}

/**
 * The code a step runs, hashed: its own source, every local module its defining module imports
 * (transitively, by content) and the installed version of each package they import. Editing a
 * helper a step imports, or upgrading a package, invalidates its cache. The same code gives the
 * same hash on any machine, which is what a remote worker checks before taking a step.
 */
export function codeHash(definition: StepDefinition): string {
  let hash = codeHashes.get(definition);
  if (hash === undefined) {
    const reached = moduleCode(definition.moduleFile);
    hash = sha256(stringify({ source: definition.run.toString(), modules: reached?.modules ?? {}, packages: reached?.packages ?? {} }) ?? '');
    codeHashes.set(definition, hash);
  }
  return hash;
}

/** Hashed once per step definition: its code, once loaded, is what runs until the process ends. */
const codeHashes = new WeakMap<StepDefinition, string>();

export interface CacheKeyParts {
  codeHash: string;
  parameters: Record<string, unknown>;
  /** Input name → the artifact version consumed. */
  inputs: Record<string, string>;
  definition: StepDefinition;
  artifactStore: { id: string; path: string };
}

export function cacheKey(parts: CacheKeyParts): string {
  return sha256(
    stringify({
      code: parts.codeHash,
      parameters: parts.parameters,
      inputs: parts.inputs,
      outputs: parts.definition.outputNames,
      artifacts: parts.definition.options.artifacts ?? {},
      cacheVersion: parts.definition.options.cacheVersion ?? null,
      artifactStore: parts.artifactStore,
    }) ?? '',
  );
}
