// The step process of `npm run bench:artifacts`: writes 1 GiB into a directory (1 MiB at a
// time), returns it as a step output, loads it back in the next step, and prints its peak RSS.
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { LocalPath, pipeline, step } from '../client';

const GiB = 1024 * 1024 * 1024;
const scratch = process.env.BENCH_SCRATCH!;

const produce = step('produce', async () => {
  const directory = join(scratch, 'model');
  mkdirSync(directory, { recursive: true });
  const block = randomBytes(1024 * 1024);
  let sent = 0;
  const source = new Readable({
    read() {
      if (sent >= GiB) return void this.push(null);
      sent += block.length;
      this.push(block);
    },
  });
  await streamPipeline(source, createWriteStream(join(directory, 'weights.bin')));
  return new LocalPath(directory);
});

const consume = step('consume', ({ model }: { model: LocalPath }) => statSync(join(model.path, 'weights.bin')).size);

const run = await pipeline('bench-artifacts', () => {
  consume({ model: produce() });
}).run({ enableCache: false, progress: false });
const size = await run.load<number>('consume');
if (size !== GiB) throw new Error(`the consumer saw ${size} bytes`);
// maxRSS is in kilobytes.
console.log(`peak-rss-mb=${Math.round(process.resourceUsage().maxRSS / 1024)}`);
