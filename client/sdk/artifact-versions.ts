// Reading artifact versions back: through the store that wrote them, checked against their
// recorded size and hash, and by artifact name from any script (client.artifact(name)).
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { StackyardClient } from '../stackyard-client';
import type { ArtifactVersionByNameQuery } from '../generated/graphql';
import { readAll, readChecked, type ArtifactStore, type ExpectedContent } from './artifact-store';
import { openArtifactStore, type ArtifactStoreComponent } from './artifact-stores';
import { ArtifactStoreError } from './errors';
import { BUILT_IN_MATERIALIZERS, type Materializer } from './materializers';

/**
 * A component's secret settings, read from the server when it has any. `describe` names it in
 * the error ("artifact store \"x\""), which `failure` turns into the caller's error type.
 */
export async function secretSettings(
  client: StackyardClient,
  component: { id: string; name: string; secretsSet?: readonly string[] },
  describe: string,
  failure: (message: string) => Error,
): Promise<Record<string, unknown>> {
  if (!component.secretsSet?.length) return {};
  try {
    return await client.componentSecrets(component.id);
  } catch (error) {
    throw failure(
      `The secret settings (${component.secretsSet.join(', ')}) of ${describe} can be read only with an editor, admin or service-account token: ${(error as Error).message}`,
    );
  }
}

/** The store for a component, with its secret settings read from the server when it has any. */
export async function storeForComponent(client: StackyardClient, component: ArtifactStoreComponent & { secretsSet?: readonly string[] }): Promise<ArtifactStore> {
  const secrets = await secretSettings(client, component, `artifact store "${component.name}"`, (message) => new ArtifactStoreError(message));
  return openArtifactStore(component, secrets);
}

export interface LoadableOutput extends ExpectedContent {
  materializer: string | null | undefined;
}

/** Loads a stored value through the materializer that wrote it, checking size and hash on the way. */
export async function loadStoredValue(store: ArtifactStore, output: LoadableOutput, materializers: ReadonlyMap<string, Materializer>): Promise<unknown> {
  const materializer = materializers.get(output.materializer ?? '');
  if (!materializer) {
    throw new Error(`${output.uri} was written by the materializer "${output.materializer}", which is not given here`);
  }
  const stream = await readChecked(store, output);
  if (materializer.loadStream) return materializer.loadStream(stream);
  return materializer.load(await readAll(stream));
}

export function materializerTable(own: readonly Materializer[] = []): Map<string, Materializer> {
  return new Map([...own, ...BUILT_IN_MATERIALIZERS].map((materializer) => [materializer.name, materializer]));
}

type VersionRecord = NonNullable<ArtifactVersionByNameQuery['artifactVersion']>;

/** One version of a named artifact, read through the store that wrote it. */
export class ArtifactVersionHandle {
  constructor(
    private readonly client: StackyardClient,
    readonly artifactName: string,
    /** null: the latest. */
    readonly requested: number | null,
    private readonly materializers: readonly Materializer[] = [],
  ) {}

  /** The version's record: URI, size, hash, materializer, store, ... */
  async describe(): Promise<VersionRecord> {
    const found = await this.client.artifactVersion(this.artifactName, this.requested);
    if (!found) {
      throw new ArtifactStoreError(
        this.requested == null ? `No artifact is named "${this.artifactName}"` : `The artifact "${this.artifactName}" has no version ${this.requested}`,
      );
    }
    return found;
  }

  /** The value, through the materializer that wrote it (a custom one can be passed to artifact()). */
  async load<T = unknown>(): Promise<T> {
    const { version, store } = await this.open();
    return (await loadStoredValue(store, version, materializerTable(this.materializers))) as T;
  }

  /** Copies the stored bytes, checked, to a local file. */
  async download(destination: string): Promise<string> {
    const { version, store } = await this.open();
    await mkdir(dirname(destination), { recursive: true });
    await pipeline(await readChecked(store, version), createWriteStream(destination));
    return destination;
  }

  private async open(): Promise<{ version: VersionRecord; store: ArtifactStore }> {
    const version = await this.describe();
    const label = `version ${version.version} of artifact "${this.artifactName}" (${version.uri})`;
    if (!version.artifactStore) {
      throw new ArtifactStoreError(`The artifact store that wrote ${label} has been deleted, so the version cannot be read`);
    }
    const store = await storeForComponent(this.client, version.artifactStore);
    if (!store.contains(version.uri)) {
      throw new ArtifactStoreError(
        `The artifact store "${store.name}" that wrote ${label} has changed since: its path is now ${store.path}, which does not hold the version`,
      );
    }
    return { version, store };
  }
}

/** A named artifact: pick a version, then describe, load or download it. */
export class ArtifactHandle {
  constructor(
    private readonly client: StackyardClient,
    readonly name: string,
    private readonly materializers: readonly Materializer[] = [],
  ) {}

  latest(): ArtifactVersionHandle {
    return new ArtifactVersionHandle(this.client, this.name, null, this.materializers);
  }

  version(version: number): ArtifactVersionHandle {
    return new ArtifactVersionHandle(this.client, this.name, version, this.materializers);
  }
}
