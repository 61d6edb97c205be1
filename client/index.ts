// The package's public entry point for pipeline scripts: the typed client and the SDK.
export { StackyardClient, allPages, expectMember, type StackyardClientOptions, type Member } from './stackyard-client';
export { StackyardError, type StackyardErrorType } from './stackyard-error';
export { resolveConnectionSettings, configFilePath, type ConnectionSettings } from './connection-settings';
export type * from './generated/graphql';
export * from './sdk';
