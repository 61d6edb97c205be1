import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Node loads graphql's CommonJS build for the libraries; Vite would give our own files the
    // ESM build, and graphql refuses to mix the two. Point everything at the one Node uses.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Generous: the machines running this are often shared with other work, where a test that
    // takes seconds idle can take minutes. A slow machine is not a failure; speed is measured by
    // the bench scripts instead.
    testTimeout: 180_000,
    hookTimeout: 300_000,
    // PGlite is WebAssembly and CPU-bound; two workers suit the two-core machines we run on.
    maxWorkers: 2,
  },
});
