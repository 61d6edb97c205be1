// Builds the dashboard into dashboard/dist, which the Stackyard server serves at `/`. In
// development (`vite dashboard`) and preview, /graphql goes to the server at STACKYARD_URL.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const server = process.env.STACKYARD_URL ?? 'http://127.0.0.1:8080';
const proxy = { '/graphql': { target: server, changeOrigin: true } };

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true },
  server: { proxy },
  preview: { proxy },
});
