// What the server needs once its database is open. http-server imports this module lazily, so
// that loading the GraphQL schema and its libraries overlaps with the database opening.
export { createApp, MAX_BATCHED_OPERATIONS } from './app';
export { serveArtifactContent } from './artifacts/artifact-preview';
export { MAX_OUTPUTS_PER_REPORT } from './artifacts/artifact-service';
export { encryptStoredSecrets } from './components/component-service';
export { startRunExpiry } from './runs/run-expiry';
export { startRunUpdates } from './runs/run-events';
export { ensureDefaultStack } from './stacks/default-stack';
export { createAuthenticator } from './users/authentication';
export { bootstrapAdmin, ensureLocalUser } from './users/user-service';
export { MAX_JSON_DEPTH } from './validation';
