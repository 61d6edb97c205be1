// The azure artifact store on @azure/storage-blob. A block blob is atomic: its blocks are
// staged and become the blob only when the block list is committed; uncommitted blocks of a
// failed upload are discarded by the service.
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import { Readable } from 'node:stream';
import { LOGS_KEY, outputKey, uploadHashed, type ArtifactSource, type ArtifactStore, type ByteRange, type ListedObject, type StoredArtifact } from './artifact-store';
import { ArtifactStoreError } from './errors';

export interface AzureSettings {
  path: string;
  accountName?: string;
  accountKey?: string;
  sasToken?: string;
  connectionString?: string;
}

/** Blocks of 8 MiB, four in flight: the upload holds about 32 MiB whatever the blob's size. */
const BLOCK_SIZE = 8 * 1024 * 1024;
const CONCURRENCY = 4;
/** A few quick retries: an unreachable account should fail a run in seconds, not minutes. */
const PIPELINE_OPTIONS = { retryOptions: { maxTries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 2000 } };

export class AzureArtifactStore implements ArtifactStore {
  readonly flavor = 'azure';
  readonly scheme: string;
  readonly containerName: string;
  readonly prefix: string;
  private readonly container: ContainerClient;

  constructor(
    readonly id: string,
    readonly name: string,
    private readonly settings: AzureSettings,
  ) {
    const match = /^(az|abfs):\/\/([^/@]+)(?:@[^/]*)?\/?(.*)$/.exec(settings.path);
    if (!match) throw new ArtifactStoreError(`The setting path of artifact store "${name}" must be az://container/prefix or abfs://container/prefix`);
    [, this.scheme, this.containerName] = match;
    this.prefix = match[3].replace(/\/+$/, '');
    this.container = this.serviceClient().getContainerClient(this.containerName);
  }

  private serviceClient(): BlobServiceClient {
    const { accountName, accountKey, sasToken, connectionString } = this.settings;
    try {
      if (connectionString) return BlobServiceClient.fromConnectionString(connectionString, PIPELINE_OPTIONS);
    } catch {
      throw new ArtifactStoreError(`The setting connectionString of artifact store "${this.name}" is not a storage connection string`);
    }
    if (!accountName) {
      throw new ArtifactStoreError(`The artifact store "${this.name}" needs the setting accountName, or a connectionString`);
    }
    const url = `https://${accountName}.blob.core.windows.net`;
    if (accountKey) return new BlobServiceClient(url, new StorageSharedKeyCredential(accountName, accountKey), PIPELINE_OPTIONS);
    if (sasToken) return new BlobServiceClient(`${url}?${sasToken.replace(/^\?/, '')}`, undefined, PIPELINE_OPTIONS);
    throw new ArtifactStoreError(`The artifact store "${this.name}" needs one of the secret settings accountKey, sasToken or connectionString`);
  }

  get path(): string {
    return this.settings.path;
  }

  private get root(): string {
    return `${this.scheme}://${this.containerName}/${this.prefix ? `${this.prefix}/` : ''}`;
  }

  outputUri(step: string, output: string, stepRunId: string, fileName: string): string {
    return `${this.root}${outputKey(step, output, stepRunId, fileName)}`;
  }

  logsUri(): string {
    return `${this.root}${LOGS_KEY}`;
  }

  contains(uri: string): boolean {
    return uri.startsWith(this.root) && !uri.split('/').includes('..');
  }

  async verify(): Promise<void> {
    let exists: boolean;
    try {
      exists = await this.container.exists();
    } catch (error) {
      throw this.settingError(error);
    }
    if (!exists) throw new ArtifactStoreError(`The container "${this.containerName}" in the setting path of artifact store "${this.name}" does not exist`);
  }

  async write(uri: string, source: ArtifactSource): Promise<StoredArtifact> {
    return uploadHashed(
      uri,
      source,
      (body) => {
        const blob = this.container.getBlockBlobClient(this.blobName(uri));
        return body instanceof Readable ? blob.uploadStream(body, BLOCK_SIZE, CONCURRENCY) : blob.uploadData(body, { blockSize: BLOCK_SIZE, concurrency: CONCURRENCY });
      },
      (error) => this.settingError(error, uri),
    );
  }

  async read(uri: string, range?: ByteRange): Promise<Readable> {
    if (range && range.end <= range.start) return Readable.from([]);
    try {
      const blob = this.container.getBlobClient(this.blobName(uri));
      const response = await (range ? blob.download(range.start, range.end - range.start) : blob.download());
      return response.readableStreamBody as Readable;
    } catch (error) {
      throw this.settingError(error, uri);
    }
  }

  async list(folderUri: string): Promise<ListedObject[]> {
    const listed: ListedObject[] = [];
    try {
      for await (const blob of this.container.listBlobsFlat({ prefix: this.blobName(folderUri) })) {
        listed.push({ uri: `${this.scheme}://${this.containerName}/${blob.name}`, sizeBytes: blob.properties.contentLength ?? 0 });
      }
    } catch (error) {
      throw this.settingError(error, folderUri);
    }
    return listed.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
  }

  async sizeOf(uri: string): Promise<number | null> {
    if (!this.contains(uri)) return null;
    try {
      return (await this.container.getBlobClient(this.blobName(uri)).getProperties()).contentLength ?? null;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return null;
      throw this.settingError(error, uri);
    }
  }

  /**
   * Nothing to do: the blocks a killed process staged but never committed are not a blob (no
   * reader sees them) and the service discards them after 7 days.
   */
  async sweepIncompleteWrites(_olderThan: Date): Promise<number> {
    return 0;
  }

  private blobName(uri: string): string {
    if (!this.contains(uri)) throw new ArtifactStoreError(`${uri} is not inside the artifact store "${this.name}" at ${this.settings.path}`);
    return uri.slice(`${this.scheme}://${this.containerName}/`.length);
  }

  /** The service's failure as an error that names the setting at fault, and no secret. */
  private settingError(error: unknown, uri?: string): ArtifactStoreError {
    const status = (error as { statusCode?: number }).statusCode;
    const code = (error as { code?: string }).code ?? '';
    const store = `artifact store "${this.name}"`;
    const where = uri ? ` (${uri})` : '';
    if (code === 'ContainerNotFound') return new ArtifactStoreError(`The container "${this.containerName}" in the setting path of ${store} does not exist`);
    if (status === 404) return new ArtifactStoreError(`${uri} is not in the ${store}: the blob was deleted`);
    if (status === 403 || status === 401) {
      return new ArtifactStoreError(`The credentials of ${store} were refused${where}: check its accountName and its accountKey, sasToken or connectionString setting`);
    }
    if (status === undefined) {
      // A URL in the message may carry a SAS token: its query is cut.
      const reason = code || (error instanceof Error ? error.message.split('\n')[0] : String(error)).replace(/\?[^\s'"]*/g, '?…');
      return new ArtifactStoreError(`The ${store} cannot be reached${where} with its settings accountName / connectionString: ${reason}`);
    }
    return new ArtifactStoreError(`The ${store} answered ${code || `HTTP ${status}`}${where}`);
  }
}
