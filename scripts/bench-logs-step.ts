// The step process of `npm run bench:logs`: one step that prints BENCH_LOG_MB of log lines
// (100 by default) in bursts over about half a minute, so the benchmark can follow it live.
import { setTimeout as sleep } from 'node:timers/promises';
import { pipeline, step } from '../client';

const target = Number(process.env.BENCH_LOG_MB ?? 100) * 1024 * 1024;
/** What a record adds to its message in the log: {"time":"…","level":"info","message":"…"} and a newline. */
const RECORD_OVERHEAD = 58;
const padding = 'x'.repeat(180);

const shout = step('shout', async () => {
  let written = 0;
  let line = 0;
  while (written < target) {
    for (let burst = 0; burst < 5000 && written < target; burst += 1, line += 1) {
      const message = `line ${line} ${padding}`;
      console.log(message);
      written += message.length + RECORD_OVERHEAD;
    }
    await sleep(250);
  }
  return line;
}, { enableCache: false });

await pipeline('bench-logs', () => {
  shout();
}).run({ progress: false });
