import type { Database } from './db/database';
import type { ExecutedOperation } from './plugins/use-operation-in-context';
import type { RunUpdates } from './runs/run-events';
import type { UserRole } from './users/user-tables';

/** The caller, as its token (or, in local mode, the implicit local admin) says. */
export interface AuthUser {
  id: string;
  name: string;
  role: UserRole;
}

/** What every resolver gets for one request. */
export interface RequestContext {
  db: Database;
  /** Null for a request without a token on a server with auth; scope checks turn it away. */
  user: AuthUser | null;
  /** Encrypts component secrets at rest. */
  secretKey: Buffer;
  limits: ServerLimits;
  /** Run ids as their runs change, for subscriptions. */
  runUpdates: RunUpdates;
  /** The operation being executed, once execution starts (server/plugins/use-operation-in-context.ts). */
  operation?: ExecutedOperation;
}

export interface ServerLimits {
  maxOutputsPerReport: number;
  maxPageSize: number;
  /** Deepest nesting of objects and lists in a JSON argument (validation.ts MAX_JSON_DEPTH). */
  maxJsonDepth: number;
  heartbeatTimeoutMs: number;
  /** Most operations one HTTP request may carry as a JSON array (GraphQL over HTTP batching). */
  maxBatchedOperations: number;
}

/** Who makes a change, for the service layer: it records the creator and encrypts secrets. */
export interface Actor {
  userId: string | null;
  secretKey: Buffer;
}

/** The caller's id. Resolvers run only after their auth scopes passed, so a caller exists. */
export function caller(context: RequestContext): AuthUser {
  if (!context.user) throw new Error('A resolver ran without an authenticated caller');
  return context.user;
}

export function callerId(context: RequestContext): string {
  return caller(context).id;
}

export function actor(context: RequestContext): Actor {
  return { userId: callerId(context), secretKey: context.secretKey };
}
