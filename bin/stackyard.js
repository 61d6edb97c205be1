#!/usr/bin/env node
// The `stackyard` command: registers tsx's loader, so Node runs the TypeScript sources as they
// are, then hands over to the CLI. The import comes after the registration, hence dynamic.
import { register } from 'tsx/esm/api';

register();
await import('../client/cli/main.ts');
