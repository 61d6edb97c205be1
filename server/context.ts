import type { Database } from './db/database';

/** What every resolver gets for one request. */
export interface RequestContext {
  db: Database;
  /** The caller. Until auth exists every request acts as the one local user. */
  userId: string;
  limits: ServerLimits;
}

export interface ServerLimits {
  maxOutputsPerReport: number;
  maxPageSize: number;
  heartbeatTimeoutMs: number;
}
