// The s3 artifact store (AWS, MinIO, R2, Ceph...) on the AWS SDK v3. A multipart upload is
// atomic: the object appears only when the upload completes, and a failed one is aborted; one
// a killed process left open (S3 bills its parts until aborted) is aborted by a later run's sweep.
import {
  AbortMultipartUploadCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { LOGS_KEY, outputKey, uploadHashed, type ArtifactSource, type ArtifactStore, type ByteRange, type ListedObject, type StoredArtifact } from './artifact-store';
import { ArtifactStoreError } from './errors';

export interface S3Settings {
  path: string;
  region?: string;
  endpointUrl?: string;
  forcePathStyle?: boolean;
  awsAccessKeyId?: string;
  awsSecretAccessKey?: string;
  awsSessionToken?: string;
}

/** Parts of 8 MiB, four in flight: the upload holds about 32 MiB whatever the object's size. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 4;

function errorName(error: unknown): string {
  const known = error as { name?: string; Code?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  return known.Code ?? known.name ?? known.code ?? '';
}

export class S3ArtifactStore implements ArtifactStore {
  readonly flavor = 's3';
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;

  constructor(
    readonly id: string,
    readonly name: string,
    private readonly settings: S3Settings,
  ) {
    const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(settings.path);
    if (!match) throw new ArtifactStoreError(`The setting path of artifact store "${name}" must be s3://bucket/prefix`);
    this.bucket = match[1];
    this.prefix = match[2].replace(/\/+$/, '');
    const config: S3ClientConfig = {
      region: settings.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      forcePathStyle: settings.forcePathStyle ?? false,
      // S3-compatible services do not all know the SDK's newer checksums; S3 checks MD5 anyway.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 10_000 },
      maxAttempts: 3,
      ...(settings.endpointUrl ? { endpoint: settings.endpointUrl } : {}),
      // With no keys set, the SDK's default chain applies: environment, profile, instance role.
      ...(settings.awsAccessKeyId && settings.awsSecretAccessKey
        ? {
            credentials: {
              accessKeyId: settings.awsAccessKeyId,
              secretAccessKey: settings.awsSecretAccessKey,
              ...(settings.awsSessionToken ? { sessionToken: settings.awsSessionToken } : {}),
            },
          }
        : {}),
    };
    this.client = new S3Client(config);
  }

  get path(): string {
    return this.settings.path;
  }

  outputUri(step: string, output: string, stepRunId: string, fileName: string): string {
    return `${this.root}${outputKey(step, output, stepRunId, fileName)}`;
  }

  logsUri(): string {
    return `${this.root}${LOGS_KEY}`;
  }

  private get root(): string {
    return `s3://${this.bucket}/${this.prefix ? `${this.prefix}/` : ''}`;
  }

  contains(uri: string): boolean {
    return uri.startsWith(this.root) && !uri.split('/').includes('..');
  }

  async verify(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      throw this.settingError(error);
    }
  }

  async write(uri: string, source: ArtifactSource): Promise<StoredArtifact> {
    return uploadHashed(
      uri,
      source,
      (body) =>
        // Bytes in memory that fit one part are one PutObject, which is what lib-storage sends for
        // them too, without its part queue; a stream or a larger buffer goes in parts.
        Buffer.isBuffer(body) && body.byteLength <= PART_SIZE
          ? this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(uri), Body: body }))
          : new Upload({
              client: this.client,
              params: { Bucket: this.bucket, Key: this.key(uri), Body: body },
              partSize: PART_SIZE,
              queueSize: QUEUE_SIZE,
              leavePartsOnError: false,
            }).done(),
      (error) => this.settingError(error, uri),
    );
  }

  async read(uri: string, range?: ByteRange): Promise<Readable> {
    if (range && range.end <= range.start) return Readable.from([]);
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(uri), ...(range ? { Range: `bytes=${range.start}-${range.end - 1}` } : {}) }),
      );
      return response.Body as Readable;
    } catch (error) {
      throw this.settingError(error, uri);
    }
  }

  async list(folderUri: string): Promise<ListedObject[]> {
    const listed: ListedObject[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.key(folderUri), ContinuationToken: token }));
        for (const item of page.Contents ?? []) if (item.Key) listed.push({ uri: `s3://${this.bucket}/${item.Key}`, sizeBytes: item.Size ?? 0 });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw this.settingError(error, folderUri);
    }
    return listed.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
  }

  async sizeOf(uri: string): Promise<number | null> {
    if (!this.contains(uri)) return null;
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(uri) }));
      return head.ContentLength ?? null;
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404 || errorName(error) === 'NotFound' || errorName(error) === 'NoSuchKey') return null;
      throw this.settingError(error, uri);
    }
  }

  /**
   * Aborts the multipart uploads under the store's prefix that nothing was added to since
   * `olderThan` (neither started nor given a part): an upload still streaming is kept. s3rver,
   * the emulator the tests use, answers NotImplemented to ListMultipartUploads (every s3 run in
   * the tests goes through that: NotImplemented sweeps nothing), so this is written against the
   * AWS API and untested against a real S3; it was tried by hand on moto 5.2.1, which dates
   * every upload's Initiated in 2010: a part's LastModified is what keeps a live upload there.
   */
  async sweepIncompleteWrites(olderThan: Date): Promise<number> {
    let removed = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.prefix ? `${this.prefix}/` : undefined, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        );
        for (const upload of page.Uploads ?? []) {
          if (!upload.Key || !upload.UploadId || !upload.Initiated || upload.Initiated >= olderThan) continue;
          if ((await this.lastPartAt(upload.Key, upload.UploadId)) >= olderThan) continue;
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.Key, UploadId: upload.UploadId }));
          removed += 1;
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
      } while (keyMarker);
    } catch (error) {
      if (errorName(error) === 'NotImplemented') return removed;
      throw this.settingError(error);
    }
    return removed;
  }

  /** When the upload last got a part (the epoch when it has none). */
  private async lastPartAt(key: string, uploadId: string): Promise<Date> {
    let latest = new Date(0);
    let marker: string | undefined;
    do {
      const page = await this.client.send(new ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }));
      for (const part of page.Parts ?? []) if (part.LastModified && part.LastModified > latest) latest = part.LastModified;
      marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (marker);
    return latest;
  }

  private key(uri: string): string {
    if (!this.contains(uri)) throw new ArtifactStoreError(`${uri} is not inside the artifact store "${this.name}" at ${this.settings.path}`);
    return uri.slice(`s3://${this.bucket}/`.length);
  }

  /** The SDK's failure as an error that names the setting at fault, and no secret. */
  private settingError(error: unknown, uri?: string): ArtifactStoreError {
    const name = errorName(error);
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const store = `artifact store "${this.name}"`;
    const where = uri ? ` (${uri})` : '';
    let message: string;
    if (name === 'NoSuchBucket' || (status === 404 && !uri)) {
      message = `The bucket "${this.bucket}" in the setting path of ${store} does not exist`;
    } else if (name === 'NoSuchKey' || status === 404) {
      message = `${uri} is not in the ${store}: the object was deleted`;
    } else if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'CredentialsProviderError'].includes(name) || status === 403) {
      message = `The credentials of ${store} were refused${where}: check its awsAccessKeyId, awsSecretAccessKey and awsSessionToken settings (or the default AWS credential chain when none is set)`;
    } else if (status === 301 || name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed') {
      message = `The bucket "${this.bucket}" of ${store} is in another region than its setting region (${this.settings.region ?? 'unset'})`;
    } else if (status === undefined) {
      const reason = error instanceof Error ? error.message : String(error);
      message = `The ${store} cannot be reached at ${this.settings.endpointUrl ? `its setting endpointUrl ${this.settings.endpointUrl}` : 'the AWS endpoint'}${where}: ${reason}`;
    } else {
      message = `The ${store} answered ${name || `HTTP ${status}`}${where}`;
    }
    return new ArtifactStoreError(message);
  }
}
