#!/usr/bin/env node
// The `stackyard` command: runs the compiled CLI, which `npm run build` (and so `npm ci`, through
// prepare) bundles from client/cli/main.ts into dist/.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('Error: the compiled CLI (dist/cli.js) is missing; run `npm run build` in the Stackyard checkout');
  process.exit(1);
}
await import(cli.href);
