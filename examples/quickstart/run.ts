// `npm run example`: runs the quickstart pipeline on the active stack (or STACKYARD_STACK)
// of the server at STACKYARD_URL. `--no-cache` runs every step again.
import { parseArgs } from 'node:util';
import { PipelineRunFailedError } from 'stackyard';
import { quickstart } from './pipeline';

const { values } = parseArgs({ options: { 'no-cache': { type: 'boolean', default: false } } });

try {
  const run = await quickstart.run({
    parameters: { samples: 150, trainFraction: 0.8 },
    ...(values['no-cache'] ? { enableCache: false } : {}),
  });
  const metrics = await run.load<{ accuracy: number }>('evaluate');
  console.log(`accuracy: ${metrics.accuracy.toFixed(3)}`);
} catch (error) {
  // The run is already recorded as failed on the server; say why in one line and exit non-zero.
  console.error(error instanceof PipelineRunFailedError ? error.message : `Error: ${(error as Error).message}`);
  process.exit(1);
}
