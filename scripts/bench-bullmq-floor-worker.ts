// The floor row of `npm run bench:orchestrator`: what BullMQ and the object store cost a step by
// themselves, with no Stackyard in the way. A plain BullMQ worker whose job sleeps the step's time
// and then puts a small output with the AWS SDK, as a step's output is put; no server, no run,
// no report. Run by the benchmark as its own process, like a `stackyard worker`:
//   tsx bench-bullmq-floor-worker.ts '<{ redisUrl, queue, concurrency, s3: { endpointUrl, bucket, accessKeyId, secretAccessKey } }>'
// Prints "ready" once it takes jobs; stops on SIGTERM.
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Worker } from 'bullmq';

interface FloorSettings {
  redisUrl: string;
  queue: string;
  concurrency: number;
  s3: { endpointUrl: string; bucket: string; accessKeyId: string; secretAccessKey: string };
}

const settings = JSON.parse(process.argv[2]) as FloorSettings;
// As the s3 artifact store configures its client (client/sdk/s3-artifact-store.ts).
const s3 = new S3Client({
  region: 'us-east-1',
  endpoint: settings.s3.endpointUrl,
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
  credentials: { accessKeyId: settings.s3.accessKeyId, secretAccessKey: settings.s3.secretAccessKey },
});

const worker = new Worker<{ ms: number }>(
  settings.queue,
  async (job) => {
    await new Promise((resolve) => setTimeout(resolve, job.data.ms));
    await s3.send(new PutObjectCommand({ Bucket: settings.s3.bucket, Key: `floor/${job.id}/output.json`, Body: JSON.stringify(job.data.ms) }));
  },
  { connection: { url: settings.redisUrl, maxRetriesPerRequest: null }, concurrency: settings.concurrency },
);
await worker.waitUntilReady();
console.log('ready');
process.once('SIGTERM', () => {
  void worker.close().then(() => process.exit(0));
});
