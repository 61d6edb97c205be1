// Real object stores for the tests, on loopback ports: s3rver (an S3-compatible server, in this
// process) and Azurite's blob service (Microsoft's emulator, a child process). Nothing is mocked:
// the stores talk to them through the AWS and Azure SDKs as they would to the clouds.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
// @ts-expect-error s3rver ships no types
import S3rver from 's3rver';


// Not from cli-process: that imports vitest, and the artifact benchmark uses these services too.
const root = fileURLToPath(new URL('..', import.meta.url));

/** s3rver's built-in account. */
export const S3_ACCESS_KEY = 'S3RVER';
export const S3_SECRET_KEY = 'S3RVER';
/** Azurite's well-known development account (public, in Microsoft's docs). */
const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface S3Service {
  endpointUrl: string;
  /** Object keys in the bucket, listed through the AWS SDK. */
  list(bucket: string): Promise<{ key: string; size: number }[]>;
  client: S3Client;
  close(): Promise<void>;
}

export async function startS3(buckets: string[]): Promise<S3Service> {
  const directory = mkdtempSync(join(tmpdir(), 'stackyard-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: buckets.map((name) => ({ name })) });
  const { port } = (await server.run()) as AddressInfo;
  const endpointUrl = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint: endpointUrl,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpointUrl,
    client,
    async list(bucket) {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (listed.Contents ?? []).map((item) => ({ key: item.Key!, size: item.Size ?? 0 }));
    },
    async close() {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export interface AzureService {
  connectionString: string;
  client: BlobServiceClient;
  /** Blob names in the container. */
  list(container: string): Promise<{ name: string; size: number }[]>;
  close(): Promise<void>;
}

/** Azurite's blob service; in memory unless a directory is given (big blobs in benchmarks). */
export async function startAzurite(containers: string[], directory?: string): Promise<AzureService> {
  const persistence = directory ? ['--location', directory] : ['--inMemoryPersistence'];
  const child: ChildProcess = spawn(
    process.execPath,
    [join(root, 'node_modules', 'azurite', 'dist', 'src', 'blob', 'main.js'), '--blobHost', '127.0.0.1', '--blobPort', '0', ...persistence, '--skipApiVersionCheck', '--silent', '--loose', '--disableTelemetry'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const port = await new Promise<string>((resolve, reject) => {
    const look = () => {
      const listening = /successfully listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (listening) resolve(listening[1]);
    };
    child.stdout!.on('data', look);
    child.once('exit', (code) => reject(new Error(`azurite exited (${code}):\n${output}`)));
  });
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`;
  const client = BlobServiceClient.fromConnectionString(connectionString);
  try {
    for (const container of containers) await client.getContainerClient(container).create();
  } catch (error) {
    // Nobody else holds the child yet: a failed start must not leave the emulator running.
    child.kill('SIGTERM');
    throw error;
  }
  return {
    connectionString,
    client,
    async list(container) {
      const names: { name: string; size: number }[] = [];
      for await (const blob of client.getContainerClient(container).listBlobsFlat()) names.push({ name: blob.name, size: blob.properties.contentLength ?? 0 });
      return names;
    },
    async close() {
      child.kill('SIGTERM');
    },
  };
}
